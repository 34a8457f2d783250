"""The total request body limit (setting ``max_request_bytes``): a larger body gets a 413 JSON answer
before it is parsed, whether it declares its ``Content-Length`` or arrives in chunks without one; nothing
of it is logged, and the server goes on answering."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.serve import create_app
from lamarck.settings import Settings

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=150), "b": rng.choice(["u", "v"], 150)})
    frame["y"] = np.where(frame["a"] > 0, "yes", "no")
    root = tmp_path_factory.mktemp("body-limit")
    project = Project(root, settings=Settings(project_dir=root, max_request_bytes=LIMIT))
    project.fit(frame, "predict y, in 2 seconds", learners=["linear"], report=False)
    return project, create_app(project)


def body(n_rows: int) -> bytes:
    return json.dumps({"rows": [{"a": 0.5, "b": "u"}] * n_rows}).encode()


def chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def assert_refused(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    detail = r.json()["detail"]
    assert "max_request_bytes" in detail and str(LIMIT) in detail and len(r.text) < 1000


def test_the_default_limit_is_8_mib():
    assert Settings(project_dir="/tmp/x").max_request_bytes == 8 * 1024 * 1024


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(served):
    project, app = served
    client = TestClient(app)
    before = project.store.counts()
    big = body(3000)
    assert len(big) > LIMIT
    assert_refused(client.post("/v1/predict", content=big, headers={"content-type": "application/json"}))
    # chunked: no Content-Length, counted as it arrives
    r = client.post("/v1/predict", content=chunks(big), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
    assert_refused(r)
    # not JSON at all, on a route that takes no body: refused all the same, before anything runs
    assert_refused(client.post("/v1/evolve", content=b"x" * (LIMIT + 1)))
    assert project.store.counts() == before  # nothing logged, nothing quarantined
    ok = client.post("/v1/predict", content=chunks(body(10)), headers={"content-type": "application/json"})
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == 10


def test_at_the_limit_is_still_accepted(served):
    _, app = served
    client = TestClient(app)
    exact = body(10)
    exact = exact[:-1] + b" " * (LIMIT - len(exact)) + b"}"
    assert len(exact) == LIMIT
    assert (
        client.post("/v1/predict", content=exact, headers={"content-type": "application/json"}).status_code
        == 200
    )


@pytest.mark.slow
def test_a_live_server_refuses_both_and_keeps_serving(served, live_server):
    _, app = served
    base = live_server(app)
    big = body(3000)
    with httpx.Client(base_url=base, timeout=60) as http:
        assert_refused(http.post("/v1/predict", content=big, headers={"content-type": "application/json"}))
        assert_refused(
            http.post("/v1/predict", content=chunks(big), headers={"content-type": "application/json"})
        )
        assert (
            http.post(
                "/v1/predict", content=body(3), headers={"content-type": "application/json"}
            ).status_code
            == 200
        )
    # a raw chunked request that never ends: the answer comes once the limit is passed
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        piece = b"[" * 1000
        for _ in range(LIMIT // 1000 + 2):
            s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        answer = s.recv(4096)
        while b"\r\n\r\n" in answer and answer.endswith(b"\r\n\r\n"):  # the body may come in its own segment
            more = s.recv(4096)
            if not more:
                break
            answer += more
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"max_request_bytes" in answer
