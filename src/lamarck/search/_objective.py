"""The objective follows the metric: which training objectives a search offers, and how a learner trains one.

A learner minimises its own default loss (squared error, log-loss). When the user's metric is another one,
the search also offers objectives that aim at it, as one more choice of the configuration
(``params["objective"]``), scored out of fold by the user's metric like every other choice:

- ``mae``: ``l1`` (the median) and ``huber``; on a count target also ``poisson``; on a non-negative,
  skewed target also ``log1p`` (fit on ``log1p(y)``, predict ``expm1``: about the median, robust to the
  tail);
- ``mape``: ``l1`` and, on a non-negative target, ``log1p``;
- ``f1``, ``f1_macro``, ``balanced_accuracy`` on imbalanced classes: ``balanced`` (class weights
  ``n / (K n_k)``); the decision rule on top is tuned after the search (:mod:`lamarck.search._decision`).

Other metrics (``rmse``, ``r2``, ``roc_auc``, ``accuracy``, ``log_loss``...) get no alternative objective:
their default losses are already theirs, and their searches run as before.

``log1p`` and ``balanced`` work around any learner (:func:`fit_learner`); ``l1``, ``huber`` and
``poisson`` are native: a learner lists in ``Learner.objectives`` those it can train.

    >>> import numpy as np
    >>> shape = target_shape(np.array([0, 0, 1, 2, 0, 7, 1, 0, 3, 25.0]), "regression")
    >>> shape.counts, shape.skewed
    (True, True)
    >>> objectives_for("mae", "regression", shape)
    ('l1', 'huber', 'poisson', 'log1p')
    >>> objectives_for("rmse", "regression", shape)
    ()
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lamarck.search._learners import FitContext, FoldData, Learner

__all__ = [
    "DEFAULT",
    "GENERIC",
    "TargetShape",
    "TransformedModel",
    "balanced_weights",
    "fit_learner",
    "objectives_for",
    "target_shape",
    "warm_start_learner",
]

#: the learner's own loss (a configuration without ``objective`` means the same)
DEFAULT = "default"
#: objectives made around any learner's fit, not by the learner itself
GENERIC: tuple[str, ...] = ("log1p", "balanced")
#: sample skewness from which a non-negative target counts as heavy-tailed
SKEW_LIMIT = 1.0
#: largest over smallest class count from which classes count as imbalanced
IMBALANCE_RATIO = 1.5


@dataclass(frozen=True)
class TargetShape:
    """What the objectives depend on in the target: counts (non-negative integers), sign, skew, balance."""

    counts: bool = False
    nonnegative: bool = False
    skewed: bool = False
    imbalanced: bool = False


def target_shape(y: np.ndarray, task: str) -> TargetShape:
    """The shape of the (encoded) target ``y`` of ``task``.

    >>> target_shape(np.array([0, 0, 0, 1]), "binary").imbalanced
    True
    """
    y = np.asarray(y)
    if task != "regression":
        counts = np.bincount(y.astype(int))
        counts = counts[counts > 0]
        return TargetShape(
            imbalanced=bool(len(counts) > 1 and counts.max() >= IMBALANCE_RATIO * counts.min())
        )
    v = np.asarray(y, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 3:
        return TargetShape()
    nonneg = bool(v.min() >= 0)
    integers = bool(np.all(v == np.round(v)))
    sd = float(v.std())
    skew = float(np.mean(((v - v.mean()) / sd) ** 3)) if sd > 0 else 0.0
    return TargetShape(
        counts=nonneg and integers and len(np.unique(v)) > 1,
        nonnegative=nonneg,
        skewed=nonneg and skew > SKEW_LIMIT,
    )


def objectives_for(metric: str, task: str, shape: TargetShape) -> tuple[str, ...]:
    """The objectives besides the default that a search offers for ``metric`` on a target of ``shape``."""
    if task == "regression":
        if metric == "mae":
            return (
                "l1",
                "huber",
                *(("poisson",) if shape.counts else ()),
                *(("log1p",) if shape.skewed else ()),
            )
        if metric == "mape":
            return ("l1", *(("log1p",) if shape.nonnegative else ()))
        return ()
    if metric in ("f1", "f1_macro", "balanced_accuracy") and shape.imbalanced:
        return ("balanced",)
    return ()


def learner_objectives(learner: Learner, metric: str, task: str, shape: TargetShape) -> tuple[str, ...]:
    """The choices of ``objective`` for ``learner`` (``default`` first), or ``()`` when it has no other."""
    wanted = objectives_for(metric, task, shape)
    # a target transform works around any regression learner; class weights need the learner to honour them
    own = [o for o in wanted if o in learner.objectives or (o == "log1p" and learner.supports(task))]
    return (DEFAULT, *own) if own else ()


def balanced_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    """Class weights ``n / (K n_k)`` over the encoded classes ``0..K-1`` (a class absent from ``y`` gets 1).

    >>> balanced_weights(np.array([0, 0, 0, 1]), 2)
    {0: 0.6666666666666666, 1: 2.0}
    """
    counts = np.bincount(np.asarray(y, dtype=int), minlength=n_classes)
    n, k = len(y), n_classes
    return {c: (n / (k * int(m)) if m > 0 else 1.0) for c, m in enumerate(counts)}


class TransformedModel:
    """A model fitted on ``log1p(y)``: ``predict`` gives ``expm1`` of its prediction (clipped at 0)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @staticmethod
    def back(values: np.ndarray) -> np.ndarray:
        return np.expm1(np.clip(np.asarray(values, dtype=float), -50.0, 50.0)).clip(min=0.0)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.back(self.inner.predict(X))

    @property
    def feature_importances_(self) -> Any:
        return getattr(self.inner, "feature_importances_", None)


def _log1p(y: np.ndarray) -> np.ndarray:
    """``log1p`` of a target, negative values (none in a search, possible in later feedback) as 0."""
    return np.log1p(np.clip(np.asarray(y, dtype=float), 0.0, None))


def _split(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The configuration's objective and the parameters the learner gets (a native objective stays in)."""
    objective = str(params.get("objective", DEFAULT))
    if objective == DEFAULT or objective in GENERIC:
        return objective, {k: v for k, v in params.items() if k != "objective"}
    return objective, dict(params)


def fit_learner(
    learner: Learner,
    params: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    ctx: FitContext,
    X_val: pd.DataFrame | None = None,
    y_val: np.ndarray | None = None,
) -> Any:
    """``learner.fit`` with the configuration's objective: ``log1p`` transforms the target around the
    fit, ``balanced`` passes class weights in ``ctx.class_weight``, a native one goes to the learner."""
    objective, own = _split(params)
    if objective == "log1p":
        fold = ctx.fold
        if fold is not None:
            fold = FoldData(fold.X, _log1p(fold.y), fold.train, fold.valid, fold.cache)
        fold_ctx = dataclasses.replace(ctx, fold=fold)
        y_val_t = None if y_val is None else _log1p(y_val)
        return TransformedModel(learner.fit(own, X, _log1p(y), fold_ctx, X_val, y_val_t))
    if objective == "balanced":
        ctx = dataclasses.replace(ctx, class_weight=balanced_weights(y, ctx.n_classes))
    return learner.fit(own, X, y, ctx, X_val, y_val)


def warm_start_learner(
    learner: Learner,
    previous: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    ctx: FitContext,
    *,
    sample_weight: np.ndarray | None = None,
) -> Any:
    """``learner.warm_start`` through a target transform (the inner model continues on ``log1p(y)``)."""
    if isinstance(previous, TransformedModel):
        inner = learner.warm_start(previous.inner, X, _log1p(y), ctx, sample_weight=sample_weight)
        return TransformedModel(inner)
    return learner.warm_start(previous, X, y, ctx, sample_weight=sample_weight)
