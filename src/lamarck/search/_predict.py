"""Predicting with many fold models on one feature frame: convert the frame once, share it.

A :class:`~lamarck.search.LamarckModel` averages several fold models (often five LightGBM boosters) over
the same feature frame. Called one by one through their scikit-learn interface, every booster converts
the pandas frame to a matrix again (category codes, dtype checks, a copy) and validates its parameters,
which costs far more than the trees themselves on a small request. :class:`SharedInputs` holds the frame
and the matrices made from it, built on first use and reused by every fold model that takes the same
form; :func:`fold_matrix` predicts one fold model from it and gives what
:func:`~lamarck.search._search.predict_matrix` gives on the frame.

With a :class:`~lamarck.search._compiled.Layout` (a model whose processor the row encoder reads), the fold
models of XGBoost, LightGBM, the forests and the linear / k-NN pipelines predict through compiled kernels
(:mod:`lamarck.search._compiled`; :func:`fold_matrices` runs a member's folds in one), each checked against
its model before use: the same answers to 1e-9 (bit for bit but for sums taken in another order). Without
one, or for another learner:

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

from lamarck.search._compiled import ONE_THREAD_ROWS, Layout, kernel, member_kernel
from lamarck.search._learners import _BinnedLightGBM, _CatBoostModel, _codes, _ForestModel
from lamarck.search._objective import TransformedModel
from lamarck.search._search import as_matrix, predict_matrix

__all__ = ["SharedInputs", "fold_matrices", "fold_matrix"]


class SharedInputs:
    """A feature frame and the matrices made from it, each built once per predict call.

    Built from the frame (``SharedInputs(frame)``), or from the matrix of a :class:`Layout` (the rows'
    encoding, ``SharedInputs(matrix=..., layout=...)``: the frame is then made only if a fold model without
    a kernel asks for it). With a layout, XGBoost and the dense pipelines predict through their kernels
    (:mod:`lamarck.search._compiled`) and LightGBM and the forests read the matrix.
    """

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        *,
        matrix: np.ndarray | None = None,
        layout: Layout | None = None,
    ) -> None:
        if frame is None and (matrix is None or layout is None):
            raise ValueError("SharedInputs needs a frame, or a matrix and its layout")
        self._frame = frame
        self._matrix = matrix
        self.layout = layout
        self.n = len(frame) if frame is not None else len(matrix)  # type: ignore[arg-type]
        self._codes: np.ndarray | None = None
        self._catboost: dict[tuple[str, ...], pd.DataFrame] = {}
        self._lightgbm: list[tuple[list[list[Any]] | None, np.ndarray | None]] = []

    def __len__(self) -> int:
        return self.n

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            assert self.layout is not None and self._matrix is not None
            self._frame = self.layout.frame(self._matrix)
        return self._frame

    def matrix(self) -> np.ndarray | None:
        """The layout's float64 matrix (categories as codes, missing NaN), or None without a layout."""
        if self._matrix is None and self.layout is not None:
            self._matrix = _lightgbm_matrix(self.frame, None)
        return self._matrix

    def codes(self) -> np.ndarray:
        """Numeric float32 matrix, categories as integer codes, missing as NaN (callers copy it)."""
        if self._codes is None:
            matrix = self.matrix()
            self._codes = matrix.astype(np.float32) if matrix is not None else _codes(self.frame)
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
            if seen is pandas_categorical:
                return matrix
        made = self.matrix()
        if made is not None and self.layout is not None:
            out = _recoded(made, self.layout, pandas_categorical)
        else:
            out = _lightgbm_matrix(self.frame, pandas_categorical)
        self._lightgbm.append((pandas_categorical, out))
        return out


_RECODES: dict[tuple[int, int], tuple[Any, Any, list[tuple[int, np.ndarray]] | None]] = {}


def _recoded(
    matrix: np.ndarray, layout: Layout, pandas_categorical: list[list[Any]] | None
) -> np.ndarray | None:
    """``matrix`` with each category column's codes moved to the booster's own levels (as LightGBM's
    ``set_categories`` does: a level it does not know is missing); None when the counts differ."""
    if pandas_categorical is None:
        return matrix
    key = (id(layout), id(pandas_categorical))
    found = _RECODES.get(key)
    if found is None or found[0] is not layout or found[1] is not pandas_categorical:
        columns = sorted(layout.categories)
        moves: list[tuple[int, np.ndarray]] | None = None
        if len(columns) == len(pandas_categorical):
            moves = []
            for j, theirs in zip(columns, pandas_categorical, strict=True):
                ours = layout.categories[j]
                if list(ours) != list(theirs):
                    where = {v: float(i) for i, v in enumerate(theirs)}
                    moves.append((j, np.array([where.get(v, np.nan) for v in ours] + [np.nan])))
        if len(_RECODES) > 256:
            _RECODES.clear()
        found = (layout, pandas_categorical, moves)
        _RECODES[key] = found
    moves = found[2]
    if moves is None:
        return None
    if not moves:
        return matrix
    out = matrix.copy()
    for j, table in moves:
        col = out[:, j]
        out[:, j] = table[np.where(np.isnan(col), len(table) - 1, col).astype(np.intp)]
    return out


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


def fold_matrices(models: list[Any], inputs: SharedInputs, task: str, n_classes: int) -> list[np.ndarray]:
    """``fold_matrix`` of each of a member's fold models; by one kernel for them all where there is one."""
    if inputs.layout is not None and len(models) > 1:
        fused = member_kernel(models, inputs.layout, task)
        matrix = inputs.matrix() if fused is not None else None
        if fused is not None and matrix is not None:
            n = len(inputs)
            return [
                as_matrix(m, out, n, task, n_classes) for m, out in zip(models, fused(matrix), strict=True)
            ]
    return [fold_matrix(m, inputs, task, n_classes) for m in models]


def fold_matrix(model: Any, inputs: SharedInputs, task: str, n_classes: int) -> np.ndarray:
    """``predict_matrix(model, inputs.frame, task, n_classes)``, from the shared conversions."""
    n = len(inputs)
    if isinstance(model, TransformedModel):  # fitted on log1p(y): the inner model's figures, back
        return TransformedModel.back(fold_matrix(model.inner, inputs, task, n_classes))
    if inputs.layout is not None and (made := kernel(model, inputs.layout, task)) is not None:
        matrix = inputs.matrix()
        if matrix is not None:
            return as_matrix(model, made(matrix), n, task, n_classes)
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
