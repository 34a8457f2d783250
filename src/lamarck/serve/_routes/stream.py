"""The served stream learner (:class:`~lamarck.serve._stream.StreamService`): ``POST /v1/stream/predict``
(``predict`` or ``admin``), ``POST /v1/stream/feedback`` (``feedback`` or ``admin``), ``GET /v1/stream/status``
(any key). 503 while the project has no ``stream`` alias. The router's lifespan saves the learner, and
registers it when it learned, as the server stops."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException

from lamarck.serve._deps import State, reader, require
from lamarck.serve._errors import answers
from lamarck.serve._limits import clean_feedback, clean_rows
from lamarck.serve._stream import StreamFeedbackRequest, StreamPredictRequest, StreamService

log = logging.getLogger(__name__)


async def stream_service(state: State) -> StreamService:
    """The app's stream service (``app.state.server.stream``, also ``app.state.stream``); 409 when several
    processes serve the project (each would learn its own copy of the stream learner)."""
    if state.workers > 1:
        raise HTTPException(
            409,
            f"the stream learner is served by one process, and this server runs {state.workers} workers. "
            "Fix: serve it with `lamarck serve --workers 1` (another port), or learn the stream with "
            "`lamarck stream`.",
        )
    return state.stream


Service = Annotated[StreamService, Depends(stream_service)]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    try:
        app.state.server.stream.shutdown()
    except Exception:  # the checkpoint is written first; a failed registration is only logged
        log.exception("could not register the served stream learner on shutdown")


router = APIRouter(prefix="/v1/stream", tags=["stream"], lifespan=lifespan)


@router.post("/predict", responses=answers(400, 401, 403, 413, 422, 503, rows=True))
def stream_predict(
    req: StreamPredictRequest, state: State, service: Service, _who: str = require("predict", "admin")
) -> dict[str, Any]:
    """Predict events with the stream learner (nothing is learned here). Events are held to the limits
    of ``/v1/predict``: ``NaN`` is a missing value, infinities are refused (422)."""
    return service.predict(clean_rows(req.rows, state.limits))


@router.post("/feedback", responses=answers(400, 401, 403, 413, 422, 503, rows=True))
def stream_feedback(
    req: StreamFeedbackRequest, state: State, service: Service, _who: str = require("feedback", "admin")
) -> dict[str, Any]:
    """Labels for events: stored, then learned one at a time (predict first, then learn). Held to the
    limits of ``/v1/predict`` (413 / 422)."""
    return service.feedback(clean_feedback(req, state.limits))


@router.get("/status", responses=answers(401, 503))
def stream_status(state: State, service: Service, _who: str = reader) -> dict[str, Any]:
    """Events learned, the running prequential metric, checkpoints and the best members (and, with
    ``serve --feedback-from kafka://...``, that consumer's lag per partition)."""
    found = service.status()
    if found is None:
        raise HTTPException(503, 'no stream learner yet: run `lamarck stream DATA "SENTENCE"` first')
    if state.feedback_source is not None:  # labels from a Kafka topic: the consumer's lag per partition
        found = {**found, "feedback_source": state.feedback_source.status()}
    return found
