"""A fit with no label column: the sentence names the classes, the champion is a zero-shot classifier of the
table's text, it serves like any champion and the loop teaches it from feedback (few-shot warm start)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.errors import DataError
from lamarck.evolve import EvolutionPolicy
from lamarck.serve import create_app
from lamarck.text import available, named_classes

needs_text = pytest.mark.skipif(not available(), reason="the neural extra is not installed (make neural)")

TICKETS = [
    ("I was charged twice this month", "billing"),
    ("my invoice shows the wrong amount", "billing"),
    ("please refund my payment", "billing"),
    ("the app crashes when I log in", "bug"),
    ("an error appears when saving the file", "bug"),
    ("the page is blank after the update", "bug"),
    ("please add a dark mode", "feature request"),
    ("it would be great to export to Excel", "feature request"),
    ("could you support two-factor login", "feature request"),
]


def test_the_sentence_names_the_classes():
    assert named_classes("sort these tickets into billing, bug and feature request") == [
        "billing",
        "bug",
        "feature request",
    ]
    assert named_classes("classify emails as spam/ham, in 30 seconds") == ["spam", "ham"]
    assert named_classes("predict which customers churn") is None


def test_a_label_column_holding_the_classes_is_a_supervised_plan(tmp_path):
    frame = pd.DataFrame({"text": [t for t, _ in TICKETS] * 4, "kind": [c for _, c in TICKETS] * 4})
    spec = Project(tmp_path / "p").plan(
        frame, "sort these tickets into billing, bug and feature request", llm=False
    )
    assert spec.zero_shot_classes is None  # the rule planner found nothing to predict but the classes...
    assert spec.target == "kind"


def test_no_text_column_says_the_fix(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "code": ["a", "b", "c"]})
    with pytest.raises(DataError, match="free text") as e:
        Project(tmp_path / "p").plan(frame, "sort the rows into red and blue")
    assert "Fix:" in str(e.value)


@needs_text
def test_zero_shot_fit_registers_a_champion_that_serves(tmp_path):
    frame = pd.DataFrame({"id": range(9), "message": [t for t, _ in TICKETS]})
    project = Project(tmp_path / "p")
    result = project.fit(frame, "sort these tickets into billing, bug and feature request", report=False)
    assert result.spec.zero_shot_classes == ["billing", "bug", "feature request"]
    assert result.champion_version == "1" and result.n_trials == 0 and np.isnan(result.score)
    assert any("answers billing" in n for n in result.notes)
    model = project.load_model("champion")
    assert model.describe().startswith("zero_shot")
    predicted = model.predict(frame)
    assert np.mean(predicted == np.array([c for _, c in TICKETS])) >= 7 / 9
    client = TestClient(create_app(project))
    answer = client.post("/v1/predict", json={"rows": [{"message": "you billed me twice"}]}).json()
    assert answer["predictions"] == ["billing"]


def _texts(n: int, seed: int) -> pd.DataFrame:
    """Two topics whose class names ("a", "b") say nothing: only labels can teach the classifier."""
    rng = np.random.default_rng(seed)
    animals = ["cat", "dog", "kitten", "puppy", "horse", "parrot", "rabbit", "hamster"]
    doing = ["sleeps on the sofa", "chases a ball", "eats its dinner", "plays in the garden", "needs a vet"]
    money = ["shares", "the stock market", "bond yields", "the exchange rate", "bank interest", "my savings"]
    moves = ["fell sharply today", "rose after the report", "were volatile this week", "hit a record high"]
    rows = []
    for _ in range(n):
        if rng.random() < 0.5:
            rows.append((f"the {rng.choice(animals)} {rng.choice(doing)}", "a"))
        else:
            rows.append((f"{rng.choice(money)} {rng.choice(moves)}", "b"))
    return pd.DataFrame(rows, columns=["note", "topic"])


@needs_text
@pytest.mark.slow
def test_the_loop_teaches_a_zero_shot_champion_from_feedback(tmp_path, caplog):
    project = Project(tmp_path / "p")
    head = _texts(40, seed=0)
    project.fit(head[["note"]], "sort the notes into a and b", report=False)
    policy = EvolutionPolicy(min_new_labels=200, min_test_labels=100, fresh_search=False, reuse_versions=0)
    client = TestClient(create_app(project, policy=policy))
    traffic = _texts(400, seed=1)
    ids = client.post("/v1/predict", json={"rows": traffic[["note"]].to_dict("records")}).json()
    served = np.array(ids["predictions"])
    items = [
        {"prediction_id": i, "label": y} for i, y in zip(ids["prediction_ids"], traffic["topic"], strict=True)
    ]
    assert client.post("/v1/feedback", json={"items": items}).json() == {"accepted": len(items)}
    decision = client.post("/v1/evolve").json()
    assert decision["kind"] in ("challenger", "promote"), decision["reason"]
    challenger = project.load_model(decision["version"])
    assert challenger.describe().startswith("zero_shot")
    later = _texts(300, seed=2)
    taught = np.mean(challenger.predict(later[["note"]]) == later["topic"].to_numpy())
    bare = np.mean(served == traffic["topic"].to_numpy())
    assert taught >= 0.95 and taught > bare + 0.1, (taught, bare)
    assert "refresh failed" not in caplog.text  # the layer's members saw no feature: nothing to refresh
