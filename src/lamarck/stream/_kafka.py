"""Event streams from Kafka: a consumer group feeds the stream learner, offsets move with its checkpoints.

A source is a URL: ``kafka://HOST:PORT[,HOST:PORT...]/TOPIC`` with, after ``?``, Lamarck's options
(``labels=TOPIC``: labels arrive on their own topic, joined to their event by the message key;
``predictions=TOPIC``: every prediction is published there; ``dead-letter=TOPIC``: events that fail the
schema go there too, with their reason in a header; ``format=json`` (the default), ``avro`` or
``confluent-avro`` with ``schema=PATH.avsc``: how messages are encoded, on both topics) and any setting of the Kafka client under its own name
(``group.id``, ``security.protocol``, ``sasl.mechanism``, ...). Settings with secrets (``sasl.password``)
belong in a client properties file (``--kafka-config FILE``, ``key=value`` lines, as Kafka's own tools
read), not in a URL.

    >>> src = KafkaSource.parse("kafka://b1:9092,b2:9092/events?labels=events-labels&group.id=churn")
    >>> src.brokers, src.topic, src.labels, src.settings["group.id"]
    ('b1:9092,b2:9092', 'events', 'events-labels', 'churn')

**Exactly once where it matters.** An offset is committed only once what the events before it produced is
durable: the checkpoint of the learner (which also holds each partition's next offset, the predictions
waiting for their label and the labels waiting for their event) is written and fsynced first, the
predictions published so far are flushed, then the offsets are committed. After ``kill -9`` a restart loads
the checkpoint and reads each partition from the later of the committed offset and the checkpoint's, so an
event is neither lost nor learned twice (predictions published after the last checkpoint may be published
again: downstream, key them by event). The client is ``confluent-kafka`` (librdkafka): see docs/dependencies.md.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lamarck.errors import ConfigError, DataError
from lamarck.stream._events import RawEvent
from lamarck.stream._learner import Pending

__all__ = [
    "KAFKA_DEFAULTS",
    "KafkaSource",
    "KafkaState",
    "KafkaStream",
    "commit_quietly",
    "is_kafka",
    "lag_of",
    "read_properties",
    "resume_at",
]

log = logging.getLogger(__name__)

#: the consumer settings Lamarck starts from (any may be overridden in the URL or the properties file):
#: offsets are committed by Lamarck after each checkpoint, never by the client on a timer; a new group reads
#: a topic from its beginning; a member that stops heartbeating for 6 s (the brokers' usual minimum) hands its
#: partitions over (librdkafka heartbeats in its own thread, so a slow learner is not a dead member); the
#: client prefetches at most 16 MB, so a slow learner cannot make the consumer run out of memory
KAFKA_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 6000,
    "queued.max.messages.kbytes": 16384,
}
#: Lamarck's own options in a source URL; anything else with a dot is a client setting
_OPTIONS = ("labels", "predictions", "dead-letter", "format", "schema")
#: message formats: JSON objects; Avro records with a schema file (``schema=PATH.avsc``), plain or in the
#: Confluent wire format (a zero byte and the 4-byte schema id before the record; the file is the schema)
FORMATS = ("json", "avro", "confluent-avro")
#: seconds a consumer may take to join its group and get partitions before the stream gives up
JOIN_S = 60.0
#: labels that came before their event, kept at most this many (the oldest are quarantined beyond)
MAX_EARLY_LABELS = 100_000


def is_kafka(source: str) -> bool:
    """Whether a stream source names a Kafka topic."""
    return str(source).startswith("kafka://")


def read_properties(path: str | Path) -> dict[str, str]:
    """A Kafka client properties file (``key=value`` per line, ``#`` comments), as a dict.

    >>> import tempfile, os
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False)
    >>> _ = f.write("# cluster\\nsecurity.protocol=SASL_SSL\\nsasl.username = svc\\n"); f.close()
    >>> read_properties(f.name)
    {'security.protocol': 'SASL_SSL', 'sasl.username': 'svc'}
    """
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(
            f"cannot read Kafka properties file {str(path)!r}: {e.strerror}. Fix: pass an existing file."
        ) from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"line {n} of {str(path)!r} is not a Kafka setting: {line[:60]!r}. Fix: write key=value, "
                "e.g. security.protocol=SASL_SSL."
            )
        out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class KafkaSource:
    """A parsed ``kafka://`` source: brokers, topic, Lamarck's options and the client's settings."""

    brokers: str
    topic: str
    settings: dict[str, str] = field(default_factory=dict)
    labels: str | None = None
    predictions: str | None = None
    dead_letter: str | None = None
    #: every Lamarck option given (those above, and a caller's ``extra`` ones)
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, url: str, *, properties: str | Path | None = None, extra: tuple[str, ...] = ()
    ) -> KafkaSource:
        parts = urlsplit(url)
        topic = parts.path.strip("/")
        fix = "Fix: e.g. kafka://127.0.0.1:9092/events?group.id=lamarck&labels=events-labels."
        if parts.scheme != "kafka" or not parts.netloc or not topic or "/" in topic:
            raise ConfigError(f"{url!r} is not a Kafka source: kafka://BROKERS/TOPIC[?options]. {fix}")
        options: dict[str, str] = {}
        settings = read_properties(properties) if properties else {}
        known = (*_OPTIONS, *extra)
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in known:
                options[key] = value
            elif "." in key:
                settings[key] = value
            else:
                raise ConfigError(
                    f"unknown option {key!r} in {url!r}: Lamarck's options are {list(known)}, and Kafka client "
                    f"settings keep their own dotted names (group.id, security.protocol, ...). {fix}"
                )
        fmt = options.get("format", "json")
        if fmt not in FORMATS or (fmt != "json" and not options.get("schema")):
            raise ConfigError(
                f"format={fmt!r} in {url!r}: messages are one of {list(FORMATS)}, and Avro needs its schema file. "
                "Fix: format=json, or format=avro&schema=events.avsc."
            )
        if "password" in parts.query:
            log.warning(
                "a password in a Kafka URL ends up in shell history and logs: use --kafka-config FILE"
            )
        return cls(
            brokers=parts.netloc,
            topic=topic,
            settings=settings,
            labels=options.get("labels") or None,
            predictions=options.get("predictions") or None,
            dead_letter=options.get("dead-letter") or None,
            options=options,
        )

    def group(self, default: str) -> str:
        return str(self.settings.get("group.id") or default)

    def consumer_config(self, group: str) -> dict[str, Any]:
        # the client's own log goes to Python's logging (``lamarck.stream._kafka``), not to stderr
        return {
            **KAFKA_DEFAULTS,
            "bootstrap.servers": self.brokers,
            **self.settings,
            "group.id": group,
            "logger": log,
        }

    def producer_config(self) -> dict[str, Any]:
        # the client settings that concern a producer too (security, SASL, SSL); consumer-only ones are dropped
        shared = {
            k: v for k, v in self.settings.items() if k.startswith(("security.", "sasl.", "ssl.", "client."))
        }
        return {"bootstrap.servers": self.brokers, "linger.ms": 5, **shared, "logger": log}

    def decoder(self) -> Any:
        """``bytes -> dict`` for this source's messages (raises ``ValueError`` for one that does not decode)."""
        fmt = self.options.get("format", "json")
        if fmt == "json":
            return _json_object
        try:
            import fastavro
        except ImportError:
            raise ConfigError("Avro messages need fastavro. Fix: pip install 'lamarck[kafka]'.") from None
        path = self.options["schema"]
        try:
            schema = fastavro.parse_schema(json.loads(Path(path).read_text()))
        except (OSError, ValueError, fastavro.schema.SchemaParseException) as e:
            raise ConfigError(
                f"cannot read the Avro schema {path!r}: {e}. Fix: schema=PATH to an .avsc file."
            ) from None
        skip = 5 if fmt == "confluent-avro" else 0

        def avro(value: bytes) -> dict[str, Any]:
            if skip and (len(value) < skip or value[0] != 0):
                raise ValueError(
                    "not in the Confluent wire format (a zero byte and a 4-byte schema id first)"
                )
            try:
                record = fastavro.schemaless_reader(io.BytesIO(value[skip:]), schema)
            except Exception as e:  # fastavro raises several kinds for a record that does not fit
                raise ValueError(f"not an Avro record of the schema ({type(e).__name__}: {e})") from None
            if not isinstance(record, dict):
                raise ValueError("the Avro schema is not a record")
            return record

        return avro

    @property
    def shown(self) -> str:
        """The source without settings (nothing secret): ``kafka://BROKERS/TOPIC``."""
        return f"kafka://{self.brokers}/{self.topic}"


@dataclass
class Waiting:
    """A prediction whose label comes on the labels topic: what the learner saw, what it answered."""

    pending: Pending
    prediction: Any
    proba: dict[Any, float]


@dataclass
class KafkaState:
    """What a Kafka stream keeps in its checkpoint besides the learner: each partition's next offset
    (``"topic:partition"``), the predictions waiting for their label and the labels waiting for their event
    (by message key), and what was published."""

    offsets: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, Waiting] = field(default_factory=dict)
    early: dict[str, Any] = field(default_factory=dict)
    published: int = 0
    dead_lettered: int = 0


@dataclass
class Message:
    """One consumed message: where it came from and its decoded row (or why it did not decode)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    event: RawEvent
    raw: bytes

    @property
    def slot(self) -> str:
        return f"{self.topic}:{self.partition}"


def resume_at(consumer: Any, partitions: list[Any], known: Mapping[str, int]) -> None:
    """Assign ``partitions``, each from the later of the group's committed offset and ``known`` (slot -> next
    offset, from the consumer's own durable record: a checkpoint, the store), when either exists."""
    committed = consumer.committed(partitions, timeout=10) if partitions else []
    for tp, done in zip(partitions, committed, strict=True):
        starts = [
            o for o in (known.get(f"{tp.topic}:{tp.partition}"), done.offset) if o is not None and o >= 0
        ]
        if starts:
            tp.offset = max(starts)
    consumer.assign(partitions)


def lag_of(consumer: Any, partitions: list[Any], positions: Mapping[str, int]) -> dict[str, int]:
    """Messages not yet processed per partition (``"topic:partition"``): the high watermark (asked of the
    brokers) minus the next offset in ``positions``; a partition whose broker does not answer is left out."""
    out: dict[str, int] = {}
    for tp in partitions:
        try:
            _, high = consumer.get_watermark_offsets(tp, timeout=5, cached=False)
        except Exception:  # no figure rather than a stop
            continue
        slot = f"{tp.topic}:{tp.partition}"
        out[slot] = max(0, int(high) - positions.get(slot, 0))
    return out


def commit_quietly(consumer: Any, offsets: list[Any]) -> bool:
    """Commit ``offsets`` to the group (synchronously); a failure (a rebalance, a closing client) is logged,
    not raised: what was learned is already durable with its own offsets (the checkpoint or the store), and
    a restart reads from the later of the two, so a late commit loses nothing and repeats nothing."""
    from confluent_kafka import KafkaException

    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    except KafkaException as e:
        log.warning("Kafka: the offsets were not committed (%s); the next start reads from the checkpoint", e)
        return False
    return True


def _json_object(value: bytes) -> dict[str, Any]:
    try:
        row = json.loads(value)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"not JSON ({e})") from None
    if not isinstance(row, dict):
        raise ValueError(f"a JSON {type(row).__name__}, not an object")
    return row


def _decode(
    topic: str, partition: int, offset: int, value: bytes | None, decode: Any = _json_object
) -> RawEvent:
    where = f"{topic}[{partition}]@{offset}"
    if value is None:
        return RawEvent(offset, None, f"unparsable: message {where} has no value")
    try:
        return RawEvent(offset, decode(value))
    except ValueError as e:
        return RawEvent(
            offset, None, f"unparsable: message {where} is {e}", value[:500].decode(errors="replace")
        )


class KafkaStream:
    """The consumer (and producer, for predictions and dead letters) of one source, positioned from a
    :class:`KafkaState`: each assigned partition is read from the later of the group's committed offset and
    the state's, so what a checkpoint learned is not learned again."""

    def __init__(self, source: KafkaSource, state: KafkaState, *, group: str) -> None:
        try:
            from confluent_kafka import Consumer, Producer
        except ImportError:
            raise ConfigError(
                "reading Kafka needs the kafka extra. Fix: pip install 'lamarck[kafka]' (confluent-kafka)."
            ) from None
        self.source, self.state = source, state
        self.decode = source.decoder()
        self.consumer = Consumer(source.consumer_config(group))
        needs_producer = source.predictions or source.dead_letter
        self.producer = Producer(source.producer_config()) if needs_producer else None
        self.assigned: list[Any] = []
        self.on_revoke: Any = None  # set by the runner: checkpoint and commit before partitions move away
        topics = [source.topic] + ([source.labels] if source.labels else [])
        self.consumer.subscribe(topics, on_assign=self._assign, on_revoke=self._revoke)

    def _assign(self, consumer: Any, partitions: list[Any]) -> None:
        self.assigned = list(partitions)
        resume_at(consumer, partitions, self.state.offsets)
        log.info("assigned %s", [(tp.topic, tp.partition, tp.offset) for tp in partitions])

    def _revoke(self, consumer: Any, partitions: list[Any]) -> None:
        if self.on_revoke is not None:
            self.on_revoke()
        self.assigned = []

    def messages(self, *, idle_s: float | None = None, poll_s: float = 0.5) -> Iterator[Message | None]:
        """Consumed messages in order per partition; ``None`` each ``poll_s`` without one (the runner may
        checkpoint then); stops after ``idle_s`` seconds without a message (never, with ``None``)."""
        quiet_since = joining = time.monotonic()
        while True:
            msg = self.consumer.poll(poll_s)
            if msg is None:
                now = time.monotonic()
                if not self.assigned:  # still joining the group: not idle yet
                    quiet_since = now
                    if now - joining > JOIN_S:
                        raise DataError(
                            f"no partition of {self.source.shown} was assigned within {JOIN_S:g} s. Fix: check the "
                            "brokers, the topic's name and that the group has a free partition."
                        )
                if idle_s is not None and now - quiet_since >= idle_s:
                    return
                yield None
                continue
            error = msg.error()
            if error is not None:
                if error.fatal():
                    raise DataError(
                        f"Kafka consumer of {self.source.shown} failed: {error.str()}. Fix: check the brokers and settings."
                    )
                log.warning("Kafka: %s", error.str())
                continue
            quiet_since = time.monotonic()
            key = msg.key()
            topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0)
            yield Message(
                topic,
                partition,
                offset,
                None if key is None else key.decode(errors="replace"),
                _decode(topic, partition, offset, msg.value(), self.decode),
                msg.value() or b"",
            )

    def consumed(self, message: Message) -> None:
        """Mark ``message`` as processed: its partition's next offset moves past it (committed later)."""
        self.state.offsets[message.slot] = message.offset + 1

    def publish(self, key: str | None, value: dict[str, Any]) -> None:
        if self.producer is None or not self.source.predictions:
            return
        self._produce(self.source.predictions, key, json.dumps(value, default=str).encode())
        self.state.published += 1

    def dead_letter(self, message: Message, reason: str) -> None:
        if self.producer is None or not self.source.dead_letter:
            return
        headers = [("lamarck.reason", reason.encode()), ("lamarck.source", message.slot.encode()),
                   ("lamarck.offset", str(message.offset).encode())]  # fmt: skip
        self._produce(self.source.dead_letter, message.key, message.raw, headers=headers)
        self.state.dead_lettered += 1

    def _produce(self, topic: str, key: str | None, value: bytes, headers: Any = None) -> None:
        assert self.producer is not None
        while True:
            try:
                self.producer.produce(topic, key=key, value=value, headers=headers)
                break
            except BufferError:  # the producer's queue is full: let it send (back-pressure on the learner)
                self.producer.poll(0.1)
        self.producer.poll(0)

    def flush(self) -> None:
        """Wait until everything produced is acknowledged by the brokers."""
        if self.producer is not None:
            left = self.producer.flush(30)
            if left:
                raise DataError(
                    f"{left} message(s) to Kafka were not acknowledged within 30 s. Fix: check the brokers."
                )

    def commit(self) -> None:
        """Commit the state's offsets of the partitions this consumer holds (synchronously)."""
        from confluent_kafka import TopicPartition

        held = {f"{tp.topic}:{tp.partition}" for tp in self.assigned}
        offsets = [
            TopicPartition(slot.rsplit(":", 1)[0], int(slot.rsplit(":", 1)[1]), offset)
            for slot, offset in self.state.offsets.items()
            if slot in held
        ]
        if offsets:
            commit_quietly(self.consumer, offsets)

    def lag(self) -> dict[str, int]:
        """Messages not yet processed per assigned partition (``"topic:partition"``)."""
        return lag_of(self.consumer, self.assigned, self.state.offsets)

    def close(self) -> None:
        self.on_revoke = (
            None  # the runner saved at its end; leaving the group revokes, and must not save again
        )
        try:
            self.flush()
        finally:
            self.consumer.close()


def read_head(
    stream: KafkaStream, head: int, *, idle_s: float = 10.0
) -> tuple[list[Message], list[dict[str, Any]]]:
    """The first messages of a source and the rows to plan on: ``head`` events (each with its label, when
    labels come on their own topic: then only the events whose label came, joined by key, up to ``head`` of
    them or ``10 x head`` events read); it stops earlier after ``idle_s`` seconds without a message."""
    messages: list[Message] = []
    events: dict[str, dict[str, Any]] = {}
    labels: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    joined: list[dict[str, Any]] = []
    keyed = stream.source.labels is not None
    for message in stream.messages(idle_s=idle_s):
        if message is None:
            continue
        messages.append(message)
        row, key = message.event.row, message.key
        if row is None:
            continue
        if message.topic == stream.source.labels:
            if key is not None and key in events:
                joined.append({**events.pop(key), **row})
            elif key is not None:
                labels[key] = row
        else:
            rows.append(row)
            if key is not None and key in labels:
                joined.append({**row, **labels.pop(key)})
            elif key is not None:
                events[key] = row
        if (len(joined) if keyed else len(rows)) >= head or len(rows) >= 10 * head:
            break
    return messages, joined if keyed else [dict(r) for r in rows]


def _label_of(row: dict[str, Any], schema: Any) -> tuple[Any, str | None]:
    """The label in a labels-topic message (``{TARGET: value}`` or ``{"label": value}``), checked as the
    schema checks an event's label; or why it is unusable."""
    raw = row.get(schema.target, row.get("label"))
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, f"missing feature: the label message has no {schema.target!r} (nor 'label')"
    stand_in = {name: (0.0 if kind == "numeric" else "x") for name, kind in schema.features}
    _, y, reason = schema.check({**stand_in, schema.target: raw})
    return y, reason


def run_kafka(
    session: Any,
    stream: KafkaStream,
    *,
    first: list[Message] | None = None,
    store: Any = None,
    checkpoint: Path | None = None,
    checkpoint_every: int = 0,
    checkpoint_s: float = 5.0,
    limit: int | None = None,
    idle_s: float | None = None,
    on_progress: Any = None,
    progress_every: int = 500,
) -> Any:
    """Feed a Kafka source through the session's learner, prequentially: events carrying their label are
    predicted then learned; with a labels topic, an event is predicted and waits for its label (by key). A
    checkpoint every ``checkpoint_every`` events, after ``checkpoint_s`` seconds of quiet with something new,
    on a rebalance and at the end: quarantine and predictions flushed, the state fsynced, then the offsets
    committed. Stops after ``limit`` messages, after ``idle_s`` seconds without a message, or on Ctrl-C /
    SIGTERM (the state is saved)."""
    from lamarck.stream._events import REASON_KINDS
    from lamarck.stream._learner import save_state
    from lamarck.stream._session import _result, _sigterm_as_interrupt

    learner, schema, state = session.learner, session.schema, stream.state
    bad_rows: list[dict[str, Any]] = []
    bad_reasons: list[str] = []
    dirty = False
    last_save = time.monotonic()

    def save() -> None:
        nonlocal dirty, last_save
        if store is not None and bad_rows:
            store.quarantine(list(bad_rows), list(bad_reasons), source="stream")
        bad_rows.clear()
        bad_reasons.clear()
        stream.flush()  # predictions and dead letters acknowledged before the offsets move
        session.seconds = last_message - start  # streaming time: a quiet tail (waiting for more) left out
        session.lag = stream.lag()
        if checkpoint is not None:
            save_state(session, checkpoint)
            session.checkpoints += 1
        stream.commit()
        dirty, last_save = False, time.monotonic()

    def quarantine(message: Message, reason: str) -> None:
        kind = next((k for k in REASON_KINDS if reason.startswith(k)), "unparsable")
        session.quarantine[kind] += 1
        row = message.event.row
        bad_rows.append(
            {**(row or {"text": message.event.text}), "_kafka": f"{message.slot}@{message.offset}"}
        )
        bad_reasons.append(reason)
        stream.dead_letter(message, reason)

    def predicted(message: Message, prediction: Any, proba: dict[Any, float]) -> None:
        session.events += 1
        stream.publish(
            message.key,
            {"key": message.key, "source": f"{message.slot}@{message.offset}", "prediction": prediction,
             "proba": {str(k): round(float(v), 6) for k, v in (proba or {}).items()}},
        )  # fmt: skip

    def handle(message: Message) -> None:
        row = message.event.row
        if message.event.error is not None or row is None:
            quarantine(message, message.event.error or "unparsable: empty message")
            return
        if message.topic == stream.source.labels:
            y, reason = _label_of(row, schema)
            if reason is not None or message.key is None:
                quarantine(message, reason or "unparsable: a label message needs the key of its event")
                return
            waiting = state.waiting.pop(message.key, None)
            if waiting is None:  # before its event: kept until the event comes
                state.early[message.key] = y
                while len(state.early) > MAX_EARLY_LABELS:
                    key = next(iter(state.early))
                    state.early.pop(key)
                    quarantine(message, f"unparsable: label for key {key!r} whose event never came")
                return
            learner.learn_pending(waiting.pending, y)
            session.score(y, waiting.prediction, waiting.proba)
            return
        x, y, reason = schema.check(row)
        if reason is not None:
            quarantine(message, reason)
            return
        assert x is not None
        if y is None and message.key is not None and message.key in state.early:
            y = state.early.pop(message.key)
        if y is not None or not stream.source.labels or message.key is None:
            prediction = learner.process_one(x, y)  # predicted first, then learned when the label is here
            proba = dict(learner.last_proba_ or {})
            predicted(message, prediction, proba)
            if y is not None:
                session.score(y, prediction, proba)
            return
        prediction, pending = learner.predict_pending(x)
        proba = dict(learner.last_proba_ or {})
        state.waiting[message.key] = Waiting(pending, prediction, proba)
        predicted(message, prediction, proba)

    stream.on_revoke = save
    interrupted = False
    start = last_message = time.perf_counter() - session.seconds
    seen = 0
    try:
        with _sigterm_as_interrupt():
            # the head read to plan the stream first, in order, then what the consumer brings
            for message in itertools.chain(first or [], stream.messages(idle_s=idle_s)):
                if message is None:
                    if dirty and time.monotonic() - last_save >= checkpoint_s:
                        save()
                    continue
                if limit is not None and seen >= limit:
                    break
                seen += 1
                session.position += 1
                handle(message)
                stream.consumed(message)
                dirty = True
                last_message = time.perf_counter()
                if session.events and session.events % progress_every == 0:
                    session.seconds = time.perf_counter() - start
                    if on_progress is not None:
                        on_progress(session)
                if checkpoint_every and seen % checkpoint_every == 0:
                    save()
    except KeyboardInterrupt:
        interrupted = True
        log.warning("stream %s interrupted after %d events; saving the state", session.name, session.events)
    save()
    if on_progress is not None:
        on_progress(session)
    return _result(session, interrupted=interrupted, checkpoint=checkpoint)
