"""scikit-learn style estimators: ``AutoClassifier`` and ``AutoRegressor``.

They run the same search as ``Project.fit`` on in-memory arrays, without registering or reporting, and
follow scikit-learn's conventions (``get_params`` / ``set_params``, ``clone``, learned state ending in
``_``)::

    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> clf = AutoClassifier(time_budget_s=4, learners=("lightgbm", "linear")).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

__all__ = ["AutoClassifier", "AutoRegressor"]

_TARGET = "__lamarck_target__"


class _AutoBase(BaseEstimator):
    _task_kind: str = ""

    def __init__(
        self,
        *,
        time_budget_s: float = 60.0,
        metric: str | None = None,
        sampler: str = "tpe",
        learners: Sequence[str] | None = None,
        seed: int = 0,
        project: str | None = None,
    ) -> None:
        self.time_budget_s = time_budget_s
        self.metric = metric
        self.sampler = sampler
        self.learners = learners
        self.seed = seed
        self.project = project

    def _frame(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        arr = np.asarray(X)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])

    def fit(self, X: Any, y: Any) -> _AutoBase:
        from lamarck.project import Project

        frame = self._frame(X).copy()
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        frame[_TARGET] = np.asarray(y)
        task = None
        if self._task_kind == "classification":
            task = "binary" if pd.Series(np.asarray(y)).nunique() == 2 else "multiclass"
        else:
            task = "regression"
        with contextlib.ExitStack() as stack:
            # without a project folder the fit works in a temporary one, removed when the fit ends
            folder = self.project or stack.enter_context(
                tempfile.TemporaryDirectory(prefix="lamarck-", ignore_cleanup_errors=True)
            )
            project = Project(folder)
            result = project.fit(
                frame,
                "",
                target=_TARGET,
                task=task,
                metric=self.metric,
                time_budget_s=self.time_budget_s,
                sampler=self.sampler,
                learners=self.learners,
                seed=self.seed,
                register=False,
                report=False,
            )
        self.model_ = result.model
        self.result_ = result
        self.best_score_ = result.score
        self.leaderboard_ = result.leaderboard
        if self.model_.classes_ is not None:
            labels = np.asarray(y)
            self.classes_ = np.asarray([_original(c, labels) for c in self.model_.classes_])
        return self

    def predict(self, X: Any) -> np.ndarray:
        out = self.model_.predict(self._frame(X))
        if getattr(self, "classes_", None) is not None:
            index = {str(c): c for c in self.classes_}
            return np.asarray([index.get(str(v), v) for v in out])
        return out


def _original(label: Any, labels: np.ndarray) -> Any:
    for value in labels:
        if str(value) == str(label):
            return value
    return label


class AutoClassifier(ClassifierMixin, _AutoBase):
    """AutoML classifier: ``fit(X, y)`` searches the zoo within ``time_budget_s`` seconds."""

    _task_kind = "classification"

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model_.predict_proba(self._frame(X))


class AutoRegressor(RegressorMixin, _AutoBase):
    """AutoML regressor: ``fit(X, y)`` searches the zoo within ``time_budget_s`` seconds."""

    _task_kind = "regression"
