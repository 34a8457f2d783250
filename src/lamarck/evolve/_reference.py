"""Training references: the rows a version was trained on (a sample), stored with it as Parquet.

A reference is what feature drift is measured against, and the memory of earlier concepts that the next
challenger replays. Columns ``__p0``, ``__p1``, ... (:data:`PRED_PREFIX`) hold the version's honest
prediction for the row (out-of-fold from a fit, held out from training for an evolved version): the
baseline of the anti-forgetting check.

    >>> import tempfile, pathlib, pandas as pd
    >>> from types import SimpleNamespace
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_reference(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", 3]}), folder / "reference.parquet")
    >>> read_reference(SimpleNamespace(artifact_dir=folder))["c"].tolist()  # mixed objects as text
    ['a', '3']
    >>> read_reference(SimpleNamespace(artifact_dir=None)) is None
    True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["PRED_PREFIX", "read_reference", "write_reference"]

#: columns of a stored reference that hold the version's honest prediction for the row (out-of-fold
#: from a fit, held out from training for an evolved version): the baseline of the anti-forgetting check
PRED_PREFIX = "__p"


def write_reference(frame: pd.DataFrame, path: Path) -> Path:
    """Write a training reference to Parquet, text columns as plain strings (mixed objects would fail)."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(
                lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            )
    out.to_parquet(path)
    return path


def read_reference(info: Any) -> pd.DataFrame | None:
    """The training reference stored with a registered version, or None when it has none."""
    path = info.artifact_dir / "reference.parquet" if getattr(info, "artifact_dir", None) else None
    return pd.read_parquet(path) if path is not None and path.exists() else None
