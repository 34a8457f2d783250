import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.serve import create_app


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v", "w"], n)})
    frame["y"] = np.where(frame["a"] + (frame["b"] == "u") + rng.normal(scale=0.5, size=n) > 0.3, "yes", "no")
    project = Project(tmp_path_factory.mktemp("served"))
    for _ in range(2):  # two versions, so promote and rollback have somewhere to go
        project.fit(frame, "predict y, in 4 seconds", learners=["linear"], report=False)
    return project, TestClient(create_app(project)), frame


def test_predict_logs_and_returns_ids(served):
    project, client, frame = served
    rows = frame.drop(columns=["y"]).head(3).to_dict("records")
    r = client.post("/v1/predict", json={"rows": rows})
    assert r.status_code == 200
    body = r.json()
    assert len(body["predictions"]) == len(body["prediction_ids"]) == 3
    assert set(body["probabilities"][0]) == {"no", "yes"} and body["model_version"] == "2"
    assert project.store.counts()["predictions"] >= 3


def test_feedback_is_durable_before_ack(served):
    project, client, frame = served
    ids = client.post(
        "/v1/predict", json={"rows": frame.drop(columns=["y"]).head(2).to_dict("records")}
    ).json()["prediction_ids"]
    before = project.store.counts()["feedback"]
    r = client.post("/v1/feedback", json={"items": [{"prediction_id": i, "label": "yes"} for i in ids]})
    assert r.json() == {"accepted": 2}
    assert project.store.counts()["feedback"] == before + 2
    r = client.post("/v1/feedback", json={"rows": [{"a": 0.1, "b": "u", "y": "no"}], "label_column": "y"})
    assert r.json() == {"accepted": 1}


@pytest.mark.parametrize("payload", [{}, {"rows": []}, {"rows": [{"a": 1}], "extra": 1}])
def test_invalid_predict_payloads_get_422(served, payload):
    _, client, _ = served
    r = client.post("/v1/predict", json=payload)
    assert r.status_code == 422 and "detail" in r.json()


def test_invalid_feedback_payloads_get_422(served):
    _, client, _ = served
    assert client.post("/v1/feedback", json={"rows": [{"a": 1}]}).status_code == 422  # no label_column
    assert (
        client.post("/v1/feedback", json={"items": [{"prediction_id": "x"}]}).status_code == 422
    )  # no label


def test_rows_missing_columns_are_quarantined_not_lost(served):
    project, client, _ = served
    before = project.store.counts()["quarantine"]
    r = client.post("/v1/predict", json={"rows": [{"a": 0.3, "b": "u"}, {"a": 1.0}]})
    assert r.status_code == 200
    assert len(r.json()["predictions"]) == 1 and r.json()["quarantined"][0]["index"] == 1
    assert project.store.counts()["quarantine"] == before + 1
    assert client.post("/v1/predict", json={"rows": [{"zzz": 1}]}).status_code == 422


def test_promote_rollback_status_models_metrics(served):
    _, client, frame = served
    assert client.post("/v1/models/1/promote").json() == {"champion": "1", "previous": "2"}
    rows = frame.drop(columns=["y"]).head(1).to_dict("records")
    assert client.post("/v1/predict", json={"rows": rows}).json()["model_version"] == "1"
    assert client.post("/v1/rollback").json() == {"champion": "2"}
    assert client.post("/v1/models/99/promote").status_code == 404
    status = client.get("/v1/status").json()
    assert status["champion"]["version"] == "2" and status["decisions"][0]["kind"] == "rollback"
    assert [m["version"] for m in client.get("/v1/models").json()] == ["2", "1"]
    client.post("/v1/feedback", json={"rows": [{"a": 0.2, "b": "v", "y": "no"}], "label_column": "y"})
    text = client.get("/metrics").text
    assert "lamarck_predictions_total" in text and "lamarck_feedback_total" in text
    # the project's file store groups appends: each batch went through a commit it may have shared
    values = dict(line.split() for line in text.splitlines() if line and not line.startswith("#"))
    commits, batches = int(values["lamarck_store_commits_total"]), int(values["lamarck_store_batches_total"])
    assert 1 <= commits <= batches
    assert client.get("/docs").status_code == 200


def test_feedback_command_stores_labels_and_quarantines_unlabelled(served, tmp_path):
    from lamarck.cli import main

    project, _, frame = served
    rows = frame.head(6).copy()
    rows.loc[rows.index[:2], "y"] = None
    rows.to_csv(tmp_path / "labels.csv", index=False)
    before = project.store.counts()
    assert (
        main(
            ["feedback", str(tmp_path / "labels.csv"), "--label-column", "y", "--project", str(project.path)]
        )
        == 0
    )
    after = project.store.counts()
    assert after["feedback"] == before["feedback"] + 4 and after["quarantine"] == before["quarantine"] + 2


@pytest.mark.slow
def test_concurrent_predict_and_feedback_over_http_lose_nothing(served, live_server):
    """A bounded load on 127.0.0.1: 4 clients x 20 predict + feedback pairs against a real uvicorn."""
    import threading

    import httpx

    project, _, frame = served
    base = live_server(create_app(project))
    before = project.store.counts()
    rows = frame.drop(columns=["y"]).head(5).to_dict("records")
    errors: list[str] = []

    def client(k: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            for i in range(20):
                r = c.post("/v1/predict", json={"rows": [rows[(k + i) % 5]]})
                if r.status_code != 200:
                    errors.append(r.text)
                    continue
                pid = r.json()["prediction_ids"][0]
                f = c.post("/v1/feedback", json={"items": [{"prediction_id": pid, "label": "yes"}]})
                if f.status_code != 200:
                    errors.append(f.text)

    clients = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(timeout=120)
    after = project.store.counts()
    assert errors == []
    assert after["predictions"] - before["predictions"] == 80
    assert after["feedback"] - before["feedback"] == 80


def test_feedback_without_a_usable_label_is_quarantined_by_the_same_rule_as_the_cli(served):
    project, client, _ = served
    before = project.store.counts()
    body = {"rows": [{"a": 0.1, "b": "u", "y": "no"}, {"a": 0.2, "b": "v", "y": None}, {"a": 0.3, "b": "w"}]}
    r = client.post("/v1/feedback", json={**body, "label_column": "y"})
    assert r.status_code == 200
    assert r.json()["accepted"] == 1 and [q["index"] for q in r.json()["quarantined"]] == [1, 2]
    after = project.store.counts()
    assert after["feedback"] == before["feedback"] + 1 and after["quarantine"] == before["quarantine"] + 2
    none = client.post("/v1/feedback", json={"rows": [{"a": 1, "y": ""}], "label_column": "y"})
    assert none.status_code == 422 and none.json()["error"] == "DataError"
    assert project.store.counts()["quarantine"] == after["quarantine"] + 1  # refused, yet not lost
