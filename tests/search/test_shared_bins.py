"""LightGBM on a wide table bins it once per search (``FoldData``) instead of once per fold: the folds
train on their rows of those bins, the fold models predict the same through the shared-input path as on
their own, continue with a warm start, survive a pickle, and a narrow table keeps the per-fold bins."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pandas as pd
import pytest

from lamarck.data import FeatureProcessor
from lamarck.search import LEARNERS, AutoSearch, FitContext
from lamarck.search._learners import FoldData, LightGBMLearner, _BinnedLightGBM
from lamarck.search._predict import SharedInputs, fold_matrix
from lamarck.search._search import predict_matrix


def _table(
    task: str, n_rows: int = 240, n_columns: int = 120, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    raw = pd.DataFrame(rng.normal(size=(n_rows, n_columns)), columns=[f"x{i}" for i in range(n_columns)])
    raw["colour"] = rng.choice(["red", "green", "blue"], n_rows)
    signal = raw["x0"] + (raw["colour"] == "red") * 1.5 + 0.5 * raw["x1"]
    if task == "regression":
        y = signal.to_numpy()
    elif task == "binary":
        y = (signal > 0.5).to_numpy().astype(int)
    else:
        y = np.digitize(signal, [0.0, 1.2])
    return FeatureProcessor().fit_transform(raw), y


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_wide_search_bins_once_and_its_models_predict_alike(task):
    X, y = _table(task)
    result = AutoSearch(
        task=task,
        metric="r2" if task == "regression" else "accuracy",
        time_budget_s=4,
        learners=["lightgbm"],
        max_trials=2,
        seed=0,
    ).fit(X, y)
    models = [m for member in result.members for m in member.models]
    assert models and all(isinstance(m, _BinnedLightGBM) for m in models)
    n_classes = 0 if task == "regression" else int(y.max()) + 1
    for model in models:
        direct = predict_matrix(model, X, task, n_classes)
        np.testing.assert_allclose(fold_matrix(model, SharedInputs(X), task, n_classes), direct, rtol=1e-12)
        again = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(predict_matrix(again, X, task, n_classes), direct)
        if task != "regression":
            assert direct.shape == (len(X), n_classes)
            np.testing.assert_allclose(direct.sum(axis=1), 1.0)
            assert model.predict(X).tolist() == direct.argmax(axis=1).tolist()
        assert model.feature_importances_.shape == (X.shape[1],)
    assert result.best_score > (0.5 if task == "regression" else 0.7)
    warm = LEARNERS["lightgbm"].warm_start(models[0], X, y, FitContext(task=task, n_classes=n_classes))
    assert isinstance(warm, _BinnedLightGBM)
    assert warm.booster_.current_iteration() > models[0].booster_.current_iteration()


def test_the_folds_of_one_search_share_one_binned_table():
    X, y = _table("binary")
    cache: dict[str, object] = {}
    learner = LightGBMLearner()
    params = learner.portfolio("binary")[0]
    halves = [np.arange(0, 120), np.arange(120, 240)]
    for tr, va in (halves, halves[::-1]):
        ctx = FitContext(
            task="binary", n_classes=2, deadline=time.monotonic() + 0.3, fold=FoldData(X, y, tr, va, cache)
        )
        learner.fit(params, X.iloc[tr], y[tr], ctx, X.iloc[va], y[va])
        assert list(cache) == ["lightgbm"]
    binned = cache["lightgbm"]
    ctx = FitContext(
        task="binary",
        n_classes=2,
        deadline=time.monotonic() + 0.3,
        fold=FoldData(X, y, halves[0], halves[1], cache),
    )
    learner.fit(params, X.iloc[halves[0]], y[halves[0]], ctx, X.iloc[halves[1]], y[halves[1]])
    assert cache["lightgbm"] is binned  # made once


def test_a_narrow_table_keeps_its_per_fold_bins():
    X, y = _table("binary", n_columns=5)
    tr, va = np.arange(0, 120), np.arange(120, 240)
    ctx = FitContext(task="binary", n_classes=2, deadline=time.monotonic() + 0.3, fold=FoldData(X, y, tr, va))
    model = LightGBMLearner().fit(
        LightGBMLearner().portfolio("binary")[0], X.iloc[tr], y[tr], ctx, X.iloc[va], y[va]
    )
    assert not isinstance(model, _BinnedLightGBM)
