"""schemathesis against the app's own ``/openapi.json``, in this process (ASGI), with an admin key and a
small fitted project: a bounded number of generated requests per route (valid and invalid ones), each
answer checked by schemathesis's checks for a server (no 5xx), for the declared status codes, for the
declared content type and for the declared body schema. 0 server errors, 0 schema violations."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lamarck import Project
from lamarck.serve import create_app
from lamarck.stream import StreamLearner, stream_project

#: generated requests per operation (LAMARCK_FUZZ_EXAMPLES=500 for a deeper run by hand)
EXAMPLES = int(os.environ.get("LAMARCK_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A fitted project with a stream learner and an admin key, and its app."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=150), "b": rng.choice(["u", "v", "w"], 150)})
    frame["y"] = np.where(frame["a"] + (frame["b"] == "u") > 0.3, "yes", "no")
    project = Project(tmp_path_factory.mktemp("schemathesis") / "p")
    project.fit(frame, "predict y, in 2 seconds", learners=["linear"], report=False)
    frame.to_csv(project.path / "events.csv", index=False)  # and a stream learner, so no route answers 503
    learner = StreamLearner(population=2, hybrid=False, replace_every=100, seed=0)
    stream_project(project, str(project.path / "events.csv"), "predict y", learner=learner)
    key = project.store.create_key("admin")
    app = create_app(project)
    client_rows = frame.drop(columns="y").head(5).to_dict("records")
    return app, key, client_rows


def _document() -> dict:
    """The app's OpenAPI document (the same for every project and key: the routes are static), built at
    import so that pytest can list one test per operation; the test checks the served one is equal."""
    with tempfile.TemporaryDirectory() as folder:
        return create_app(Project(folder)).openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_served_document_is_the_one_tested(keyed):
    app, key, _ = keyed
    with TestClient(app) as client:
        assert client.get("/openapi.json", headers={"X-API-Key": key}).json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_answers_as_its_document_says(case, keyed):
    app, key, _ = keyed
    case.call_and_validate(app=app, headers={"X-API-Key": key}, checks=CHECKS)
