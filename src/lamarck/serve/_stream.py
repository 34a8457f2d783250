"""Serving a stream learner: predict with the learner registered under the alias ``stream`` and let every
labelled feedback update it online, one event at a time.

Routes (:mod:`lamarck.serve._routes.stream`, included by :func:`lamarck.serve.create_app`; 503 while the
project has no ``stream`` alias, i.e. before ``lamarck stream DATA "SENTENCE"`` has registered a learner):

- ``POST /v1/stream/predict`` ``{"rows": [...]}``: predictions (and class probabilities), prediction ids,
  the registered version the state descends from (``model_version``) and how many events it has learned.
- ``POST /v1/stream/feedback`` ``{"items": [{"prediction_id", "label"}]}`` or ``{"rows": [...],
  "label_column": ...}``: the learner learns each labelled event.
- ``GET /v1/stream/status``: events learned, the running prequential metric, checkpoints, members.

Order and durability: feedback is checked against the stream's schema; good feedback is committed to
the event store (``source="stream"``) before the learner sees it and before the answer, bad rows are
quarantined with their reason. Then, under one lock, the learner learns every stream feedback newer
than its cursor in arrival order, each one predicted first (that prediction counts in the running
metric) and learned after. The session is saved to the stream's checkpoint every ``checkpoint_every``
learned events and on shutdown, when it is also registered as a new version (alias ``stream``). On
start, the checkpoint (or the registered learner) is loaded and any stream feedback after its cursor is
learned again, so a crash loses nothing that was acknowledged.

    >>> StreamFeedbackRequest(rows=[{"a": 1.0, "y": "up"}], label_column="y").label_column
    'y'
    >>> StreamFeedbackRequest(rows=[{"a": 1.0, "y": "up"}])
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for StreamFeedbackRequest
      Value error, 'rows' needs 'label_column', the column that holds each row's label ...
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field

from lamarck.serve._schemas import FeedbackItem, FeedbackRequest
from lamarck.stream import (
    EventSchema,
    StreamLearner,
    StreamSession,
    label_key,
    load_state,
    register_stream,
    save_state,
)

__all__ = ["StreamService"]

log = logging.getLogger(__name__)

#: the store's ``source`` of feedback that a served stream learner learns
SOURCE = "stream"


class StreamPredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=10_000, description="Events to predict.")


class StreamFeedbackRequest(FeedbackRequest):
    items: list[FeedbackItem] | None = Field(default=None, max_length=10_000)
    rows: list[dict[str, Any]] | None = Field(default=None, max_length=10_000)


def _open(path: Path) -> StreamSession | None:
    """The session saved at ``path``, or ``None`` when there is none (or it is not a session)."""
    if not path.exists():
        return None
    try:
        session = load_state(path)
    except Exception:  # an unreadable checkpoint: the registered learner serves instead
        log.exception("cannot read the stream checkpoint %s; serving the registered learner", path)
        return None
    return session if isinstance(session, StreamSession) else None


class StreamService:
    """The served stream learner of ``project``: loaded on first use, learning from feedback.

    ``checkpoint_every``: learned events between checkpoints; ``register_on_shutdown``: register the
    state as a new version when the server stops (if it learned anything); ``on_event(name, n)``:
    counters for ``/metrics``.
    """

    def __init__(
        self,
        project: Any,
        *,
        checkpoint_every: int = 100,
        register_on_shutdown: bool = True,
        on_event: Callable[[str, int], None] | None = None,
        alias_ttl_s: float = 1.0,
    ) -> None:
        self.project = project
        self.checkpoint_every = checkpoint_every
        self.register_on_shutdown = register_on_shutdown
        self.on_event = on_event
        self.alias_ttl_s = alias_ttl_s
        self.lock = threading.RLock()
        self.session_: StreamSession | None = None
        self.version_: str | None = None
        self.own_versions_: set[str] = set()
        self.since_checkpoint_ = 0
        self.since_register_ = 0
        self._alias: tuple[float, str | None] = (-float("inf"), None)

    # ------------------------------------------------------------------ state

    def _count(self, name: str, n: int = 1) -> None:
        if self.on_event is not None and n:
            self.on_event(name, n)

    def _alias_version(self) -> str | None:
        at, version = self._alias
        if time.monotonic() - at > self.alias_ttl_s:
            version = self.project.registry.alias_version("stream")
            self._alias = (time.monotonic(), version)
        return version

    def _checkpoint_path(self, session: StreamSession) -> Path:
        return Path(self.project.path) / "streams" / session.name / "checkpoint.pkl"

    def current(self) -> StreamSession:
        """The served session (loading it, or a newer registered version, when needed)."""
        with self.lock:
            alias = self._alias_version()
            if alias is None and self.session_ is None:
                raise HTTPException(
                    503,
                    'no stream learner yet: run `lamarck stream DATA "SENTENCE"` first (it registers the '
                    "alias 'stream')",
                )
            if self.session_ is None or (
                alias is not None and alias != self.version_ and alias not in self.own_versions_
            ):
                assert alias is not None
                if self.session_ is not None:
                    self._save()  # what this server learned stays in its checkpoint
                self._load(alias)
            assert self.session_ is not None
            return self.session_

    def _load(self, version: str) -> None:
        import cloudpickle

        registry, store = self.project.registry, self.project.store
        info = registry.info(version)
        # a private copy: the registry caches the object it loaded, and this one is going to learn
        registered = cloudpickle.loads(cloudpickle.dumps(registry.load(version)))
        if not isinstance(registered, StreamLearner):
            raise HTTPException(
                503,
                f"version {version} under the alias 'stream' is not a stream learner; re-run lamarck stream",
            )
        name = info.params.get("stream") or "stream"
        session = _open(Path(self.project.path) / "streams" / name / "checkpoint.pkl")
        if session is None or session.learner.n_learned_ < registered.n_learned_:
            schema_info = getattr(registered, "schema_", {})
            regression = schema_info.get("task") == "regression"
            schema = EventSchema(
                target=str(schema_info.get("target") or info.tags.get("target", "label")),
                features=tuple(schema_info.get("features", {}).items()),
                classes=None if regression else tuple(info.fingerprint.get("classes") or ()) or None,
                numeric_target=regression,
            )
            session = StreamSession.start(name, schema, dict(info.spec), registered)
        self.session_, self.version_ = session, str(version)
        self.since_checkpoint_ = self.since_register_ = 0
        if session.feedback_cursor is None:
            # first time served: stream feedback before now is not this learner's; the cursor is saved
            # at once, so that a crash before the first checkpoint still replays what comes after it
            session.feedback_cursor = store.max_feedback_id()
            self._save()
        replayed = self._catch_up()
        log.info("serving stream %s (version %s, %d events learned, %d replayed from the store)",
                 name, version, session.learner.n_learned_, replayed)  # fmt: skip

    def _catch_up(self) -> int:
        """Learn every stream feedback after the cursor, in arrival order; returns how many were learned."""
        session = self.session_
        assert session is not None
        store, schema, learner = self.project.store, session.schema, session.learner
        learned = 0
        bad_rows: list[dict[str, Any]] = []
        reasons: list[str] = []
        for record in store.feedback_after(session.feedback_cursor or 0, source=SOURCE):
            x, y, reason = schema.check({**record["inputs"], schema.target: record["label"]})
            if reason is None and y is None:
                reason = f"missing label: feedback {record['feedback_id']} has no label"
            if reason is not None or x is None:
                bad_rows.append({**record["inputs"], schema.target: record["label"]})
                reasons.append(str(reason))
            else:
                prediction = learner.learn_one(x, y)
                session.score(y, prediction, learner.last_proba_)
                session.events += 1
                session.served += 1
                learned += 1
                self.since_checkpoint_ += 1
                self.since_register_ += 1
            session.feedback_cursor = int(record["feedback_id"])
            if self.checkpoint_every and self.since_checkpoint_ >= self.checkpoint_every:
                self._save()
        if bad_rows:
            store.quarantine(bad_rows, reasons, source="stream-feedback")
        self._count("stream_learned", learned)
        return learned

    def _save(self) -> None:
        session = self.session_
        if session is None:
            return
        save_state(session, self._checkpoint_path(session))
        session.checkpoints += 1
        self.since_checkpoint_ = 0

    def shutdown(self) -> str | None:
        """Save the state and, if it learned since it was loaded, register it (alias ``stream``)."""
        with self.lock:
            if self.session_ is None:
                return None
            self._save()
            if not (self.register_on_shutdown and self.since_register_):
                return None
            version = register_stream(
                self.project,
                self.session_,
                reason=f"served: learned {self.since_register_} feedback event(s) online",
            )
            self.own_versions_.add(version)
            self.version_ = version
            self.since_register_ = 0
            self._alias = (-float("inf"), None)
            log.info("stream learner registered as version %s", version)
            return version

    # ------------------------------------------------------------------ requests

    def predict(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        with self.lock:
            session = self.current()
            schema, learner = session.schema, session.learner
            good: list[dict[str, Any]] = []
            quarantined: list[dict[str, Any]] = []
            for i, row in enumerate(rows):
                x, _, reason = schema.check({k: v for k, v in row.items() if k != schema.target})
                if reason is not None or x is None:
                    quarantined.append({"index": i, "reason": reason})
                else:
                    good.append(x)
            if quarantined:
                self.project.store.quarantine(
                    [rows[q["index"]] for q in quarantined],
                    [q["reason"] for q in quarantined],
                    source="stream-predict",
                )
                self._count("quarantined_rows", len(quarantined))
            if not good:
                raise HTTPException(
                    422,
                    {
                        "detail": "no row is a valid event of the stream",
                        "quarantined": quarantined,
                        "required": schema.kinds,
                    },
                )
            out: dict[str, Any] = {}
            probas: list[list[float]] | None = None
            if learner.task == "regression":
                out["predictions"] = [learner.predict_one(x) for x in good]
            else:
                found = [learner.predict_proba_one(x) for x in good]
                classes = list(learner.classes_)
                out["predictions"] = [max(p, key=p.__getitem__) if p else None for p in found]
                out["probabilities"] = [{label_key(c): float(p.get(c, 0.0)) for c in classes} for p in found]
                probas = [[float(p.get(c, 0.0)) for c in classes] for p in found]
            version = str(self.version_)
            learned = int(learner.n_learned_)
        out["prediction_ids"] = self.project.store.log_predictions(
            good, predictions=out["predictions"], probas=probas, model_version=version
        )
        out["model_version"] = version
        out["events_learned"] = learned
        if quarantined:
            out["quarantined"] = quarantined
        self._count("stream_predictions", len(good))
        return out

    def feedback(self, req: StreamFeedbackRequest) -> dict[str, Any]:
        session = self.current()
        schema = session.schema
        good: list[dict[str, Any]] = []
        bad: list[tuple[int, dict[str, Any], str]] = []
        if req.items:
            logged = self.project.store.predictions_by_id([i.prediction_id for i in req.items])
            for k, item in enumerate(req.items):
                found = logged.get(item.prediction_id)
                if found is None:
                    unknown = (
                        f"unknown prediction_id {item.prediction_id!r}: no logged prediction has it "
                        "(send the row with 'rows' and 'label_column' instead)"
                    )
                    bad.append((k, item.model_dump(), unknown))
                    continue
                row = {**(found["inputs"] or {}), schema.target: item.label}
                x, y, reason = _labelled(schema, row)
                if reason is not None:
                    bad.append((k, {**row, "prediction_id": item.prediction_id}, reason))
                else:
                    good.append(
                        {
                            "prediction_id": item.prediction_id,
                            "label": y,
                            "weight": item.weight,
                            "source": SOURCE,
                        }
                    )
        else:
            assert req.rows is not None and req.label_column is not None  # checked by the model validator
            for k, raw in enumerate(req.rows):
                row = {c: v for c, v in raw.items() if c != req.label_column}
                row[schema.target] = raw.get(req.label_column)
                x, y, reason = _labelled(schema, row, label_column=req.label_column)
                if reason is not None or x is None:
                    bad.append((k, raw, str(reason)))
                else:
                    good.append({"inputs": x, "label": y, "weight": req.weight, "source": SOURCE})
        quarantined = [{"index": k, "reason": reason} for k, _, reason in bad]
        if bad:
            self.project.store.quarantine(
                [row for _, row, _ in bad], [r for _, _, r in bad], source="stream-feedback"
            )
            self._count("quarantined_rows", len(bad))
        if not good:
            raise HTTPException(
                422, {"detail": "no feedback item could be learned", "quarantined": quarantined}
            )
        accepted = self.project.store.add_feedback(good)  # committed before the learner and the answer
        self._count("stream_feedback", accepted)
        with self.lock:
            session = self.current()
            learned = self._catch_up()
            out = {"accepted": accepted, "learned": learned, **self._figures(session)}
        if quarantined:
            out["quarantined"] = quarantined
        return out

    def _figures(self, session: StreamSession) -> dict[str, Any]:
        metric = session.spec.get("metric", "accuracy")
        value = float(session.metric.get()) if session.labelled else None
        return {
            "events_learned": int(session.learner.n_learned_),
            "feedback_learned": int(session.served),
            "metric": metric,
            "score": value,
        }

    def status(self) -> dict[str, Any] | None:
        """The served learner's figures, or ``None`` when the project has no stream learner."""
        with self.lock:
            if self.session_ is None and self._alias_version() is None:
                return None
            session = self.current()
            learner = session.learner
            return {
                "name": session.name,
                "version": self.version_,
                "task": learner.task,
                "target": session.schema.target,
                **self._figures(session),
                "accuracy": None
                if session.accuracy is None or not session.labelled
                else float(session.accuracy.get()),
                "labelled": session.labelled,
                "checkpoints": session.checkpoints,
                "checkpoint_every": self.checkpoint_every,
                "since_checkpoint": self.since_checkpoint_,
                "feedback_cursor": session.feedback_cursor,
                "replacements": learner.n_replacements_,
                "drifts": learner.n_drifts_,
                "members": learner.describe()[:5],
            }

    def summary(self) -> dict[str, Any] | None:
        """:meth:`status` for ``GET /v1/status``: never raises (a broken stream must not hide the rest)."""
        try:
            return self.status()
        except HTTPException as e:
            return {"error": str(e.detail)}
        except Exception as e:
            log.exception("stream status failed")
            return {"error": f"{type(e).__name__}: {e}"}


def _labelled(
    schema: EventSchema, row: dict[str, Any], *, label_column: str | None = None
) -> tuple[dict[str, Any] | None, Any, str | None]:
    """``schema.check`` for feedback: the label is required."""
    x, y, reason = schema.check(row)
    if reason is None and y is None:
        reason = f"missing label: {label_column or schema.target!r} is absent or empty"
    return x, y, reason
