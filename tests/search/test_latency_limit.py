"""A latency limit shapes the ensemble: no member slower than the limit on its own, members that fit
together, the fastest trial alone (with a note) when none fits; the limit comes from the sentence or a
flag."""

from typing import Any

import numpy as np
import pandas as pd
import pytest

from lamarck.data import FeatureProcessor
from lamarck.errors import PlanError
from lamarck.plan import RulePlanner, make_plan
from lamarck.search import AutoSearch, latency_probe


def _data(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    y = (X["a"] + 0.5 * X["b"] ** 2 - X["c"] + rng.normal(scale=0.7, size=n) > 0.4).astype(int).to_numpy()
    return X, y


def _learner_of(models: list[Any]) -> str:
    m = models[0]
    if hasattr(m, "pipeline"):
        return type(m.pipeline.steps[-1][1]).__name__
    return type(m).__name__


def _search(limit: float | None, costs: dict[str, float]) -> Any:
    X, y = _data()
    seen: list[str] = []

    def latency_of(models: list[Any]) -> float:
        name = _learner_of(models)
        seen.append(name)
        return costs[name]

    result = AutoSearch(
        task="binary",
        metric="roc_auc",
        time_budget_s=6.0,
        learners=["lightgbm", "linear", "knn"],
        n_jobs=1,
        max_trials=8,
        latency_ms=limit,
        latency_of=latency_of if limit is not None else None,
    ).fit(X, y)
    return result, seen


COSTS = {"LGBMClassifier": 3.0, "LogisticRegression": 0.4, "KNeighborsClassifier": 0.7}


def test_members_slower_than_the_limit_are_left_out() -> None:
    result, seen = _search(1.0, COSTS)
    assert seen, "the latency of the kept trials was measured"
    learners = {m.learner for m in result.members}
    assert "lightgbm" not in learners
    total = sum(COSTS[_learner_of(m.models)] for m in result.members)
    assert total <= 1.0 or len(result.members) == 1
    assert any("latency limit 1 ms" in n and "left out" in n for n in result.notes)


def test_members_that_fit_alone_but_not_together_are_trimmed() -> None:
    costs = {"LGBMClassifier": 0.6, "LogisticRegression": 0.6, "KNeighborsClassifier": 0.6}
    result, _ = _search(1.0, costs)
    assert len(result.members) == 1  # any two would take 1.2 ms


def test_when_nothing_fits_the_fastest_trial_serves_alone() -> None:
    result, _ = _search(0.1, COSTS)
    assert [m.learner for m in result.members] == ["linear"]
    assert any("no trial answers one row within it" in n for n in result.notes)


def test_the_probe_times_fold_models_through_their_kernels() -> None:
    X, y = _data()
    processor = FeatureProcessor().fit(X)
    F = processor.transform(X)
    result = AutoSearch(
        task="binary", metric="roc_auc", time_budget_s=4.0, learners=["lightgbm"], n_jobs=1, max_trials=2
    ).fit(F, y)
    ms = latency_probe(processor, F, "binary", 2)(result.members[0].models)
    assert 0 < ms < 1000


def test_the_limit_comes_from_the_sentence_or_a_flag() -> None:
    X, y = _data()
    frame = X.assign(churn=y)
    spec = make_plan(
        frame, "predict churn, optimise AUC, 1 minute, answer within 5 ms", planner=RulePlanner()
    )
    assert spec.max_latency_ms == 5.0 and spec.reasons["max_latency_ms"].source == "sentence"
    flagged = make_plan(frame, "predict churn within 5 ms", planner=RulePlanner(), max_latency_ms=2.5)
    assert flagged.max_latency_ms == 2.5 and flagged.reasons["max_latency_ms"].text == "--max-latency-ms 2.5"
    assert make_plan(frame, "predict churn", planner=RulePlanner()).max_latency_ms is None
    with pytest.raises(PlanError, match="latency limit"):
        make_plan(frame, "predict churn", planner=RulePlanner(), max_latency_ms=-1.0)
