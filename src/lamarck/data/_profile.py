"""Profiling: every column's kind (numeric, categorical, boolean, datetime, text) and role.

>>> import pandas as pd
>>> f = pd.DataFrame({"id": range(30), "k": ["a", "b"] * 15, "c": [1] * 30, "y": [0, 1] * 15})
>>> p = profile(f, target="y")
>>> [(c.name, c.role) for c in p.columns]
[('id', 'id'), ('k', 'feature'), ('c', 'constant'), ('y', 'target')]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["ColumnProfile", "DataProfile", "profile"]

Kind = Literal["numeric", "categorical", "boolean", "datetime", "text"]
Role = Literal["feature", "target", "id", "constant", "excluded", "leakage"]
_ID_NAME = re.compile(r"(^|_|\b)(id|uuid|guid|key|index|row)s?$|^id_|Id$|ID$", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    dtype: str
    kind: Kind
    role: Role
    n_unique: int
    missing_rate: float
    examples: list[str]
    reason: str


@dataclass(frozen=True)
class DataProfile:
    n_rows: int
    n_columns: int
    columns: tuple[ColumnProfile, ...]

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    @property
    def features(self) -> list[str]:
        return [c.name for c in self.columns if c.role == "feature"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "columns": [asdict(c) for c in self.columns],
        }


def _kind(col: pd.Series, sample: pd.Series) -> Kind:
    if pd.api.types.is_bool_dtype(col):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(col):
        return "datetime"
    if pd.api.types.is_numeric_dtype(col):
        return "numeric"
    values = sample.dropna().astype(str)
    if len(values) == 0:
        return "categorical"
    if values.str.len().mean() >= 6 and values.str.contains(r"\d").mean() > 0.9:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(values, errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.9:
            return "datetime"
    n_unique = values.nunique()
    if values.str.len().mean() > 30 and values.str.count(" ").mean() >= 4 and n_unique > 0.5 * len(values):
        return "text"
    return "categorical"


def profile(frame: pd.DataFrame, *, target: str | None = None, exclude: Sequence[str] = ()) -> DataProfile:
    """Kind and role of every column of ``frame`` (the expensive checks run on a sample)."""
    sample = frame.sample(n=min(len(frame), 20_000), random_state=0) if len(frame) > 20_000 else frame
    n = len(frame)
    numbers = _number_stats(frame)
    out = []
    for name in frame.columns:
        col = frame[name]
        if name in numbers:  # counted with the other number columns, at once
            n_unique, missing, examples = numbers[name]
            kind: Kind = "numeric"
        else:
            n_unique = int(col.nunique(dropna=True))
            missing = float(col.isna().mean()) if n else 0.0
            examples = [str(v)[:40] for v in col.dropna().unique()[:3]]
            kind = _kind(col, sample[name])
        role: Role = "feature"
        reason = f"{kind} feature"
        if name == target:
            role, reason = "target", "the column to predict"
        elif name in exclude:
            role, reason = "excluded", "excluded by the plan"
        elif n_unique <= 1:
            role = "constant"
            reason = "all values missing" if n_unique == 0 else f"one value only ({examples[0]!r})"
        elif (
            n_unique == n
            and n > 20
            and (
                (kind in ("categorical", "text") and col.astype(str).str.len().mean() < 40)
                or (kind == "numeric" and _looks_like_id(name, col))
            )
        ):
            role, reason = "id", f"all {n:,} values distinct (identifier)"
        elif kind == "numeric" and _ID_NAME.search(str(name)) and n_unique > 0.95 * n and n > 20:
            role, reason = "id", f"named like an identifier and {n_unique:,} of {n:,} values distinct"
        out.append(ColumnProfile(str(name), str(col.dtype), kind, role, n_unique, missing, examples, reason))
    return DataProfile(n, frame.shape[1], tuple(out))


def _number_stats(frame: pd.DataFrame) -> dict[Any, tuple[int, float, list[str]]]:
    """``(distinct values, missing share, first three distinct values)`` of every column of plain numpy
    integers or floats, from one sort of their matrix per dtype (what ``nunique``, ``isna().mean()`` and
    ``dropna().unique()[:3]`` give, column by column, on a table of thousands of columns).

    >>> _number_stats(pd.DataFrame({"a": [1.0, None, 1.0, 2.5], "b": ["x", "y", "x", "x"]}))
    {'a': (2, 0.25, ['1.0', '2.5'])}
    """
    names = list(frame.columns)
    if len(set(names)) != len(names):
        return {}  # a repeated name selects several columns: left to the column-by-column path
    n = len(frame)
    groups: dict[np.dtype, list[Any]] = {}
    for name, dtype in zip(names, frame.dtypes, strict=True):
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            groups.setdefault(dtype, []).append(name)
    out: dict[Any, tuple[int, float, list[str]]] = {}
    for dtype, cols in groups.items():
        M = frame[cols].to_numpy(dtype=dtype)
        missing = np.isnan(M) if dtype.kind == "f" else np.zeros(M.shape, dtype=bool)
        ordered = np.sort(M, axis=0)  # missing values last
        present = n - missing.sum(axis=0)
        steps = (ordered[1:] != ordered[:-1]) & (np.arange(1, n)[:, None] < present[None, :])
        distinct = np.where(present > 0, steps.sum(axis=0) + 1, 0)
        for j, name in enumerate(cols):
            out[name] = (
                int(distinct[j]),
                float(missing[:, j].mean()) if n else 0.0,
                _first_distinct(M[:, j][~missing[:, j]], 3),
            )
    return out


def _first_distinct(values: np.ndarray, k: int) -> list[str]:
    """The first ``k`` distinct values in order of appearance, as ``str`` (cut to 40 characters)."""
    head = pd.unique(values[: 16 * k])  # nearly always enough; else the whole column
    found = head if len(head) >= k or len(values) <= 16 * k else pd.unique(values)
    return [str(v)[:40] for v in found[:k]]


def _looks_like_id(name: object, col: pd.Series) -> bool:
    if _ID_NAME.search(str(name)):
        return True
    if not pd.api.types.is_integer_dtype(col):
        return False
    diffs = np.diff(col.to_numpy())
    return bool(len(diffs) and (np.all(diffs == 1)))
