"""The API's own documentation: ``GET /openapi.json``, ``GET /docs`` (Swagger UI) and ``GET /redoc``.

Like every route but ``/healthz``, they need a key (any role) while the server has keys, and are open on a
server without keys (which listens on localhost only). A browser sends no key by itself: use a tool that
adds the ``X-API-Key`` header, or fetch ``/openapi.json`` with one. None of them is part of the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from lamarck.serve._deps import reader

router = APIRouter(include_in_schema=False)

OPENAPI_URL = "/openapi.json"


@router.get(OPENAPI_URL)
def openapi(request: Request, _who: str = reader) -> JSONResponse:
    document: dict[str, Any] = request.app.openapi()
    return JSONResponse(document)


@router.get("/docs")
def swagger(request: Request, _who: str = reader) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} - API docs")


@router.get("/redoc")
def redoc(request: Request, _who: str = reader) -> HTMLResponse:
    return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} - API docs")
