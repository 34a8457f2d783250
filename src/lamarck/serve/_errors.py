"""Error answers: the body they share, the ``responses=`` that routes declare in the OpenAPI document, and the
handlers that turn a :class:`~lamarck.errors.LamarckError` into an answer (404 for an unknown model version,
422 for the others; absolute paths of the server's files left out) and a validation error into a 422 that
never echoes the input (FastAPI's own handler sends each error's ``input`` back, which can be large, or a
``NaN`` that JSON cannot carry).

    >>> sorted(answers(401, 403))
    [401, 403]
    >>> answers(503)[503]["model"].__name__
    'ErrorBody'
    >>> without_paths("files missing (/srv/p/artifacts/3/model.pkl) in sqlite:////srv/p/mlflow.db", "/srv/p")
    'files missing (<project>/artifacts/3/model.pkl) in sqlite:///<project>/mlflow.db'
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lamarck.errors import ModelNotFoundError

__all__ = ["ErrorBody", "answers", "lamarck_error", "validation_error", "without_paths", "without_paths_in"]

#: characters of a value kept in an error answer
ECHO = 200


class ErrorBody(BaseModel):
    """An error answer: the message (it names the rule, the value and the fix) and, for a rule of Lamarck,
    the exception's class name."""

    detail: str
    error: str | None = Field(default=None, description="The LamarckError subclass, e.g. ModelNotFoundError.")


class RefusedRows(BaseModel):
    """No row (or feedback item) could be used: each one was quarantined, with its reason."""

    detail: str
    quarantined: list[dict[str, Any]] = Field(description="``{index, reason}`` per refused row.")
    required: Any = Field(default=None, description="The columns (or the stream's columns and kinds).")


_SAYS = {
    400: "The body cannot be read (not UTF-8 text, or a broken chunked transfer).",
    401: "No valid API key (only while the server has keys).",
    403: "The key's role may not call this route.",
    404: "No model version by that number.",
    413: "Too much in one request: rows, a string value or a column name over the server's limits.",
    422: "The request does not validate (``detail`` is the list of errors), or a rule of Lamarck refused it.",
    503: "Nothing to answer with yet (no champion, or no stream learner).",
}
_REF = "#/components/schemas/"


def answers(*codes: int, rows: bool = False) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that answers ``codes`` besides 200. Every code but 422 has an
    :class:`ErrorBody`; 422 is FastAPI's validation error or an :class:`ErrorBody`, and with ``rows`` also
    ``{"detail": RefusedRows}`` (every row refused)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if code != 422:
            out[code] = {"model": ErrorBody, "description": _SAYS[code]}
            continue
        shapes: list[dict[str, Any]] = [{"$ref": _REF + "HTTPValidationError"}, {"$ref": _REF + "ErrorBody"}]
        if rows:
            refused = RefusedRows.model_json_schema(ref_template=_REF + "{model}")
            shapes.append({"type": "object", "properties": {"detail": refused}, "required": ["detail"]})
        out[code] = {
            "description": _SAYS[code],
            "content": {"application/json": {"schema": {"anyOf": shapes}}},
        }
    return out


#: an absolute POSIX path (what is left of one once the project's folder is replaced)
_ABSOLUTE = re.compile(r"(?<![\w.<>])/(?:[\w.@+-]+/)*[\w.@+-]+")


def without_paths(message: str, root: str | Path | None = None) -> str:
    """``message`` with the project folder ``root`` as ``<project>`` and any other absolute path of this
    machine (one whose first folder exists, so ``/v1/predict`` stays) as ``<path>``."""
    if root is not None:
        message = message.replace(str(root).rstrip("/"), "<project>")

    def hide(m: re.Match[str]) -> str:
        first = m.group(0).split("/")[1]
        return "<path>" if "/" in m.group(0)[1:] and Path("/", first).exists() else m.group(0)

    return _ABSOLUTE.sub(hide, message)


def without_paths_in(value: Any, root: str | Path | None = None, depth: int = 0) -> Any:
    """``value`` (JSON: dicts, lists, strings...) with :func:`without_paths` applied to every string in it,
    keys included (at most 64 levels down; deeper values are left as they are).

    >>> without_paths_in({"error": ["cannot read /srv/p/streams/x/checkpoint.pkl"], "n": 3}, "/srv/p")
    {'error': ['cannot read <project>/streams/x/checkpoint.pkl'], 'n': 3}
    """
    if isinstance(value, str):
        return without_paths(value, root) if "/" in value else value
    if depth >= 64:
        return value
    if isinstance(value, dict):
        return {
            without_paths_in(k, root, depth + 1): without_paths_in(v, root, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [without_paths_in(v, root, depth + 1) for v in value]
    return value


async def lamarck_error(request: Request, exc: Exception) -> JSONResponse:
    """The answer to a LamarckError raised by a route (the app registers it for that class only)."""
    status = 404 if isinstance(exc, ModelNotFoundError) else 422
    server = getattr(request.app.state, "server", None)
    root = server.project.path.resolve() if server is not None else None
    return JSONResponse(
        status_code=status,
        content={"detail": _brief(without_paths(str(exc), root), 2000), "error": type(exc).__name__},
    )


def _brief(value: Any, n: int = ECHO) -> Any:
    """A value fit for an error answer: at most ``n`` characters, and JSON (no NaN, no exception objects)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= n else text[:n] + "..."


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 for a body that does not validate: each error's ``type``, ``loc`` and ``msg`` (and its ``ctx``,
    the rule's bounds), never its ``input``; every value cut to 200 characters."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = []
    for error in errors[:20]:
        entry: dict[str, Any] = {
            "type": _brief(error.get("type")),
            "loc": [_brief(part) for part in error.get("loc", ())[:10]],
            "msg": _brief(error.get("msg")),
        }
        if isinstance(error.get("ctx"), dict):
            entry["ctx"] = {str(k)[:ECHO]: _brief(v) for k, v in list(error["ctx"].items())[:10]}
        detail.append(entry)
    if len(errors) > 20:
        detail.append({"type": "more", "loc": [], "msg": f"{len(errors) - 20} more errors left out"})
    return JSONResponse(status_code=422, content={"detail": detail})
