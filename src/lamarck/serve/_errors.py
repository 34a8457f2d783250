"""Error answers: the body they share, the ``responses=`` that routes declare in the OpenAPI document, and the
handler that turns a :class:`~lamarck.errors.LamarckError` into an answer (404 for an unknown model version,
422 for the others).

    >>> sorted(answers(401, 403))
    [401, 403]
    >>> answers(503)[503]["model"].__name__
    'ErrorBody'
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lamarck.errors import ModelNotFoundError

__all__ = ["ErrorBody", "answers", "lamarck_error"]


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
    401: "No valid API key (only while the server has keys).",
    403: "The key's role may not call this route.",
    404: "No model version by that number.",
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


async def lamarck_error(_request: Request, exc: Exception) -> JSONResponse:
    """The answer to a LamarckError raised by a route (the app registers it for that class only)."""
    status = 404 if isinstance(exc, ModelNotFoundError) else 422
    return JSONResponse(status_code=status, content={"detail": str(exc), "error": type(exc).__name__})
