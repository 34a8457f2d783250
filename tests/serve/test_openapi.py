"""The HTTP API did not change when the routes moved into routers: paths, methods, parameters, request
bodies and success answers are compared with a snapshot taken from the app before the move
(``openapi_routes.json``); the error answers each route declares are checked against what it gives.

Regenerate the snapshot only for a deliberate API change:
``python tests/serve/test_openapi.py > tests/serve/openapi_routes.json``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_auth import ROUTES

from lamarck import Project
from lamarck.serve import create_app
from lamarck.serve._errors import ErrorBody

SNAPSHOT = Path(__file__).with_name("openapi_routes.json")
#: the documentation's own routes, not part of the document
DOCS = {"/openapi.json", "/docs", "/redoc"}


def surface(spec: dict[str, Any]) -> dict[str, Any]:
    """What a client depends on: per ``METHOD path``, the operation id, parameters, request body and the
    200 answer; and the schemas those refer to. Error answers, tags and descriptions are left out."""
    operations = {
        f"{method.upper()} {path}": {
            "operationId": op["operationId"],
            "parameters": op.get("parameters", []),
            "requestBody": op.get("requestBody"),
            "200": op["responses"]["200"],
        }
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }
    schemas = spec.get("components", {}).get("schemas", {})
    used = set()
    todo = [json.dumps(operations)]
    while todo:
        text = todo.pop()
        for name in schemas:
            if f'"#/components/schemas/{name}"' in text and name not in used:
                used.add(name)
                todo.append(json.dumps(schemas[name]))
    return {"operations": operations, "schemas": {n: schemas[n] for n in sorted(used)}}


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict[str, Any]:
    return create_app(Project(tmp_path_factory.mktemp("openapi"))).openapi()


def test_the_api_surface_is_the_snapshot(spec):
    assert surface(spec) == json.loads(SNAPSHOT.read_text())


def test_the_documentation_routes_are_not_in_the_document(spec):
    assert not DOCS & set(spec["paths"])


def test_every_reference_in_the_document_resolves(spec):
    text = json.dumps(spec)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert refs and refs <= set(spec["components"]["schemas"])


def test_every_error_a_route_gives_is_declared(tmp_path):
    """Each route of the auth matrix, called without a champion or a stream learner, open and then keyed
    (no key, and a key of each role), answers only codes its OpenAPI entry declares; the error bodies
    but 422's are ``ErrorBody``s."""
    project = Project(tmp_path / "p")
    open_client = TestClient(create_app(project))
    spec = open_client.get("/openapi.json").json()
    calls = [(open_client, {})]
    keys = [project.store.create_key(role) for role in ("predict", "feedback", "admin")]
    keyed = TestClient(create_app(project))
    calls += [(keyed, {}), *((keyed, {"X-API-Key": k}) for k in keys)]
    undeclared = []
    for method, path, body, _ in ROUTES:
        if path in DOCS:
            continue
        declared = spec["paths"][path.replace("/1/", "/{version}/")][method.lower()]["responses"]
        for client, headers in calls:
            r = client.request(method, path, json=body, headers=headers)
            if str(r.status_code) not in declared:
                undeclared.append(f"{method} {path}: {r.status_code}")
            elif r.status_code >= 400 and r.status_code != 422:
                ErrorBody.model_validate(r.json())
    assert undeclared == []


if __name__ == "__main__":
    import tempfile

    app = create_app(Project(tempfile.mkdtemp()))
    json.dump(surface(app.openapi()), sys.stdout, indent=1, sort_keys=True)
    print()
