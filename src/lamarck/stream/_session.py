"""Running a stream for a project: plan on the head, learn prequentially, quarantine bad events,
checkpoint every N events and on interruption (Ctrl-C, SIGTERM), register the learner, resume.

A numeric target makes a regression stream (members are river regressors, scored by their error; the
metric is RMSE unless the sentence asks for MAE or R2).

    >>> import io, json, tempfile
    >>> from river.datasets import synth
    >>> lines = io.StringIO("".join(json.dumps({**x, "y": int(y)}) + "\\n" for x, y in synth.SEA(seed=0).take(600)))
    >>> items = list(read_events("-", stdin=lines))
    >>> schema = EventSchema(target="y", features=(("0", "numeric"), ("1", "numeric"), ("2", "numeric")),
    ...                      classes=("0", "1"))
    >>> session = StreamSession.start("sea", schema, {"metric": "accuracy", "task": "binary"},
    ...                               StreamLearner(population=2, hybrid=False, seed=0))
    >>> result = run_session(session, iter(items))
    >>> result.events, result.score > 0.8, result.quarantined
    (600, True, 0)
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from river import metrics

from lamarck.errors import ConfigError
from lamarck.stream._events import (
    REASON_KINDS,
    EventSchema,
    FeatureKind,
    RawEvent,
    head_frame,
    label_key,
    read_events,
)
from lamarck.stream._kafka import is_kafka
from lamarck.stream._learner import StreamLearner, load_state, save_state

__all__ = [
    "REGRESSION_METRICS",
    "STREAM_METRICS",
    "StreamResult",
    "StreamSession",
    "register_stream",
    "run_session",
    "stream_name",
    "stream_project",
]

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def stream_name(name: str | None, data: str) -> str:
    """The folder name of a stream under ``<project>/streams``: ``name`` checked, or derived from ``data``.

    A given name is letters, digits, ``-``, ``_`` and ``.`` (at most 100, not ``.`` or ``..``), so it can
    never lead outside the project; a derived one has every other character replaced by ``_``.

    >>> stream_name(None, "data/elec 2.csv"), stream_name("sea-1", "-"), stream_name(None, "-")
    ('elec_2', 'sea-1', 'stdin')
    >>> stream_name("../../x", "-")
    Traceback (most recent call last):
    ...
    lamarck.errors.ConfigError: stream name '../../x' is not allowed: use 1 to 100 letters, digits, '-', '_' or '.' (no path separators, not '.' or '..'). Fix: --name my-stream.
    """
    if name is None:
        derived = "stdin" if data == "-" else re.sub(r"[^A-Za-z0-9._-]", "_", Path(data).stem)[:100]
        return derived if derived.strip(".") else "stream"
    if not _NAME.fullmatch(name) or name in {".", ".."}:
        raise ConfigError(
            f"stream name {name!r} is not allowed: use 1 to 100 letters, digits, '-', '_' or '.' "
            "(no path separators, not '.' or '..'). Fix: --name my-stream."
        )
    return name


#: metric name -> (river class name, needs probabilities, binary only)
STREAM_METRICS: dict[str, tuple[str, bool, bool]] = {
    "accuracy": ("Accuracy", False, False),
    "balanced_accuracy": ("BalancedAccuracy", False, False),
    "f1": ("F1", False, True),
    "f1_macro": ("MacroF1", False, False),
    "roc_auc": ("ROCAUC", True, True),
    "log_loss": ("CrossEntropy", True, False),
    "mae": ("MAE", False, False),
    "rmse": ("RMSE", False, False),
    "r2": ("R2", False, False),
}
#: the streaming metrics of a numeric target; the others need classes
REGRESSION_METRICS = ("mae", "rmse", "r2")


def _metric(name: str, positive: Any, task: str) -> Any:

    if name not in STREAM_METRICS:
        raise ConfigError(
            f"metric {name!r} has no streaming version. Fix: --metric with one of {sorted(STREAM_METRICS)}."
        )
    cls, _, binary_only = STREAM_METRICS[name]
    if (task == "regression") != (name in REGRESSION_METRICS):
        allowed = (
            list(REGRESSION_METRICS)
            if task == "regression"
            else sorted(set(STREAM_METRICS) - set(REGRESSION_METRICS))
        )
        raise ConfigError(
            f"metric {name!r} does not fit a {task or 'classification'} stream. Fix: --metric with one of "
            f"{allowed}."
        )
    if binary_only and task != "binary":
        raise ConfigError(
            f"metric {name!r} needs a binary target, this one is {task}. Fix: --metric accuracy."
        )
    kwargs = {"pos_val": label_key(positive)} if binary_only else {}
    return _OWN_METRICS.get(cls, getattr(metrics, cls))(**kwargs)


class _MacroF1(metrics.MacroF1):
    """River's ``MacroF1`` over the classes of the labels and of the answers given: an event predicted
    before any label arrived (``None``) is a miss for its class, not a class of its own whose F1 of 0
    would pull the mean down for ever (by a third on a binary stream).

        >>> m = _MacroF1()
        >>> for y, p in [("a", None), ("a", "a"), ("b", "b"), ("b", "a")]:
        ...     m.update(y, p)
        >>> round(m.get(), 4)  # sklearn's f1_score(average="macro", labels=["a", "b"]) on these
        0.5833
    """

    def get(self) -> float:
        classes = [c for c in self.cm.classes if c is not None]
        total = 0.0
        for c in classes:
            hits = self.cm[c][c]
            precision = hits / self.cm.sum_col[c] if self.cm.sum_col[c] else 0.0
            recall = hits / self.cm.sum_row[c] if self.cm.sum_row[c] else 0.0
            total += 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return total / len(classes) if classes else 0.0


#: river class names that the stream scores with its own version
_OWN_METRICS: dict[str, Any] = {"MacroF1": _MacroF1}


@dataclass
class StreamSession:
    """Everything a stream needs to resume exactly where it stopped (pickled as the checkpoint)."""

    name: str
    schema: EventSchema
    spec: dict[str, Any]
    learner: StreamLearner
    metric: Any = None
    accuracy: Any = None
    position: int = 0
    events: int = 0
    labelled: int = 0
    seconds: float = 0.0
    quarantine: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASON_KINDS, 0))
    checkpoints: int = 0
    #: serving (``lamarck serve``): the newest store feedback id learned, and the events learned there
    feedback_cursor: int | None = None
    served: int = 0
    #: a Kafka source's offsets, waiting predictions and labels (:class:`lamarck.stream._kafka.KafkaState`),
    #: and its consumer lag per partition at the last checkpoint
    source_state: Any = None
    lag: dict[str, int] | None = None

    @classmethod
    def start(
        cls, name: str, schema: EventSchema, spec: dict[str, Any], learner: StreamLearner
    ) -> StreamSession:
        task = spec.get("task", "multiclass")
        if (task == "regression") != bool(getattr(learner, "regression", False)):
            raise ConfigError(
                f"the stream's task is {task} but the learner has regression={learner.regression}. "
                f"Fix: StreamLearner(regression={task == 'regression'})."
            )
        learner.set_schema(schema.kinds, task=task, target=schema.target)
        metric = _metric(spec.get("metric", "accuracy"), spec.get("positive_class"), spec.get("task", ""))
        accuracy = None if task == "regression" else metrics.Accuracy()
        return cls(name, schema, spec, learner, metric=metric, accuracy=accuracy)

    @property
    def needs_proba(self) -> bool:
        return STREAM_METRICS[self.spec.get("metric", "accuracy")][1]

    def score(self, y: Any, prediction: Any, proba: dict[Any, float] | None = None) -> None:
        """Count one labelled event in the running metrics (prediction made before learning it)."""
        self.labelled += 1
        if self.accuracy is not None:
            self.accuracy.update(y, prediction)
        if prediction is None and self.accuracy is None:
            return  # a regression learner has no value before its first label: nothing to score
        self.metric.update(y, proba if self.needs_proba else prediction)


@dataclass(frozen=True)
class StreamResult:
    """The summary of a run (``to_dict`` is what ``lamarck stream --json`` prints)."""

    events: int
    metric: str
    score: float
    accuracy: float | None
    seconds: float
    labelled: int
    quarantined: int
    quarantine: dict[str, int]
    replacements: int
    drifts: int
    recurrences: int
    members: list[dict[str, Any]]
    interrupted: bool = False
    checkpoint: str | None = None
    version: str | None = None
    #: a Kafka source's figures: consumer lag per partition, predictions published, dead letters, events
    #: waiting for their label and labels waiting for their event
    kafka: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "metric": self.metric,
            "score": round(self.score, 6),
            "accuracy": None if self.accuracy is None else round(self.accuracy, 6),
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events / self.seconds, 1) if self.seconds > 0 else None,
            "labelled": self.labelled,
            "quarantined": self.quarantined,
            "quarantine": self.quarantine,
            "replacements": self.replacements,
            "drifts": self.drifts,
            "recurrences": self.recurrences,
            "members": self.members,
            "interrupted": self.interrupted,
            "checkpoint": self.checkpoint,
            "version": self.version,
            **({"kafka": self.kafka} if self.kafka is not None else {}),
        }


def _result(
    session: StreamSession, *, interrupted: bool = False, checkpoint: Path | None = None
) -> StreamResult:
    learner = session.learner
    return StreamResult(
        events=session.events,
        metric=session.spec.get("metric", "accuracy"),
        score=float(session.metric.get()),
        accuracy=None if session.accuracy is None else float(session.accuracy.get()),
        seconds=session.seconds,
        labelled=session.labelled,
        quarantined=sum(session.quarantine.values()),
        quarantine=dict(session.quarantine),
        replacements=getattr(learner, "n_replacements_", 0),
        drifts=getattr(learner, "n_drifts_", 0),
        recurrences=getattr(learner, "n_recurrences_", 0),
        members=learner.describe() if session.events else [],
        interrupted=interrupted,
        checkpoint=str(checkpoint) if checkpoint else None,
        kafka=_kafka_figures(session),
    )


def _kafka_figures(session: StreamSession) -> dict[str, Any] | None:
    state = getattr(session, "source_state", None)
    if state is None:
        return None
    return {
        "lag": dict(getattr(session, "lag", None) or {}),
        "published": state.published,
        "dead_lettered": state.dead_lettered,
        "waiting_for_label": len(state.waiting),
        "labels_before_event": len(state.early),
    }


ProgressCallback = Callable[[StreamSession], None]


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the stream like Ctrl-C does (so the state is saved); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_session(
    session: StreamSession,
    items: Iterator[RawEvent],
    *,
    store: Any = None,
    checkpoint: Path | None = None,
    checkpoint_every: int = 0,
    limit: int | None = None,
    on_progress: ProgressCallback | None = None,
    progress_every: int = 500,
) -> StreamResult:
    """Feed ``items`` (already positioned after ``session.position``) through the learner, prequentially."""
    learner, schema = session.learner, session.schema
    bad_rows: list[dict[str, Any]] = []
    bad_reasons: list[str] = []

    def flush_quarantine() -> None:
        if store is not None and bad_rows:
            store.quarantine(list(bad_rows), list(bad_reasons), source="stream")
        bad_rows.clear()
        bad_reasons.clear()

    def save() -> None:
        flush_quarantine()
        if checkpoint is not None:
            save_state(session, checkpoint)
            session.checkpoints += 1

    interrupted = False
    start = time.perf_counter() - session.seconds
    try:
        with _sigterm_as_interrupt():
            for item in items:
                if limit is not None and session.events + sum(session.quarantine.values()) >= limit:
                    break
                session.position += 1
                reason = item.error
                x = y = None
                if item.row is not None:
                    x, y, reason = schema.check(item.row)
                if reason is not None:
                    kind = next((k for k in REASON_KINDS if reason.startswith(k)), "unparsable")
                    session.quarantine[kind] += 1
                    bad_rows.append(
                        item.row if item.row is not None else {"line": item.line, "text": item.text}
                    )
                    bad_reasons.append(reason)
                    continue
                assert x is not None
                prediction = learner.process_one(x, y)
                session.events += 1
                if y is not None:
                    session.score(y, prediction, learner.last_proba_)
                if session.events % progress_every == 0:
                    session.seconds = time.perf_counter() - start
                    if on_progress is not None:
                        on_progress(session)
                if checkpoint_every and session.events % checkpoint_every == 0:
                    session.seconds = time.perf_counter() - start
                    save()
    except KeyboardInterrupt:
        interrupted = True
        log.warning("stream %s interrupted after %d events; saving the state", session.name, session.events)
    session.seconds = time.perf_counter() - start
    save()
    if on_progress is not None:
        on_progress(session)
    return _result(session, interrupted=interrupted, checkpoint=checkpoint)


def stream_project(
    project: Any,
    data: str,
    sentence: str = "",
    *,
    name: str | None = None,
    target: str | None = None,
    metric: str | None = None,
    exclude: list[str] | None = None,
    task: str | None = None,
    head: int = 1000,
    label_delay: int = 0,
    checkpoint_every: int = 10_000,
    resume: bool = False,
    register: bool = True,
    limit: int | None = None,
    learner: StreamLearner | None = None,
    stdin: Any = None,
    on_plan: Callable[[Any], None] | None = None,
    on_progress: ProgressCallback | None = None,
    kafka_properties: str | Path | None = None,
    idle_s: float | None = None,
) -> StreamResult:
    """Plan ``sentence`` on the head of ``data``, run the stream, checkpoint it, register the learner.

    With ``resume``, the checkpoint of the stream ``name`` is loaded and a file source is read from
    where the previous run stopped (standard input simply goes on). ``data`` may be a ``kafka://`` source
    (:mod:`lamarck.stream._kafka`; ``kafka_properties``: the client's properties file; ``idle_s``: stop
    after that many seconds without a message, else it runs until stopped).
    """
    if is_kafka(data):
        return _stream_kafka(
            project, data, sentence, name=name, target=target, metric=metric, exclude=exclude, task=task,
            head=head, checkpoint_every=checkpoint_every, resume=resume, register=register, limit=limit,
            learner=learner, on_plan=on_plan, on_progress=on_progress, properties=kafka_properties,
            idle_s=idle_s,
        )  # fmt: skip
    name = stream_name(name, data)
    path = Path(project.path) / "streams" / name / "checkpoint.pkl"
    items = read_events(data, stdin=stdin)
    if resume:
        session = _resumed(path)
        if data != "-":
            items = itertools.islice(items, session.position, None)
        if on_plan is not None:
            on_plan(session.spec)
    else:
        buffered = list(itertools.islice(items, head))
        session = _planned(
            project, name, head_frame(buffered), sentence, data=data, head=head, target=target,
            metric=metric, exclude=exclude, task=task, learner=learner or StreamLearner(label_delay=label_delay),
        )  # fmt: skip
        items = itertools.chain(buffered, items)
        if on_plan is not None:
            on_plan(session.spec)
    result = run_session(
        session,
        items,
        store=project.store,
        checkpoint=path,
        checkpoint_every=checkpoint_every,
        limit=None if limit is None else session.events + sum(session.quarantine.values()) + limit,
        on_progress=on_progress,
    )
    return _registered(project, session, result, register)


def _resumed(path: Path) -> StreamSession:
    session = load_state(path)
    if not isinstance(session, StreamSession):
        raise ConfigError(f"{path} is not a stream checkpoint. Fix: remove it and run without --resume.")
    return session


def _registered(project: Any, session: StreamSession, result: StreamResult, register: bool) -> StreamResult:
    if register and session.events:
        version = register_stream(project, session, result)
        result = StreamResult(**{**result.__dict__, "version": version})
    return result


def _planned(
    project: Any,
    name: str,
    frame: Any,
    sentence: str,
    *,
    data: str,
    head: int,
    target: str | None,
    metric: str | None,
    exclude: list[str] | None,
    task: str | None,
    learner: StreamLearner,
) -> StreamSession:
    """A new session: ``sentence`` planned on the head ``frame`` (target, task, metric, the features'
    kinds and the classes seen)."""
    if frame.empty:
        raise ConfigError(
            f"the first {head} events of {data!r} hold no parsable event. Fix: check the format "
            "(CSV with a header, or one JSON object per line)."
        )
    spec = project.plan(frame, sentence, target=target, metric=metric, exclude=exclude, task=task)
    spec_dict = spec.model_dump(mode="json")
    regression = spec.task == "regression"
    reason = (spec.reasons or {}).get("metric")
    if reason is not None and reason.source == "default" and metric is None and not regression:
        spec_dict["metric"] = "accuracy"  # the usual prequential figure when nobody asked for another
    features: tuple[tuple[str, FeatureKind], ...] = tuple(
        (str(c), "numeric" if frame[c].dtype.kind in "if" else "categorical")
        for c in frame.columns
        if c != spec.target and c not in set(spec.exclude_columns)
    )
    classes = None if regression else tuple(sorted({label_key(v) for v in frame[spec.target].dropna()}))
    schema = EventSchema(target=spec.target, features=features, classes=classes, numeric_target=regression)
    if regression and not learner.regression:
        # the task is known only now: the members become regressors, selected by the metric's loss
        loss = "absolute" if spec_dict["metric"] == "mae" else "squared"
        learner.set_params(regression=True, loss=loss)
    return StreamSession.start(name, schema, spec_dict, learner)


def _stream_kafka(
    project: Any,
    data: str,
    sentence: str,
    *,
    name: str | None,
    target: str | None,
    metric: str | None,
    exclude: list[str] | None,
    task: str | None,
    head: int,
    checkpoint_every: int,
    resume: bool,
    register: bool,
    limit: int | None,
    learner: StreamLearner | None,
    on_plan: Callable[[Any], None] | None,
    on_progress: ProgressCallback | None,
    properties: str | Path | None,
    idle_s: float | None,
) -> StreamResult:
    """``stream_project`` for a ``kafka://`` source (see :mod:`lamarck.stream._kafka`)."""
    from lamarck.stream._kafka import KafkaSource, KafkaState, KafkaStream, read_head, run_kafka

    source = KafkaSource.parse(data, properties=properties)
    name = stream_name(name or source.topic, data)
    path = Path(project.path) / "streams" / name / "checkpoint.pkl"
    group = source.group(f"lamarck-{name}")
    first = None
    if resume:
        session = _resumed(path)
        state = session.source_state if isinstance(session.source_state, KafkaState) else KafkaState()
        stream = KafkaStream(source, state, group=group)
    else:
        state = KafkaState()
        stream = KafkaStream(source, state, group=group)
        first, rows = read_head(stream, head)
        import pandas as pd

        session = _planned(
            project, name, head_frame([RawEvent(i, r) for i, r in enumerate(rows)]) if rows else pd.DataFrame(),
            sentence, data=source.shown, head=head, target=target, metric=metric, exclude=exclude, task=task,
            learner=learner or StreamLearner(),
        )  # fmt: skip
    session.source_state = state
    if on_plan is not None:
        on_plan(session.spec)
    try:
        result = run_kafka(
            session,
            stream,
            first=first,
            store=project.store,
            checkpoint=path,
            checkpoint_every=checkpoint_every,
            limit=limit,
            idle_s=idle_s,
            on_progress=on_progress,
        )
    finally:
        stream.close()
    return _registered(project, session, result, register)


def register_stream(
    project: Any, session: StreamSession, result: StreamResult | None = None, *, reason: str | None = None
) -> str:
    """Register the learner as a new version and move alias ``stream`` to it through ``project.ledger``
    (the batch ``champion`` stays)."""
    result = result or _result(session)
    registry = project.registry
    previous = registry.alias_version("stream")
    spec = session.spec
    info = registry.register(
        session.learner,
        params={"kind": "stream", "stream": session.name, **session.learner.get_params()},
        metrics={f"prequential_{result.metric}": result.score,
                 **({} if result.accuracy is None else {"prequential_accuracy": result.accuracy}),
                 "events": float(result.events), "quarantined": float(result.quarantined),
                 "learned": float(getattr(session.learner, "n_learned_", 0))},
        spec=spec,
        fingerprint={"features": session.schema.kinds, "classes": list(session.schema.classes or ())},
        lineage={"parent": previous, "reason": reason or ("stream interrupted" if result.interrupted else "stream"),
                 "data": session.name, "events": result.events, "position": session.position},
        tags={"task": str(spec.get("task")), "target": session.schema.target, "metric": result.metric,
              "kind": "stream"},
    )  # fmt: skip
    # the project's champion ledger: the move is recorded (kind "alias"), then made, as every alias move is
    project.ledger.move(
        "promote",
        str(info.version),
        reason=f"stream {session.name}: {result.events} events, prequential {result.metric} {result.score:.4f}",
        figures={"events": result.events, f"prequential_{result.metric}": result.score},
        alias="stream",
    )
    return str(info.version)
