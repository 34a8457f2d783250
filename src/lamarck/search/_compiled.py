"""Compiled fold predictors: a member's prediction from the numeric matrix alone, without pandas.

Why one file of ~700 lines: every kernel shares the layout, the probe and the check against its model;
split by learner, the one rule that makes them safe (checked before use) would be spread over modules.

Through its own interface a fold model re-reads a pandas frame on every call: XGBoost converts it and its
categories (4 ms for one row), the linear and k-NN members run a scikit-learn ``ColumnTransformer``
pipeline (imputer, quantile transform, scaler, one-hot encoder: 20 ms for one row), a forest dispatches
its trees one by one, while the arithmetic itself takes microseconds. A *kernel* does the same arithmetic
on the matrix every fast predictor shares (:class:`Layout`: one float64 column per feature, categories as
codes of the processor's levels); :func:`member_kernel` gives one for all the fold models of a member:

- XGBoost: the booster's C function ``XGBoosterPredictFromDense`` on the matrix, with the iteration range
  the estimator uses (the best iteration after early stopping), on one thread below 2,000 rows;
- LightGBM: its single-row C function (``LGBM_BoosterPredictForMatSingleRowFast``) up to 64 rows, the
  booster's ``predict`` beyond, where the booster's categories are the layout's;
- random forest / extra trees: one row walks every tree of every fold one level per NumPy step; 2 to 16 rows
  go through treelite's C++ runtime (GTIL) on the forest treelite imports from each fold (the numpy walk
  where treelite cannot); beyond, each tree walks the rows in scikit-learn's C code (``Tree.apply``, without
  the estimator's checks and dispatch); the leaves' class fractions added tree after tree as scikit-learn
  adds them;
- the dense pipeline of the linear and k-NN learners, the folds side by side: median imputation and
  missing indicators, the quantile transform (:func:`interp_columns`, numpy's ``interp`` both ways for
  every column at once, then the normal quantile function), scaling, and the one-hot encoding as a table
  per category column computed once from the fitted encoder itself; then the linear model's own formula
  (logistic or ridge), or k-NN's own rule (:class:`_Neighbours`: the nearest training rows by a matrix
  product, their exact distances, scikit-learn's uniform or inverse-distance vote) where scikit-learn's
  ``kneighbors`` costs 0.3 ms of checks per call and fold.

A kernel is built on first use (or by ``LamarckModel.compile``) and **checked before it is trusted**: on a
probe (:func:`probe`) that holds every level of every category column, missing values and numbers spread
over the training range, its output must match each fold model's own prediction on the same rows as a
frame to 1e-9 (:data:`TOLERANCE`); otherwise the member keeps its frame path (its kernel is ``None``).
Kernels are kept beside the fold models (a weak mapping), never pickled with them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

__all__ = [
    "ONE_THREAD_ROWS",
    "TOLERANCE",
    "Layout",
    "interp_columns",
    "kernel",
    "member_kernel",
    "probe",
    "without_kernels",
]

#: a kernel's output may differ from the model's own by at most this much (absolute), on the probe
TOLERANCE = 1e-9
#: below this many rows a booster predicts on one thread (starting threads costs more)
ONE_THREAD_ROWS = 2000
#: scikit-learn's QuantileTransformer clips at this distance from 0 and 1 (sklearn.preprocessing._data)
BOUNDS_THRESHOLD = 1e-7

Kernel = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class Layout:
    """What the columns of a fast predictor's matrix are: the feature names, and for each category
    column (by index) the levels its codes index."""

    names: tuple[str, ...]
    categories: dict[int, list[Any]]

    def frame(self, matrix: np.ndarray) -> pd.DataFrame:
        """The feature frame the processor would have made for these rows (numbers, and categories)."""
        data: dict[str, Any] = {}
        for j, name in enumerate(self.names):
            col = matrix[:, j]
            if j in self.categories:
                codes = np.where(np.isnan(col), -1, col).astype(np.int64)
                data[name] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(self.categories[j]))
            else:
                data[name] = col
        return pd.DataFrame(data)


def probe(layout: Layout, numbers: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Rows that reach every level of every category column and its missing value, with numbers from
    ``numbers`` (column index → values to cycle through; default a spread of magnitudes and NaN).

    >>> m = probe(Layout(("x", "c"), {1: ["a", "b"]}))
    >>> m.shape, sorted({v for v in m[:, 1].tolist() if v == v}), bool(np.isnan(m[:, 1]).any())
    ((16, 2), [0.0, 1.0], True)
    """
    spread = np.array([math.nan, 0.0, 1.0, -1.0, 0.5, 3.0, -7.5, 10.0, 100.0, -1e3, 1e4, 2.5e5, 1e-3, 42.0])
    n = max([16] + [len(levels) + 1 for levels in layout.categories.values()])
    out = np.empty((n, len(layout.names)))
    r = np.arange(n)
    for j in range(len(layout.names)):
        if j in layout.categories:
            k = len(layout.categories[j])
            codes = ((r + j) % (k + 1)).astype(np.float64)
            codes[codes == k] = math.nan
            out[:, j] = codes
        else:
            values = spread if numbers is None or j not in numbers else numbers[j]
            out[:, j] = values[(r * 7 + j) % len(values)]
    return out


_KERNELS: weakref.WeakKeyDictionary[Any, tuple[Layout, tuple[int, ...], Any]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


_OFF = threading.local()


@contextlib.contextmanager
def without_kernels() -> Iterator[None]:
    """Within this block (this thread), no member predicts through a kernel: the frame path as it was
    before them (for profiles that compare the two)."""
    _OFF.on = True
    try:
        yield
    finally:
        _OFF.on = False


def kernel(model: Any, layout: Layout, task: str) -> Kernel | None:
    """The checked kernel of fold ``model`` for matrices of ``layout``, or ``None`` (the frame path)."""
    fused = member_kernel([model], layout, task)
    return None if fused is None else (lambda matrix: fused(matrix)[0])


def member_kernel(
    models: list[Any], layout: Layout, task: str
) -> Callable[[np.ndarray], list[np.ndarray]] | None:
    """One checked kernel for the fold models of a member, giving each fold's output, or ``None``."""
    if not models or getattr(_OFF, "on", False):
        return None
    ids = tuple(id(m) for m in models)
    try:
        found = _KERNELS.get(models[0])
    except TypeError:  # not weakly referenceable: no kernel
        return None
    if found is not None and found[0] is layout and found[1] == ids:
        return found[2]
    with _LOCK:
        built = _build(models, layout, task)
        _KERNELS[models[0]] = (layout, ids, built)
    return built


def _build(models: list[Any], layout: Layout, task: str) -> Callable[[np.ndarray], list[np.ndarray]] | None:
    from lamarck.search._learners import _DenseModel, _ForestModel

    kinds = {type(m) for m in models}
    if len(kinds) != 1:
        return None
    try:
        numbers = None
        made: Callable[[np.ndarray], list[np.ndarray]] | None = None
        module = type(models[0]).__module__
        if module.startswith(("xgboost", "lightgbm")):  # boosters: a kernel per fold
            singles = [
                _xgboost(m, task) if module.startswith("xgboost") else _lightgbm(m, layout, task)
                for m in models
            ]
            if all(k is not None for k in singles):
                made = lambda matrix: [k(matrix) for k in singles]  # type: ignore[misc]  # noqa: E731
        elif isinstance(models[0], _ForestModel):
            made = _Forest.of(models, task)
        elif isinstance(models[0], _DenseModel):
            dense = _Dense.of(models, layout, task)
            if dense is not None:
                made, numbers = dense, dense.probe_numbers()
        if made is None:
            return None
        rows = probe(layout, numbers)
        frame = layout.frame(rows)
        got = made(rows)
        for model, out in zip(models, got, strict=True):
            own = model.predict(frame) if task == "regression" else model.predict_proba(frame)
            if np.shape(own) != np.shape(out) or not np.allclose(
                out, own, rtol=0.0, atol=TOLERANCE, equal_nan=True
            ):
                log.warning(
                    "%s: the compiled predictor differs from the model's own; using the frame path",
                    type(model).__name__,
                )
                return None
        return made
    except Exception:  # a kernel is an optimisation: the frame path always remains
        log.warning("%s: no compiled predictor", type(models[0]).__name__, exc_info=True)
        return None


# ---------------------------------------------------------------------------------------------- xgboost


def _xgboost(model: Any, task: str) -> Kernel | None:
    booster = model.get_booster()
    if getattr(model, "booster", None) == "gblinear":
        return None
    objective = str(model.get_params().get("objective") or "")
    if task != "regression" and objective == "multi:softmax":
        return None  # its predict_proba applies a softmax to margins: not worth a kernel
    best = getattr(model, "best_iteration", None)
    span = (0, int(best) + 1) if best is not None else (0, 0)
    single = booster.copy()
    single.set_param({"nthread": 1})
    direct = _xgboost_dense(single, span)

    def run(matrix: np.ndarray) -> np.ndarray:
        if len(matrix) < ONE_THREAD_ROWS:
            out = direct(matrix)
        else:
            out = np.asarray(booster.inplace_predict(matrix, iteration_range=span, validate_features=False))
        if task != "regression" and out.ndim == 1:  # binary: (1 - p, p), as predict_proba
            return np.vstack((1.0 - out, out)).T
        return out

    return run


def _xgboost_dense(booster: Any, span: tuple[int, int]) -> Kernel:
    """``booster.inplace_predict(matrix, iteration_range=span)`` through XGBoost's C function
    ``XGBoosterPredictFromDense`` with the call's arguments made once: the Python wrapper costs more than
    the trees on a few rows. (Its library handle is the wrapper's; a version without it fails here, at
    build time, and the model keeps the wrapper's path.)"""
    import ctypes
    import json

    from xgboost import core

    lib, check, ulong = core._LIB, core._check_call, core.c_bst_ulong
    predict = lib.XGBoosterPredictFromDense
    args = json.dumps(
        {
            "type": 0,
            "training": False,
            "iteration_begin": span[0],
            "iteration_end": span[1],
            "missing": float("nan"),
            "strict_shape": False,
            "cache_id": 0,
        }
    ).encode()
    no_proxy = ctypes.c_void_p()

    def run(matrix: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(matrix, dtype=np.float64)
        face = (
            f'{{"data": [{x.ctypes.data}, true], "shape": [{x.shape[0]}, {x.shape[1]}], '
            '"strides": null, "typestr": "<f8", "version": 3}'
        ).encode()
        preds = ctypes.POINTER(ctypes.c_float)()
        shape = ctypes.POINTER(ulong)()
        dims = ulong()
        check(
            predict(
                booster.handle,
                face,
                args,
                no_proxy,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(preds),
            )
        )
        dims_n = int(dims.value)
        size = 1
        out_shape = tuple(int(shape[i]) for i in range(dims_n))
        for d in out_shape:
            size *= d
        out = np.ctypeslib.as_array(preds, shape=(size,)).astype(np.float32, copy=True)
        return out.reshape(out_shape) if dims_n > 1 and out_shape[1] > 1 else out

    return run


# ---------------------------------------------------------------------------------------------- lightgbm


def _lightgbm(model: Any, layout: Layout, task: str) -> Kernel | None:
    """A LightGBM estimator's ``predict_proba`` / ``predict`` on the layout's matrix: row by row through
    LightGBM's single-row C functions (``LGBM_BoosterPredictForMatSingleRowFast``, made for this) up to
    64 rows, the booster's ``predict`` beyond. Only where the booster's categories are the layout's."""
    import ctypes

    import lightgbm as lgb
    from lightgbm import basic

    if not isinstance(model, lgb.LGBMModel) or callable(model.objective):
        return None
    booster = model.booster_
    seen = booster.pandas_categorical
    columns = sorted(layout.categories)
    if seen is not None and (
        len(seen) != len(columns)
        or any(list(s) != list(layout.categories[j]) for s, j in zip(seen, columns, strict=True))
    ):
        return None
    width = booster.num_feature()
    if width != len(layout.names):
        return None
    best = int(getattr(booster, "best_iteration", 0) or 0)
    lib = basic._LIB
    fast = ctypes.c_void_p()
    check = basic._safe_call
    check(
        lib.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle,
            ctypes.c_int(0),  # C_API_PREDICT_NORMAL
            ctypes.c_int(0),  # start iteration
            ctypes.c_int(best if best > 0 else -1),  # as Booster.predict: the best iteration, else all
            ctypes.c_int(1),  # C_API_DTYPE_FLOAT64
            ctypes.c_int32(width),
            basic._c_str("num_threads=1"),
            ctypes.byref(fast),
        )
    )
    weakref.finalize(booster, lib.LGBM_FastConfigFree, fast)
    n_out = booster.num_model_per_iteration()
    lock = threading.Lock()
    classify = task != "regression" and isinstance(model, lgb.LGBMClassifier)
    single = lib.LGBM_BoosterPredictForMatSingleRowFast
    as_double = ctypes.POINTER(ctypes.c_double)

    def run(matrix: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(matrix, dtype=np.float64)
        if len(x) > 64:
            out = np.asarray(booster.predict(x, num_threads=0 if len(x) >= ONE_THREAD_ROWS else 1))
        else:
            out = np.empty((len(x), n_out))
            length = ctypes.c_int64()
            with lock:  # a fast configuration is one buffer
                for i in range(len(x)):
                    check(
                        single(
                            fast,
                            x[i].ctypes.data_as(ctypes.c_void_p),
                            ctypes.byref(length),
                            out[i].ctypes.data_as(as_double),
                        )
                    )
            if n_out == 1:
                out = out[:, 0]
        if classify and out.ndim == 1:  # binary: (1 - p, p), as predict_proba
            return np.vstack((1.0 - out, out)).transpose()
        return out

    return run


# ---------------------------------------------------------------------------------------------- forests

#: a forest kernel keeps its own copy of the trees' nodes: not for forests larger than this
MAX_FOREST_NODES = 4_000_000
#: beyond this many rows each tree walks the rows in scikit-learn's C code (``Tree.apply``, without the
#: estimator's checks and per-tree dispatch: 6.8 against 18.5 ms for 100 rows and 200 trees); up to it, every
#: tree advances one level at a time in numpy, which pays on few rows (5 folds of 200 extra trees, depth 44,
#: numpy against ``Tree.apply``: 1 row 1.4 against 5.4 ms, 8 rows 7.6 against 9.7, 64 rows 71 against 24)
FOREST_ROWS = 16
#: from 2 up to this many rows the forests answer through treelite's C++ runtime (GTIL, one thread), the same
#: floats as scikit-learn's. Measured on 5 folds x 200 extra trees (880,000 nodes), the other core busy: 8 rows
#: 6.1 ms against 10.3 walked in numpy; one row 2.0 against 0.87 (0.77 against 0.64 on a quiet machine: a
#: single row's walk touches few nodes), 32 rows 30 against 23 through ``Tree.apply``
GTIL_ROWS = 16


class _Forest:
    """The fold forests of a member (random forest or extra trees on integer-coded categories, missing
    values filled with the fold's medians) walked together: every tree of every fold advances one level
    per numpy step, as scikit-learn's ``X[i, feature] <= threshold`` decides (the float32 input compared
    in double precision); then each fold's mean over its trees of the leaves' class fractions (or
    values)."""

    def __init__(self, models: list[Any], task: str) -> None:
        self.models, self.task = models, task
        lefts, rights, features, thresholds, leaves, roots, folds = [], [], [], [], [], [], []
        offset = 0
        self.depth = 0
        self.sizes = []
        for f, model in enumerate(models):
            trees = model.est.estimators_
            self.sizes.append(len(trees))
            for tree in trees:
                t = tree.tree_
                n = t.node_count
                left = t.children_left.astype(np.int64)
                right = t.children_right.astype(np.int64)
                is_leaf = left < 0
                here = np.arange(n)
                lefts.append(np.where(is_leaf, here, left) + offset)  # a leaf points at itself
                rights.append(np.where(is_leaf, here, right) + offset)
                features.append(np.where(is_leaf, 0, t.feature).astype(np.int64))
                thresholds.append(np.where(is_leaf, np.inf, t.threshold))
                value = t.value[:, 0, :]  # (nodes, classes), or (nodes, 1) for a regression
                if task == "regression":
                    leaves.append(value[:, 0].astype(np.float64))
                else:  # DecisionTreeClassifier.predict_proba: the leaf's values, normalised
                    total = value.sum(axis=1, keepdims=True)
                    total[total == 0.0] = 1.0
                    leaves.append(value / total)
                roots.append(offset)
                folds.append(f)
                offset += n
                self.depth = max(self.depth, int(t.max_depth))
        self.left = np.concatenate(lefts)
        self.right = np.concatenate(rights)
        self.feature = np.concatenate(features)
        self.threshold = np.concatenate(thresholds)
        self.leaf = np.concatenate(leaves)
        self.roots = np.array(roots, dtype=np.int64)
        self.fold_of_tree = np.array(folds, dtype=np.int64)
        self.fills = np.stack([np.asarray(m.fill, dtype=np.float32) for m in models])
        ends = np.cumsum(self.sizes)
        self.spans = list(zip((ends - np.asarray(self.sizes)).tolist(), ends.tolist(), strict=True))

    @classmethod
    def of(cls, models: list[Any], task: str) -> _Forest | None:
        from lamarck.search._learners import _ForestModel

        if not all(isinstance(m, _ForestModel) for m in models):
            return None
        nodes = sum(t.tree_.node_count for m in models for t in m.est.estimators_)
        if nodes > MAX_FOREST_NODES:
            return None
        return cls(models, task)

    def _compiled(self) -> list[Any] | None:
        """Each fold's forest in treelite (imported once, on first use), or ``None`` where it cannot be."""
        if not hasattr(self, "gtil"):
            try:
                import treelite

                self.gtil: list[Any] | None = [treelite.sklearn.import_model(m.est) for m in self.models]
            except Exception:  # an optimisation: the numpy walk and Tree.apply remain
                log.warning("forest: no treelite model; walking the trees in numpy", exc_info=True)
                self.gtil = None
        return self.gtil

    def __call__(self, matrix: np.ndarray) -> list[np.ndarray]:
        x32 = matrix.astype(np.float32)
        if 1 < len(matrix) <= GTIL_ROWS and (compiled := self._compiled()) is not None:
            import treelite

            outputs = []
            for model, forest in zip(self.models, compiled, strict=True):
                filled = np.ascontiguousarray(model.fill_missing(x32.copy()), dtype=np.float32)
                out = np.asarray(treelite.gtil.predict(forest, filled, nthread=1), dtype=np.float64)
                outputs.append(out.reshape(len(matrix), -1) if self.task != "regression" else out.reshape(-1))
            return outputs
        if len(matrix) > FOREST_ROWS:
            outputs = []
            for model, (first, last) in zip(self.models, self.spans, strict=True):
                filled = np.ascontiguousarray(model.fill_missing(x32.copy()), dtype=np.float32)
                total = np.zeros((len(matrix), *self.leaf.shape[1:]))
                for tree, root in zip(model.est.estimators_, self.roots[first:last], strict=True):
                    total += self.leaf[root + tree.tree_.apply(filled)]  # in order, as scikit-learn adds
                outputs.append(total / (last - first))
            return outputs
        n, p = x32.shape
        # every fold's input, its missing values filled with that fold's medians, as doubles
        inputs = np.where(np.isnan(x32)[None, :, :], self.fills[:, None, :], x32[None, :, :]).astype(
            np.float64
        )
        flat = inputs.reshape(-1)
        base = (self.fold_of_tree[None, :] * n + np.arange(n)[:, None]) * p  # (n, trees)
        node = np.repeat(self.roots[None, :], n, axis=0)
        for level in range(self.depth):
            go_left = flat[base + self.feature[node]] <= self.threshold[node]
            moved = np.where(go_left, self.left[node], self.right[node])
            if level % 4 == 3 and np.array_equal(moved, node):  # every tree has reached its leaf
                break
            node = moved
        values = self.leaf[node]  # (n, trees) or (n, trees, classes)
        outputs = []
        start = 0
        for size in self.sizes:
            # tree after tree, as scikit-learn accumulates them (a cumulative sum adds in order)
            outputs.append(np.cumsum(values[:, start : start + size], axis=1)[:, -1] / size)
            start += size
        return outputs


# ---------------------------------------------------------------------------------------------- dense


def interp_columns(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp(x[:, k], xp[:, k], fp[:, k])`` for every column ``k`` at once, with numpy's own rules
    (the interval ``xp[j] <= x < xp[j + 1]``, ``fp[j]`` where ``x`` equals ``xp[j]``, the end values
    outside, NaN kept), for small ``x``: it compares every value with every point.

    >>> xp = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 2.0], [4.0, 3.0]])
    >>> fp = np.array([[0.0, 0.0], [10.0, 1.0], [20.0, 2.0], [40.0, 3.0]])
    >>> x = np.array([[-1.0, 2.0], [1.5, 2.5], [3.0, np.nan], [9.0, 1.0]])
    >>> got = interp_columns(x, xp, fp)
    >>> ref = np.column_stack([np.interp(x[:, k], xp[:, k], fp[:, k]) for k in range(2)])
    >>> bool(np.array_equal(got, ref, equal_nan=True))
    True
    """
    n_points = xp.shape[0]
    j = (xp[None, :, :] <= x[:, None, :]).sum(axis=1) - 1  # the interval (-1: left of xp[0])
    inner = np.clip(j, 0, n_points - 2)
    x0 = _take(xp, inner)
    x1 = _take(xp, inner + 1)
    y0 = _take(fp, inner)
    y1 = _take(fp, inner + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (y1 - y0) / (x1 - x0)
        out = slope * (x - x0) + y0
        again = np.isnan(out)
        if again.any():  # numpy tries the other end, then a flat interval's value
            other = slope * (x - x1) + y1
            out = np.where(again, other, out)
            out = np.where(np.isnan(out) & (y0 == y1), y0, out)
    out = np.where(x0 == x, y0, out)
    out = np.where(j < 0, fp[0], out)
    out = np.where(j >= n_points - 1, fp[n_points - 1], out)
    return np.where(np.isnan(x), x, out)


def _take(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``table[index[i, k], k]`` for every ``i``, ``k``."""
    return table[index, np.arange(table.shape[1])[None, :]]


#: rows x points x columns compared at once by interp_columns (larger inputs go in blocks)
_BLOCK = 2_000_000


@dataclass
class _Numbers:
    """The numeric branch of several fold pipelines side by side: median imputation (+ missing
    indicators), quantile transform to the normal distribution, standard scaling. Output column ``w``
    reads the matrix column ``source[w]`` (its value, or its missing indicator where ``indicator[w]``)."""

    source: np.ndarray
    indicator: np.ndarray
    fill: np.ndarray
    quantiles: np.ndarray  # (n_quantiles, width)
    references: np.ndarray  # (n_quantiles,), the same for every fold
    mean: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        self.forward_fp = np.repeat(self.references[:, None], self.quantiles.shape[1], axis=1)
        self.back_xp = -self.quantiles[::-1]
        self.back_fp = -self.forward_fp[::-1]

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        from scipy.special import ndtri

        raw = matrix[:, self.source]
        missing = np.isnan(raw)
        x = np.where(self.indicator, missing.astype(np.float64), np.where(missing, self.fill, raw))
        q = self.quantiles
        step = max(1, _BLOCK // max(q.size, 1))
        parts = []
        for a in range(0, len(x), step):
            v = x[a : a + step]
            parts.append(
                0.5 * (interp_columns(v, q, self.forward_fp) - interp_columns(-v, self.back_xp, self.back_fp))
            )
        y = np.concatenate(parts) if len(parts) != 1 else parts[0]
        with np.errstate(invalid="ignore"):
            y = np.where(x + BOUNDS_THRESHOLD > q[-1], 1.0, y)
            y = np.where(x - BOUNDS_THRESHOLD < q[0], 0.0, y)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = ndtri(y)
        low, high = ndtri(BOUNDS_THRESHOLD - np.spacing(1)), ndtri(1 - (BOUNDS_THRESHOLD - np.spacing(1)))
        y = np.clip(y, low, high)
        y -= self.mean
        y /= self.scale
        return y


@dataclass
class _OneHot:
    """The category branch of several fold pipelines side by side, as tables: the encoded row of the
    base levels, plus per category column the change each level (and the missing value, last) makes."""

    columns: list[int]
    base: np.ndarray
    tables: list[np.ndarray]

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        out = np.repeat(self.base[None, :], len(matrix), axis=0)
        for j, table in zip(self.columns, self.tables, strict=True):
            codes = matrix[:, j]
            out += table[np.where(np.isnan(codes), len(table) - 1, codes).astype(np.intp)]
        return out


class _Neighbours:
    """A fitted scikit-learn ``KNeighborsClassifier`` / ``Regressor`` (Euclidean, uniform or distance
    weights) answering a few rows as its ``predict_proba`` / ``predict`` does, without its 0.3-1 ms of checks
    and dispatch per call: candidates by ``|a|^2 - 2ab`` (one matrix product over the training rows), the
    exact distances of a few more than ``k`` of them, the ``k`` nearest, and scikit-learn's vote.

    Where scikit-learn's own choice is not certain, the row is answered by the estimator itself: a tie at the
    ``k``-th distance (duplicated training rows: scikit-learn's heap may keep either) and a distance near
    zero (where its rounding decides between "all the weight" and "1/d"). Beyond :data:`SMALL` rows the
    estimator answers every row (its chunked, compiled search is faster than a full partition per row)."""

    #: candidates re-measured exactly beyond ``k`` (the product's rounding cannot reorder rows further apart)
    SLACK = 8
    #: up to this many rows per call the kernel answers; beyond, the estimator
    SMALL = 16
    #: distances within this (relative) of each other are a tie; nearer than this to zero, "zero"
    TIE = 1e-9

    def __init__(self, est: Any, task: str) -> None:
        self.est = est
        self.X = np.ascontiguousarray(est._fit_X, dtype=np.float64)
        self.norms = np.einsum("ij,ij->i", self.X, self.X)
        self.k = int(est.n_neighbors)
        self.distance = est.weights == "distance"
        self.regression = task == "regression"
        y = np.asarray(est._y)
        self.y = y.astype(np.float64) if self.regression else y.astype(np.intp)
        self.n_classes = 0 if self.regression else len(est.classes_)

    @staticmethod
    def usable(est: Any) -> bool:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        return (
            type(est) in (KNeighborsClassifier, KNeighborsRegressor)
            and est.weights in ("uniform", "distance")
            and est.effective_metric_ == "euclidean"
            and not getattr(est, "outputs_2d_", False)
            and np.ndim(est._y) == 1
            and isinstance(est._fit_X, np.ndarray)
            and len(est._fit_X) > est.n_neighbors
        )

    def _own(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self.est.predict(z) if self.regression else self.est.predict_proba(z))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.ascontiguousarray(z, dtype=np.float64)
        if len(z) > self.SMALL:
            return self._own(z)
        k = self.k
        m = min(len(self.X), k + self.SLACK)
        d2 = self.norms[None, :] - 2.0 * (z @ self.X.T)  # + |z|^2: the same for every training row
        near = np.argpartition(d2, m - 1, axis=1)[:, :m]
        diff = self.X[near] - z[:, None, :]
        dist = np.sqrt(np.einsum("rmj,rmj->rm", diff, diff))
        order = np.argsort(dist, axis=1, kind="stable")
        dist = np.take_along_axis(dist, order, axis=1)
        idx = np.take_along_axis(near, order, axis=1)[:, :k]
        unsure = (dist[:, k] - dist[:, k - 1] <= self.TIE * np.maximum(dist[:, k], 1.0)) | (
            dist[:, 0] <= self.TIE
        )
        dist = dist[:, :k]
        w = 1.0 / np.maximum(dist, self.TIE) if self.distance else np.ones_like(dist)
        if self.regression:
            out = (self.y[idx] * w).sum(axis=1) / w.sum(axis=1)
        else:
            out = np.zeros((len(z), self.n_classes))
            labels = np.asarray(self.y[idx], dtype=np.intp).ravel()
            np.add.at(out, (np.repeat(np.arange(len(z)), k), labels), w.ravel())
            out /= out.sum(axis=1, keepdims=True)
        if unsure.any():
            out[unsure] = self._own(z[unsure])
        return out


@dataclass
class _Fold:
    """What one fold pipeline reads of the stacked branches, and its estimator."""

    order: list[str]  # "num" / "cat", in the pipeline's order
    numbers: slice
    onehot: slice
    est: Any
    linear: bool
    neighbours: _Neighbours | None = None


class _Dense:
    """The ``_DenseModel`` folds of a member (``_ToObject`` → ``ColumnTransformer`` → estimator) as one
    kernel: the branches of all folds computed side by side, then each fold's estimator.
    Calling it gives each fold's output (``predict_proba``, or ``predict`` for a regression)."""

    def __init__(
        self, numbers: _Numbers | None, onehot: _OneHot | None, folds: list[_Fold], task: str
    ) -> None:
        self.numbers, self.onehot, self.folds, self.task = numbers, onehot, folds, task

    @classmethod
    def of(cls, models: list[Any], layout: Layout, task: str) -> _Dense | None:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler

        index = {name: j for j, name in enumerate(layout.names)}
        num: dict[str, list[Any]] = {
            k: [] for k in ("source", "indicator", "fill", "quantiles", "mean", "scale")
        }
        references: np.ndarray | None = None
        cat_parts: list[tuple[Any, list[str], np.ndarray]] = []
        folds: list[_Fold] = []
        width = cat_width = 0
        for model in models:
            steps = [s for _, s in model.pipeline.steps]
            if len(steps) != 3 or not isinstance(steps[1], ColumnTransformer):
                return None
            ct, est = steps[1], steps[2]
            order: list[str] = []
            numbers, onehot = slice(0, 0), slice(0, 0)
            for name, trans, cols in ct.transformers_:
                if name == "remainder":
                    if trans != "drop" and len(cols):
                        return None
                    continue
                if any(c not in index for c in cols):
                    return None
                at = np.array([index[c] for c in cols], dtype=np.intp)
                parts = [s for _, s in trans.steps]
                kinds = [type(p) for p in parts]
                if name == "num" and kinds == [SimpleImputer, QuantileTransformer, StandardScaler]:
                    imp, qt, sc = parts
                    if imp.strategy != "median" or qt.output_distribution != "normal":
                        return None
                    if any(int(j) in layout.categories for j in at):
                        return None
                    refs = np.asarray(qt.references_, dtype=np.float64)
                    if references is not None and not np.array_equal(references, refs):
                        return None  # folds with different numbers of quantiles: one kernel per fold
                    references = refs
                    ind = np.asarray(imp.indicator_.features_ if imp.add_indicator else [], dtype=np.intp)
                    k = len(at) + len(ind)
                    num["source"].append(np.concatenate([at, at[ind]]))
                    num["indicator"].append(np.r_[np.zeros(len(at), bool), np.ones(len(ind), bool)])
                    num["fill"].append(
                        np.r_[np.asarray(imp.statistics_, dtype=np.float64), np.zeros(len(ind))]
                    )
                    num["quantiles"].append(np.asarray(qt.quantiles_, dtype=np.float64))
                    num["mean"].append(
                        np.zeros(k) if sc.mean_ is None else np.asarray(sc.mean_, dtype=np.float64)
                    )
                    num["scale"].append(
                        np.ones(k) if sc.scale_ is None else np.asarray(sc.scale_, dtype=np.float64)
                    )
                    numbers = slice(width, width + k)
                    width += k
                elif name == "cat" and kinds == [SimpleImputer, OneHotEncoder]:
                    if any(int(j) not in layout.categories for j in at):
                        return None
                    n_out = len(trans.get_feature_names_out())
                    cat_parts.append((trans, list(cols), at))
                    onehot = slice(cat_width, cat_width + n_out)
                    cat_width += n_out
                else:
                    return None
                order.append(name)
            if order not in (["num"], ["cat"], ["num", "cat"]):
                return None
            linear = type(est) in (LogisticRegression, Ridge)
            neighbours = _Neighbours(est, task) if _Neighbours.usable(est) else None
            folds.append(_Fold(order, numbers, onehot, est, linear, neighbours))
        numbers_branch = None
        if num["source"]:
            assert references is not None
            numbers_branch = _Numbers(
                source=np.concatenate(num["source"]),
                indicator=np.concatenate(num["indicator"]),
                fill=np.concatenate(num["fill"]),
                quantiles=np.hstack(num["quantiles"]),
                references=references,
                mean=np.concatenate(num["mean"]),
                scale=np.concatenate(num["scale"]),
            )
        onehot_branch = _tables(cat_parts, layout) if cat_parts else None
        if onehot_branch is not None and len(onehot_branch.base) != cat_width:
            return None
        return cls(numbers_branch, onehot_branch, folds, task)

    def probe_numbers(self) -> dict[int, np.ndarray]:
        """Numbers for the probe: each numeric column's training quantiles (of every fold), their
        midpoints, values beyond them, and missing."""
        if self.numbers is None:
            return {}
        out: dict[int, list[np.ndarray]] = {}
        for w, j in enumerate(self.numbers.source.tolist()):
            if self.numbers.indicator[w]:
                continue
            q = self.numbers.quantiles[:, w]
            span = max(float(q[-1] - q[0]), 1.0)
            out.setdefault(j, []).append(
                np.concatenate([q, (q[:-1] + q[1:]) / 2, [q[0] - span, q[-1] + span]])
            )
        return {j: np.concatenate([*values, [math.nan]]) for j, values in out.items()}

    def __call__(self, matrix: np.ndarray) -> list[np.ndarray]:
        empty = np.empty((len(matrix), 0))
        numbers = self.numbers(matrix) if self.numbers is not None else empty
        onehot = self.onehot(matrix) if self.onehot is not None else empty
        outputs = []
        for fold in self.folds:
            parts = [
                numbers[:, fold.numbers] if name == "num" else onehot[:, fold.onehot] for name in fold.order
            ]
            z = parts[0] if len(parts) == 1 else np.hstack(parts)
            outputs.append(self._estimate(fold, z))
        return outputs

    def _estimate(self, fold: _Fold, z: np.ndarray) -> np.ndarray:
        est = fold.est
        if fold.neighbours is not None:
            return fold.neighbours(z)
        if not fold.linear:
            return np.asarray(est.predict(z) if self.task == "regression" else est.predict_proba(z))
        coef = est.coef_.T if est.coef_.ndim == 2 else est.coef_
        scores = z @ coef + est.intercept_
        if scores.ndim > 1 and scores.shape[1] == 1:
            scores = scores.reshape(-1)
        if self.task == "regression":
            return np.asarray(scores)
        from scipy.special import expit

        if len(est.classes_) <= 2:
            p = expit(scores)
            return np.stack([1 - p, p], axis=1)
        scores = scores - scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores


def _tables(parts: list[tuple[Any, list[str], np.ndarray]], layout: Layout) -> _OneHot:
    """The category branches (imputer → one-hot encoder) of the folds, evaluated once on every level of
    every column, side by side."""
    columns = sorted({int(j) for _, _, at in parts for j in at})
    levels = {j: layout.categories[j] for j in columns}
    bases: list[np.ndarray] = []
    tables: dict[int, list[np.ndarray]] = {j: [] for j in columns}
    for pipeline, cols, at in parts:
        spots = [int(j) for j in at]
        base = {c: (levels[j][0] if levels[j] else np.nan) for c, j in zip(cols, spots, strict=True)}
        rows: list[dict[str, Any]] = [base]
        spans = {}
        for c, j in zip(cols, spots, strict=True):
            start = len(rows)
            rows += [{**base, c: v} for v in [*levels[j], np.nan]]
            spans[j] = (start, len(rows))
        frame = pd.DataFrame(rows, columns=cols).astype(object)
        frame = frame.where(frame.notna(), np.nan)
        encoded = np.asarray(pipeline.transform(frame), dtype=np.float64)
        first = encoded[0]
        bases.append(first)
        for j in columns:  # a column this fold does not read changes nothing of its block
            if j in spans:
                a, b = spans[j]
                tables[j].append(encoded[a:b] - first)
            else:
                tables[j].append(np.zeros((len(levels[j]) + 1, len(first))))
    return _OneHot(
        columns=columns, base=np.concatenate(bases), tables=[np.hstack(tables[j]) for j in columns]
    )
