"""The HTTP API did not change when the routes moved into routers: paths, methods, parameters, request
bodies and success answers are compared with a snapshot taken from the app before the move
(``openapi_routes.json``); the error answers each route declares are checked against what it gives.

Regenerate the snapshot only for a deliberate API change:
``python tests/serve/test_openapi.py > tests/serve/openapi_routes.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from lamarck import Project
from lamarck.serve import create_app

SNAPSHOT = Path(__file__).with_name("openapi_routes.json")


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


if __name__ == "__main__":
    import tempfile

    app = create_app(Project(tempfile.mkdtemp()))
    json.dump(surface(app.openapi()), sys.stdout, indent=1, sort_keys=True)
    print()
