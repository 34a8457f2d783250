"""The loop through HTTP: keys and roles, the challenger in the shadow, evolve, suggest-labels, status."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.evolve import EvolutionPolicy
from lamarck.serve import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evolve"))
from test_policy import make


@pytest.fixture()
def project(tmp_path):
    p = Project(tmp_path / "proj")
    p.fit(make(1500, seed=0), "predict the label", time_budget_s=4, learners=["lightgbm"], report=False)
    return p


@pytest.mark.slow
def test_keys_and_roles(project):
    client = TestClient(create_app(project))
    rows = make(3, seed=1).drop(columns=["label"]).to_dict("records")
    assert client.post("/v1/predict", json={"rows": rows}).status_code == 200  # no keys yet: open (localhost)
    predict_key = project.store.create_key("predict", name="app")
    feedback_key = project.store.create_key("feedback")
    admin_key = project.store.create_key("admin")
    assert "key_hash" not in str(project.store.api_keys()) and predict_key not in str(
        project.store.api_keys()
    )
    client = TestClient(create_app(project))  # a new app: no cached "no keys" answer
    assert client.post("/v1/predict", json={"rows": rows}).status_code == 401
    assert (
        client.post("/v1/predict", json={"rows": rows}, headers={"X-API-Key": "lmk_wrong"}).status_code == 401
    )
    ok = client.post("/v1/predict", json={"rows": rows}, headers={"Authorization": f"Bearer {predict_key}"})
    assert ok.status_code == 200
    ids = ok.json()["prediction_ids"]
    items = {"items": [{"prediction_id": ids[0], "label": "yes"}]}
    denied = client.post("/v1/feedback", json=items, headers={"X-API-Key": predict_key})
    assert denied.status_code == 403 and "feedback" in denied.json()["detail"]
    assert client.post("/v1/feedback", json=items, headers={"X-API-Key": feedback_key}).json() == {
        "accepted": 1
    }
    assert client.post("/v1/rollback", headers={"X-API-Key": feedback_key}).status_code == 403
    assert client.get("/v1/status", headers={"X-API-Key": predict_key}).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/evolve", headers={"X-API-Key": admin_key}).json()["kind"] == "skip"
    assert project.store.revoke_key(1)  # a revoked key is refused at once (keys are looked up per request)
    assert (
        client.post("/v1/predict", json={"rows": rows}, headers={"X-API-Key": predict_key}).status_code == 401
    )


@pytest.mark.slow
def test_challenger_shadows_live_traffic_then_is_promoted(project):
    policy = EvolutionPolicy(min_new_labels=300, min_test_labels=200, shadow_labels=150, fresh_search=False)
    client = TestClient(create_app(project, policy=policy))

    def traffic(frame):
        rows = frame.drop(columns=["label"]).to_dict("records")
        ids = client.post("/v1/predict", json={"rows": rows}).json()["prediction_ids"]
        items = [{"prediction_id": i, "label": y} for i, y in zip(ids, frame["label"], strict=True)]
        assert client.post("/v1/feedback", json={"items": items}).json() == {"accepted": len(ids)}

    traffic(make(900, seed=2, region=4.0, rule="new"))
    first = client.post("/v1/evolve").json()
    assert first["kind"] == "challenger", first["reason"]
    traffic(make(200, seed=3, region=4.0, rule="new"))
    status = client.get("/v1/status").json()
    assert status["challenger"]["version"] == first["version"]
    assert status["challenger"]["shadow_predictions"] == 200 == status["challenger"]["shadow_labels"]
    assert status["drift"]["drift"] in ("moderate", "severe")
    second = client.post("/v1/evolve").json()
    assert second["kind"] == "promote", second["reason"]
    body = client.post(
        "/v1/predict", json={"rows": make(2, seed=4).drop(columns=["label"]).to_dict("records")}
    )
    assert body.json()["model_version"] == first["version"]
    text = client.get("/metrics").text
    assert "lamarck_shadow_predictions_total 200" in text and "lamarck_evolve_promote_total 1" in text


@pytest.mark.slow
def test_suggest_labels_endpoint(project):
    client = TestClient(create_app(project))
    rows = make(50, seed=5).drop(columns=["label"]).to_dict("records")
    ids = client.post("/v1/predict", json={"rows": rows}).json()["prediction_ids"]
    body = client.get("/v1/suggest-labels", params={"n": 5, "strategy": "margin"}).json()
    assert len(body["suggestions"]) == 5 and {s["prediction_id"] for s in body["suggestions"]} <= set(ids)
    assert client.get("/v1/suggest-labels", params={"n": 0}).status_code == 422


@pytest.mark.slow
def test_load_with_shadow_and_evolve_passes_loses_nothing(project, live_server):
    """Bounded load on a real uvicorn (127.0.0.1): 4 clients x 15 predict + feedback pairs while a
    challenger shadows every request and evolve passes run beside them; every prediction, shadow answer
    and acknowledged label is in the store afterwards."""
    import threading
    import time

    import httpx

    policy = EvolutionPolicy(
        min_new_labels=300, min_test_labels=200, shadow_labels=10_000, fresh_search=False
    )
    client = TestClient(create_app(project, policy=policy))
    frame = make(900, seed=2, region=4.0, rule="new")
    ids = client.post("/v1/predict", json={"rows": frame.drop(columns=["label"]).to_dict("records")}).json()[
        "prediction_ids"
    ]
    items = [{"prediction_id": i, "label": y} for i, y in zip(ids, frame["label"], strict=True)]
    client.post("/v1/feedback", json={"items": items})
    assert client.post("/v1/evolve").json()["kind"] == "challenger"  # now every request is shadowed

    base = live_server(create_app(project, policy=policy))
    before = project.store.counts()
    rows = make(20, seed=7).drop(columns=["label"]).to_dict("records")
    errors: list[str] = []
    acknowledged: list[str] = []

    def user(k: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            for i in range(15):
                r = c.post("/v1/predict", json={"rows": [rows[(k * 5 + i) % 20]]})
                if r.status_code != 200:
                    errors.append(r.text)
                    continue
                pid = r.json()["prediction_ids"][0]
                f = c.post("/v1/feedback", json={"items": [{"prediction_id": pid, "label": "yes"}]})
                if f.status_code == 200:
                    acknowledged.append(pid)
                else:
                    errors.append(f.text)

    def operator() -> None:
        with httpx.Client(base_url=base, timeout=120) as c:
            for _ in range(2):
                r = c.post("/v1/evolve")
                if r.status_code != 200:
                    errors.append(r.text)

    threads = [threading.Thread(target=user, args=(k,)) for k in range(4)]
    threads.append(threading.Thread(target=operator))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    deadline = time.monotonic() + 20  # shadow answers are written after each response is sent
    while project.store.counts()["shadow"] - before["shadow"] < 60 and time.monotonic() < deadline:
        time.sleep(0.1)
    after = project.store.counts()
    assert errors == []
    assert len(acknowledged) == 60
    assert after["predictions"] - before["predictions"] == 60
    assert after["feedback"] - before["feedback"] == 60
    assert after["shadow"] - before["shadow"] == 60
    stored = set(project.store.labelled()["prediction_id"])
    assert set(acknowledged) <= stored
