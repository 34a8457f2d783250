"""Scorecard of a fitted model: metrics, calibration, robustness to noise, latency and size.

Robustness follows the seeds' definition: the score on inputs with Gaussian noise added to numeric
columns (std = ``noise`` x the column's std) divided by the clean score (for losses, clean / noisy), so
1.0 means unchanged and less than 1 means worse.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lamarck.evaluate._metrics import get_metric, metrics_for, score

__all__ = ["Scorecard", "scorecard"]

_SECONDARY = {
    "binary": ["roc_auc", "accuracy", "log_loss", "f1", "average_precision", "balanced_accuracy"],
    "multiclass": ["accuracy", "log_loss", "f1_macro", "balanced_accuracy", "roc_auc"],
    "regression": ["rmse", "mae", "r2"],
}


@dataclass(frozen=True)
class Scorecard:
    metric: str
    score: float
    secondary: dict[str, float]
    calibration: dict[str, Any] | None
    robustness: float
    latency: dict[str, float]
    size_bytes: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _predict(model: Any, X: pd.DataFrame, task: str) -> np.ndarray:
    return np.asarray(model.predict(X) if task == "regression" else model.predict_proba(X), dtype=float)


def calibration(y: np.ndarray, proba: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Brier score, expected calibration error and the reliability curve (positive class or top-1)."""
    if proba.shape[1] == 2:
        conf, hit = proba[:, 1], (y == 1).astype(float)
        brier = float(np.mean((conf - hit) ** 2))
    else:
        conf, hit = proba.max(axis=1), (proba.argmax(axis=1) == y).astype(float)
        onehot = np.eye(proba.shape[1])[y]
        brier = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    curve, ece = [], 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            curve.append(
                {"predicted": float(conf[m].mean()), "observed": float(hit[m].mean()), "count": int(m.sum())}
            )
            ece += m.mean() * abs(conf[m].mean() - hit[m].mean())
    return {"brier": brier, "ece": float(ece), "curve": curve}


def _noisy(X: pd.DataFrame, noise: float, rng: np.random.Generator) -> pd.DataFrame:
    """``X`` with Gaussian noise on number columns (std = ``noise`` x the column's) and a share ``noise``
    of the other columns' values swapped for random values of the column, column by column in order.

    A run of number columns draws its noise in one call (the same draws, in the same order, as one call
    per column) and the noisy numbers are put back as blocks; the other columns are read as arrays and
    the frame is built once at the end (a wide table has thousands of columns of either).
    """
    columns = list(X.columns)
    if not columns:
        return X.copy()
    plain = [isinstance(t, np.dtype) and t.kind in "iuf" for t in X.dtypes]
    if len(set(columns)) != len(columns):  # a repeated name: column by column, by position
        plain = [False] * len(columns)
    blocks: list[pd.DataFrame] = []
    rest: dict[int, Any] = {}  # position → the values of a column that is not in a block
    j = 0
    while j < len(columns):
        if plain[j]:
            end = j
            while end < len(columns) and plain[end]:
                end += 1
            run = columns[j:end]
            values = np.asfortranarray(X[run].to_numpy(dtype=float))
            sd = np.array([float(np.nanstd(values[:, i])) for i in range(len(run))])
            scale = np.where(sd > 0, noise * sd, 0.0)
            draws = rng.normal(size=(len(run), len(X)))
            blocks.append(pd.DataFrame(values + (scale[:, None] * draws).T, index=X.index, columns=run))
            j = end
            continue
        col = X.iloc[:, j]
        rest[j] = col
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            sd1 = float(np.nanstd(col.to_numpy(dtype=float)))
            rest[j] = col.to_numpy(dtype=float) + rng.normal(
                scale=noise * sd1 if sd1 > 0 else 0.0, size=len(col)
            )
        else:
            new = col.to_numpy(dtype=object)
            values_c = pd.unique(new[~pd.isna(new)])  # col.dropna().unique(), in order of appearance
            if len(values_c) > 1:
                swap = rng.random(len(col)) < noise
                new = new.copy()
                new[swap] = rng.choice(values_c, size=int(swap.sum()))
                rest[j] = (
                    pd.Categorical(new, dtype=col.dtype)
                    if isinstance(col.dtype, pd.CategoricalDtype)
                    else new
                )
        j += 1
    if not rest:
        return pd.concat(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    others = pd.DataFrame(dict(rest), index=X.index)  # keyed by position: names may repeat
    others.columns = [columns[k] for k in rest]
    if not blocks:
        return others
    return pd.concat([*blocks, others], axis=1)[columns]


#: a latency is measured by repeating a call up to this long (at least once): a model whose predict
#: is slow (a table of thousands of columns) is not timed ten times over
LATENCY_SECONDS = 0.5


def _median_seconds(
    call: Callable[[], object], *, repeats: int, max_seconds: float = LATENCY_SECONDS
) -> float:
    """Median time of ``call`` over ``repeats`` calls, or fewer when they pass ``max_seconds`` in all."""
    times: list[float] = []
    while len(times) < repeats and (not times or sum(times) < max_seconds):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def scorecard(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    metric: str,
    classes: Sequence[Any] | None = None,
    seed: int = 0,
    noise: float = 0.1,
    size_bytes: int | None = None,
) -> Scorecard:
    """The scorecard of ``model`` on ``X`` / ``y`` (raw labels for classification)."""
    notes: list[str] = []
    y = np.asarray(y)
    if task != "regression":
        index = {str(c): i for i, c in enumerate(classes if classes is not None else sorted(set(y)))}
        y_enc = np.asarray([index[str(v)] for v in y])
    else:
        y_enc = y.astype(float)
    pred = _predict(model, X, task)
    secondary: dict[str, float] = {}
    for name in _SECONDARY[task]:
        if name not in metrics_for(task):
            continue
        try:
            secondary[name] = score(name, y_enc, pred)
        except ValueError as e:
            secondary[name] = math.nan
            notes.append(f"{name}: {e}")
    primary = score(metric, y_enc, pred)
    cal = calibration(y_enc, pred) if task != "regression" else None
    rng = np.random.default_rng(seed)
    sample = X.sample(n=min(len(X), 5000), random_state=seed) if len(X) > 5000 else X
    y_s = y_enc[X.index.get_indexer(sample.index)]
    clean = score(metric, y_s, pred if sample is X else _predict(model, sample, task))
    noisy = score(metric, y_s, _predict(model, _noisy(sample, noise, rng), task))
    m = get_metric(metric)
    if m.greater_is_better:
        robustness = noisy / clean if clean else math.nan
    else:
        robustness = clean / noisy if noisy else math.nan
    # one row as the server answers it: JSON values through the model's rows path where it has one
    # (LamarckModel.outputs: no DataFrame, compiled kernels), else a one-row frame
    if hasattr(model, "outputs"):
        first = X.iloc[:1].astype(object)
        one = first.where(first.notna(), None).to_dict("records")
        single = _median_seconds(lambda: model.outputs(one), repeats=10)
    else:
        single = _median_seconds(lambda: _predict(model, X.iloc[:1], task), repeats=10)
    batch = X.iloc[:1000]
    batch_s = _median_seconds(lambda: _predict(model, batch, task), repeats=3)
    latency = {
        "single_row_ms": 1000 * single,
        "batch_ms": 1000 * batch_s,
        "batch_rows": len(batch),
        "rows_per_second": len(batch) / max(batch_s, 1e-9),
    }
    if size_bytes is None:
        try:
            import cloudpickle

            size_bytes = len(cloudpickle.dumps(model))
        except Exception:
            size_bytes = len(pickle.dumps(model))
    return Scorecard(metric, primary, secondary, cal, float(robustness), latency, int(size_bytes), notes)
