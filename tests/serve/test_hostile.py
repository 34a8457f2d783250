"""Hostile payloads (issue 20): every one answers 4xx with a JSON body that does not echo it, never 500,
and the next request on the same client still works. Non-finite numbers, deep nesting, oversized rows,
strings and column names, feedback weights that are not finite, input columns named like the columns
that ``/v1/suggest-labels`` adds, and 404s that would show the store's absolute path."""

import json
import re
import threading
import time

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.serve import create_app
from lamarck.serve._errors import without_paths
from lamarck.settings import Settings

LIMITS = {"max_rows_per_request": 50, "max_value_bytes": 1000, "max_column_name_bytes": 64, "max_depth": 8}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v", "w"], n)})
    frame["y"] = np.where(frame["a"] + (frame["b"] == "u") > 0.3, "yes", "no")
    root = tmp_path_factory.mktemp("hostile")
    project = Project(root, settings=Settings(project_dir=root, **LIMITS))
    project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False)
    return project, TestClient(create_app(project), raise_server_exceptions=False)


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


GOOD = '{"rows": [{"a": 0.5, "b": "u"}]}'

#: (name, route, raw JSON body, expected status)
CORPUS = [
    ("inf", "/v1/predict", '{"rows": [{"a": Infinity, "b": "u"}]}', 422),
    ("-inf", "/v1/predict", '{"rows": [{"a": -Infinity, "b": "u"}]}', 422),
    ("1e999", "/v1/predict", '{"rows": [{"a": 1e999, "b": "u"}]}', 422),
    ("inf-2nd-row", "/v1/predict", '{"rows": [{"a": 1, "b": "u"}, {"a": 1, "b": [Infinity]}]}', 422),
    ("deep-900", "/v1/predict", '{"rows": [{"a": 1, "b": ' + nested(900) + "}]}", 422),
    (
        "deep-limit+1",
        "/v1/predict",
        '{"rows": [{"a": 1, "b": ' + nested(LIMITS["max_depth"] + 1) + "}]}",
        422,
    ),
    ("deep-limit", "/v1/predict", '{"rows": [{"a": 1, "b": ' + nested(LIMITS["max_depth"]) + "}]}", 200),
    ("deep-dict", "/v1/predict", '{"rows": [{"a": 1, "b": ' + '{"k": ' * 50 + "1" + "}" * 50 + "}]}", 422),
    ("too-many-rows", "/v1/predict", json.dumps({"rows": [{"a": 1, "b": "u"}] * 51}), 413),
    ("long-value", "/v1/predict", json.dumps({"rows": [{"a": 1, "b": "x" * 1001}]}), 413),
    ("long-nested-value", "/v1/predict", json.dumps({"rows": [{"a": 1, "b": ["é" * 501]}]}), 413),
    ("long-column", "/v1/predict", json.dumps({"rows": [{"a": 1, "b": "u", "c" * 65: 1}]}), 413),
    ("weight-nan", "/v1/feedback", '{"items": [{"prediction_id": "x", "label": "yes", "weight": NaN}]}', 422),
    (
        "weight-inf",
        "/v1/feedback",
        '{"items": [{"prediction_id": "x", "label": "yes", "weight": Infinity}]}',
        422,
    ),
    (
        "rows-weight-nan",
        "/v1/feedback",
        '{"rows": [{"a": 1, "y": "no"}], "label_column": "y", "weight": NaN}',
        422,
    ),
    ("feedback-row-inf", "/v1/feedback", '{"rows": [{"a": Infinity, "y": "no"}], "label_column": "y"}', 422),
    (
        "feedback-label-deep",
        "/v1/feedback",
        '{"items": [{"prediction_id": "x", "label": ' + nested(900) + "}]}",
        422,
    ),
    (
        "feedback-too-many",
        "/v1/feedback",
        json.dumps({"rows": [{"a": 1, "y": "no"}] * 51, "label_column": "y"}),
        413,
    ),
    ("stream-inf", "/v1/stream/predict", '{"rows": [{"a": Infinity}]}', 422),
    ("stream-deep", "/v1/stream/predict", '{"rows": [{"a": ' + nested(900) + "}]}", 422),
    (
        "stream-feedback-nan-weight",
        "/v1/stream/feedback",
        '{"items": [{"prediction_id": "x", "label": 1, "weight": NaN}]}',
        422,
    ),
    ("stream-too-many", "/v1/stream/predict", json.dumps({"rows": [{"a": 1}] * 51}), 413),
    ("huge-int", "/v1/predict", '{"rows": [{"a": 1' + "0" * 300 + ', "b": "u"}]}', 422),
    ("int64-edge", "/v1/predict", '{"rows": [{"a": 9223372036854775807, "b": "u"}]}', 200),
    ("lone-surrogate", "/v1/predict", '{"rows": [{"a": 1, "b": "\\ud800"}]}', 422),
    ("surrogate-column", "/v1/predict", '{"rows": [{"a": 1, "b": "u", "\\udfff": 1}]}', 422),
    ("surrogate-label", "/v1/feedback", '{"items": [{"prediction_id": "x", "label": "\\ud800"}]}', 422),
    ("empty-row", "/v1/predict", '{"rows": [{}]}', 422),
    (
        "long-prediction-id",
        "/v1/feedback",
        json.dumps({"items": [{"prediction_id": "x" * 1001, "label": 1}]}),
        413,
    ),
    ("long-label-column", "/v1/feedback", json.dumps({"rows": [{"a": 1}], "label_column": "q" * 65}), 413),
    ("bad-json", "/v1/predict", '{"rows": [', 422),
    ("not-object-rows", "/v1/predict", '{"rows": [1, 2]}', 422),
]


@pytest.mark.parametrize(("route", "body", "status"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_hostile_payload_is_a_clear_answer_and_the_client_goes_on(served, route, body, status):
    _, client = served
    r = client.post(route, content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text[:500]
    assert r.is_success or "detail" in r.json()
    assert len(r.content) < 5000  # the answer never echoes a large input
    assert "x" * 300 not in r.text and "[[[[[[[[[[" not in r.text
    after = client.post("/v1/predict", content=GOOD, headers={"content-type": "application/json"})
    assert after.status_code == 200


def test_refusals_name_the_row_and_column(served):
    _, client = served
    r = client.post(
        "/v1/predict",
        content='{"rows": [{"a": 1, "b": "u"}, {"a": Infinity, "b": "u"}]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert "rows[1]" in r.json()["detail"] and "'a'" in r.json()["detail"]
    r = client.post("/v1/predict", json={"rows": [{"a": 1, "b": "x" * 2000}]})
    assert r.status_code == 413 and "rows[0]" in r.json()["detail"] and "'b'" in r.json()["detail"]


def test_nan_in_a_row_is_a_missing_value(served):
    _, client = served
    for body in ('{"rows": [{"a": NaN, "b": "u"}]}', '{"rows": [{"a": 0.1, "b": NaN}]}'):
        r = client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        assert len(r.json()["predictions"]) == 1
    assert "missing" in client.get("/openapi.json").json()["paths"]["/v1/predict"]["post"]["description"]


def test_validation_errors_do_not_echo_their_input(served):
    _, client = served
    r = client.post("/v1/predict", json={"rows": "z" * 10_000})
    assert r.status_code == 422
    assert "z" * 300 not in r.text
    body = '{"items": [{"prediction_id": "x", "label": "y", "weight": NaN}]}'
    r = client.post("/v1/feedback", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "weight" in r.text


def test_limits_are_settings():
    s = Settings(project_dir="/tmp/x")
    assert (s.max_rows_per_request, s.max_value_bytes, s.max_column_name_bytes, s.max_depth) == (
        10_000,
        65_536,
        256,
        32,
    )


def test_input_columns_named_like_the_ranking_do_not_break_suggest_labels(served):
    _, client = served
    rows = [
        {"a": 0.2, "b": "u", name: 7} for name in ("score", "prediction_id", "prediction", "model_version")
    ]
    assert client.post("/v1/predict", json={"rows": rows}).status_code == 200
    r = client.get("/v1/suggest-labels", params={"n": 500})
    assert r.status_code == 200, r.text[:500]
    suggestions = r.json()["suggestions"]
    assert all(isinstance(s["score"], float) and len(s["prediction_id"]) == 36 for s in suggestions)
    assert any(s.get("input.score") == 7 for s in suggestions)
    assert any(s.get("input.prediction_id") == 7 for s in suggestions)
    # an input already named input.score keeps its name; the clashing score moves one step further
    assert client.post(
        "/v1/predict", json={"rows": [{"a": 0.3, "b": "v", "input.score": 1, "score": 2}]}
    ).is_success
    suggestions = client.get("/v1/suggest-labels", params={"n": 500}).json()["suggestions"]
    assert any(s.get("input.score") == 1 and s.get("input.input.score") == 2 for s in suggestions)
    assert client.post("/v1/predict", json=json.loads(GOOD)).status_code == 200


def test_404_does_not_reveal_absolute_paths(served):
    project, client = served
    for ref in ("99", "nope"):  # an alias that is not set names the registry, in the project
        r = client.post(f"/v1/models/{ref}/promote")
        assert r.status_code == 404 and r.json()["error"] == "ModelNotFoundError"
        assert str(project.path.resolve()) not in r.text
        assert not re.search(r"/(tmp|home|work|root|var|srv)/", r.text), r.text
    assert "<project>/mlflow.db" in r.json()["detail"]  # still says where to look
    assert client.post("/v1/predict", content=GOOD, headers={"content-type": "application/json"}).is_success


def test_messages_lose_paths_outside_the_project_but_keep_routes(tmp_path):
    message = f"files missing ({tmp_path}/a/model.pkl); see POST /v1/models/{{version}}/promote"
    assert without_paths(message) == "files missing (<path>); see POST /v1/models/{version}/promote"
    assert without_paths(f"in {tmp_path}/p/mlflow.db", tmp_path / "p") == "in <project>/mlflow.db"


@pytest.mark.slow
def test_a_live_keep_alive_connection_survives_hostile_payloads(served):
    """Over a real server (uvicorn) and one keep-alive connection: the 500s of issue 20 also reset the
    connection, so the request after them failed too."""
    project, _ = served
    server = uvicorn.Server(uvicorn.Config(create_app(project), host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            for name, route, body, status in CORPUS:
                if name.startswith(("inf", "1e999", "deep-900", "weight-nan", "lone")):
                    r = client.post(route, content=body, headers={"content-type": "application/json"})
                    assert r.status_code == status, (name, r.text[:300])
                    assert client.post(
                        "/v1/predict", content=GOOD, headers={"content-type": "application/json"}
                    ).is_success
    finally:
        server.should_exit = True
        thread.join(timeout=10)
