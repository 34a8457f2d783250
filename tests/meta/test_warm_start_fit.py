"""A fit starts from the nearest earlier tasks, records itself in the knowledge bases, and never fails
because of them."""

import os

import numpy as np
import pandas as pd
import pytest

from lamarck import Project
from lamarck.meta import KnowledgeBase, MetaFeatures, TaskRecord, Trial

pytestmark = pytest.mark.slow


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v"], n), "c": rng.normal(size=n)})
    frame["y"] = np.where(frame["a"] + 0.5 * (frame["b"] == "u") + rng.normal(size=n) > 0, "yes", "no")
    return frame


def _fit(path, **kwargs):
    return Project(path).fit(
        _frame(),
        "predict y, maximize AUC",
        learners=["linear", "knn"],
        time_budget_s=8,
        register=False,
        report=False,
        **kwargs,
    )


def test_seeded_configurations_run_first_and_the_fit_is_recorded(tmp_path):
    user_kb = KnowledgeBase(os.environ["LAMARCK_KNOWLEDGE_URL"])
    first = _fit(tmp_path / "one")
    assert first.meta_features is not None and first.meta_features["n_rows"] == 300
    assert [t.name for t in user_kb.tasks()] == ["DataFrame"]  # the first fit recorded itself

    # an earlier task just like this one, whose best configuration is one no portfolio holds
    planted = MetaFeatures.from_dict(first.meta_features)
    user_kb.record(
        TaskRecord("planted.csv", "binary", "roc_auc", planted, project="/elsewhere"),
        [
            Trial("linear", {"C": 0.123}, 0.99, 0.05),
            Trial("knn", {"n_neighbors": 7, "weights": "uniform"}, 0.9, 0.1),
        ],
    )
    second = _fit(tmp_path / "two", dataset_name="again.csv")
    trials = [r for r in second.leaderboard if r["source"] != "final"]
    warm = [r for r in trials if r["source"] == "warm start"]
    assert {"C": 0.123} in [r["params"] for r in warm]
    assert min(r["trial"] for r in warm) == 1  # the warm start is tried first, after the cheap baseline
    assert [r["source"] for r in trials if r["trial"] == 0] == ["baseline"]
    others = [r["trial"] for r in trials if r["source"] not in ("warm start", "baseline")]
    assert not others or max(r["trial"] for r in warm) < min(others)
    names = [n["name"] for n in second.warm_start["neighbours"]]
    assert (
        names[:2] == ["planted.csv", "DataFrame"]
        and second.warm_start["neighbours"][0]["origin"] == "knowledge base"
    )
    assert any(n.startswith("warm start: ") and "planted.csv" in n for n in second.notes)

    assert [t.name for t in user_kb.tasks()] == ["again.csv", "planted.csv", "DataFrame"]
    own = KnowledgeBase(f"sqlite:///{tmp_path / 'two' / 'knowledge.db'}")
    [task] = own.tasks()
    assert task.name == "again.csv" and task.configs
    user_kb.dispose()
    own.dispose()


def test_the_setting_turns_the_warm_start_off(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMARCK_WARM_START", "false")
    result = _fit(tmp_path)
    assert result.warm_start is None
    assert all(r["source"] != "warm start" for r in result.leaderboard)
    assert result.meta_features is not None  # still described and recorded
    assert len(KnowledgeBase(os.environ["LAMARCK_KNOWLEDGE_URL"]).tasks()) == 1


def test_a_broken_knowledge_base_never_fails_a_fit(tmp_path, monkeypatch, caplog):
    broken = tmp_path / "knowledge.db"
    broken.write_text("this is not a database")
    monkeypatch.setenv("LAMARCK_KNOWLEDGE_URL", f"sqlite:///{broken}")
    result = _fit(tmp_path / "project")
    assert result.score > 0.5
    assert "not recorded in the knowledge base" in caplog.text
    assert "warm start from the portfolio only" in caplog.text


def test_the_user_knowledge_base_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMARCK_KNOWLEDGE_BASE", "false")
    _fit(tmp_path)
    assert KnowledgeBase(os.environ["LAMARCK_KNOWLEDGE_URL"]).tasks() == []
    assert len(KnowledgeBase(f"sqlite:///{tmp_path / 'knowledge.db'}").tasks()) == 1  # the project's own
