"""A learner that fails during a fit is listed with its error (leaderboard, notes, report; the CLI table
in tests/cli/test_tables.py);
when every learner fails the error says so, and does not ask for a larger budget."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from lamarck import Project


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v"], n)})
    frame["y"] = np.where(frame["a"] + (frame["b"] == "u") + rng.normal(scale=0.5, size=n) > 0.4, "yes", "no")
    return frame


@pytest.fixture
def broken_lightgbm(monkeypatch: pytest.MonkeyPatch) -> None:
    """LightGBM raises on every fit (as it does on names it refuses); the search stops after 4 trials."""
    import lamarck.search
    from lamarck.search import LEARNERS

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError("Do not support special JSON characters in feature name.")

    monkeypatch.setattr(LEARNERS["lightgbm"], "fit", fail)
    real = lamarck.search.AutoSearch

    class Bounded(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "max_trials": 4})

    monkeypatch.setattr(lamarck.search, "AutoSearch", Bounded)
    monkeypatch.setenv("LAMARCK_WARM_START", "false")  # the first trials are the portfolio's, LightGBM first


def test_a_failed_learner_is_listed_with_its_error(tmp_path, broken_lightgbm, monkeypatch):
    import lamarck.report

    captured: dict[str, Any] = {}
    real_render = lamarck.report.render_report

    def capture(data: Any, out: Any) -> Any:
        captured["report"] = data
        return real_render(data, out)

    monkeypatch.setattr(lamarck.report, "render_report", capture)
    result = Project(tmp_path / "p").fit(
        _frame(), "predict y", learners=["lightgbm", "linear"], time_budget_s=300
    )

    failed = [r for r in result.leaderboard if r["status"] == "failed"]
    assert len(failed) == 1
    row = failed[0]
    assert row["learner"] == "lightgbm"
    assert row["rank"] is None and row["score"] is None
    assert "ValueError: Do not support special JSON characters" in row["error"]
    assert row["source"] == "baseline" and row["trial"] == 0  # the first failed trial: LightGBM's baseline
    assert result.leaderboard[-1] is row  # after the ranked rows
    assert all(r["status"] == "complete" and r["error"] == "" for r in result.leaderboard if r is not row)
    assert any(n.startswith("lightgbm failed on") and "JSON characters" in n for n in result.notes), (
        result.notes
    )
    assert result.to_dict()["leaderboard"][-1]["error"] == row["error"]

    report = captured["report"]
    assert report.leaderboard[-1]["error"] == row["error"]
    html = result.report_path.read_text(encoding="utf-8")
    assert "Do not support special JSON characters" in html


def test_when_every_learner_fails_the_error_names_it_and_not_the_budget(tmp_path, broken_lightgbm):
    from lamarck.errors import DataError

    with pytest.raises(DataError) as caught:
        Project(tmp_path / "p").fit(_frame(), "predict y", learners=["lightgbm"], time_budget_s=300)
    message = str(caught.value)
    assert "every learner failed" in message and "JSON characters" in message
    assert "give a larger budget" not in message
    assert "Fix:" in message
