"""Versions: ``GET /v1/models`` (any key), ``POST /v1/models/{version}/promote`` and ``POST /v1/rollback``
(``admin``). Both moves go through the project (the champion ledger) and drop the app's alias cache."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lamarck.serve._deps import State, reader, require
from lamarck.serve._errors import answers

router = APIRouter(tags=["models"])


@router.get("/v1/models", responses=answers(401))
def models(state: State, _who: str = reader) -> list[dict[str, Any]]:
    return state.project.status()["versions"]


@router.post("/v1/models/{version}/promote", responses=answers(401, 403, 404, 422))
def promote(version: str, state: State, _who: str = require("admin")) -> dict[str, Any]:
    previous = state.project.promote(version, reason="promoted through the API")
    state.aliases.invalidate()
    return {"champion": version, "previous": previous}


@router.post("/v1/rollback", responses=answers(401, 403, 404, 422))
def rollback(state: State, _who: str = require("admin")) -> dict[str, Any]:
    champion_now = state.project.rollback(reason="rolled back through the API")
    state.aliases.invalidate()
    return {"champion": champion_now}
