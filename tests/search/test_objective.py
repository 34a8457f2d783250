"""The objective and the decision rule follow the metric (issue 14): which objectives a search offers for
which metric and target, that each learner trains them, the log1p transform, the tuned decision rule (out
of fold, at predict time, through a pickle) and the calibration kept only when it helps."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pandas as pd
import pytest

from lamarck.data import FeatureProcessor
from lamarck.evaluate import score
from lamarck.search import (
    LEARNERS,
    AutoSearch,
    DecisionRule,
    FitContext,
    LamarckModel,
    TargetShape,
    choose_rule,
    fit_learner,
    objectives_for,
    target_shape,
)
from lamarck.search._learners import FoldData
from lamarck.search._neural import available as neural_available
from lamarck.search._objective import TransformedModel, learner_objectives
from lamarck.search._predict import SharedInputs, fold_matrix

COUNTS = TargetShape(counts=True, nonnegative=True, skewed=True)


# ------------------------------------------------------------------ which objectives for which metric


def test_target_shape_reads_counts_skew_and_balance():
    rng = np.random.default_rng(0)
    assert target_shape(rng.poisson(1.0, 500).astype(float), "regression").counts
    assert target_shape(np.exp(rng.normal(size=500)), "regression") == TargetShape(
        counts=False, nonnegative=True, skewed=True
    )
    assert target_shape(rng.normal(size=500), "regression") == TargetShape()
    assert target_shape(np.array([0] * 90 + [1] * 10), "binary").imbalanced
    assert not target_shape(np.array([0, 1, 2] * 30), "multiclass").imbalanced


@pytest.mark.parametrize(
    ("metric", "task", "shape", "expected"),
    [
        ("mae", "regression", COUNTS, ("l1", "huber", "poisson", "log1p")),
        ("mae", "regression", TargetShape(), ("l1", "huber")),
        ("mape", "regression", COUNTS, ("l1", "log1p")),
        ("rmse", "regression", COUNTS, ()),
        ("r2", "regression", COUNTS, ()),
        ("f1_macro", "multiclass", TargetShape(imbalanced=True), ("balanced",)),
        ("balanced_accuracy", "binary", TargetShape(imbalanced=True), ("balanced",)),
        ("f1_macro", "multiclass", TargetShape(), ()),
        ("accuracy", "multiclass", TargetShape(imbalanced=True), ()),
        ("roc_auc", "binary", TargetShape(imbalanced=True), ()),
        ("log_loss", "binary", TargetShape(imbalanced=True), ()),
    ],
)
def test_objectives_follow_the_metric_and_the_target(metric, task, shape, expected):
    assert objectives_for(metric, task, shape) == expected


def test_each_learner_is_offered_only_what_it_trains():
    imbalanced = TargetShape(imbalanced=True)
    assert learner_objectives(LEARNERS["lightgbm"], "mae", "regression", COUNTS) == (
        "default",
        "l1",
        "huber",
        "poisson",
        "log1p",
    )
    # a target transform wraps any learner; knn and linear train no native robust loss
    assert learner_objectives(LEARNERS["knn"], "mae", "regression", COUNTS) == ("default", "log1p")
    assert learner_objectives(LEARNERS["knn"], "f1_macro", "multiclass", imbalanced) == ()
    assert learner_objectives(LEARNERS["random_forest"], "f1_macro", "multiclass", imbalanced) == (
        "default",
        "balanced",
    )
    assert learner_objectives(LEARNERS["lightgbm"], "rmse", "regression", COUNTS) == ()


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.normal(size=n), "c": pd.Categorical(rng.choice(list("xyz"), n))}
    )


def test_a_default_metric_searches_as_before_and_mae_tries_the_objectives_first():
    X = _frame(300, 0)
    y = np.random.default_rng(1).poisson(np.exp(0.5 * X["a"])).astype(float)
    kwargs = {"task": "regression", "time_budget_s": 30, "learners": ["lightgbm", "linear"], "n_jobs": 1}
    rmse = AutoSearch(metric="rmse", max_trials=4, **kwargs).fit(X, y)
    assert all("objective" not in t.params for t in rmse.trials)
    mae = AutoSearch(metric="mae", max_trials=7, **kwargs).fit(X, y)
    # the cheap baseline (the default objective) comes first, then the portfolio
    assert (mae.trials[0].source, mae.trials[0].params.get("objective")) == ("baseline", "default")
    first = [(t.learner, t.params.get("objective")) for t in mae.trials[1:7]]
    assert first == [
        ("lightgbm", "default"),
        ("lightgbm", "l1"),
        ("lightgbm", "huber"),
        ("lightgbm", "poisson"),
        ("lightgbm", "log1p"),
        ("linear", "default"),
    ]
    assert all(t.status == "complete" for t in mae.trials[:6])


# ------------------------------------------------------------------ the learners train them


def _rounds(name: str, n: int) -> dict[str, int]:
    """A short fit: the learner's own name for its number of trees (none for linear)."""
    return {"catboost": {"iterations": n}, "linear": {}}.get(name, {"n_estimators": n})


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost"])
@pytest.mark.parametrize("objective", ["l1", "huber", "poisson", "log1p"])
def test_boosting_learners_train_the_regression_objectives(name, objective):
    X = _frame(200, 2)
    y = np.random.default_rng(3).poisson(np.exp(0.6 * X["a"])).astype(float)
    learner = LEARNERS[name]
    params = {**learner.portfolio("regression")[0], "objective": objective, **_rounds(name, 30)}
    ctx = FitContext(task="regression", n_classes=0, n_jobs=1, deadline=time.monotonic() + 20)
    model = fit_learner(learner, params, X, y, ctx)
    pred = fold_matrix(model, SharedInputs(X), "regression", 0)
    assert pred.shape == (200,) and np.all(np.isfinite(pred))
    if objective in ("poisson", "log1p"):
        assert pred.min() >= 0
    assert np.corrcoef(pred, np.exp(0.6 * X["a"]))[0, 1] > 0.5


@pytest.mark.parametrize(
    "name",
    [n for n, ln in LEARNERS.items() if "balanced" in ln.objectives and (n != "mlp" or neural_available())],
)
def test_class_weights_move_the_labels_towards_the_small_class(name):
    X = _frame(400, 4)
    rng = np.random.default_rng(5)
    y = (X["a"] + rng.normal(scale=1.0, size=400) > 1.6).astype(int).to_numpy()
    learner = LEARNERS[name]
    ctx = FitContext(task="binary", n_classes=2, n_jobs=1, deadline=time.monotonic() + 20)
    base = {**learner.portfolio("binary")[0], **_rounds(name, 50)}
    plain = fold_matrix(fit_learner(learner, base, X, y, ctx), SharedInputs(X), "binary", 2)
    weighted = fit_learner(learner, {**base, "objective": "balanced"}, X, y, ctx)
    balanced = fold_matrix(weighted, SharedInputs(X), "binary", 2)
    assert balanced[:, 1].mean() > plain[:, 1].mean()


def test_the_log1p_transform_round_trips_and_predicts_alike_through_shared_inputs():
    X = _frame(300, 6)
    y = np.exp(1.0 + 1.5 * X["a"].to_numpy())  # heavy-tailed, positive
    learner = LEARNERS["linear"]
    ctx = FitContext(task="regression", n_classes=0, n_jobs=1)
    model = fit_learner(learner, {"C": 100.0, "objective": "log1p"}, X, y, ctx)
    assert isinstance(model, TransformedModel)
    inner = model.inner.predict(X)
    assert np.corrcoef(inner, np.log1p(y))[0, 1] > 0.9  # the inner model learned log1p(y)
    assert np.allclose(model.predict(X), np.expm1(inner).clip(min=0))  # and predictions come back
    assert np.median(np.abs(model.predict(X) - y) / y) < 0.5
    assert np.allclose(fold_matrix(model, SharedInputs(X), "regression", 0), model.predict(X))
    again = pickle.loads(pickle.dumps(model))
    assert np.allclose(again.predict(X), model.predict(X))


@pytest.mark.parametrize("objective", ["log1p", "balanced"])
def test_shared_bins_take_the_folds_labels_and_weights(objective):
    """A wide table's LightGBM folds train on bins made once with the raw labels: a transformed target
    and class weights still reach the booster."""
    rng = np.random.default_rng(7)
    raw = pd.DataFrame(rng.normal(size=(240, 110)), columns=[f"x{i}" for i in range(110)])
    X = FeatureProcessor().fit_transform(raw)
    task = "regression" if objective == "log1p" else "binary"
    y = (
        np.expm1(1.0 + raw["x0"].to_numpy())
        if task == "regression"
        else (raw["x0"] > 1.2).to_numpy().astype(int)
    )
    learner = LEARNERS["lightgbm"]
    cache: dict[str, object] = {}
    tr, va = np.arange(0, 160), np.arange(160, 240)
    params = {**learner.portfolio(task)[0], "objective": objective}
    ctx = FitContext(
        task=task, n_classes=0 if task == "regression" else 2, n_jobs=1, fold=FoldData(X, y, tr, va, cache)
    )
    model = fit_learner(learner, params, X.iloc[tr], y[tr], ctx, X.iloc[va], y[va])
    assert "lightgbm" in cache
    out = fold_matrix(model, SharedInputs(X.iloc[va]), task, ctx.n_classes)
    if task == "regression":
        assert np.median(np.abs(np.log1p(out) - np.log1p(y[va]))) < 0.5  # fitted in the log space
    else:
        plain = fit_learner(learner, learner.portfolio(task)[0], X.iloc[tr], y[tr], ctx, X.iloc[va], y[va])
        assert out[:, 1].mean() > fold_matrix(plain, SharedInputs(X.iloc[va]), task, 2)[:, 1].mean()


# ------------------------------------------------------------------ the decision rule


def _imbalanced(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "noise": rng.normal(size=n)})
    signal = X["a"] + 0.5 * X["b"] + rng.normal(scale=0.8, size=n)
    return X, np.digitize(signal, [-1.8, 1.4, 2.2])  # classes of about 6 %, 80 %, 9 %, 5 %


def test_the_tuned_decision_rule_improves_macro_f1_out_of_fold():
    X, y = _imbalanced()
    result = AutoSearch(
        task="multiclass", metric="f1_macro", time_budget_s=60, learners=["linear"], max_trials=2, n_jobs=1
    ).fit(X, y)
    assert result.rule is not None and result.rule.class_weights is not None
    plain = score("f1_macro", y[result.oof_rows], result.oof[result.oof_rows])
    assert result.best_score > plain + 0.01  # the cross-fitted score with the rule
    assert any("decision rule" in n for n in result.notes)


def test_the_rule_is_applied_at_predict_time_and_survives_a_pickle():
    X, y = _imbalanced()
    result = AutoSearch(
        task="multiclass", metric="f1_macro", time_budget_s=60, learners=["linear"], max_trials=1, n_jobs=1
    ).fit(X, y)
    raw = X.assign(a=X["a"].astype(float))
    processor = FeatureProcessor().fit(raw)
    model = LamarckModel(
        task="multiclass",
        target="y",
        metric="f1_macro",
        input_schema={c: str(raw[c].dtype) for c in raw.columns},
        processor=processor,
        members=result.members,
        classes_=np.array(["w", "x", "y", "z"]),
        rule=result.rule,
    )
    proba = model.predict_proba(raw)
    labels = model.predict(raw)
    assert result.rule is not None
    assert (labels == model.classes_[result.rule.label_index(proba)]).all()
    assert (labels != model.classes_[proba.argmax(axis=1)]).any()  # the rule changes some labels
    again = pickle.loads(pickle.dumps(model))
    assert again.rule == model.rule
    assert (again.predict(raw) == labels).all()


def test_a_model_without_a_rule_pickles_as_before_and_reads_none():
    model = LamarckModel(
        task="regression", target="y", metric="rmse", input_schema={}, processor=None, members=[]
    )
    state = model.__getstate__()
    assert "rule" not in state
    assert pickle.loads(pickle.dumps(model)).rule is None


def test_calibration_is_kept_only_when_it_helps():
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 1.0
    honest = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # the same ranking, far too sure of itself: a temperature above 1 helps
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    kept = choose_rule("log_loss", y, sharp, seed=0)
    assert kept.rule is not None and kept.rule.temperature is not None and kept.rule.temperature > 2
    assert kept.score < kept.before
    fitted = choose_rule("log_loss", y, honest, seed=0)
    # honest probabilities: a temperature near 1, which does not beat them out of fold
    assert fitted.rule is None or abs(np.log(fitted.rule.temperature or 1.0)) < 0.1
    assert fitted.score <= fitted.before


def test_no_rule_for_metrics_of_the_probabilities_ranking():
    y = np.array([0, 1] * 20)
    proba = np.column_stack([np.linspace(0.9, 0.1, 40), np.linspace(0.1, 0.9, 40)])
    choice = choose_rule("roc_auc", y, proba)
    assert choice.rule is None and choice.note == ""


def test_the_weighted_median_combines_regression_members():
    rule = DecisionRule(combine="median")
    assert rule.describe() == "median of the members"
