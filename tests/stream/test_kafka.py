"""Streams from Kafka against a real Kafka-protocol broker on 127.0.0.1 (Tansu): produce → learn →
checkpoint → resume, the labels-topic join, the dead-letter path, two consumers in one group."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from river.datasets import synth

from lamarck import Project
from lamarck.bench import create_topics, produce_rows
from lamarck.errors import ConfigError
from lamarck.stream import KafkaSource, StreamLearner, load_state, stream_project

pytestmark = pytest.mark.slow  # a broker and a consumer group (a few seconds to join)


def sea(n: int, seed: int = 0) -> list[dict]:
    return [
        {"id": i, **{f"x{k}": float(v) for k, v in x.items()}, "y": int(y)}
        for i, (x, y) in enumerate(synth.SEA(seed=seed).take(n))
    ]


#: the test broker's members time out in 2 s, so a group forms (and re-forms after a kill) in about a second;
#: Apache Kafka's brokers refuse a session under 6 s, Lamarck's default
FAST = "&session.timeout.ms=2000&heartbeat.interval.ms=300"


def _learner() -> StreamLearner:
    return StreamLearner(population=2, hybrid=False, seed=0)


def test_a_source_url_is_checked():
    src = KafkaSource.parse("kafka://a:1,b:2/t?group.id=g&predictions=p&dead-letter=d&security.protocol=SSL")
    assert (src.brokers, src.topic, src.predictions, src.dead_letter) == ("a:1,b:2", "t", "p", "d")
    assert (
        src.consumer_config(src.group("x"))["group.id"] == "g"
        and src.producer_config()["security.protocol"] == "SSL"
    )
    with pytest.raises(ConfigError, match="unknown option 'lables'"):
        KafkaSource.parse("kafka://a:1/t?lables=l")
    with pytest.raises(ConfigError, match="not a Kafka source"):
        KafkaSource.parse("kafka://a:1/")


def test_learns_a_topic_and_resumes_without_learning_twice(tmp_path, kafka_brokers):
    create_topics(kafka_brokers, {"sea": 2, "sea-predicted": 1})
    rows = sea(3000)
    produce_rows(kafka_brokers, "sea", rows[:2000], key="id")
    project = Project(tmp_path / "p")
    url = f"kafka://{kafka_brokers}/sea?group.id=g1&predictions=sea-predicted{FAST}"
    first = stream_project(project, url, "predict y", learner=_learner(), idle_s=2, register=False)
    assert first.events == 2000 and first.labelled == 2000 and first.score > 0.8
    assert first.kafka["published"] == 2000 and sum(first.kafka["lag"].values()) <= 2  # Tansu: see docs
    produce_rows(kafka_brokers, "sea", rows[2000:], key="id")
    again = stream_project(project, url, "predict y", resume=True, idle_s=2, register=False)
    assert again.events == 3000  # the checkpoint's 2000 and the 1000 new ones, none twice
    state = load_state(tmp_path / "p" / "streams" / "sea" / "checkpoint.pkl").source_state
    assert sum(state.offsets.values()) == 3000


def test_labels_topic_joins_by_key_and_bad_events_go_to_dead_letters(tmp_path, kafka_brokers):
    from confluent_kafka import Consumer

    create_topics(kafka_brokers, {"ev": 1, "ev-labels": 1, "ev-dead": 1})
    rows = sea(1200, seed=3)
    events = [{k: v for k, v in r.items() if k != "y"} for r in rows]
    # the head: 300 events with their labels, so the planner sees the target; then events ahead of labels
    produce_rows(kafka_brokers, "ev", events[:300], key="id")
    produce_rows(kafka_brokers, "ev-labels", [{"y": r["y"], "id": r["id"]} for r in rows[:300]], key="id")
    produce_rows(
        kafka_brokers, "ev", [*events[300:], {"id": "bad", "x0": "not a number", "x1": 1, "x2": 2}], key="id"
    )
    produce_rows(kafka_brokers, "ev-labels", [{"y": r["y"], "id": r["id"]} for r in rows[300:]], key="id")
    project = Project(tmp_path / "p")
    url = f"kafka://{kafka_brokers}/ev?group.id=g2&labels=ev-labels&dead-letter=ev-dead{FAST}"
    result = stream_project(
        project, url, "predict y", target="y", learner=_learner(), head=300, idle_s=2, register=False
    )
    assert result.events == 1200 and result.labelled == 1200  # every label joined its event
    assert result.kafka["waiting_for_label"] == 0 and result.kafka["labels_before_event"] == 0
    assert result.quarantined == 1 and result.kafka["dead_lettered"] == 1
    # what it learned (the prequential score depends on how the client interleaves the two topics' backlogs:
    # every event read before any label is predicted by an empty learner)
    learner = load_state(tmp_path / "p" / "streams" / "ev" / "checkpoint.pkl").learner
    assert learner.n_learned_ == 1200
    fresh = sea(500, seed=11)
    right = [
        learner.predict_one({k: v for k, v in r.items() if k not in ("id", "y")}) == str(r["y"])
        for r in fresh
    ]
    assert np.mean(right) > 0.75
    assert any("not a number" in str(q["row"]) for q in project.store.quarantined())
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_brokers,
            "group.id": "check",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe(["ev-dead"])
    dead = None
    for _ in range(60):
        dead = consumer.poll(0.5)
        if dead is not None and dead.error() is None:
            break
    consumer.close()
    assert dead is not None and json.loads(dead.value())["id"] == "bad"
    assert dict(dead.headers())["lamarck.reason"].startswith(b"non-numeric")


def test_two_consumers_in_one_group_share_the_partitions(tmp_path, kafka_brokers):
    create_topics(kafka_brokers, {"shared": 4})
    produce_rows(kafka_brokers, "shared", sea(4000, seed=5), key="id")
    url = f"kafka://{kafka_brokers}/shared?group.id=g3{FAST}"
    results: dict[str, object] = {}

    def run(name: str) -> None:
        project = Project(tmp_path / name)
        results[name] = stream_project(
            project, url, "predict y", name=name, learner=_learner(), head=200, idle_s=6, register=False
        )

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    a, b = results["a"], results["b"]
    assert a.events + b.events == 4000  # every event learned once, by one of the two
    assert a.events > 0 and b.events > 0
    slots = [
        set(load_state(tmp_path / n / "streams" / n / "checkpoint.pkl").source_state.offsets)
        for n in ("a", "b")
    ]
    assert slots[0].isdisjoint(slots[1]) or sum(map(len, slots)) > 4  # partitions split (or handed over once)


def test_kill_nine_three_times_loses_and_duplicates_nothing(tmp_path, kafka_brokers):
    """`lamarck stream kafka://...` killed with SIGKILL three times, each time just after a checkpoint,
    then resumed: every event is learned exactly once (counted by offsets and by the learner)."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    n = 12_000
    create_topics(kafka_brokers, {"k": 2})
    produce_rows(kafka_brokers, "k", sea(n, seed=7), key="id")
    folder = tmp_path / "p"
    checkpoint = folder / "streams" / "k" / "checkpoint.pkl"
    cmd = [
        sys.executable, "-m", "lamarck.cli", "stream", f"kafka://{kafka_brokers}/k?group.id=gk{FAST}", "predict y",
        "--project", str(folder), "--population", "2", "--no-hybrid", "--checkpoint-every", "300",
        "--idle-exit", "5", "--no-register", "--json",
    ]  # fmt: skip
    rng = random.Random(0)
    kills = 0
    with (tmp_path / "stream.log").open("wb") as log:
        while kills < 3:
            before = checkpoint.stat().st_mtime_ns if checkpoint.exists() else 0
            proc = subprocess.Popen(
                cmd + (["--resume"] if kills else []), stdout=log, stderr=log, start_new_session=True
            )
            deadline = time.monotonic() + 120
            while not (checkpoint.exists() and checkpoint.stat().st_mtime_ns > before):
                assert proc.poll() is None, (tmp_path / "stream.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "no checkpoint within 120 s"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.05, 0.5))  # somewhere between two checkpoints
            assert proc.poll() is None, "the stream ended before three kills: produce more events"
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    state = load_state(checkpoint)
    assert sum(state.source_state.offsets.values()) == n  # read to the end: nothing lost
    assert result["events"] == n and result["labelled"] == n  # and nothing learned twice
    assert state.learner.n_learned_ == n


def test_avro_messages_in_the_confluent_wire_format(tmp_path, kafka_brokers):
    import io
    import struct

    import fastavro
    from confluent_kafka import Producer

    schema = {
        "type": "record",
        "name": "Sea",
        "fields": [
            {"name": n, "type": t}
            for n, t in (("id", "int"), ("x0", "double"), ("x1", "double"), ("x2", "double"), ("y", "int"))
        ],
    }
    path = tmp_path / "sea.avsc"
    path.write_text(json.dumps(schema))
    parsed = fastavro.parse_schema(schema)
    create_topics(kafka_brokers, {"avro": 1})
    producer = Producer({"bootstrap.servers": kafka_brokers})
    for row in sea(800, seed=2):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, row)
        producer.produce("avro", key=str(row["id"]), value=b"\x00" + struct.pack(">I", 7) + buf.getvalue())
    producer.produce("avro", value=b"plain text")  # not in the wire format: quarantined with its reason
    producer.flush(30)
    project = Project(tmp_path / "p")
    url = f"kafka://{kafka_brokers}/avro?group.id=ga&format=confluent-avro&schema={path}{FAST}"
    result = stream_project(project, url, "predict y", learner=_learner(), head=200, idle_s=2, register=False)
    assert result.events == 800 and result.score > 0.8 and result.quarantined == 1
    assert "Confluent wire format" in project.store.quarantined()[0]["reason"]
    with pytest.raises(ConfigError, match="needs its schema file"):
        KafkaSource.parse(f"kafka://{kafka_brokers}/avro?format=avro")


def test_a_slow_learner_does_not_make_the_consumer_grow(kafka_brokers):
    """60 MB waiting in the topic while the learner takes one event at a time: the client's prefetch stays
    within its cap (16 MB of messages), so the process grows by far less than what is waiting."""
    import resource
    import time

    from lamarck.stream._kafka import KafkaState, KafkaStream

    create_topics(kafka_brokers, {"big": 1})
    padding = "x" * 1500
    produce_rows(kafka_brokers, "big", ({"i": i, "pad": padding} for i in range(40_000)))

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    before = rss_mb()
    stream = KafkaStream(
        KafkaSource.parse(f"kafka://{kafka_brokers}/big?group.id=slow{FAST}"), KafkaState(), group="slow"
    )
    taken = 0
    peak = before
    deadline = time.monotonic() + 60
    for message in stream.messages():
        if message is not None:
            taken += 1
            stream.consumed(message)
            time.sleep(0.01)  # a slow learner
        peak = max(peak, rss_mb())
        if taken >= 300 or time.monotonic() > deadline:
            break
    stream.close()
    assert taken >= 300
    assert peak - before < 40, f"the consumer grew by {peak - before:.0f} MB while 60 MB waited"
