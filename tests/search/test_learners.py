"""Contract suite run on every learner of the zoo (scikit-learn check_estimator in spirit)."""

import pickle
import time

import numpy as np
import optuna
import pandas as pd
import pytest

from lamarck.search import LEARNERS, FitContext
from lamarck.search._neural import available, warm
from lamarck.search._search import predict_matrix


def _frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], size=n)),
        }
    )
    X.loc[::17, "a"] = np.nan
    X.loc[::13, "c"] = np.nan
    return X


def _target(X: pd.DataFrame, task: str) -> np.ndarray:
    signal = X["a"].fillna(0).to_numpy() + (X["c"] == "x").to_numpy() * 1.5
    if task == "regression":
        return signal
    if task == "binary":
        return (signal > 0.3).astype(int)
    return np.digitize(signal, [-0.5, 0.8])


#: the learners this environment can fit (the MLP needs the neural extra)
#: the searchable learners (the zero-shot one, registered when lamarck.text is imported, has no search)
SEARCHABLE = sorted(n for n, learner in LEARNERS.items() if learner.searchable)
FITTABLE = [n for n in SEARCHABLE if n != "mlp" or available()]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", FITTABLE)
def test_learner_contract(name: str, task: str) -> None:
    warm()  # PyTorch's first import in the process is not the MLP's fit (a search warms it the same way)
    learner = LEARNERS[name]
    assert learner.supports(task)
    X = _frame()
    y = _target(X, task)
    n_classes = 0 if task == "regression" else int(y.max()) + 1
    ctx = FitContext(task=task, n_classes=n_classes, seed=0, n_jobs=1, deadline=time.monotonic() + 3)
    params = learner.portfolio(task)[0]
    model = learner.fit(params, X.iloc[:180], y[:180], ctx, X.iloc[180:], y[180:])
    pred = predict_matrix(model, X.iloc[180:], task, n_classes)
    if task == "regression":
        assert pred.shape == (60,)
        assert np.corrcoef(pred, y[180:])[0, 1] > 0.5  # it learned something
    else:
        assert pred.shape == (60, n_classes)
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-6)
        assert (pred.argmax(axis=1) == y[180:]).mean() > 0.5
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(predict_matrix(clone, X.iloc[180:], task, n_classes), pred)


@pytest.mark.parametrize("name", SEARCHABLE)
def test_search_space_and_grid_are_prefixed_and_valid(name: str) -> None:
    learner = LEARNERS[name]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = learner.search_space(trial, "binary", 1000)
    assert set(trial.params) == {f"{name}.{k}" for k in params}
    assert learner.grid("binary"), "every learner has a grid for grid search"
    for config in learner.portfolio("regression"):
        assert set(config) == set(params), "portfolio configs set every parameter of the space"


def test_unseen_category_at_predict_time_is_handled() -> None:
    X = _frame()
    y = _target(X, "binary")
    X_new = X.iloc[:10].copy()
    X_new["c"] = pd.Categorical(["w"] * 10, categories=[*X["c"].cat.categories.tolist(), "w"])
    X_new["c"] = X_new["c"].cat.set_categories(X["c"].cat.categories)  # as the processor does: unseen → NaN
    for name in FITTABLE:
        model = LEARNERS[name].fit(
            LEARNERS[name].portfolio("binary")[0], X, y, FitContext("binary", 2, n_jobs=1)
        )
        assert predict_matrix(model, X_new, "binary", 2).shape == (10, 2)


def test_catboost_warm_start_refits_the_trees_early_stopping_chose_with_the_weights() -> None:
    learner = LEARNERS["catboost"]
    X = _frame(600, seed=3)
    y = _target(X, "binary")
    ctx = FitContext(task="binary", n_classes=2, seed=0, n_jobs=1)
    first = learner.fit(learner.portfolio("binary")[0], X.iloc[:400], y[:400], ctx, X.iloc[400:], y[400:])
    trees = first.est.tree_count_
    assert 0 < trees < 3000  # early stopping chose them
    flipped = 1 - y
    weights = np.ones(len(X))
    warm = learner.warm_start(first, X, flipped, ctx, sample_weight=weights)
    assert warm.est.tree_count_ == max(50, trees) and warm is not first
    assert np.mean(warm.predict(X) == flipped) > 0.8  # a refit, not a continuation of the old concept
    heavy = weights.copy()
    heavy[flipped == 1] = 50.0
    leaning = learner.warm_start(first, X, flipped, ctx, sample_weight=heavy)
    assert np.mean(leaning.predict(X) == 1) > np.mean(warm.predict(X) == 1)  # the weights count
