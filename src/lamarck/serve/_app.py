"""The HTTP server: predict, feedback, status, models, promote, rollback, metrics, health.

    >>> from fastapi.testclient import TestClient
    >>> import tempfile
    >>> client = TestClient(create_app(Project(tempfile.mkdtemp())))
    >>> client.get("/healthz").json()["status"]
    'ok'

Feedback is written to the store (one committed transaction) before the response is sent. Rows that
fail the model's schema are quarantined with their reason, never dropped silently.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lamarck.errors import LamarckError, ModelNotFoundError
from lamarck.project import Project

__all__ = ["create_app"]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=100_000, description="Rows to predict.")


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prediction_id: str = Field(min_length=1)
    label: Any
    weight: float = Field(default=1.0, gt=0)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[FeedbackItem] | None = None
    rows: list[dict[str, Any]] | None = None
    label_column: str | None = None
    weight: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _one_form(self) -> FeedbackRequest:
        if bool(self.items) == bool(self.rows):
            raise ValueError("send either 'items' (prediction ids with labels) or 'rows' with 'label_column'")
        if self.rows and not self.label_column:
            raise ValueError("'rows' needs 'label_column', the column that holds each row's label")
        return self


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


def create_app(project: Project) -> FastAPI:
    """The FastAPI app of ``project`` (the champion is loaded on first use and after alias moves)."""
    app = FastAPI(
        title="Lamarck",
        version="0.1.0",
        description="Predict with the champion, send labelled feedback, watch and steer versions.",
    )
    metrics = _Metrics()
    state: dict[str, Any] = {"model": None, "version": None}

    def champion() -> Any:
        version = project.registry.alias_version("champion")
        if version is None:
            raise HTTPException(503, 'no champion yet: run `lamarck fit DATA "SENTENCE"` first')
        if state["version"] != version:
            state["model"], state["version"] = project.load_model(version), version
        return state["model"]

    @app.exception_handler(LamarckError)
    async def _lamarck_error(_request: Any, exc: LamarckError) -> Any:
        from fastapi.responses import JSONResponse

        status = 404 if isinstance(exc, ModelNotFoundError) else 422
        return JSONResponse(status_code=status, content={"detail": str(exc), "error": type(exc).__name__})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post("/v1/predict")
    def predict(req: PredictRequest) -> dict[str, Any]:
        t0 = time.perf_counter()
        model = champion()
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
        preds = model.predict(frame)
        out: dict[str, Any] = {"predictions": _jsonable(np.asarray(preds))}
        probas = None
        if model.task != "regression":
            probas = model.predict_proba(frame)
            out["probabilities"] = [
                dict(zip([str(c) for c in model.classes_], map(float, p), strict=True)) for p in probas
            ]
        rows = frame.to_dict("records")
        out["prediction_ids"] = project.store.log_predictions(
            rows,
            predictions=out["predictions"],
            probas=None if probas is None else probas.tolist(),
            model_version=state["version"],
        )
        out["model_version"] = state["version"]
        if quarantined:
            out["quarantined"] = quarantined
        metrics.inc("predictions", len(rows))
        with metrics.lock:
            metrics.latency_sum += time.perf_counter() - t0
        return out

    @app.post("/v1/feedback")
    def feedback(req: FeedbackRequest) -> dict[str, Any]:
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
        n = project.store.add_feedback(items)  # committed before we answer
        metrics.inc("feedback", n)
        return {"accepted": n}

    @app.get("/v1/status")
    def status() -> dict[str, Any]:
        info = project.status()
        info["events"] = project.store.counts()
        info["decisions"] = project.store.decisions(limit=10)
        return info

    @app.get("/v1/models")
    def models() -> list[dict[str, Any]]:
        return project.status()["versions"]

    @app.post("/v1/models/{version}/promote")
    def promote(version: str) -> dict[str, Any]:
        previous = project.promote(version, reason="promoted through the API")
        return {"champion": version, "previous": previous}

    @app.post("/v1/rollback")
    def rollback() -> dict[str, Any]:
        return {"champion": project.rollback(reason="rolled back through the API")}

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus() -> str:
        return metrics.render()

    return app
