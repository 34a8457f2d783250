"""``Project.fit`` as a pipeline: the flags reach the search, nothing is left behind when a step fails."""

from __future__ import annotations

import tempfile
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
def few_trials(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The search stops after 4 trials (the clock decides nothing); the searches made are recorded."""
    import lamarck.search

    made: list[Any] = []
    real = lamarck.search.AutoSearch

    class FewTrials(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "max_trials": 4})
            made.append(self)

    monkeypatch.setattr(lamarck.search, "AutoSearch", FewTrials)
    return made


@pytest.mark.parametrize("portfolio", [True, False])
def test_portfolio_flag_reaches_the_search(tmp_path, few_trials, portfolio):
    result = Project(tmp_path / "p").fit(
        _frame(), "predict y", learners=["linear"], portfolio=portfolio, register=False, report=False
    )
    assert [s.portfolio for s in few_trials] == [portfolio]
    sources = {row["source"] for row in result.leaderboard if row["trial"] is not None}
    assert ("portfolio" in sources) is portfolio, sources


def test_a_fit_that_fails_while_registering_leaves_no_temp_dir(tmp_path, few_trials, monkeypatch):
    from lamarck.registry import Registry

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the registry went away")

    monkeypatch.setattr(Registry, "register", broken)
    with pytest.raises(RuntimeError, match="went away"):
        Project(tmp_path / "p").fit(_frame(), "predict y", learners=["linear"], report=False)
    assert [p.name for p in scratch.iterdir()] == []
