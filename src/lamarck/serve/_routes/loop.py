"""The loop: ``GET /v1/status`` and ``GET /v1/suggest-labels`` (any key), ``POST /v1/evolve`` (``admin``)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pandas as pd
from fastapi import APIRouter, Query

from lamarck.serve._deps import State, reader, require
from lamarck.serve._errors import answers
from lamarck.serve._status import server_status

router = APIRouter(tags=["loop"])


def _records(frame: pd.DataFrame) -> list[dict[Hashable, Any]]:
    """JSON-safe records (NaN as null, numpy scalars as Python numbers)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in clean.to_dict("records")
    ]


@router.get("/v1/status", responses=answers(401))
def status(state: State, _who: str = reader) -> dict[str, Any]:
    """The champion, the versions, the challenger's shadow, the last drift signal and decisions, the event
    counts, the evolve loop and the stream learner. ``project`` is the project folder's name: no absolute
    path of the server's files is shown (any in a message reads ``<project>/...`` or ``<path>``)."""
    return server_status(state)


@router.post("/v1/evolve", responses=answers(401, 403, 422))
def evolve(state: State, _who: str = require("admin")) -> dict[str, Any]:
    """Run one pass of the evolution policy now (what `lamarck evolve` does)."""
    return state.evolve.run_once().to_dict()


@router.get("/v1/suggest-labels", responses=answers(401, 422))
def suggest_labels(
    state: State,
    n: int = Query(20, ge=1, le=10_000, description="How many predictions to suggest."),
    strategy: str = Query("entropy", pattern="^(entropy|margin)$"),
    _who: str = reader,
) -> dict[str, Any]:
    """The logged, unlabelled predictions whose labels would help most (active learning)."""
    table = state.project.suggest_labels(n, strategy=strategy)
    return {"strategy": strategy, "suggestions": _records(table)}
