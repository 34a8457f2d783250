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
from collections.abc import Callable, Sequence
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


#: a column of text is tried as dates on at most this many of its values (parsing is slow; the share
#: that parses is what decides)
DATE_TRIAL_VALUES = 1000
#: the kinds of text columns are read on at most this many values in all (at least KIND_MIN_ROWS rows of
#: each column): 2,000 columns of text are read on 125 rows each, a narrow table on its whole sample
KIND_VALUES = 250_000
KIND_MIN_ROWS = 100


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
    return _text_kind(
        float(values.str.len().mean()),
        float(values.str.contains(r"\d").mean()),
        float(values.str.count(" ").mean()),
        int(values.nunique()),
        len(values),
        lambda: values,
    )


def _text_kind(
    length: float,
    digits: float,
    spaces: float,
    n_unique: int,
    n_present: int,
    values: Callable[[], pd.Series],
) -> Kind:
    """The kind of a column of text from the figures of its present values (as ``str``): mean length,
    share with a digit, mean count of spaces, distinct values; ``values()`` gives them for the date trial."""
    if length >= 6 and digits > 0.9:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(values().iloc[:DATE_TRIAL_VALUES], errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.9:
            return "datetime"
    if length > 30 and spaces >= 4 and n_unique > 0.5 * n_present:
        return "text"
    return "categorical"


def profile(frame: pd.DataFrame, *, target: str | None = None, exclude: Sequence[str] = ()) -> DataProfile:
    """Kind and role of every column of ``frame`` (the expensive checks run on a sample)."""
    sample = frame.sample(n=min(len(frame), 20_000), random_state=0) if len(frame) > 20_000 else frame
    n = len(frame)
    numbers = _number_stats(frame)
    strings = _string_stats(frame, sample)
    out = []
    for name in frame.columns:
        col = frame[name]
        length: float | None = None
        if name in numbers:  # counted with the other number columns, at once
            n_unique, missing, examples = numbers[name]
            kind: Kind = "numeric"
        elif name in strings:  # the same for columns of text
            n_unique, missing, examples, kind, length = strings[name]
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
                (kind in ("categorical", "text") and _mean_length(col, length) < 40)
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


def _mean_length(col: pd.Series, known: float | None) -> float:
    """Mean length of ``col``'s values as ``str`` (``known`` when the column was measured already)."""
    return known if known is not None else float(col.astype(str).str.len().mean())


def _string_stats(
    frame: pd.DataFrame, sample: pd.DataFrame
) -> dict[Any, tuple[int, float, list[str], Kind, float]]:
    """``(distinct values, missing share, first three distinct values, kind, mean length)`` of every column
    of ``object`` or ``string`` dtype, from one factorisation of all their values and one pass of each
    string method over the sample's (what :func:`_kind`, ``nunique`` and ``isna`` give column by column,
    which on 2,000 columns of text took seconds; on a table that wide the sample is cut to
    :data:`KIND_VALUES` values). The mean length is over the sample's present values.

    >>> f = pd.DataFrame({"a": ["x", None, "x", "yy"], "b": [1.0, 2.0, 3.0, 4.0]})
    >>> _string_stats(f, f)
    {'a': (2, 0.25, ['x', 'yy'], 'categorical', 1.3333333333333333)}
    """
    names = list(frame.columns)
    if len(set(names)) != len(names):
        return {}  # a repeated name selects several columns: left to the column-by-column path
    cols = [
        n
        for n, t in zip(names, frame.dtypes, strict=True)
        if (isinstance(t, np.dtype) and t.kind == "O") or isinstance(t, pd.StringDtype)
    ]
    if not cols:
        return {}
    n, m = len(frame), len(cols)
    codes, uniques = _factorized(frame, cols)
    missing = codes < 0
    distinct = _distinct(codes)
    rows = min(len(sample), max(KIND_MIN_ROWS, KIND_VALUES // m))
    if rows < len(sample):  # a wide table: its kinds are read on fewer rows
        sample = sample.sample(n=rows, random_state=0)
    sample_codes = codes if sample is frame else _factorized(sample, cols)[0]
    sample_distinct = distinct if sample is frame else _distinct(sample_codes)
    flat = pd.Series(sample[cols].to_numpy(dtype=object).ravel(order="F"), dtype="string")
    present = sample_codes >= 0
    count = present.sum(axis=1)

    def mean(values: pd.Series) -> np.ndarray:
        a = values.to_numpy(dtype=np.float64, na_value=0.0).reshape(m, len(sample))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(present, a, 0.0).sum(axis=1) / count

    lengths = mean(flat.str.len())
    digits = mean(flat.str.contains(r"\d"))
    spaces = mean(flat.str.count(" "))
    out: dict[Any, tuple[int, float, list[str], Kind, float]] = {}
    for j, name in enumerate(cols):
        if count[j] == 0:
            kind: Kind = "categorical"
        else:

            def values(j: int = j) -> pd.Series:
                return flat.iloc[j * len(sample) : (j + 1) * len(sample)][present[j]]

            kind = _text_kind(
                lengths[j], digits[j], spaces[j], int(sample_distinct[j]), int(count[j]), values
            )
        first = _first_distinct(codes[j][~missing[j]], 3, as_str=False)
        out[name] = (
            int(distinct[j]),
            float(missing[j].mean()) if n else 0.0,
            [str(uniques[k])[:40] for k in first],
            kind,
            float(lengths[j]),
        )
    return out


def _distinct(codes: np.ndarray) -> np.ndarray:
    """Distinct codes >= 0 in each row of ``codes``."""
    if codes.shape[1] == 0:
        return np.zeros(codes.shape[0], dtype=np.int64)
    ordered = np.sort(codes, axis=1)  # missing (-1) first
    steps = (ordered[:, 1:] != ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    return np.asarray(steps.sum(axis=1) + (ordered[:, 0] >= 0))


def _factorized(frame: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the values of ``frame[cols]`` (columns x rows; missing -1) and the distinct values."""
    values = frame[cols].to_numpy(dtype=object)
    codes, uniques = pd.factorize(values.ravel(order="F"), use_na_sentinel=True)
    return codes.reshape(len(cols), len(frame)), np.asarray(uniques, dtype=object)


def _first_distinct(values: np.ndarray, k: int, *, as_str: bool = True) -> Any:
    """The first ``k`` distinct values in order of appearance, as ``str`` (cut to 40 characters)."""
    head = pd.unique(values[: 16 * k])  # nearly always enough; else the whole column
    found = head if len(head) >= k or len(values) <= 16 * k else pd.unique(values)
    return [str(v)[:40] for v in found[:k]] if as_str else found[:k]


def _looks_like_id(name: object, col: pd.Series) -> bool:
    if _ID_NAME.search(str(name)):
        return True
    if not pd.api.types.is_integer_dtype(col):
        return False
    diffs = np.diff(col.to_numpy())
    return bool(len(diffs) and (np.all(diffs == 1)))
