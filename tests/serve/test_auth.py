"""Auth fails closed: the route x credential matrix, before and after the last key is revoked."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.serve import Auth, bind_host, create_app

# (method, path, body, roles that may call it; None: anyone, even without a key)
ROUTES = [
    ("GET", "/healthz", None, None),
    ("POST", "/v1/predict", {"rows": [{"a": 1}]}, {"predict", "admin"}),
    ("POST", "/v1/feedback", {"rows": [{"a": 1, "y": "n"}], "label_column": "y"}, {"feedback", "admin"}),
    ("GET", "/v1/status", None, {"predict", "feedback", "admin"}),
    ("GET", "/v1/models", None, {"predict", "feedback", "admin"}),
    ("POST", "/v1/models/1/promote", None, {"admin"}),
    ("POST", "/v1/rollback", None, {"admin"}),
    ("POST", "/v1/evolve", None, {"admin"}),
    ("GET", "/v1/suggest-labels", None, {"predict", "feedback", "admin"}),
    ("GET", "/metrics", None, {"predict", "feedback", "admin"}),
    ("GET", "/v1/stream/status", None, {"predict", "feedback", "admin"}),
    # the API's own documentation: any valid key while the server has keys, open on a keyless server
    ("GET", "/openapi.json", None, {"predict", "feedback", "admin"}),
    ("GET", "/docs", None, {"predict", "feedback", "admin"}),
    ("GET", "/redoc", None, {"predict", "feedback", "admin"}),
]


def _call(client, method, path, body, headers):
    return client.request(method, path, json=body, headers=headers)


def _check_matrix(client, creds: dict[str, tuple[dict[str, str], str | None]]) -> list[str]:
    """Every (route, credential) pair whose answer breaks the rule; ``creds`` maps a name to
    (headers, role or None for a caller that must be refused)."""
    violations = []
    for method, path, body, roles in ROUTES:
        for name, (headers, role) in creds.items():
            code = _call(client, method, path, body, headers).status_code
            allowed = roles is None or (role is not None and role in roles)
            if allowed and code in (401, 403):
                violations.append(f"{method} {path} with {name}: refused ({code})")
            if not allowed and code not in (401, 403):
                violations.append(f"{method} {path} with {name}: answered {code}")
    return violations


@pytest.mark.slow
def test_open_server_without_keys_lets_local_callers_in(tmp_path):
    client = TestClient(create_app(Project(tmp_path / "p")))
    assert _check_matrix(client, {"no key": ({}, "admin"), "garbage": ({"X-API-Key": "x"}, "admin")}) == []


@pytest.mark.slow
def test_matrix_holds_and_revoking_the_last_key_fails_closed(tmp_path):
    project = Project(tmp_path / "p")
    keys = {role: project.store.create_key(role) for role in ("predict", "feedback", "admin")}
    client = TestClient(create_app(project))
    creds = {
        "no key": ({}, None),
        "garbage": ({"X-API-Key": "garbage"}, None),
        "empty bearer": ({"Authorization": "Bearer "}, None),
        **{f"{r} (X-API-Key)": ({"X-API-Key": k}, r) for r, k in keys.items()},
        **{f"{r} (Bearer)": ({"Authorization": f"Bearer {k}"}, r) for r, k in keys.items()},
    }
    assert _check_matrix(client, creds) == []
    for row in project.store.api_keys():  # revoke every key while the server runs
        project.store.revoke_key(row["id"])
    assert not project.store.has_keys()
    revoked = {name: (headers, None) for name, (headers, _) in creds.items()}
    assert _check_matrix(client, revoked) == []


def test_a_key_created_while_serving_open_closes_the_server(tmp_path):
    project = Project(tmp_path / "p")
    client = TestClient(create_app(project))
    assert client.get("/v1/models").status_code == 200
    key = project.store.create_key("admin")
    time.sleep(1.1)  # an open server asks the store again at most once a second
    assert client.get("/v1/models").status_code == 401
    assert client.get("/v1/models", headers={"X-API-Key": key}).status_code == 200


@pytest.mark.slow
def test_revocation_on_a_live_server_refuses_everyone(tmp_path, live_server):
    project = Project(tmp_path / "p")
    key = project.store.create_key("admin")
    base = live_server(create_app(project))
    # the first call loads MLflow: about 9 s on a busy machine, near the old 10 s timeout
    with httpx.Client(base_url=base, timeout=60) as http:
        assert http.post("/v1/rollback", headers={"X-API-Key": key}).status_code != 401
        project.store.revoke_key(1)
        for headers in ({}, {"X-API-Key": key}, {"X-API-Key": "garbage"}):
            for method, path in (("POST", "/v1/rollback"), ("POST", "/v1/evolve"), ("GET", "/v1/status")):
                assert http.request(method, path, headers=headers).status_code == 401
        assert http.get("/healthz").status_code == 200


def test_a_forced_open_mode_cannot_override_existing_keys(tmp_path):
    project = Project(tmp_path / "p")
    project.store.create_key("predict")
    auth = Auth(project.store, mode="open")
    assert auth.mode == "keys" and auth.role(None) is None


@pytest.mark.parametrize(
    ("host", "mode", "bound"),
    [
        ("0.0.0.0", "open", "127.0.0.1"),
        ("192.168.1.5", "open", "127.0.0.1"),
        ("localhost", "open", "localhost"),
        ("::1", "open", "::1"),
        ("0.0.0.0", "keys", "0.0.0.0"),
    ],
)
def test_a_server_without_keys_binds_locally_only(host, mode, bound):
    assert bind_host(host, mode=mode) == bound


def test_the_role_is_one_dependency_that_a_test_can_replace(tmp_path):
    from lamarck.serve._deps import caller_role

    project = Project(tmp_path / "p")
    project.store.create_key("admin")
    app = create_app(project)
    app.dependency_overrides[caller_role] = lambda: "predict"
    client = TestClient(app)
    assert client.get("/v1/models").status_code == 200  # no key sent: the override answered
    assert client.post("/v1/rollback").status_code == 403
    assert client.get("/v1/stream/status").status_code == 503  # the stream router shares it
