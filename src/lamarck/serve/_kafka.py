"""Feedback from a Kafka topic (``lamarck serve --feedback-from kafka://BROKERS/TOPIC``): a consumer in the
server learns the labels that another system publishes, through the same path as ``POST /v1/feedback``.

Each message is a JSON object: ``{"prediction_id": ..., "label": ..., "weight": ...}`` (the id that
``/v1/predict`` answered), or a row with its label under ``label-column=COL`` (a URL option). Messages are
taken in batches (up to ``batch`` or ``linger_s``); each batch is one transaction of the store: its labels,
its quarantined messages (with their reason, once) and the partitions' new offsets. Only then are the
offsets committed to the group, and the online layer learns the labels. A restarted server reads each
partition from the later of the group's committed offset and the store's: no label is lost or stored twice,
even after ``kill -9`` between the two commits. ``/v1/status`` (``feedback_source``), ``/v1/stream/status``
and ``/metrics`` (``lamarck_kafka_lag``) show the consumer lag per partition.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from lamarck.errors import ConfigError, LamarckError
from lamarck.stream import KafkaSource, commit_quietly, lag_of, resume_at

__all__ = ["KafkaFeedback"]

log = logging.getLogger(__name__)


class KafkaFeedback:
    """The server's consumer of a feedback topic (one thread; ``start`` / ``stop``)."""

    def __init__(
        self, state: Any, url: str, *, batch: int = 500, linger_s: float = 0.5, properties: str | None = None
    ) -> None:
        self.state, self.batch, self.linger_s = state, batch, linger_s
        self.source = KafkaSource.parse(url, properties=properties, extra=("label-column",))
        if self.source.labels or self.source.predictions or self.source.dead_letter:
            raise ConfigError(
                f"{self.source.shown}: a feedback source takes only label-column= and client settings. "
                "Fix: drop labels=, predictions= and dead-letter= from the URL."
            )
        self.label_column = self.source.options.get("label-column") or None
        self.name = f"kafka:{self.source.brokers}/{self.source.topic}"[:255]
        self.group = self.source.group(f"lamarck-feedback-{self.source.topic}")
        self.lag: dict[str, int] = {}
        self.stored = self.quarantined = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._assigned: list[Any] = []

    # ------------------------------------------------------------------ the consumer

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kafka-feedback", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            from confluent_kafka import Consumer
        except ImportError:
            self.error = "the kafka extra is not installed (pip install 'lamarck[kafka]')"
            log.error("feedback from Kafka: %s", self.error)
            return
        consumer = Consumer(self.source.consumer_config(self.group))
        consumer.subscribe([self.source.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        last_lag = 0.0
        try:
            while not self._stop.is_set():
                messages = consumer.consume(self.batch, timeout=self.linger_s)
                good = [m for m in messages if m.error() is None]
                for m in messages:
                    if m.error() is not None:
                        log.warning("feedback from Kafka: %s", m.error())
                if good:
                    self._store(consumer, good)
                if time.monotonic() - last_lag >= 5.0 or (self._assigned and not self.lag):
                    self._measure_lag(consumer)
                    last_lag = time.monotonic()
        except Exception as e:  # the server keeps serving; the status says why the consumer stopped
            self.error = f"{type(e).__name__}: {e}"
            log.exception("feedback from Kafka stopped")
        finally:
            consumer.close()

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        self._assigned = list(partitions)
        resume_at(consumer, partitions, self.state.project.store.source_offsets(self.name))

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        self._assigned = []

    def _store(self, consumer: Any, messages: list[Any]) -> None:
        """One batch: parse, then labels + quarantine + offsets in one transaction, then the group commit."""
        from confluent_kafka import TopicPartition

        records: list[dict[str, Any]] = []
        offsets: dict[str, int] = {}
        for m in messages:
            offsets[f"{m.topic()}:{m.partition()}"] = int(m.offset()) + 1
            try:
                value = json.loads(m.value() or b"")
            except (json.JSONDecodeError, UnicodeDecodeError):
                value = None
            # a message that is not a JSON object is kept (quarantined by the feedback rule: no label)
            records.append(
                value
                if isinstance(value, dict)
                else {"message": (m.value() or b"")[:500].decode(errors="replace")}
            )
        try:
            if self.label_column:
                result = self.state.add_feedback(
                    rows=records,
                    label_column=self.label_column,
                    source="kafka",
                    offsets=offsets,
                    offsets_of=self.name,
                )
            else:
                result = self.state.add_feedback(
                    items=records, source="kafka", offsets=offsets, offsets_of=self.name
                )
        except LamarckError as e:  # a batch the store refuses as a whole: said in the status, tried again
            self.error = str(e)
            log.warning("feedback from Kafka: %s", e)
            time.sleep(1.0)
            return
        self.stored += result.accepted
        self.quarantined += len(result.quarantined)
        done = [
            TopicPartition(topic, int(partition), offset)
            for (topic, partition), offset in ((slot.rsplit(":", 1), n) for slot, n in offsets.items())
        ]
        commit_quietly(consumer, done)  # the store holds the offsets already: a failed commit loses nothing

    def _measure_lag(self, consumer: Any) -> None:
        self.lag = lag_of(consumer, self._assigned, self.state.project.store.source_offsets(self.name))

    # ------------------------------------------------------------------ what the server shows

    def status(self) -> dict[str, Any]:
        return {
            "source": self.source.shown,
            "group": self.group,
            "lag": dict(self.lag),
            "stored": self.stored,
            "quarantined": self.quarantined,
            "error": self.error,
        }

    def metrics(self) -> str:
        lines = ["# TYPE lamarck_kafka_lag gauge"]
        for slot, n in sorted(self.lag.items()):
            topic, partition = slot.rsplit(":", 1)
            lines.append(f'lamarck_kafka_lag{{topic="{topic}",partition="{partition}"}} {n}')
        return "\n".join(lines) + "\n"
