"""``LamarckModel``: the fitted artefact — feature processing, the ensemble of fold models, the labels.

It takes the raw table (the columns it was trained on; extra columns are ignored) and returns labels,
probabilities or values. It is what the registry stores and what ``predict`` and the server load. Its
``rule`` (:class:`~lamarck.search._decision.DecisionRule`, tuned out of fold by the search for the metric)
weighs the classes before the label is taken, tempers the probabilities or combines regression members by
their weighted median; a model pickled before rules existed reads as having none.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lamarck.search._compiled import Layout
from lamarck.search._decision import DecisionRule, weighted_median
from lamarck.search._predict import SharedInputs, fold_matrices
from lamarck.search._search import Member

__all__ = ["LamarckModel"]


@dataclass
class LamarckModel:
    """A fitted model over raw rows. ``classes_`` follow the probability columns (binary: positive last)."""

    task: str
    target: str
    metric: str
    input_schema: dict[str, str]
    processor: Any
    members: list[Member]
    classes_: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)
    version: str | None = None
    rule: DecisionRule | None = None

    def __getstate__(self) -> dict[str, Any]:
        # a model without a rule pickles as before rules existed (the class default reads it back as None)
        state = dict(self.__dict__)
        if state.get("rule") is None:
            state.pop("rule", None)
        return state

    @property
    def input_columns(self) -> list[str]:
        return list(self.input_schema)

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.processor.transform(X[self.input_columns])

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        # the features are made once and every fold model reads the same converted matrix (_predict)
        fast = _fast(self.processor)
        return self._combine(SharedInputs(self._features(X), layout=None if fast is None else fast[1]))

    def outputs(self, rows: Sequence[dict[str, Any]]) -> np.ndarray:
        """Probabilities (classification, as :meth:`predict_proba`) or values (regression, as
        :meth:`predict`) for rows given as dicts of JSON values, each read as a frame of that row alone
        would be (``lamarck.data.RowEncoder``). Without a DataFrame where the processor allows it: this is
        the server's path."""
        fast = _fast(self.processor)
        if fast is None:
            frame = pd.DataFrame.from_records(list(rows)).reindex(columns=self.input_columns)
            return np.asarray(
                self.predict(frame) if self.task == "regression" else self.predict_proba(frame), dtype=float
            )
        encoder, layout = fast
        raw = self._combine(SharedInputs(matrix=encoder.encode(rows), layout=layout))
        return np.asarray(raw, dtype=float) if self.task == "regression" else self._proba(raw)

    def compile(self) -> list[str]:
        """Build (and check) the members' compiled kernels now rather than on the first request; the
        learners of the members that have one (the others answer through the frame path)."""
        fast = _fast(self.processor)
        if fast is None:
            return []
        from lamarck.search._compiled import member_kernel

        # the kernels fold_matrices finds: member_kernel([model]) is a single fold's kernel too
        return [m.learner for m in self.members if member_kernel(m.models, fast[1], self.task) is not None]

    def _combine(self, inputs: SharedInputs) -> np.ndarray:
        n_classes = 0 if self.classes_ is None else len(self.classes_)
        means = [np.mean(fold_matrices(m.models, inputs, self.task, n_classes), axis=0) for m in self.members]
        weights = np.array([m.weight for m in self.members])
        if self.rule is not None and self.rule.combine == "median" and self.task == "regression":
            return weighted_median(np.stack(means), weights)
        total: np.ndarray | None = None
        for w, fold_mean in zip(weights, means, strict=True):
            total = w * fold_mean if total is None else total + w * fold_mean
        assert total is not None  # a model always has at least one member
        return total

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, one column per class in ``classes_`` order."""
        if self.task == "regression":
            raise AttributeError("a regression model has no predict_proba")
        return self._proba(self._raw(X))

    def _proba(self, raw: np.ndarray) -> np.ndarray:
        proba = raw / raw.sum(axis=1, keepdims=True)
        return proba if self.rule is None else self.rule.proba(proba)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Labels (classification) or values (regression)."""
        raw = self._raw(X)
        if self.task == "regression":
            return raw
        assert self.classes_ is not None
        if self.rule is not None:
            return self.classes_[self.rule.label_index(raw)]
        return self.classes_[raw.argmax(axis=1)]

    def describe(self) -> str:
        parts = [f"{m.learner}{_objective(m.params)} x{len(m.models)} ({m.weight:.2f})" for m in self.members]
        return " + ".join(parts)


_FAST: weakref.WeakKeyDictionary[Any, tuple[Any, Layout] | None] = weakref.WeakKeyDictionary()
_FAST_LOCK = threading.Lock()


def _fast(processor: Any) -> tuple[Any, Layout] | None:
    """The row encoder and matrix layout of ``processor`` (made once), or None: the frame path only."""
    try:
        if processor in _FAST:
            return _FAST[processor]
    except TypeError:
        return None
    from lamarck.data import RowEncoder

    with _FAST_LOCK:
        encoder = RowEncoder.of(processor)
        made = (
            None
            if encoder is None
            else (encoder, Layout(tuple(encoder.names), encoder.categories(processor)))
        )
        _FAST[processor] = made
    return made


def _objective(params: dict[str, Any]) -> str:
    """`` [l1]`` when a member trained another objective than its learner's default."""
    objective = params.get("objective", "default")
    return "" if objective == "default" else f" [{objective}]"
