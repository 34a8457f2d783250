"""Step ``prepare``: read, plan (the planner verifies its spec), check the data, quarantine bad rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lamarck._fit._types import FitOptions, Prepared
from lamarck.errors import DataError
from lamarck.plan import TaskSpec

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = ["WIDE_COLUMNS", "encode_target", "encoded", "plan", "prepare"]

#: above this many columns the table is copied into one block per dtype before any work
WIDE_COLUMNS = 100


def prepare(project: Project, data: Any, options: FitOptions, seed: int) -> Prepared:
    """The data read, planned and checked; rows that cannot be used are saved in ``quarantine/``."""
    from lamarck.data import check_quality, named_columns, profile

    options.stage("reading data")
    frame = named_columns(data) if isinstance(data, pd.DataFrame) else project._read(data)
    if frame.shape[1] > WIDE_COLUMNS:
        # a CSV reader gives one block per column: every later selection and conversion would walk
        # them all (pandas' own advice for a fragmented frame is this copy, one block per dtype)
        frame = frame.copy()
    dataset_name = options.dataset_name
    if dataset_name is None:
        dataset_name = Path(str(data)).name if not isinstance(data, pd.DataFrame) else "DataFrame"
    spec = options.spec or plan(project, frame, options)
    options.stage("checking data quality")
    prof = profile(frame, target=spec.target, exclude=spec.exclude_columns)
    quality = check_quality(frame, target=spec.target, task=spec.task, profile=prof, seed=seed)
    excluded: dict[str, str] = {c.name: c.reason for c in prof.columns if c.role not in ("feature", "target")}
    for col in quality.leakage:
        excluded[col] = "leakage: predicts the target almost perfectly on its own"
    features = [c for c in prof.features if c not in excluded]
    if not features:
        raise DataError(
            f"no usable feature column is left after excluding {sorted(excluded)} "
            f"(target {spec.target!r}). Fix: provide columns that describe each row, or exclude fewer."
        )
    quarantine_path = save_quarantine(project.path / "quarantine", quality.quarantine)
    classes, y = encode_target(quality.clean[spec.target], spec)
    return Prepared(
        frame=frame,
        dataset_name=dataset_name,
        spec=spec,
        seed=seed,
        profile=prof,
        quality=quality,
        excluded=excluded,
        features=features,
        kinds={c.name: c.kind for c in prof.columns if c.name in features},
        quarantine_path=quarantine_path,
        classes=classes,
        y=y,
    )


def plan(project: Project, frame: pd.DataFrame, options: FitOptions) -> TaskSpec:
    """The plan of ``frame`` for the options' sentence and flags (``Project.plan``)."""
    options.stage("planning")
    return project.plan(
        frame,
        options.sentence,
        target=options.target,
        task=options.task,
        metric=options.metric,
        time_budget_s=options.time_budget_s,
        exclude=list(options.exclude) if options.exclude else None,
        positive_class=options.positive_class,
        max_latency_ms=options.max_latency_ms,
        llm=options.llm,
    )


def save_quarantine(folder: Path, rows: pd.DataFrame | None) -> Path | None:
    """Rows the data checks could not use, as one CSV per fit (None when there are none)."""
    if rows is None or len(rows) == 0:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}.csv"
    rows.to_csv(path, index=False)
    return path


def encode_target(y: pd.Series, spec: TaskSpec) -> tuple[np.ndarray | None, np.ndarray]:
    """``(classes, codes)`` for classification (the positive class last), ``(None, values)`` for regression."""
    if spec.task == "regression":
        values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
        return None, values
    labels = _labels(y)
    classes = sorted(pd.unique(labels), key=lambda v: (str(type(v)), v))
    if spec.task == "binary" and spec.positive_class is not None:
        pos = [c for c in classes if str(c) == str(spec.positive_class)]
        if pos:
            classes = [c for c in classes if c is not pos[0]] + [pos[0]]
    classes_arr = np.asarray(classes, dtype=object)
    return classes_arr, encoded(y, classes_arr)


def encoded(y_raw: pd.Series, classes: np.ndarray) -> np.ndarray:
    """Class codes of ``y_raw`` (positions in ``classes``)."""
    index = {c: i for i, c in enumerate(classes)}
    return _labels(y_raw).map(index).to_numpy(dtype=int)


def _labels(y: pd.Series) -> pd.Series:
    """Class labels as the model sees them: text columns as str, others unchanged."""
    return y.astype(str) if y.dtype == object or isinstance(y.dtype, pd.StringDtype) else y
