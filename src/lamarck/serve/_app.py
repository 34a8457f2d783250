"""The HTTP server: predict, feedback, status, models, promote, rollback, metrics, health.

    >>> from fastapi.testclient import TestClient
    >>> import tempfile
    >>> client = TestClient(create_app(Project(tempfile.mkdtemp())))
    >>> client.get("/healthz").json()["status"]
    'ok'

Feedback is written to the store (one committed transaction) before the response is sent. Rows that
fail the model's schema are quarantined with their reason, never dropped silently. While a challenger
is shadowing, it answers every predicted row too (after the response is sent) and its answers are
logged beside the champion's. Once API keys exist (``lamarck keys create --role ...``), every route
but ``/healthz`` needs one (``Authorization: Bearer KEY`` or ``X-API-Key: KEY``): ``predict`` keys may
predict, ``feedback`` keys may send labels, ``admin`` keys may do anything; any key may read.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pandas as pd
from fastapi import BackgroundTasks, Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from lamarck.errors import LamarckError, ModelNotFoundError
from lamarck.evolve import EvolutionPolicy
from lamarck.project import Project
from lamarck.serve._auth import Auth, AuthMode
from lamarck.serve._schemas import FeedbackRequest
from lamarck.serve._stream import StreamService

__all__ = ["create_app"]

log = logging.getLogger(__name__)

#: seconds an alias lookup is reused (MLflow is not asked per request)
CACHE_S = 1.0


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=100_000, description="Rows to predict.")


class _Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: Counter[str] = Counter()
        self.latency_sum = 0.0

    def inc(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counters[name] += n

    def render(self) -> str:
        lines = []
        with self.lock:
            for name, value in sorted(self.counters.items()):
                lines += [f"# TYPE lamarck_{name}_total counter", f"lamarck_{name}_total {value}"]
            lines += [
                "# TYPE lamarck_predict_seconds_sum counter",
                f"lamarck_predict_seconds_sum {self.latency_sum:.6f}",
            ]
        return "\n".join(lines) + "\n"


def _jsonable(values: np.ndarray) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in values]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN as null, numpy scalars as Python numbers)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in clean.to_dict("records")
    ]


class _Cached:
    """A value recomputed at most every ``ttl`` seconds (``invalidate`` forces the next read)."""

    def __init__(self, compute: Callable[[], Any], ttl: float = CACHE_S) -> None:
        self.compute, self.ttl = compute, ttl
        self.value: Any = None
        self.at = -float("inf")
        self.lock = threading.Lock()

    def get(self) -> Any:
        with self.lock:
            if time.monotonic() - self.at > self.ttl:
                self.value, self.at = self.compute(), time.monotonic()
            return self.value

    def invalidate(self) -> None:
        with self.lock:
            self.at = -float("inf")


def create_app(
    project: Project,
    *,
    auto_evolve: bool = False,
    evolve_every_s: float = 60.0,
    policy: Any = None,
    auth_mode: AuthMode | None = None,
) -> FastAPI:
    """The FastAPI app of ``project`` (the champion is loaded on first use and after alias moves).

    With ``auto_evolve``, a background thread runs one pass of the evolution policy every
    ``evolve_every_s`` seconds (the same pass as ``lamarck evolve``). ``auth_mode`` is ``"keys"`` or
    ``"open"`` (see :mod:`lamarck.serve._auth`); by default keyed when the project has a key now. A keyed
    server stays keyed: revoking the last key refuses everyone but ``/healthz``.
    """
    metrics = _Metrics()
    state: dict[str, Any] = {"models": {}, "last_decision": None}
    aliases = _Cached(lambda: project.registry.aliases())
    auth = Auth(project.store, mode=auth_mode)
    evolve_lock = threading.Lock()
    # SQLite admits one writer and puts the others to sleep in its busy handler (up to seconds for some
    # requests under 8 concurrent predicts); the routes' writes queue on this lock instead
    sqlite = str(project.store.url).startswith("sqlite")
    write_lock: Any = threading.Lock() if sqlite else contextlib.nullcontext()
    stop = threading.Event()

    def run_evolve() -> Any:
        with evolve_lock:
            decision = project.evolve(policy)
        aliases.invalidate()
        state["last_decision"] = decision.to_dict()
        metrics.inc(f"evolve_{decision.kind}")
        return decision

    def evolve_loop() -> None:
        while not stop.wait(evolve_every_s):
            try:
                decision = run_evolve()
                log.info("evolve: %s (%s)", decision.kind, decision.reason)
            except Exception:  # the loop survives a bad pass; the champion keeps serving
                log.exception("evolve pass failed")
                metrics.inc("evolve_errors")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        thread = None
        if auto_evolve:
            thread = threading.Thread(target=evolve_loop, name="lamarck-evolve", daemon=True)
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=5)

    app = FastAPI(
        title="Lamarck",
        version="0.1.0",
        description="Predict with the champion, send labelled feedback, watch and steer versions.",
        lifespan=lifespan,
    )

    def model_of(alias: str) -> tuple[Any, str] | None:
        version = aliases.get().get(alias)
        if version is None:
            return None
        cache = state["models"]
        if version not in cache:
            if len(cache) > 4:
                cache.clear()
            cache[version] = project.load_model(version)
        return cache[version], version

    def champion() -> tuple[Any, str]:
        found = model_of("champion")
        if found is None:
            raise HTTPException(503, 'no champion yet: run `lamarck fit DATA "SENTENCE"` first')
        return found

    def role(
        authorization: str | None = Header(default=None, description="Bearer API key"),
        x_api_key: str | None = Header(default=None, description="API key"),
    ) -> str:
        key = x_api_key or (authorization or "").removeprefix("Bearer ").strip()
        found = auth.role(key)  # "admin" on an open (localhost-only) server
        if found is None:
            raise HTTPException(
                401, "a valid API key is needed: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
            )
        return str(found)

    def allow(*roles: str) -> Any:
        def check(who: str = Depends(role)) -> str:
            if who not in roles:
                raise HTTPException(
                    403, f"an API key with role {' or '.join(roles)} is needed; this key is {who!r}"
                )
            return who

        return Depends(check)

    def shadow(rows: list[dict[str, Any]], ids: list[str]) -> None:
        found = model_of("challenger")
        if found is None or found[1] == state.get("served_version"):
            return
        model, version = found
        try:
            frame = pd.DataFrame.from_records(rows)
            preds = model.predict(frame)
            probas = None if model.task == "regression" else model.predict_proba(frame).tolist()
            with write_lock:
                project.store.log_shadow(
                    ids, predictions=_jsonable(np.asarray(preds)), probas=probas, model_version=version
                )
            metrics.inc("shadow_predictions", len(ids))
        except Exception:  # the shadow never hurts the champion's answers
            log.exception("shadow prediction by v%s failed", version)
            metrics.inc("shadow_errors")

    @app.exception_handler(LamarckError)
    async def _lamarck_error(_request: Any, exc: LamarckError) -> Any:
        from fastapi.responses import JSONResponse

        status = 404 if isinstance(exc, ModelNotFoundError) else 422
        return JSONResponse(status_code=status, content={"detail": str(exc), "error": type(exc).__name__})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post("/v1/predict")
    def predict(
        req: PredictRequest, background: BackgroundTasks, _who: str = allow("predict", "admin")
    ) -> dict[str, Any]:
        t0 = time.perf_counter()
        model, version = champion()
        frame = pd.DataFrame.from_records(req.rows)
        required = list(model.input_schema)
        bad = [(i, [c for c in required if c not in row]) for i, row in enumerate(req.rows)]
        bad = [(i, missing) for i, missing in bad if missing]
        quarantined = []
        if bad:
            reasons = [f"missing column(s) {missing}" for _, missing in bad]
            project.store.quarantine([req.rows[i] for i, _ in bad], reasons, source="predict")
            quarantined = [{"index": i, "reason": r} for (i, _), r in zip(bad, reasons, strict=True)]
            metrics.inc("quarantined_rows", len(bad))
            keep = sorted(set(range(len(req.rows))) - {i for i, _ in bad})
            if not keep:
                raise HTTPException(
                    422,
                    {
                        "detail": "no row has the columns the model needs",
                        "quarantined": quarantined,
                        "required": required,
                    },
                )
            frame = frame.iloc[keep].reset_index(drop=True)
        out: dict[str, Any] = {}
        probas = None
        if model.task != "regression":
            raw = model.predict_proba(frame)
            out["predictions"] = _jsonable(np.asarray(model.classes_)[raw.argmax(axis=1)])
            probas = raw.tolist()  # Python floats, once, for the answer and the log
            names = [str(c) for c in model.classes_]
            out["probabilities"] = [dict(zip(names, p, strict=True)) for p in probas]
        else:
            out["predictions"] = _jsonable(np.asarray(model.predict(frame)))
        # the rows as received, not frame.to_dict(): that round trip was the slowest step of a one-row answer
        rows = [req.rows[i] for i in keep] if quarantined else req.rows
        with write_lock:
            ids = project.store.log_predictions(
                rows, predictions=out["predictions"], probas=probas, model_version=version
            )
        out["prediction_ids"] = ids
        out["model_version"] = version
        if quarantined:
            out["quarantined"] = quarantined
        state["served_version"] = version
        background.add_task(shadow, rows, ids)
        metrics.inc("predictions", len(rows))
        with metrics.lock:
            metrics.latency_sum += time.perf_counter() - t0
        return out

    @app.post("/v1/feedback")
    def feedback(req: FeedbackRequest, _who: str = allow("feedback", "admin")) -> dict[str, Any]:
        if req.items:
            items = [
                {"prediction_id": i.prediction_id, "label": i.label, "weight": i.weight} for i in req.items
            ]
        else:
            assert req.rows is not None and req.label_column is not None  # checked by the model validator
            missing = [k for k, r in enumerate(req.rows) if req.label_column not in r]
            if missing:
                raise HTTPException(422, f"rows {missing[:10]} lack the label column {req.label_column!r}")
            items = [
                {
                    "inputs": {k: v for k, v in r.items() if k != req.label_column},
                    "label": r[req.label_column],
                    "weight": req.weight,
                }
                for r in req.rows
            ]
        with write_lock:
            n = project.store.add_feedback(items)  # committed before we answer
        metrics.inc("feedback", n)
        return {"accepted": n}

    @app.get("/v1/status")
    def status(_who: str = Depends(role)) -> dict[str, Any]:
        info = project.status()
        info["events"] = project.store.counts()
        current = aliases.get()
        challenger = current.get("challenger")
        info["challenger"] = None
        if challenger is not None:
            labelled = len(project.store.shadow_labelled(challenger))
            needed = max((policy or EvolutionPolicy()).shadow_labels, 1)  # as the evolver counts them
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
            else {
                k: signal["figures"].get(k)
                for k in (
                    "drift",
                    "drifted_columns",
                    "drift_detail",
                    "prediction_drift",
                    "decay",
                    "error_rate",
                    "mae",
                    "new_labels",
                )
                if k in signal["figures"]
            }
            | {"at": str(signal["ts"])}
        )
        info["decisions"] = project.store.decisions(limit=10)
        info["auto_evolve"] = {
            "enabled": auto_evolve,
            "every_s": evolve_every_s,
            "last": state["last_decision"],
        }
        info["stream"] = stream.summary()  # the served stream learner (see lamarck.serve._stream)
        return info

    @app.get("/v1/models")
    def models(_who: str = Depends(role)) -> list[dict[str, Any]]:
        return project.status()["versions"]

    @app.post("/v1/models/{version}/promote")
    def promote(version: str, _who: str = allow("admin")) -> dict[str, Any]:
        previous = project.promote(version, reason="promoted through the API")
        aliases.invalidate()
        return {"champion": version, "previous": previous}

    @app.post("/v1/rollback")
    def rollback(_who: str = allow("admin")) -> dict[str, Any]:
        champion_now = project.rollback(reason="rolled back through the API")
        aliases.invalidate()
        return {"champion": champion_now}

    @app.post("/v1/evolve")
    def evolve(_who: str = allow("admin")) -> dict[str, Any]:
        """Run one pass of the evolution policy now (what `lamarck evolve` does)."""
        return run_evolve().to_dict()

    @app.get("/v1/suggest-labels")
    def suggest_labels(
        n: int = Query(20, ge=1, le=10_000, description="How many predictions to suggest."),
        strategy: str = Query("entropy", pattern="^(entropy|margin)$"),
        _who: str = Depends(role),
    ) -> dict[str, Any]:
        """The logged, unlabelled predictions whose labels would help most (active learning)."""
        table = project.suggest_labels(n, strategy=strategy)
        return {"strategy": strategy, "suggestions": _records(table)}

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus(_who: str = Depends(role)) -> str:
        return metrics.render()

    stream = StreamService(project, on_event=metrics.inc)  # /v1/stream/*: the online learner
    app.include_router(stream.router(allow=allow, read=Depends(role)))
    app.state.stream = stream
    # for callers that move an alias outside the app (e.g. ``Project.fit`` beside a running server)
    app.state.invalidate_aliases = aliases.invalidate
    return app
