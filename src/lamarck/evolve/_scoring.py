"""A model's answers and the gate's one-sided test, shared by the triggers, the gate, the watch and the
shadow: probabilities or values, errors, hardness, the metric (signed: higher is better).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from lamarck.evaluate import mcnemar, paired_bootstrap, score, signed
from lamarck.evolve._memory import hardness

__all__ = ["PerModel", "errors", "hard", "metric_value", "one_sided_test", "predict", "predict_rows"]

V = TypeVar("V")


class PerModel(Generic[V]):
    """A value remembered per model object for as long as it lives (the registry keeps one object per
    version, so passes of one process share it); models need not be hashable.

    >>> memo: PerModel[int] = PerModel()
    >>> class M: ...
    >>> m = M(); memo.put(m, 3); memo.get(m), memo.get(M())
    (3, None)
    """

    def __init__(self) -> None:
        self._values: dict[int, tuple[weakref.ref[Any], V]] = {}

    def get(self, model: Any) -> V | None:
        held = self._values.get(id(model))
        return held[1] if held is not None and held[0]() is model else None

    def put(self, model: Any, value: V) -> None:
        key = id(model)
        self._values[key] = (weakref.ref(model, lambda _: self._values.pop(key, None)), value)


def predict(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Probabilities (classification) or values (regression) over encoded classes."""
    if model.task == "regression":
        return np.asarray(model.predict(X), dtype=float)
    return np.asarray(model.predict_proba(X), dtype=float)


def predict_rows(model: Any, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """:func:`predict` of rows given as dicts of JSON values: through the model's rows path where it has
    one (``LamarckModel.outputs``: no DataFrame, compiled kernels), else a frame of the model's columns."""
    if hasattr(model, "outputs"):
        return np.asarray(model.outputs(list(rows)), dtype=float)
    frame = pd.DataFrame.from_records(list(rows))
    columns = getattr(model, "input_columns", None)
    return predict(model, frame if columns is None else frame.reindex(columns=list(columns)))


def errors(model: Any, pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row error: 0/1 misclassification, or the absolute error of a regression."""
    if model.task == "regression":
        return np.abs(pred - y)
    return (pred.argmax(axis=1) != y).astype(float)


def hard(model: Any, pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row hardness, what the memory pool keeps the hardest rows by."""
    if model.task == "regression":
        return np.abs(pred - y)
    return hardness(pred, y)


def metric_value(model: Any, y: np.ndarray, pred: np.ndarray) -> float:
    """The model's metric, signed so that higher is better; NaN when it cannot be computed."""
    try:
        return float(signed(model.metric, score(model.metric, y, pred)))
    except ValueError:  # e.g. one class only in a small hold-out
        return math.nan


def one_sided_test(
    model: Any,
    y: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    *,
    alpha: float,
    seed: int,
) -> Any:
    """The gate's one-sided test: is the second set of predictions better than the first?

    McNemar on the predicted classes (classification), a paired bootstrap of the metric (regression).
    """
    if model.task == "regression":
        return paired_bootstrap(y, first, second, metric=model.metric, seed=seed, alpha=alpha)
    return mcnemar(y, first.argmax(axis=1), second.argmax(axis=1), alpha=alpha)
