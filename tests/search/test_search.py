import time

import numpy as np
import pandas as pd
import pytest

from lamarck.errors import ConfigError
from lamarck.search import SAMPLERS, AutoSearch, caruana_weights, choose_scheme


def _data(n: int = 400, task: str = "binary", seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(5)})
    X["g"] = pd.Categorical(rng.choice(list("abcd"), size=n))
    signal = X["f0"] * 2 + X["f1"] ** 2 + (X["g"] == "a") - 1
    if task == "regression":
        return X, (signal + rng.normal(scale=0.3, size=n)).to_numpy()
    if task == "binary":
        return X, (signal + rng.normal(scale=0.5, size=n) > 0).astype(int).to_numpy()
    return X, np.digitize(signal + rng.normal(scale=0.3, size=n), [-1, 1]).astype(int)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "metric", "floor"),
    [
        ("binary", "roc_auc", 0.85),
        ("multiclass", "log_loss", None),
        ("regression", "rmse", None),
    ],
)
def test_search_finds_a_good_model(task, metric, floor):
    X, y = _data(task=task)
    result = AutoSearch(
        task=task, metric=metric, time_budget_s=60, max_trials=5, learners=["lightgbm", "linear", "knn"]
    ).fit(X, y)
    assert result.members and abs(sum(m.weight for m in result.members) - 1) < 1e-9
    assert result.leaderboard[0].status == "complete"
    if floor is not None:
        assert result.best_score > floor
    if metric == "rmse":
        assert result.best_score < np.std(y) * 0.6  # far better than predicting the mean
    if metric == "log_loss":
        assert result.best_score < 0.8  # far better than uniform (ln 3 = 1.10)


@pytest.mark.slow
def test_budget_is_honoured():
    X, y = _data(n=3000)
    budget = 5.0
    t0 = time.monotonic()
    AutoSearch(task="binary", metric="roc_auc", time_budget_s=budget).fit(X, y)
    assert time.monotonic() - t0 < budget * 1.1 + 2.0


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_runs(sampler):
    X, y = _data(n=300)
    result = AutoSearch(
        task="binary",
        metric="roc_auc",
        time_budget_s=4,
        sampler=sampler,
        learners=["lightgbm", "linear"],
        max_trials=8,
    ).fit(X, y)
    assert result.sampler == sampler
    assert 1 <= len(result.trials) <= 8
    if sampler == "grid":
        assert all(t.source == "grid" for t in result.trials)


@pytest.mark.slow
def test_same_seed_same_leaderboard():
    X, y = _data(n=300)
    runs = [
        AutoSearch(
            task="binary",
            metric="roc_auc",
            time_budget_s=600,  # never binding: a trial cut short by a deadline on a busy machine differs
            learners=["lightgbm", "linear"],
            max_trials=6,
            seed=3,
        ).fit(X, y)
        for _ in range(2)
    ]
    a, b = ([(t.learner, round(t.score, 10)) for t in r.trials] for r in runs)
    assert a == b


def test_bad_options_are_clear_errors():
    X, y = _data(n=100)
    with pytest.raises(ConfigError, match="sampler"):
        AutoSearch(task="binary", metric="roc_auc", time_budget_s=5, sampler="annealing").fit(X, y)
    with pytest.raises(ConfigError, match="learner"):
        AutoSearch(task="binary", metric="roc_auc", time_budget_s=5, learners=["svm"]).fit(X, y)
    with pytest.raises(ConfigError, match="time budget"):
        AutoSearch(task="binary", metric="roc_auc", time_budget_s=0).fit(X, y)


def test_validation_scheme_by_size():
    assert choose_scheme(n_rows=500, task="binary").n_splits == 5
    assert choose_scheme(n_rows=50_000, task="binary").n_splits == 3
    holdout = choose_scheme(n_rows=1_000_000, task="regression")
    assert holdout.kind == "holdout" and holdout.holdout_fraction <= 0.2
    y = np.array([0] * 90 + [1] * 10)
    for _, va in choose_scheme(n_rows=100, task="binary").split(y, seed=0):
        assert y[va].sum() == 2  # stratified: the minority class is spread evenly


def test_caruana_prefers_the_blend_that_scores_best():
    y = np.linspace(0, 1, 50)
    preds = [y + 0.2, y - 0.2, y + 1.0]
    w = caruana_weights(preds, lambda p: -float(np.mean((p - y) ** 2)))
    assert w[2] == 0 and w[0] > 0 and w[1] > 0


def test_a_trial_cut_by_the_deadline_does_not_set_its_learners_cost(monkeypatch):
    """The second trial is cut at half the time left (it took the time it was given): later trials still
    start, because the learner's cost is what its complete fits took."""
    from lamarck.search import _search
    from lamarck.search._trial import FoldRun

    X, y = _data(n=300)
    calls: list[float] = []

    def run_folds(**job):  # type: ignore[no-untyped-def]
        calls.append(job["time_left_s"])
        n = len(job["folds"])
        oof = np.full((len(y), 2), 0.5)
        seconds = 0.2 if len(calls) != 2 else job["trial_time_s"]  # cut: it ran all the time it was given
        time.sleep(seconds)
        return FoldRun(
            "complete", [object()] * n, oof, [0.5] * n, n_cut=n if len(calls) == 2 else 0, seconds=seconds
        )

    monkeypatch.setattr(_search, "run_folds", run_folds)
    search = AutoSearch(
        task="binary", metric="roc_auc", time_budget_s=4, learners=["lightgbm"], max_trials=6, early_stop=None
    )
    search.fit(X, y)
    assert len(calls) >= 4, calls
