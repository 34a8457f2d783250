"""What the server shows about itself: the documentation (``/docs``, ``/redoc``, ``/openapi.json``) needs a
key while the server has keys (any role) and is open on a keyless, localhost-only server; ``/v1/status``
shows no absolute path of the server's files."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.serve import create_app

DOCS = ("/openapi.json", "/docs", "/redoc")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=150), "b": rng.choice(["u", "v"], 150)})
    frame["y"] = np.where(frame["a"] > 0, "yes", "no")
    project = Project(tmp_path_factory.mktemp("exposure") / "p")
    project.fit(frame, "predict y, in 2 seconds", learners=["linear"], report=False)
    return project


def test_docs_are_open_on_a_keyless_server(tmp_path):
    client = TestClient(create_app(Project(tmp_path / "p")))
    for path in DOCS:
        assert client.get(path).status_code == 200, path
    assert client.get("/openapi.json").json()["info"]["title"] == "Lamarck"
    assert "swagger" in client.get("/docs").text.lower() and "redoc" in client.get("/redoc").text.lower()


def test_docs_need_a_key_of_any_role_once_the_server_has_keys(tmp_path):
    project = Project(tmp_path / "p")
    keys = [project.store.create_key(role) for role in ("predict", "feedback", "admin")]
    client = TestClient(create_app(project))
    for path in DOCS:
        for headers in ({}, {"X-API-Key": "garbage"}, {"Authorization": "Bearer "}):
            r = client.get(path, headers=headers)
            assert r.status_code == 401 and "API key" in r.json()["detail"], (path, headers)
        for key in keys:
            assert client.get(path, headers={"X-API-Key": key}).status_code == 200, path
            assert client.get(path, headers={"Authorization": f"Bearer {key}"}).status_code == 200, path


def test_status_shows_no_absolute_path(project):
    client = TestClient(create_app(project))
    client.post("/v1/predict", json={"rows": [{"a": 0.1, "b": "u"}]})
    r = client.get("/v1/status")
    assert r.status_code == 200
    info = r.json()
    assert info["project"] == "p" and info["champion"]["version"] == "1"
    root = str(project.path.resolve())
    assert root not in r.text and str(project.path.resolve().parent) not in r.text
    # no absolute POSIX path of this machine anywhere in the body (URLs such as sqlite:/// included)
    leaks = [m for m in re.findall(r"(?<![\w.<>])/(?:[\w.@+-]+/)+[\w.@+-]*", r.text)]
    assert leaks == [], leaks


def test_a_404_shows_no_absolute_path(project):
    r = TestClient(create_app(project)).post("/v1/models/99/promote")
    assert r.status_code == 404 and str(project.path.resolve()) not in r.text
