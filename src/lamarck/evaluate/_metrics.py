"""One registry of metrics: name → function, direction, the tasks it fits.

Classification metrics take the encoded truth (integers ``0..K-1``; for binary tasks ``1`` is the
positive class) and a probability matrix of shape ``(n, K)``; regression metrics take the truth and the
predictions. Scores are in the metric's own units; :func:`signed` turns them into "higher is better".

    >>> import numpy as np
    >>> y = np.array([0, 1, 1, 0])
    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    >>> round(score("roc_auc", y, p), 3)
    0.75
    >>> score("accuracy", y, p)
    0.75
    >>> signed("rmse", 2.0)
    -2.0
    >>> get_metric("RMSE").name
    'rmse'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn import metrics as skm

from lamarck.errors import PlanError

__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "Metric",
    "Task",
    "get_metric",
    "metrics_for",
    "score",
    "signed",
]

Task = Literal["binary", "multiclass", "regression"]
CLASSIFICATION: tuple[Task, ...] = ("binary", "multiclass")


@dataclass(frozen=True)
class Metric:
    """A metric: its function, whether higher is better, and the tasks it fits."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool
    tasks: tuple[Task, ...]
    description: str

    def fits(self, task: str) -> bool:
        return task in self.tasks


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.asarray(proba).argmax(axis=1)


def _roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    proba = np.asarray(proba)
    if proba.shape[1] == 2:
        return float(skm.roc_auc_score(y, proba[:, 1]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1])))


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(skm.log_loss(y, proba, labels=np.arange(proba.shape[1])))


def _average_precision(y: np.ndarray, proba: np.ndarray) -> float:
    return float(skm.average_precision_score(y, np.asarray(proba)[:, 1]))


def _f1(y: np.ndarray, proba: np.ndarray) -> float:
    return float(skm.f1_score(y, _labels(proba), zero_division=0))


def _f1_macro(y: np.ndarray, proba: np.ndarray) -> float:
    return float(skm.f1_score(y, _labels(proba), average="macro", zero_division=0))


def _accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(skm.accuracy_score(y, _labels(proba)))


def _balanced_accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(skm.balanced_accuracy_score(y, _labels(proba)))


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, pred)))


def _mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(skm.mean_absolute_error(y, pred))


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    return float(skm.r2_score(y, pred))


def _mape(y: np.ndarray, pred: np.ndarray) -> float:
    return float(skm.mean_absolute_percentage_error(y, pred))


_ALL: tuple[Metric, ...] = (
    Metric(
        "roc_auc", _roc_auc, True, CLASSIFICATION, "area under the ROC curve (one-vs-rest for multiclass)"
    ),
    Metric("accuracy", _accuracy, True, CLASSIFICATION, "share of correct labels"),
    Metric("balanced_accuracy", _balanced_accuracy, True, CLASSIFICATION, "mean recall over classes"),
    Metric("log_loss", _log_loss, False, CLASSIFICATION, "cross-entropy of the predicted probabilities"),
    Metric("f1", _f1, True, ("binary",), "F1 score of the positive class"),
    Metric("f1_macro", _f1_macro, True, CLASSIFICATION, "unweighted mean F1 over classes"),
    Metric(
        "average_precision", _average_precision, True, ("binary",), "area under the precision-recall curve"
    ),
    Metric("rmse", _rmse, False, ("regression",), "root mean squared error"),
    Metric("mae", _mae, False, ("regression",), "mean absolute error"),
    Metric("r2", _r2, True, ("regression",), "coefficient of determination"),
    Metric("mape", _mape, False, ("regression",), "mean absolute percentage error"),
)

METRICS: dict[str, Metric] = {m.name: m for m in _ALL}

DEFAULT_METRIC: dict[str, str] = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}


def get_metric(name: str) -> Metric:
    """The metric called ``name`` (case and ``-``/space insensitive); :class:`PlanError` if unknown."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in METRICS:
        raise PlanError(f"unknown metric {name!r}. Fix: use one of {', '.join(sorted(METRICS))}.")
    return METRICS[key]


def metrics_for(task: str) -> list[str]:
    """Names of the metrics that fit ``task``."""
    return [m.name for m in _ALL if m.fits(task)]


def score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The metric in its own units. Classification: ``y_pred`` is the (n, K) probability matrix."""
    return get_metric(metric).fn(np.asarray(y_true), np.asarray(y_pred))


def signed(metric: str, value: float) -> float:
    """``value`` turned so that higher is better (losses and errors negated)."""
    return value if get_metric(metric).greater_is_better else -value
