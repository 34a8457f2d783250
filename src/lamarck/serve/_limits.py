"""The limits of what one request may send (issue 20), from :class:`~lamarck.settings.Settings`, and the check
that every route reading rows runs before it touches them: :func:`clean_rows`.

    >>> limits = Limits(rows=2, value_bytes=8, column_name_bytes=4, depth=2)
    >>> clean_rows([{"a": float("nan"), "b": [1, 2]}], limits)
    [{'a': None, 'b': [1, 2]}]
    >>> clean_rows([{"a": float("inf")}], limits)
    Traceback (most recent call last):
    ...
    fastapi.exceptions.HTTPException: 422: rows[0] column 'a': inf is not a finite number; send a finite number, or null for a missing value

- a request body over ``request_bytes`` (setting ``max_request_bytes``): 413 before it is parsed, from the
  ASGI middleware :class:`RequestSizeLimit` (which counts a chunked body as it arrives);
- too many rows, a string value longer than ``value_bytes`` or a column name longer than
  ``column_name_bytes`` (UTF-8 bytes): 413, naming the row and the column;
- a value nested deeper than ``depth`` lists or objects, or an infinite number (``Infinity``, ``-Infinity``,
  ``1e999``): 422, naming the row and the column;
- ``NaN`` is a missing value, as in a table: it becomes ``null`` (pandas reads it as missing).

The check walks each value at most ``depth`` levels down, so it never recurses without bound.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import HTTPException

from lamarck.serve._schemas import FeedbackRequest
from lamarck.settings import Settings

__all__ = ["BodyTooLarge", "Limits", "RequestSizeLimit", "clean_feedback", "clean_rows", "clean_value"]

FeedbackT = TypeVar("FeedbackT", bound=FeedbackRequest)


@dataclass(frozen=True)
class Limits:
    """What one request may send; :meth:`of` reads them from the project's settings."""

    rows: int = 10_000
    value_bytes: int = 65_536
    column_name_bytes: int = 256
    depth: int = 32
    request_bytes: int = 8 * 1024 * 1024

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            rows=settings.max_rows_per_request,
            value_bytes=settings.max_value_bytes,
            column_name_bytes=settings.max_column_name_bytes,
            depth=settings.max_depth,
            request_bytes=settings.max_request_bytes,
        )


class BodyTooLarge(HTTPException):
    """A request body over ``max_request_bytes`` (raised while it is read)."""

    def __init__(self, limit: int, seen: int, *, declared: bool) -> None:
        what = "declares (Content-Length)" if declared else "sent at least"
        super().__init__(
            413,
            f"the request body {what} {seen} bytes; the limit is {limit} bytes (setting max_request_bytes). "
            "Send the rows in smaller requests.",
        )


class RequestSizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets a 413 JSON answer (``{"detail": ...}``, the
    :class:`~lamarck.serve._errors.ErrorBody` shape) before it is parsed. A ``Content-Length`` over the limit
    is refused before the app runs; a body without one (``Transfer-Encoding: chunked``) is counted as it
    arrives and refused at the first chunk past the limit, the rest left unread (the connection closes).

        >>> from fastapi import FastAPI
        >>> from fastapi.testclient import TestClient
        >>> app = FastAPI()
        >>> app.add_middleware(RequestSizeLimit, max_bytes=1024)
        >>> r = TestClient(app).post("/anything", content=b"x" * 2000)
        >>> r.status_code, r.json()["detail"][:44]
        (413, 'the request body declares (Content-Length) 2')
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _answer(send, BodyTooLarge(self.max_bytes, declared, declared=True))
            return
        seen = 0
        refused: BodyTooLarge | None = None
        started = False

        async def counted() -> dict[str, Any]:
            nonlocal seen, refused
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = BodyTooLarge(self.max_bytes, seen, declared=False)
                    raise refused  # FastAPI passes an HTTPException raised while reading the body on
            return message

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _answer(send, refused or BodyTooLarge(self.max_bytes, seen, declared=False))


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Any, error: BodyTooLarge) -> None:
    body = json.dumps({"detail": error.detail, "error": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is not read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: integers outside [-2**63, 2**63) do not fit a table's column (pandas keeps them as objects)
_INT64 = 2**63


def _short(text: str, n: int = 60) -> str:
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= n else text[:n] + "..."


def _utf8_bytes(text: str, where: str) -> int:
    """The UTF-8 size of ``text``; 422 when it holds a lone surrogate (``"\\ud800"``: not UTF-8)."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise HTTPException(
            422, f"{where}: a string with a lone surrogate (e.g. \\ud800), which is not valid UTF-8"
        ) from None


def clean_value(value: Any, limits: Limits, where: str, depth: int = 0) -> Any:
    """``value`` with NaN as ``None`` (at any depth); 413/422 as the module says. ``where`` names the
    value in the error (e.g. ``rows[3] column 'a'``)."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise HTTPException(
                422,
                f"{where}: {value} is not a finite number; send a finite number, or null for a missing value",
            )
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise HTTPException(
                422,
                f"{where}: an integer of {len(str(abs(value)))} digits does not fit 64 bits; send a float",
            )
        return value
    if isinstance(value, str):
        size = _utf8_bytes(value, where)
        if size > limits.value_bytes:
            raise HTTPException(
                413,
                f"{where}: a string of {size} bytes; the limit is {limits.value_bytes} (setting max_value_bytes)",
            )
        return value
    if isinstance(value, list | dict):
        if depth >= limits.depth:
            raise HTTPException(
                422,
                f"{where}: a value nested more than {limits.depth} lists or objects deep (setting max_depth)",
            )
        if isinstance(value, list):
            return [clean_value(v, limits, where, depth + 1) for v in value]
        return {k: clean_value(v, limits, where, depth + 1) for k, v in value.items()}
    return value


def clean_rows(
    rows: Sequence[dict[str, Any]], limits: Limits, *, field: str = "rows"
) -> list[dict[str, Any]]:
    """``rows`` checked against ``limits`` (see the module), with NaN values as ``None``; the same row
    objects when nothing had to change."""
    if len(rows) > limits.rows:
        raise HTTPException(
            413,
            f"{field}: {len(rows)} in one request; the limit is {limits.rows} (setting max_rows_per_request). "
            "Send them in smaller requests.",
        )
    out = []
    names: set[str] = set()  # column names checked once per request (every row repeats them)
    short_text = limits.value_bytes // 4  # a UTF-8 character is at most 4 bytes: no need to count them
    for i, row in enumerate(rows):
        changed: dict[str, Any] | None = None
        for name, value in row.items():
            if name not in names:
                size = _utf8_bytes(name, f"{field}[{i}] column name {_short(name)!r}")
                if size > limits.column_name_bytes:
                    raise HTTPException(
                        413,
                        f"{field}[{i}]: a column name of {size} bytes ({_short(name)!r}); "
                        f"the limit is {limits.column_name_bytes} (setting max_column_name_bytes)",
                    )
                names.add(name)
            kind = type(value)
            # the common values pass without a call: finite floats, 64-bit integers, short ASCII strings
            if (
                value is None
                or kind is bool
                or (kind is float and value - value == 0.0)
                or (kind is int and -_INT64 <= value < _INT64)
                or (kind is str and len(value) <= short_text and value.isascii())
            ):
                continue
            new = clean_value(value, limits, f"{field}[{i}] column {_short(name)!r}")
            if new is not value and new != value:
                changed = changed if changed is not None else dict(row)
                changed[name] = new
        out.append(row if changed is None else changed)
    return out


def clean_feedback(req: FeedbackT, limits: Limits) -> FeedbackT:
    """A feedback body (batch or stream) checked like rows: its ``rows``, or its ``items`` (their count and
    labels); a copy when something had to change."""
    if req.label_column is not None:
        size = _utf8_bytes(req.label_column, "label_column")
        if size > limits.column_name_bytes:
            raise HTTPException(
                413,
                f"label_column: a column name of {size} bytes; the limit is {limits.column_name_bytes} "
                "(setting max_column_name_bytes)",
            )
    if req.rows:
        rows = clean_rows(req.rows, limits)
        return req if rows == req.rows else req.model_copy(update={"rows": rows})
    items = list(req.items or [])
    if len(items) > limits.rows:
        raise HTTPException(
            413,
            f"items: {len(items)} in one request; the limit is {limits.rows} (setting max_rows_per_request). "
            "Send them in smaller requests.",
        )
    changed = False
    for i, item in enumerate(items):
        clean_value(item.prediction_id, limits, f"items[{i}] prediction_id")
        label = clean_value(item.label, limits, f"items[{i}] label")
        if label is not item.label and label != item.label:
            items[i] = item.model_copy(update={"label": label})
            changed = True
    return req.model_copy(update={"items": items}) if changed else req
