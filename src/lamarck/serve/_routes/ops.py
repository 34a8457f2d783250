"""Operations: ``GET /healthz`` (no key needed) and ``GET /metrics`` (Prometheus text, any key: the
server's counters, and the store's commits and the batches they carried when appends share commits)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from lamarck.serve._deps import State, reader
from lamarck.serve._errors import answers

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    """``{"status": "ok", "worker": PID}``: the process that answered (``serve --workers N`` runs several)."""
    return {"status": "ok", "worker": os.getpid()}


@router.get("/metrics", response_class=PlainTextResponse, responses=answers(401))
def prometheus(state: State, _who: str = reader) -> str:
    text = state.metrics.render()
    group = state.project.store.grouped
    if group is not None:  # appends sharing commits: batches per commit is the grouping achieved
        text += (
            "# TYPE lamarck_store_commits_total counter\n"
            f"lamarck_store_commits_total {group.commits}\n"
            "# TYPE lamarck_store_batches_total counter\n"
            f"lamarck_store_batches_total {group.batches}\n"
        )
    if state.feedback_source is not None:  # the Kafka feedback consumer's lag per partition
        text += state.feedback_source.metrics()
    return text
