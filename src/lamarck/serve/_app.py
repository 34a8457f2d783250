"""The HTTP server: predict, feedback, status, models, promote, rollback, evolve, suggest-labels, the stream
learner, metrics, health.

    >>> from fastapi.testclient import TestClient
    >>> import tempfile
    >>> client = TestClient(create_app(Project(tempfile.mkdtemp())))
    >>> client.get("/healthz").json()["status"]
    'ok'

The routes live in routers, one module per area (:mod:`lamarck.serve._routes`); what they share (the
project, auth, caches, metrics, the write lock, the evolve loop, the stream learner) is one
:class:`~lamarck.serve._state.ServerState` on ``app.state.server``, which routes get through the
dependencies of :mod:`lamarck.serve._deps`.

Feedback is written to the store (one committed transaction) before the response is sent. Rows that
fail the model's schema are quarantined with their reason, never dropped silently. While a challenger
is shadowing, it answers every predicted row too (after the response is sent) and its answers are
logged beside the champion's. Once API keys exist (``lamarck keys create --role ...``), every route
but ``/healthz`` needs one, the docs (``/docs``, ``/redoc``, ``/openapi.json``) too (``Authorization: Bearer KEY`` or ``X-API-Key: KEY``): ``predict`` keys may
predict, ``feedback`` keys may send labels, ``admin`` keys may do anything; any key may read.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from lamarck.errors import ConfigError, LamarckError
from lamarck.project import Project
from lamarck.serve._auth import AuthMode
from lamarck.serve._errors import lamarck_error, validation_error
from lamarck.serve._limits import RequestSizeLimit
from lamarck.serve._routes import CONSOLE_ROUTERS, ROUTERS
from lamarck.serve._state import ServerState

__all__ = ["create_app"]


def create_app(
    project: Project,
    *,
    auto_evolve: bool = False,
    evolve_every_s: float = 60.0,
    policy: Any = None,
    auth_mode: AuthMode | None = None,
    online_layer: bool | None = None,
    workers: int = 1,
    console_only: bool = False,
    feedback_from: str | None = None,
    kafka_properties: str | None = None,
) -> FastAPI:
    """The FastAPI app of ``project`` (the champion is loaded on first use and after alias moves).

    With ``auto_evolve``, a background thread runs one pass of the evolution policy every
    ``evolve_every_s`` seconds (the same pass as ``lamarck evolve``). ``auth_mode`` is ``"keys"`` or
    ``"open"`` (see :mod:`lamarck.serve._auth`); by default keyed when the project has a key now. A keyed
    server stays keyed: revoking the last key refuses everyone but ``/healthz``. ``online_layer`` serves the
    champion with its online layer (:mod:`lamarck.serve._layer`; default: the setting ``online_layer``).
    ``workers``: how many processes serve the project together (``lamarck serve --workers N``); with more
    than one, the served stream learner (one state) is refused with 409; with ``auto_evolve`` each runs the
    loop, and the store's evolve lease lets one pass run at a time (:meth:`lamarck.evolve.Evolver.run_once`).
    """
    state = ServerState.build(
        project,
        auto_evolve=auto_evolve,
        evolve_every_s=evolve_every_s,
        policy=policy,
        auth_mode=auth_mode,
        online_layer=online_layer,
        workers=workers,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # everything imported and built so far lives as long as the server: out of the collector's way, a
        # full collection walks only what requests and the online layer made since (on elec2, one label
        # per request: 0.11 s of full collections per 8,000 rows instead of 0.75 s); back at shutdown, so that
        # a process that serves several apps in turn (tests, benchmarks) can still free the earlier ones
        gc.freeze()
        state.evolve.start()  # only with auto_evolve
        if state.feedback_source is not None:
            state.feedback_source.start()
        yield
        if state.feedback_source is not None:
            state.feedback_source.stop()
        state.evolve.stop()
        state.layer.shutdown()
        gc.unfreeze()

    app = FastAPI(
        title="Lamarck",
        version="0.1.0",
        description="Predict with the champion, send labelled feedback, watch and steer versions.",
        lifespan=lifespan,
        # served by lamarck.serve._routes.docs, behind the same keys as the other routes
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    if feedback_from:
        from lamarck.serve._kafka import KafkaFeedback

        state.feedback_source = KafkaFeedback(state, feedback_from, properties=kafka_properties)
    app.state.server = state
    app.add_middleware(RequestSizeLimit, max_bytes=state.limits.request_bytes)  # 413 before any parsing
    app.add_exception_handler(LamarckError, lamarck_error)
    app.add_exception_handler(RequestValidationError, validation_error)  # never echoes the input
    for router in CONSOLE_ROUTERS if console_only else ROUTERS:
        app.include_router(router)
    app.state.stream = state.stream  # the served stream learner (bench and tests tune it)
    # for callers that move an alias outside the app (e.g. ``Project.fit`` beside a running server)
    app.state.invalidate_aliases = state.aliases.invalidate
    return app


#: what ``lamarck serve --workers N`` hands each worker process (uvicorn starts them from an import string)
WORKER_ENV = (
    "LAMARCK_SERVE_PROJECT",
    "LAMARCK_SERVE_AUTH",
    "LAMARCK_SERVE_WORKERS",
    "LAMARCK_SERVE_EVOLVE_EVERY",  # seconds between a worker's evolve passes; empty: no --auto-evolve
    "LAMARCK_SERVE_FEEDBACK_FROM",  # a kafka:// feedback source (each worker joins its consumer group)
    "LAMARCK_SERVE_KAFKA_CONFIG",  # the Kafka client's properties file
)


def app_from_env() -> FastAPI:
    """The app of one worker of ``lamarck serve --workers N`` (uvicorn's factory, in each process): the
    project, auth mode, worker count and evolve period come from the environment the command set."""
    import os

    from lamarck.project import Project

    path, mode, workers, every, feedback_from, kafka_config = (os.environ.get(k, "") for k in WORKER_ENV)
    if not path:
        raise ConfigError(
            "LAMARCK_SERVE_PROJECT is not set. Fix: start the workers with `lamarck serve --workers N`."
        )
    auth: AuthMode | None = "keys" if mode == "keys" else ("open" if mode == "open" else None)
    return create_app(
        Project.existing(path),
        auth_mode=auth,
        workers=int(workers or 1),
        auto_evolve=bool(every),
        evolve_every_s=float(every or 60.0),
        feedback_from=feedback_from or None,
        kafka_properties=kafka_config or None,
    )
