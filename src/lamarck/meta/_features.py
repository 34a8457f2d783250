"""Meta-features of a task: what a table and its target look like, in a few numbers.

Counts (rows, columns by kind, missing share), the target's shape (classes and their balance; for a
number its skew, zero share, whether it counts) and two landmarkers: the hold-out score of a quick linear
model and of a decision stump on a small sample. Two tasks whose meta-features are close tend to like the
same configurations, which is what :func:`lamarck.meta.warm_start` uses them for.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.choice(["u", "v"], 400)})
    >>> y = (X["a"] > 0).astype(int).to_numpy()
    >>> m = describe_task(X, y, task="binary", kinds={"a": "numeric", "b": "categorical"})
    >>> m.n_rows, m.n_numeric, m.n_categorical, m.n_classes
    (400, 1, 1, 2)
    >>> m.landmark_stump > 0.9
    True
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DISTANCE_FEATURES", "MetaFeatures", "describe_task"]

#: rows of the sample the landmarkers are fitted on, and the most columns they read
LANDMARK_ROWS = 1000
LANDMARK_COLUMNS = 60


@dataclass(frozen=True)
class MetaFeatures:
    """A task in numbers. Scores of the landmarkers are accuracy (classification) or R² clipped to
    [-1, 1] (regression), on a seeded hold-out of a sample of at most ``LANDMARK_ROWS`` rows."""

    task: str
    n_rows: int
    n_columns: int
    n_numeric: int
    n_categorical: int
    n_text: int
    n_other: int
    missing_share: float
    n_classes: int
    class_min_share: float
    class_entropy: float
    target_skew: float
    target_zero_share: float
    target_is_count: float
    landmark_linear: float
    landmark_stump: float
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> MetaFeatures:
        """The meta-features stored by :meth:`to_dict`; missing figures (an older record) are NaN."""
        known = {f.name: f for f in fields(cls)}
        out: dict[str, Any] = {}
        for name, f in known.items():
            v = values.get(name)
            if f.type == "str":
                out[name] = str(v or "")
            elif f.type == "int":
                out[name] = int(v) if v is not None else 0
            else:
                out[name] = float(v) if v is not None else math.nan
        return cls(**out)

    def vector(self) -> np.ndarray:
        """The figures the distance between tasks is measured on (:data:`DISTANCE_FEATURES`)."""
        return np.array([_scaled(name, getattr(self, name)) for name in DISTANCE_FEATURES], dtype=float)


#: the meta-features that place a task among others (standardised before any distance is taken)
DISTANCE_FEATURES: tuple[str, ...] = (
    "n_rows",
    "n_columns",
    "n_numeric",
    "n_categorical",
    "n_text",
    "missing_share",
    "n_classes",
    "class_min_share",
    "class_entropy",
    "target_skew",
    "target_zero_share",
    "target_is_count",
    "landmark_linear",
    "landmark_stump",
)
_LOG = {"n_rows", "n_columns", "n_numeric", "n_categorical", "n_text", "n_classes"}


def _scaled(name: str, value: float) -> float:
    """Counts on a log scale (1,000 and 2,000 rows are as far apart as 10,000 and 20,000)."""
    v = float(value)
    if not math.isfinite(v):
        return math.nan
    return math.log1p(max(v, 0.0)) if name in _LOG else v


def describe_task(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    kinds: Mapping[str, str] | None = None,
    seed: int = 0,
) -> MetaFeatures:
    """The meta-features of predicting ``y`` (encoded classes ``0..K-1``, or numbers) from ``X``.

    ``kinds`` are the profile's column kinds (numeric, categorical, boolean, datetime, text); without
    them a column is numeric when its dtype is a number, categorical otherwise. The landmarkers read a
    sample of at most ``LANDMARK_ROWS`` rows and ``LANDMARK_COLUMNS`` columns, so the whole takes well
    under a second whatever the table.
    """
    t0 = time.perf_counter()
    y = np.asarray(y)
    kinds = dict(kinds or {})
    kind = [kinds.get(c) or ("numeric" if _is_number(X[c]) else "categorical") for c in X.columns]
    n_numeric = sum(k == "numeric" for k in kind)
    n_categorical = sum(k in ("categorical", "boolean") for k in kind)
    n_text = sum(k == "text" for k in kind)
    cells = X.shape[0] * X.shape[1]
    missing = float(X.isna().to_numpy().sum() / cells) if cells else 0.0
    target = _target_figures(y, task)
    linear, stump = _landmarkers(X, y, task, seed)
    return MetaFeatures(
        task=task,
        n_rows=int(X.shape[0]),
        n_columns=int(X.shape[1]),
        n_numeric=n_numeric,
        n_categorical=n_categorical,
        n_text=n_text,
        n_other=len(kind) - n_numeric - n_categorical - n_text,
        missing_share=missing,
        landmark_linear=linear,
        landmark_stump=stump,
        seconds=time.perf_counter() - t0,
        **target,
    )


def _is_number(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _target_figures(y: np.ndarray, task: str) -> dict[str, Any]:
    """Classes and balance for classification; skew, zero share and count-ness for a number."""
    if task != "regression":
        _, counts = np.unique(y, return_counts=True)
        share = counts / counts.sum()
        k = len(counts)
        entropy = float(-(share * np.log(share)).sum() / math.log(k)) if k > 1 else 0.0
        return {
            "n_classes": k,
            "class_min_share": float(share.min()),
            "class_entropy": entropy,
            "target_skew": 0.0,
            "target_zero_share": 0.0,
            "target_is_count": 0.0,
        }
    v = np.asarray(y, dtype=float)
    v = v[np.isfinite(v)]
    sd = float(v.std()) if len(v) else 0.0
    skew = float(((v - v.mean()) ** 3).mean() / sd**3) if sd > 0 else 0.0
    is_count = bool(len(v) and (v >= 0).all() and np.allclose(v, np.round(v)))
    return {
        "n_classes": 0,
        "class_min_share": 0.0,
        "class_entropy": 0.0,
        "target_skew": float(np.clip(skew, -50, 50)),
        "target_zero_share": float((v == 0).mean()) if len(v) else 0.0,
        "target_is_count": float(is_count),
    }


def _landmarkers(X: pd.DataFrame, y: np.ndarray, task: str, seed: int) -> tuple[float, float]:
    """Hold-out scores of a linear model and of a decision stump on a small sample (NaN when the sample
    is too small to split or holds one class only)."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(X), size=min(len(X), LANDMARK_ROWS), replace=False))
    M = _matrix(X.iloc[rows, :LANDMARK_COLUMNS])
    t = np.asarray(y)[rows]
    classify = task != "regression"
    if len(t) < 20 or M.shape[1] == 0 or (classify and len(np.unique(t)) < 2):
        return math.nan, math.nan
    stratify = t if classify and np.unique(t, return_counts=True)[1].min() >= 2 else None
    try:
        Mtr, Mva, ttr, tva = train_test_split(M, t, test_size=0.3, random_state=seed, stratify=stratify)
    except ValueError:
        return math.nan, math.nan
    mu, sd = Mtr.mean(axis=0), Mtr.std(axis=0)
    sd[sd == 0] = 1.0
    Ztr, Zva = (Mtr - mu) / sd, (Mva - mu) / sd
    if classify:
        linear: Any = LogisticRegression(max_iter=200)
        stump: Any = DecisionTreeClassifier(max_depth=1, random_state=seed)
    else:
        linear, stump = Ridge(alpha=1.0), DecisionTreeRegressor(max_depth=1, random_state=seed)

    def scored(model: Any) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pred = model.fit(Ztr, ttr).predict(Zva)
            except ValueError:  # one class in the training part
                return math.nan
        if classify:
            return float(accuracy_score(tva, pred))
        return float(np.clip(r2_score(tva, pred), -1.0, 1.0)) if len(np.unique(tva)) > 1 else math.nan

    return scored(linear), scored(stump)


def _matrix(X: pd.DataFrame) -> np.ndarray:
    """Numbers as they are, anything else as category codes; missing values as the column's median."""
    cols = []
    for c in X.columns:
        col = X[c]
        if _is_number(col):
            v = col.to_numpy(dtype=float, na_value=np.nan)
        else:
            codes = pd.factorize(col.astype("object"), use_na_sentinel=True)[0].astype(float)
            v = np.where(codes < 0, np.nan, codes)
        finite = v[np.isfinite(v)]
        fill = float(np.median(finite)) if len(finite) else 0.0
        cols.append(np.where(np.isfinite(v), v, fill))
    return np.column_stack(cols) if cols else np.zeros((len(X), 0))
