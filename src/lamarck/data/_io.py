"""Reading tables: CSV (delimiter and encoding sniffed), Parquet, JSON lines, Excel, SQL via a URL.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_text("a;b\\n1;x\\n2;y\\n", encoding="latin-1")
>>> read_table(p).shape
(2, 2)
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from lamarck.errors import DataError

__all__ = ["named_columns", "read_table"]

_URL = re.compile(r"^[a-z][a-z0-9+]*://", re.IGNORECASE)
_TEXT = {".csv", ".tsv", ".txt", ".dat"}


def is_table_pattern(data: Any) -> bool:
    """Whether ``data`` names several files by a pattern (``*``, ``?``, ``[``), the large-table path's input.

    >>> is_table_pattern("data/part-*.parquet"), is_table_pattern("houses.csv"), is_table_pattern(pd.DataFrame())
    (True, False, False)
    """
    return (
        isinstance(data, str)
        and data.lower().endswith((".parquet", ".pq", ".csv", ".csv.gz"))
        and any(c in data for c in "*?[")
    )


def read_table(source: Any, *, query: str | None = None, table: str | None = None) -> pd.DataFrame:
    """Read ``source`` (a path, a SQLAlchemy URL or a DataFrame) into a DataFrame with checked columns."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, str) and _URL.match(source):
        frame = _read_sql(source, query, table)
    else:
        frame = _read_file(Path(source))
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = named_columns(frame, source=_name(source))
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(f"{_name(source)} has no rows. Fix: pass a table with a header and at least one row.")
    return frame


def named_columns(frame: pd.DataFrame, *, source: str = "the DataFrame") -> pd.DataFrame:
    """``frame`` with every column name as text (a copy renamed with ``str`` when some are not); a name
    used twice raises :class:`DataError` (which column would the model read?).

    >>> list(named_columns(pd.DataFrame({0: [1], "b": [2]})).columns)
    ['0', 'b']
    """
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    names = pd.Index(frame.columns)
    dupes = sorted(set(names[names.duplicated()]))  # one pass: counting each name was quadratic
    if dupes:
        raise DataError(
            f"duplicate column names {dupes[:20]} in {source}: each name must be used once. "
            "Fix: give every column a distinct name."
        )
    return frame


def _name(source: Any) -> str:
    return "the DataFrame" if isinstance(source, pd.DataFrame) else repr(str(source))


def _read_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        near = (
            difflib.get_close_matches(path.name, [p.name for p in path.parent.glob("*")], n=3)
            if path.parent.exists()
            else []
        )
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        raise DataError(f"file {str(path)!r} does not exist.{hint} Fix: check the path.")
    if path.is_dir():
        raise DataError(
            f"{str(path)!r} is a folder, not a file. Fix: pass a CSV, Parquet, JSON lines or Excel file."
        )
    if path.stat().st_size == 0:
        raise DataError(f"file {str(path)!r} is empty (0 bytes). Fix: pass a file with a header and rows.")
    ext = path.suffix.lower()
    try:
        if ext in _TEXT or ext == "":
            return _read_csv(path)
        if ext in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        if ext in {".jsonl", ".ndjson"}:
            return pd.read_json(path, lines=True)
        if ext == ".json":
            try:
                return pd.read_json(path, lines=True)
            except ValueError:
                return pd.read_json(path)
        if ext in {".xlsx", ".xlsm", ".xls"}:
            return pd.read_excel(path)
    except DataError:
        raise
    except Exception as e:
        raise DataError(
            f"cannot read {str(path)!r} as {ext} ({type(e).__name__}: {e}). Fix: check the file's format."
        ) from None
    raise DataError(
        f"unknown file type {ext!r} of {str(path)!r}. Fix: use .csv, .tsv, .parquet, .jsonl, .json or .xlsx."
    )


def _decode(raw: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, Windows-1252, then the detected encoding."""
    import codecs

    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    if b"\x00" in raw[:4096]:
        raise DataError(
            f"{str(path)!r} is not readable as text: it holds NUL bytes (binary data or an unknown encoding). "
            "Fix: save it as UTF-8 CSV, or pass a Parquet / Excel file."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200_000]).best()
    detected = [best.encoding] if best is not None and best.encoding else []
    for enc in ["cp1252", *detected]:  # Western spreadsheets first; detection is unreliable on short files
        try:
            return raw.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    raise DataError(f"cannot tell the text encoding of {str(path)!r}. Fix: save it as UTF-8.")


def _read_csv(path: Path) -> pd.DataFrame:
    text = _decode(path.read_bytes(), path)
    if not text.strip():
        raise DataError(
            f"file {str(path)!r} is empty (only whitespace). Fix: pass a file with a header and rows."
        )
    cut = text.find("\n", 20_000)  # whole lines, so that a wide table's header is read entire
    sample = text if cut < 0 else text[:cut]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    names = [h.strip() for h in header]
    dupes = sorted(h for h, n in Counter(names).items() if n > 1 and h)
    if dupes:
        raise DataError(
            f"duplicate column names {dupes} in {str(path)!r}. Fix: give every column a distinct name."
        )
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, low_memory=False)
    except pd.errors.ParserError as e:
        raise DataError(
            f"cannot parse {str(path)!r} as CSV with delimiter {delimiter!r}: {e}. Fix: check the quoting."
        ) from None
    if len(frame) == 0:
        raise DataError(f"file {str(path)!r} has a header but no rows. Fix: pass a file with data rows.")
    return frame


def _read_sql(url: str, query: str | None, table: str | None) -> pd.DataFrame:
    import sqlalchemy as sa

    if not query and not table:
        raise DataError(
            f"database URL {url.split('://')[0]}://… needs --query 'SELECT …' or --table NAME. Fix: add one."
        )
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            sql = sa.text(query) if query else sa.text(f'SELECT * FROM "{table}"')
            return pd.read_sql(sql, conn)
    except Exception as e:
        raise DataError(
            f"cannot read from {url.split('://')[0]}:// ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
            "Fix: check the URL, the credentials and the query."
        ) from None
