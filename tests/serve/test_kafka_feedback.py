"""``serve --feedback-from kafka://...``: labels published on a topic are stored (once) and learned, the
offsets move in the store's transaction, and the lag shows in /v1/status and /metrics."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.bench import create_topics, produce_rows
from lamarck.serve import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evolve"))
from test_policy import make

pytestmark = pytest.mark.slow  # a fit, a broker and a consumer group


def _wait(until, seconds: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "the feedback consumer did not catch up in time"
        time.sleep(0.2)


def test_labels_from_a_topic_are_stored_once_and_learned(tmp_path, kafka_brokers):
    from confluent_kafka import Consumer, Producer, TopicPartition

    project = Project(tmp_path / "p")
    project.fit(make(1500, seed=0), "predict the label", time_budget_s=4, learners=["lightgbm"], report=False)
    create_topics(kafka_brokers, {"outcomes": 1})
    url = f"kafka://{kafka_brokers}/outcomes?group.id=fb"
    rows = make(200, seed=4)
    with TestClient(create_app(project, feedback_from=url)) as client:
        answer = client.post(
            "/v1/predict", json={"rows": rows.drop(columns=["label"]).to_dict("records")}
        ).json()
        items = [
            {"prediction_id": i, "label": y}
            for i, y in zip(answer["prediction_ids"], rows["label"], strict=True)
        ]
        produce_rows(kafka_brokers, "outcomes", items[:150], key="prediction_id")
        producer = Producer({"bootstrap.servers": kafka_brokers})
        producer.produce("outcomes", value=b"not json")
        producer.produce("outcomes", value=json.dumps({"prediction_id": "nope", "label": "yes"}).encode())
        producer.flush(30)
        produce_rows(kafka_brokers, "outcomes", items[150:], key="prediction_id")
        _wait(lambda: project.store.counts()["feedback"] == 200 and project.store.counts()["quarantine"] == 2)
        _wait(lambda: 'lamarck_kafka_lag{topic="outcomes",partition="0"}' in client.get("/metrics").text, 30)
        status = client.get("/v1/status").json()
        assert status["feedback_source"]["stored"] == 200 and status["feedback_source"]["quarantined"] == 2
        assert set(status["feedback_source"]["lag"]) == {"outcomes:0"}
        assert status["layer"].get("labels_learned", 0) >= 200 or not status["layer"]["enabled"]
    assert project.store.source_offsets(f"kafka:{kafka_brokers}/outcomes") == {"outcomes:0": 202}
    reasons = [q["reason"] for q in project.store.quarantined(source="kafka")]
    assert len(reasons) == 2 and any("unknown" in r for r in reasons)

    # a crash between the store's commit and the group's: the group's offset is behind the store's
    rewind = Consumer({"bootstrap.servers": kafka_brokers, "group.id": "fb", "session.timeout.ms": 6000})
    rewind.commit(offsets=[TopicPartition("outcomes", 0, 0)], asynchronous=False)
    rewind.close()
    with TestClient(create_app(project, feedback_from=url)) as client:
        produce_rows(
            kafka_brokers, "outcomes", [{"prediction_id": answer["prediction_ids"][0], "label": "yes"}]
        )
        _wait(lambda: client.get("/v1/status").json()["feedback_source"]["stored"] == 1)
    assert project.store.counts()["feedback"] == 201  # the 200 were not stored again
    assert project.store.counts()["quarantine"] == 2
