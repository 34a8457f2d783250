"""The loop: ``GET /v1/status`` and ``GET /v1/suggest-labels`` (any key), ``POST /v1/evolve`` (``admin``)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pandas as pd
from fastapi import APIRouter, Query

from lamarck.evolve import EvolutionPolicy
from lamarck.serve._deps import State, reader, require
from lamarck.serve._errors import answers, without_paths_in

router = APIRouter(tags=["loop"])

#: the figures of the last drift or decay signal that ``/v1/status`` shows
_DRIFT_FIGURES = (
    "drift",
    "drifted_columns",
    "drift_detail",
    "prediction_drift",
    "decay",
    "error_rate",
    "mae",
    "new_labels",
)


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
    project, loop = state.project, state.evolve
    info = project.status()
    root = project.path.resolve()
    info["project"] = root.name
    info["events"] = project.store.counts()
    challenger = state.aliases.get().get("challenger")
    info["challenger"] = None
    if challenger is not None:
        labelled = len(project.store.shadow_labelled(challenger))
        needed = max((loop.policy or EvolutionPolicy()).shadow_labels, 1)  # as the evolver counts them
        info["challenger"] = {
            "version": challenger,
            "shadow_predictions": project.store.shadow_count(challenger),
            "shadow_labels": labelled,
            "shadow_labels_needed": needed,
        }
    signal = next(iter(project.store.decisions(limit=1, kinds=("signal", "challenger", "reject"))), None)
    info["drift"] = (
        None
        if signal is None
        else {k: signal["figures"].get(k) for k in _DRIFT_FIGURES if k in signal["figures"]}
        | {"at": str(signal["ts"])}
    )
    info["decisions"] = project.store.decisions(limit=10)
    info["auto_evolve"] = {"enabled": loop.enabled, "every_s": loop.every_s, "last": loop.last}
    info["layer"] = state.layer.status()  # the champion's online layer (see lamarck.serve._layer)
    info["stream"] = state.stream.summary()  # the served stream learner (see lamarck.serve._stream)
    return without_paths_in(info, root)


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
