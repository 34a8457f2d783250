"""Stop when it is done (issue 14): the plateau rule, time-to-quality, and a search that stops early."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lamarck.errors import ConfigError
from lamarck.search import AutoSearch, EarlyStop, time_to_quality


def test_early_stop_triggers_on_a_plateau_and_not_before():
    rule = EarlyStop(patience=4, tolerance=0.001, min_budget_share=0.25)
    improving = [0.70, 0.75, 0.80, 0.82, 0.84, 0.86, 0.88]
    flat = [0.70, 0.85, 0.84, 0.8505, -math.inf, 0.83]  # 0.8505 is < 0.1 % above 0.85
    assert rule.reason(improving, elapsed_s=50, budget_s=60) is None
    assert rule.reason(flat, elapsed_s=50, budget_s=60) is not None
    assert rule.reason(flat[:4], elapsed_s=50, budget_s=60) is None  # fewer trials than patience + 1
    assert rule.reason(flat, elapsed_s=10, budget_s=60) is None  # less than a quarter of the budget
    assert rule.reason([-math.inf] * 6, elapsed_s=50, budget_s=60) is None  # nothing completed yet
    # a gain above the tolerance in the last `patience` trials keeps it going, for losses as well
    assert rule.reason([-10.0, -9.0, -9.0, -9.0, -9.0, -8.9], elapsed_s=50, budget_s=60) is None
    assert rule.reason([-10.0, -9.0, -9.0, -9.0, -9.0, -8.9995], elapsed_s=50, budget_s=60) is not None


@pytest.mark.parametrize(("name", "value"), [("patience", 0), ("tolerance", -0.1), ("min_budget_share", 2.0)])
def test_early_stop_settings_are_checked(name, value):
    with pytest.raises(ConfigError, match=name):
        EarlyStop(**{name: value})


def test_time_to_quality_from_a_trial_history():
    history = [(1.0, 0.70), (3.0, 0.85), (7.5, 0.895), (20.0, 0.90)]  # (seconds, best so far)
    assert time_to_quality(history, final=0.90, metric="roc_auc", end_s=25.0) == 7.5  # 0.895 >= 0.891
    assert time_to_quality(history, final=0.90, metric="roc_auc", end_s=25.0, share=0.999) == 20.0
    # losses: within 1 % above the final error
    losses = [(2.0, 200.0), (5.0, 158.0), (9.0, 157.5), (14.0, 156.0)]
    assert time_to_quality(losses, final=156.0, metric="rmse", end_s=15.0) == 9.0
    # the final score is an ensemble better than every trial: it arrived at the end
    assert time_to_quality([(2.0, 0.80)], final=0.90, metric="accuracy", end_s=12.0) == 12.0
    assert time_to_quality([], final=0.90, metric="accuracy", end_s=12.0) == 12.0


def _linear_data(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    return X, (X["a"] - 2 * X["b"] + rng.normal(scale=0.3, size=n)).to_numpy()


def test_a_search_on_a_plateau_stops_early_and_says_why():
    X, y = _linear_data()
    rule = EarlyStop(patience=4, tolerance=0.01, min_budget_share=0.0)
    result = AutoSearch(
        task="regression", metric="rmse", time_budget_s=60, learners=["linear"], n_jobs=1, early_stop=rule
    ).fit(X, y)
    assert result.seconds < 30
    assert result.stopped.startswith("search stopped early after")
    assert "in the last 4 trials" in result.stopped and result.stopped in result.notes
    assert len(result.trials) >= 5
    assert 0.0 <= result.time_to_quality_s <= result.seconds
    scores = [s for _, s in result.history]
    assert result.time_to_quality_s == time_to_quality(
        result.history, final=result.best_score, metric="rmse", end_s=result.seconds
    )
    assert scores == sorted(scores, reverse=True)  # the best error so far only falls


def test_without_early_stop_the_search_runs_to_its_end():
    X, y = _linear_data()
    result = AutoSearch(
        task="regression",
        metric="rmse",
        time_budget_s=60,
        learners=["linear"],
        n_jobs=1,
        max_trials=12,
        early_stop=None,
    ).fit(X, y)
    assert len(result.trials) == 12 and result.stopped == ""
