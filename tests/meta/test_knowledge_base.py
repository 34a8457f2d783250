"""The knowledge base round trip, on SQLite (the default) and PostgreSQL (by URL), for real."""

import math
import os

import pytest

from lamarck.errors import DataError
from lamarck.meta import KnowledgeBase, MetaFeatures, TaskRecord, Trial, default_knowledge_url


@pytest.fixture(params=["sqlite", "postgresql"])
def kb(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'deep' / 'knowledge.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    base = KnowledgeBase(url)
    yield base
    base.dispose()


def _meta(task: str = "regression", rows: int = 800) -> MetaFeatures:
    return MetaFeatures.from_dict({"task": task, "n_rows": rows, "n_columns": 6, "target_skew": 2.5})


def test_round_trip_keeps_meta_features_and_best_configurations(kb):
    trials = [
        Trial("lightgbm", {"num_leaves": 31, "objective": "l1"}, 3.2, 0.4, "complete", "portfolio"),
        Trial("lightgbm", {"num_leaves": 8}, 2.9, 0.3, "complete", "tpe"),
        Trial("catboost", {"depth": 6}, 3.0, 1.1, "complete", "portfolio"),
        Trial("xgboost", {"max_depth": 4}, math.nan, 0.1, "failed", "portfolio"),
        Trial("linear", {"C": 1.0}, 4.0, 0.1, "complete", "portfolio"),
    ]
    record = TaskRecord("counts.csv", "regression", "mae", _meta(), project="/p", greater_is_better=False)
    task_id = kb.record(record, trials)
    kb.record(
        TaskRecord("other.csv", "binary", "roc_auc", _meta("binary")), [Trial("linear", {"C": 2}, 0.8, 0.1)]
    )

    [known] = kb.tasks(task="regression")
    assert (known.name, known.metric, known.project, known.origin) == (
        "counts.csv",
        "mae",
        "/p",
        "knowledge base",
    )
    assert known.meta == _meta()
    # smaller is better for MAE; the best of each learner before any learner's second
    assert [(c.learner, c.params, c.score) for c in known.configs] == [
        ("lightgbm", {"num_leaves": 8}, 2.9),
        ("catboost", {"depth": 6}, 3.0),
        ("linear", {"C": 1.0}, 4.0),
    ]
    stored = kb.trials(task_id)
    assert [t.learner for t in stored] == ["lightgbm", "lightgbm", "catboost", "xgboost", "linear"]
    assert stored[3].status == "failed" and math.isnan(stored[3].score)
    assert [t.name for t in kb.tasks()] == ["other.csv", "counts.csv"]  # the most recent first


def test_an_unusable_url_is_a_data_error_that_names_the_fix(tmp_path):
    (tmp_path / "knowledge.db").write_text("not a database")
    kb = KnowledgeBase(f"sqlite:///{tmp_path / 'knowledge.db'}")
    with pytest.raises(DataError, match="knowledge_base = false"):
        kb.tasks()


def test_default_url_is_a_user_folder_and_tests_never_use_it(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_knowledge_url() == f"sqlite:///{tmp_path / 'lamarck' / 'knowledge.db'}"
    assert (
        str(tmp_path) in os.environ["LAMARCK_KNOWLEDGE_URL"]
        or "knowledge" in os.environ["LAMARCK_KNOWLEDGE_URL"]
    )
