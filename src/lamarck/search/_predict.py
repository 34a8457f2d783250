"""Predicting with many fold models on one feature frame: convert the frame once, share it.

A :class:`~lamarck.search.LamarckModel` averages several fold models (often five LightGBM boosters) over
the same feature frame. Called one by one through their scikit-learn interface, every booster converts
the pandas frame to a matrix again (category codes, dtype checks, a copy) and validates its parameters,
which costs far more than the trees themselves on a small request. :class:`SharedInputs` holds the frame
and the matrices made from it, built on first use and reused by every fold model that takes the same
form; :func:`fold_matrix` predicts one fold model from it and gives exactly what
:func:`~lamarck.search._search.predict_matrix` gives on the frame (the tests compare them bit for bit).

- LightGBM: one float64 matrix with categories as the codes of the booster's own training categories
  (missing and unseen → NaN), exactly what LightGBM builds from a frame, passed to the booster directly;
  small inputs are predicted on one thread (the result of a row does not depend on the threads).
- random forest / extra trees: the integer-coded matrix is built once (each model fills its own medians).
- CatBoost: the string-coded frame is built once per set of category columns.
- anything else: its own ``predict_proba`` / ``predict`` on the frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lamarck.search._learners import _BinnedLightGBM, _CatBoostModel, _codes, _ForestModel
from lamarck.search._objective import TransformedModel
from lamarck.search._search import as_matrix, predict_matrix

__all__ = ["SharedInputs", "fold_matrix"]

#: below this many rows a LightGBM booster predicts on one thread (starting threads costs more)
ONE_THREAD_ROWS = 2000


class SharedInputs:
    """A feature frame and the matrices made from it, each built once per predict call."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._codes: np.ndarray | None = None
        self._catboost: dict[tuple[str, ...], pd.DataFrame] = {}
        self._lightgbm: list[tuple[list[list[Any]] | None, np.ndarray | None]] = []

    def __len__(self) -> int:
        return len(self.frame)

    def codes(self) -> np.ndarray:
        """Numeric float32 matrix, categories as integer codes, missing as NaN (callers copy it)."""
        if self._codes is None:
            self._codes = _codes(self.frame)
        return self._codes

    def catboost(self, cat_columns: list[str]) -> pd.DataFrame:
        key = tuple(cat_columns)
        if key not in self._catboost:
            self._catboost[key] = _CatBoostModel.prepare(self.frame, cat_columns)
        return self._catboost[key]

    def lightgbm(self, pandas_categorical: list[list[Any]] | None) -> np.ndarray | None:
        """The matrix LightGBM would build from the frame for a booster trained with these categories,
        or None when the frame has columns LightGBM would not take (then the caller uses the frame)."""
        for seen, matrix in self._lightgbm:
            if seen == pandas_categorical:
                return matrix
        matrix = _lightgbm_matrix(self.frame, pandas_categorical)
        self._lightgbm.append((pandas_categorical, matrix))
        return matrix


def _lightgbm_matrix(frame: pd.DataFrame, pandas_categorical: list[list[Any]] | None) -> np.ndarray | None:
    """What ``lightgbm.basic._data_from_pandas`` makes of ``frame``, as float64.

    LightGBM picks float32 when every column fits it; integer codes and float32 values are exact in
    float64 as well, and the booster works in double precision, so the predictions are the same.
    """
    dtypes = list(frame.dtypes)
    cats = [j for j, t in enumerate(dtypes) if isinstance(t, pd.CategoricalDtype)]
    if pandas_categorical is not None and len(cats) != len(pandas_categorical):
        return None
    numeric = [j for j, t in enumerate(dtypes) if not isinstance(t, pd.CategoricalDtype)]
    if any(not (isinstance(dtypes[j], np.dtype) and dtypes[j].kind in "biuf") for j in numeric):
        return None  # nullable or other extension dtypes: leave them to LightGBM's own conversion
    if not cats:  # numbers only (a wide table): one conversion, not one per column
        return frame.to_numpy(dtype=np.float64)
    out = np.empty(frame.shape, dtype=np.float64)
    if numeric:
        out[:, numeric] = frame.iloc[:, numeric].to_numpy(dtype=np.float64)
    for k, j in enumerate(cats):
        col = frame.iloc[:, j]
        if pandas_categorical is not None:
            categories = pandas_categorical[k]
            if list(col.cat.categories) != list(categories):
                col = col.cat.set_categories(categories)
        codes = col.cat.codes.to_numpy().astype(np.float64)
        codes[codes < 0] = np.nan
        out[:, j] = codes
    return out


def _is_lightgbm(model: Any) -> bool:
    if isinstance(model, _BinnedLightGBM):
        return True
    if not type(model).__module__.startswith("lightgbm"):
        return False
    import lightgbm as lgb

    return isinstance(model, lgb.LGBMModel) and not callable(model.objective)


def _threads(model: Any, n_rows: int) -> int:
    if n_rows < ONE_THREAD_ROWS:
        return 1
    n_jobs = getattr(model, "n_jobs", None)
    return int(n_jobs) if isinstance(n_jobs, int) and n_jobs > 0 else 0  # 0: OpenMP's default


def _lightgbm_output(model: Any, inputs: SharedInputs, task: str) -> np.ndarray | None:
    import lightgbm as lgb

    booster = model.booster_
    matrix = inputs.lightgbm(booster.pandas_categorical)
    if matrix is None:
        return None
    # as LGBMModel.predict: no start iteration, the best iteration when early stopping found one
    out = np.asarray(booster.predict(matrix, num_threads=_threads(model, len(inputs))))
    if isinstance(model, _BinnedLightGBM):
        return out if task == "regression" else model.as_proba(out)
    if task == "regression" or not isinstance(model, lgb.LGBMClassifier):
        return out
    if out.ndim == 1:  # binary: LGBMClassifier.predict_proba stacks (1 - p, p)
        return np.vstack((1.0 - out, out)).transpose()
    return out


def fold_matrix(model: Any, inputs: SharedInputs, task: str, n_classes: int) -> np.ndarray:
    """``predict_matrix(model, inputs.frame, task, n_classes)``, from the shared conversions."""
    n = len(inputs)
    if isinstance(model, TransformedModel):  # fitted on log1p(y): the inner model's figures, back
        return TransformedModel.back(fold_matrix(model.inner, inputs, task, n_classes))
    if _is_lightgbm(model):
        out = _lightgbm_output(model, inputs, task)
        if out is not None:
            return as_matrix(model, out, n, task, n_classes)
    elif isinstance(model, _ForestModel):
        matrix = model.fill_missing(inputs.codes().copy())
        est = model.est
        out = est.predict(matrix) if task == "regression" else est.predict_proba(matrix)
        return as_matrix(model, np.asarray(out), n, task, n_classes)
    elif isinstance(model, _CatBoostModel):
        prepared = inputs.catboost(model.cat_columns)
        if task == "regression":
            return as_matrix(model, model.predict_prepared(prepared), n, task, n_classes)
        return as_matrix(model, model.predict_proba_prepared(prepared), n, task, n_classes)
    return predict_matrix(model, inputs.frame, task, n_classes)
