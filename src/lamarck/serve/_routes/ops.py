"""Operations: ``GET /healthz`` (no key needed) and ``GET /metrics`` (Prometheus text, any key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from lamarck.serve._deps import State, reader
from lamarck.serve._errors import answers

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse, responses=answers(401))
def prometheus(state: State, _who: str = reader) -> str:
    return state.metrics.render()
