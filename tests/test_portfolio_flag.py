"""``Project.fit(portfolio=False)`` searches without the inherited portfolio (the bench's search-* peers
compare samplers that way)."""

import pytest
from sklearn.datasets import load_iris

import lamarck.search
from lamarck import Project


@pytest.mark.slow
def test_fit_without_portfolio_runs_no_portfolio_trial(tmp_path, monkeypatch):
    searches: list[object] = []
    AutoSearch = lamarck.search.AutoSearch

    class Spy(AutoSearch):  # type: ignore[misc, valid-type]
        def fit(self, X, y):  # type: ignore[no-untyped-def]
            result = super().fit(X, y)
            searches.append((self, result))
            return result

    monkeypatch.setattr(lamarck.search, "AutoSearch", Spy)
    frame = load_iris(as_frame=True).frame
    Project(tmp_path / "p").fit(
        frame, "", target="target", time_budget_s=3, portfolio=False, register=False, report=False
    )
    [(search, result)] = searches
    assert search.portfolio is False
    assert [t for t in result.trials if t.source == "portfolio"] == []
