"""Serving the stream learner: predict, feedback that it learns online, checkpoint, restart, quarantine,
roles. Small seeded SEA streams (classes) and a Friedman stream (numbers)."""

import csv
import shutil

import pytest
from fastapi.testclient import TestClient
from river.datasets import synth

from lamarck import Project
from lamarck.serve import create_app
from lamarck.stream import StreamLearner, stream_project


def sea(n: int, seed: int, variant: int = 0):
    for x, y in synth.SEA(variant=variant, noise=0.0, seed=seed).take(n):
        yield {"a": round(x[0], 3), "b": round(x[1], 3), "c": round(x[2], 3), "label": "yes" if y else "no"}


def write(path, rows):
    rows = list(rows)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def registered(tmp_path, rows, sentence="predict label", **learner):
    """A project whose alias ``stream`` is a learner that has seen ``rows`` (registered as version 1)."""
    project = Project(tmp_path / "proj")
    options = {"population": 2, "hybrid": False, "replace_every": 100, "seed": 0, **learner}
    result = stream_project(
        project, str(write(tmp_path / "events.csv", rows)), sentence, learner=StreamLearner(**options)
    )
    assert result.version == "1"
    return project


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return registered(tmp_path_factory.mktemp("template"), sea(400, seed=1))


@pytest.fixture()
def project(template, tmp_path):
    """A fresh copy of a project whose stream learner has seen 400 events (registering is slow)."""
    shutil.copytree(template.path, tmp_path / "copy")
    return Project(tmp_path / "copy")


def service_of(app):
    """The app's stream service (to tune its checkpoint period in a test)."""
    return app.state.stream


def test_no_stream_learner_is_503(project):
    project.registry.delete_alias("stream")
    client = TestClient(create_app(project))
    r = client.post("/v1/stream/predict", json={"rows": [{"a": 1.0}]})
    assert r.status_code == 503 and "lamarck stream" in r.json()["detail"]
    assert client.get("/v1/stream/status").status_code == 503


@pytest.mark.slow
def test_predict_then_feedback_changes_the_predictions(project):
    client = TestClient(create_app(project))
    probe = [{"a": 3.0, "b": 3.5, "c": 5.0}, {"a": 6.0, "b": 2.5, "c": 1.0}]
    r = client.post("/v1/stream/predict", json={"rows": probe})
    assert r.status_code == 200
    before = r.json()
    assert before["model_version"] == "1" and before["events_learned"] == 400
    assert len(before["prediction_ids"]) == 2 and set(before["probabilities"][0]) == {"no", "yes"}
    # the concept changes (SEA variant 3: a + b <= 9.5): the learner is told, event by event
    changed = [{**r, "label": r["label"]} for r in sea(300, seed=2, variant=3)]
    r = client.post("/v1/stream/feedback", json={"rows": changed, "label_column": "label"})
    body = r.json()
    assert r.status_code == 200 and body["accepted"] == body["learned"] == 300
    assert body["events_learned"] == 700 and body["metric"] == "accuracy" and 0 < body["score"] <= 1
    after = client.post("/v1/stream/predict", json={"rows": probe}).json()
    assert after["events_learned"] == 700
    assert after["probabilities"] != before["probabilities"]  # learning happened
    # feedback by prediction id: the logged inputs are used
    ids = after["prediction_ids"]
    r = client.post(
        "/v1/stream/feedback", json={"items": [{"prediction_id": i, "label": "yes"} for i in ids]}
    )
    assert r.json()["learned"] == 2 and r.json()["events_learned"] == 702
    status = client.get("/v1/status").json()["stream"]
    assert status["events_learned"] == 702 and status["feedback_learned"] == 302
    assert status["metric"] == "accuracy" and status["score"] == pytest.approx(body["score"], abs=0.01)


def test_acknowledged_feedback_is_in_the_store_before_the_answer(project):
    client = TestClient(create_app(project))
    before = project.store.counts()["feedback"]
    rows = list(sea(5, seed=3))
    r = client.post("/v1/stream/feedback", json={"rows": rows, "label_column": "label"})
    assert r.status_code == 200 and r.json()["accepted"] == 5
    assert project.store.counts()["feedback"] == before + 5
    stored = project.store.feedback_after(0, source="stream")
    assert [s["label"] for s in stored] == [row["label"] for row in rows]
    assert stored[0]["inputs"] == {k: rows[0][k] for k in "abc"}


def test_restart_resumes_from_the_checkpoint(project):
    rows = list(sea(120, seed=4, variant=2))
    app = create_app(project)
    service_of(app).checkpoint_every = 50
    with TestClient(app) as client:  # the context runs the lifespan: shutdown saves and registers
        saved = client.get("/v1/stream/status").json()["checkpoints"]
        client.post("/v1/stream/feedback", json={"rows": rows[:70], "label_column": "label"})
        client.post("/v1/stream/feedback", json={"rows": rows[70:], "label_column": "label"})
        status = client.get("/v1/stream/status").json()
        assert status["checkpoints"] == saved + 2 and status["events_learned"] == 520  # at 50 and 100
        probe = client.post("/v1/stream/predict", json={"rows": rows[:20]}).json()
    assert project.registry.alias_version("stream") == "2"  # registered on shutdown
    assert "served" in project.registry.info("2").lineage["reason"]

    again = TestClient(create_app(Project(project.path)))
    status = again.get("/v1/stream/status").json()
    assert status["version"] == "2" and status["events_learned"] == 520 and status["feedback_learned"] == 120
    assert (
        again.post("/v1/stream/predict", json={"rows": rows[:20]}).json()["probabilities"]
        == (probe["probabilities"])
    )


def test_a_crash_loses_no_acknowledged_feedback(project):
    rows = list(sea(90, seed=5))
    crashed = create_app(project)
    service_of(crashed).checkpoint_every = 1000  # nothing checkpointed, no shutdown: a crash
    client = TestClient(crashed)
    assert (
        client.post("/v1/stream/feedback", json={"rows": rows, "label_column": "label"}).json()["learned"]
        == 90
    )
    learned = client.get("/v1/stream/status").json()
    restarted = TestClient(create_app(Project(project.path)))
    status = restarted.get(
        "/v1/stream/status"
    ).json()  # the store's feedback after the cursor is learned again
    assert status["events_learned"] == learned["events_learned"] == 490
    assert status["score"] == pytest.approx(learned["score"])


def test_invalid_rows_are_quarantined_with_their_reason(project):
    client = TestClient(create_app(project))
    q0 = project.store.counts()["quarantine"]
    good = {"a": 1.0, "b": 2.0, "c": 3.0}
    r = client.post("/v1/stream/predict", json={"rows": [good, {"a": "abc", "b": 1.0, "c": 1.0}, {"a": 1.0}]})
    assert r.status_code == 200
    body = r.json()
    assert len(body["predictions"]) == 1
    reasons = {q["index"]: q["reason"] for q in body["quarantined"]}
    assert "'abc'" in reasons[1] and "'a'" in reasons[1] and "missing feature: 'b'" in reasons[2]
    r = client.post(
        "/v1/stream/feedback",
        json={"rows": [{**good, "label": "maybe"}, {**good, "label": "yes"}, good], "label_column": "label"},
    )
    body = r.json()
    assert body["accepted"] == 1 and body["learned"] == 1
    reasons = {q["index"]: q["reason"] for q in body["quarantined"]}
    assert "unseen label: 'maybe'" in reasons[0] and "missing label" in reasons[2]
    r = client.post("/v1/stream/feedback", json={"items": [{"prediction_id": "nope", "label": "yes"}]})
    assert r.status_code == 422 and "unknown prediction_id 'nope'" in str(r.json())
    assert project.store.counts()["quarantine"] == q0 + 2 + 2 + 1
    # payloads that are not requests at all: 422 naming the field
    r = client.post("/v1/stream/predict", json={"events": [good]})
    assert r.status_code == 422 and "rows" in str(r.json()["detail"])
    r = client.post("/v1/stream/feedback", json={"rows": [good]})
    assert r.status_code == 422 and "label_column" in str(r.json()["detail"])
    r = client.post("/v1/stream/predict", json={"rows": [{"a": "x"}]})
    assert r.status_code == 422 and r.json()["detail"]["required"] == {
        "a": "numeric",
        "b": "numeric",
        "c": "numeric",
    }


def test_api_key_roles_apply(project):
    predict_key = project.store.create_key("predict")
    feedback_key = project.store.create_key("feedback")
    client = TestClient(create_app(project))
    row = {"a": 1.0, "b": 2.0, "c": 3.0}
    assert client.post("/v1/stream/predict", json={"rows": [row]}).status_code == 401
    auth = {"X-API-Key": predict_key}
    assert client.post("/v1/stream/predict", json={"rows": [row]}, headers=auth).status_code == 200
    labelled = {"rows": [{**row, "label": "no"}], "label_column": "label"}
    assert client.post("/v1/stream/feedback", json=labelled, headers=auth).status_code == 403
    r = client.post("/v1/stream/feedback", json=labelled, headers={"X-API-Key": feedback_key})
    assert r.status_code == 200 and r.json()["learned"] == 1


@pytest.mark.slow
def test_a_regression_stream_is_served(tmp_path):
    events = list(synth.Friedman(seed=3).take(500))
    names = [f"x{i}" for i in range(10)]
    rows = [
        {**dict(zip(names, (round(v, 4) for v in x.values()), strict=True)), "y": round(y, 3)}
        for x, y in events
    ]
    project = registered(tmp_path, rows[:300], "predict y, minimize mae")
    client = TestClient(create_app(project))
    probe = [{k: v for k, v in r.items() if k != "y"} for r in rows[300:303]]
    before = client.post("/v1/stream/predict", json={"rows": probe}).json()
    assert all(isinstance(p, float) for p in before["predictions"]) and "probabilities" not in before
    r = client.post("/v1/stream/feedback", json={"rows": rows[300:], "label_column": "y"}).json()
    assert r["learned"] == 200 and r["metric"] == "mae" and r["score"] < 4.0  # the mean's MAE is about 4
    after = client.post("/v1/stream/predict", json={"rows": probe}).json()
    assert after["predictions"] != before["predictions"]
    bad = client.post("/v1/stream/feedback", json={"rows": [{**probe[0], "y": "high"}], "label_column": "y"})
    assert bad.status_code == 422 and "non-numeric: label 'high'" in str(bad.json())


@pytest.mark.slow
def test_concurrent_feedback_is_learned_once_each(project):
    from concurrent.futures import ThreadPoolExecutor

    client = TestClient(create_app(project))
    batches = [list(sea(25, seed=10 + k)) for k in range(4)]

    def send(rows):
        return client.post("/v1/stream/feedback", json={"rows": rows, "label_column": "label"}).json()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, batches))
    assert sum(a["accepted"] for a in answers) == 100
    assert sum(a["learned"] for a in answers) == 100  # each event learned by exactly one request
    assert client.get("/v1/stream/status").json()["events_learned"] == 500
