"""Events of a stream: reading them in order (CSV, JSON lines, standard input, any table) and checking
each against the schema planned on the head of the stream. A bad event gets a reason instead of a row.

    >>> import io
    >>> lines = io.StringIO('{"x": 1, "y": "a"}\\nnot json\\n{"x": "abc", "y": "a"}\\n{"y": "b"}\\n')
    >>> items = list(read_events("-", stdin=lines))
    >>> [i.error is None for i in items]
    [True, False, True, True]
    >>> schema = EventSchema(target="y", features=(("x", "numeric"),), classes=("a",))
    >>> [schema.check(i.row)[2] for i in items if i.row is not None]
    [None, "non-numeric: value 'abc' of numeric feature 'x'", "missing feature: 'x' is absent or empty"]
    >>> schema.check({"x": 2, "y": "z"})[2]
    "unseen label: 'z' of target 'y' is not one of ['a']"
    >>> numeric = EventSchema(target="y", features=(("x", "numeric"),), numeric_target=True)
    >>> numeric.check({"x": 1, "y": "2.5"})[1], numeric.check({"x": 1, "y": "high"})[2]
    (2.5, "non-numeric: label 'high' of numeric target 'y'")
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO, cast

import pandas as pd

from lamarck.errors import DataError

__all__ = ["REASON_KINDS", "EventSchema", "RawEvent", "head_frame", "label_key", "read_events"]

#: the kinds of bad input, as counted in a stream's summary
REASON_KINDS = ("unparsable", "missing feature", "non-numeric", "unseen label")

FeatureKind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class RawEvent:
    """One item of the stream in order: the parsed row, or the line and why it did not parse."""

    line: int
    row: dict[str, Any] | None
    error: str | None = None
    text: str = ""


def label_key(value: Any) -> str:
    """The canonical form of a class label: ``1``, ``1.0`` and ``"1"`` are the same class."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` when it is not one (booleans are not numbers here)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class EventSchema:
    """What every event must carry: the features (with their kind), the target and its known classes
    (or, with ``numeric_target``, that the target is a number)."""

    target: str
    features: tuple[tuple[str, FeatureKind], ...]
    classes: tuple[str, ...] | None = None
    numeric_target: bool = False

    @property
    def kinds(self) -> dict[str, str]:
        return dict(self.features)

    def check(self, row: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | float | None, str | None]:
        """``(features, label or None, None)`` for a good event, ``(None, None, reason)`` for a bad one
        (the label is a number with ``numeric_target``, else its text key)."""
        x: dict[str, Any] = {}
        for name, kind in self.features:
            value = row.get(name)
            if _missing(value):
                return None, None, f"missing feature: {name!r} is absent or empty"
            if kind == "numeric":
                number = _number(value)
                if number is None:
                    return None, None, f"non-numeric: value {value!r} of numeric feature {name!r}"
                x[name] = number
            else:
                x[name] = str(value)
        raw = row.get(self.target)
        if _missing(raw):
            return x, None, None
        if getattr(self, "numeric_target", False):
            value = _number(raw)
            if value is None:
                return None, None, f"non-numeric: label {raw!r} of numeric target {self.target!r}"
            return x, value, None
        label = label_key(raw)
        if self.classes is not None and label not in self.classes:
            return (
                None,
                None,
                f"unseen label: {label!r} of target {self.target!r} is not one of {list(self.classes)}",
            )
        return x, label, None


def _json_lines(lines: Iterable[str]) -> Iterator[RawEvent]:
    for n, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as e:
            yield RawEvent(n, None, f"unparsable: line {n} is not JSON ({e.msg})", text[:500])
            continue
        if not isinstance(row, dict):
            yield RawEvent(
                n, None, f"unparsable: line {n} is a JSON {type(row).__name__}, not an object", text[:500]
            )
            continue
        yield RawEvent(n, row)


def _csv_rows(path: Path) -> Iterator[RawEvent]:
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter, restkey="\x00extra", restval=None)
        width = len(reader.fieldnames or [])
        for n, row in enumerate(reader, start=2):
            if "\x00extra" in row or any(v is None for v in row.values()):
                fields = width + len(row.get("\x00extra") or []) - sum(v is None for v in row.values())
                text = delimiter.join(
                    str(v) for v in row.values() if v is not None and not isinstance(v, list)
                )
                yield RawEvent(
                    n, None, f"unparsable: line {n} has {fields} fields, the header has {width}", text[:500]
                )
                continue
            yield RawEvent(n, dict(row))


def _text_events(path: Path) -> Iterator[RawEvent]:
    """The events of a CSV or JSON-lines file; a DataError when it is not UTF-8 text (binary data, or
    another encoding), naming the byte and the fix."""
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            with path.open(encoding="utf-8") as fh:
                yield from _json_lines(fh)
        else:
            yield from _csv_rows(path)
    except UnicodeDecodeError as e:
        raise DataError(
            f"stream source '{path}' is not UTF-8 text: byte 0x{e.object[e.start]:02x} at offset {e.start} of "
            "a read block (binary data, or another encoding). Fix: save it as UTF-8 (CSV or JSON lines), or "
            "pass a Parquet file."
        ) from None
    except csv.Error as e:
        raise DataError(
            f"stream source '{path}' is not a readable CSV ({e}). Fix: check its format."
        ) from None


def read_events(source: str | Path, *, stdin: TextIO | None = None) -> Iterator[RawEvent]:
    """The events of ``source`` in order: ``"-"`` reads JSON lines from standard input; ``.csv``/``.tsv``
    and ``.jsonl``/``.ndjson``/``.json`` are read line by line; any other table goes through
    :func:`lamarck.data.read_table`."""
    if str(source) == "-":
        yield from _json_lines(stdin if stdin is not None else sys.stdin)
        return
    path = Path(source)
    if not path.exists():
        raise DataError(
            f"stream source {str(source)!r} does not exist. Fix: pass a file, or - for standard input."
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".json"):
        yield from _text_events(path)
    else:
        from lamarck.data import read_table

        for n, row in enumerate(read_table(str(path)).to_dict("records"), start=1):
            yield RawEvent(n, cast("dict[str, Any]", row))  # read_table's column names are text


def head_frame(items: Iterable[RawEvent], *, numeric_share: float = 0.9) -> pd.DataFrame:
    """The parsed rows of ``items`` as a table for the planner: a column whose values are numbers (at
    least ``numeric_share`` of them) becomes numeric, so a stray bad value does not change its kind."""
    frame = pd.DataFrame.from_records([i.row for i in items if i.row is not None])
    for col in frame.columns:
        values = frame[col].replace("", None)
        numbers = pd.to_numeric(values, errors="coerce")
        present = int(values.notna().sum())
        if present and numbers.notna().sum() >= numeric_share * present:
            frame[col] = numbers
    return frame
