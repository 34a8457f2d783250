"""A table whose column names LightGBM or XGBoost would refuse fits with every learner; the user's names
stay wherever the user looks (leaderboard, importance, report, predict, the training reference)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from lamarck import Project

NAMES = ['a "quoted"', "b{json:[1]}", "c,comma", "d:colon", "température", "a_quoted", "score", "prediction"]


def hostile_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=n) for name in NAMES})
    frame["c,comma"] = rng.choice(["x", "y", "z"], n)
    frame["when:{utc}"] = pd.date_range("2024-01-01", periods=n, freq="h").astype(str)
    # an interaction (trees win, so the importance comes from the members) plus a category
    signal = frame['a "quoted"'] * frame["b{json:[1]}"] + 0.5 * (frame["c,comma"] == "x")
    frame["y"] = np.where(signal + 0.2 * rng.normal(size=n) > 0.1, "yes", "no")
    return frame


@pytest.fixture
def bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search stops after the portfolio's first configurations (the clock decides nothing)."""
    import lamarck.search

    real = lamarck.search.AutoSearch

    class Bounded(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "max_trials": 5})  # the baseline, then one per learner

    monkeypatch.setattr(lamarck.search, "AutoSearch", Bounded)
    monkeypatch.setenv("LAMARCK_N_JOBS", "1")
    monkeypatch.setenv("LAMARCK_WARM_START", "false")  # the first trials are the portfolio's, one per learner


def test_hostile_names_fit_every_learner_and_stay_the_users(tmp_path, bounded, monkeypatch):
    import lamarck.report

    captured: dict[str, Any] = {}
    real_render = lamarck.report.render_report

    def capture(data: Any, out: Any) -> Any:
        captured["report"] = data
        return real_render(data, out)

    monkeypatch.setattr(lamarck.report, "render_report", capture)
    frame = hostile_frame()
    project = Project(tmp_path / "p")
    result = project.fit(
        frame, "predict y", learners=["lightgbm", "xgboost", "catboost", "linear"], time_budget_s=300, seed=1
    )

    rows = result.leaderboard
    assert [r for r in rows if r["status"] == "failed"] == []
    assert {r["learner"] for r in rows[1:]} == {"lightgbm", "xgboost", "catboost", "linear"}
    assert not any("failed" in note for note in result.notes), result.notes
    features = [c for c in frame.columns if c != "y"]
    importance = captured["report"].feature_importance
    assert importance and set(importance) <= set(features), (importance, rows[0])
    assert set(list(importance)[:2]) == {'a "quoted"', "b{json:[1]}"}, importance
    assert {c["name"] for c in captured["report"].columns} == set(frame.columns)
    assert result.model.input_columns == features

    # a fresh process-like reload from the registry predicts the user's rows by the user's names
    new_rows = hostile_frame(n=40, seed=5).drop(columns=["y"])
    reloaded = Project(tmp_path / "p")
    out, notes = reloaded.predict(new_rows, proba=True)
    assert notes == []
    assert list(out.columns) == ["prediction", "proba_no", "proba_yes"]
    assert list(out.index) == list(new_rows.index)
    assert np.allclose(out[["proba_no", "proba_yes"]].to_numpy(), result.model.predict_proba(new_rows))
    # columns in another order are matched by name, not by position
    shuffled, _ = reloaded.predict(new_rows[features[::-1]], proba=True)
    assert np.allclose(
        shuffled[["proba_no", "proba_yes"]].to_numpy(), out[["proba_no", "proba_yes"]].to_numpy()
    )

    # the reference that drift is measured against keeps the user's names, and so does the drift
    from lamarck.evolve import feature_drift, read_reference

    reference = read_reference(reloaded.registry.info("champion"))
    assert reference is not None and set(features) <= set(reference.columns)
    drift = feature_drift(reference, new_rows, columns=features)
    assert [c.column for c in drift.columns] == features


def test_a_missing_hostile_column_is_named_as_the_user_wrote_it(tmp_path, bounded):
    from lamarck.errors import SchemaError

    project = Project(tmp_path / "p")
    project.fit(hostile_frame(), "predict y", learners=["lightgbm"], time_budget_s=300, report=False)
    with pytest.raises(SchemaError, match=r"b\{json:\[1\]\}"):
        project.predict(hostile_frame(n=5).drop(columns=["y", "b{json:[1]}"]))


def test_a_frame_with_a_name_used_twice_is_refused_with_the_rule(tmp_path):
    from lamarck.errors import DataError

    frame = hostile_frame(n=50)
    frame.columns = ["score", "score", *frame.columns[2:]]
    with pytest.raises(DataError, match=r"duplicate column names \['score'\].*Fix:"):
        Project(tmp_path / "p").fit(frame, "predict y", time_budget_s=300, register=False, report=False)


def test_names_that_are_not_text_fit_and_predict(tmp_path, bounded):
    frame = hostile_frame(n=120)[['a "quoted"', "b{json:[1]}", "y"]]
    frame.columns = [0, 1.5, "y"]
    project = Project(tmp_path / "p")
    result = project.fit(frame, "predict y", learners=["lightgbm"], time_budget_s=300, report=False)
    assert result.model.input_columns == ["0", "1.5"]
    out, _ = project.predict(frame.drop(columns=["y"]).head(7))
    assert len(out) == 7
