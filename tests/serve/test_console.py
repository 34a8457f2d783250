"""The console at /ui through the app (no browser): pages, figures behind the charts, keys and roles,
the label queue's path into the store, admin actions with their reason, and no key material anywhere."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.report import points, timeline_chart
from lamarck.serve import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evolve"))
from test_policy import make

pytestmark = pytest.mark.slow  # a real fit (the module fixture)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A project with two versions, predictions in five bursts and labels for most of them."""
    project = Project(tmp_path_factory.mktemp("console") / "proj")
    project.fit(make(1500, seed=0), "predict the label", time_budget_s=4, learners=["lightgbm"])
    project.fit(make(1500, seed=9), "predict the label", time_budget_s=4, learners=["lightgbm"], report=False)
    client = TestClient(create_app(project))
    for k in range(5):
        rows = make(60, seed=k + 1)
        answer = client.post(
            "/v1/predict", json={"rows": rows.drop(columns=["label"]).to_dict("records")}
        ).json()
        items = [
            {"prediction_id": i, "label": y}
            for i, y in zip(answer["prediction_ids"][:40], rows["label"][:40], strict=True)
        ]
        assert client.post("/v1/feedback", json={"items": items}).json() == {"accepted": 40}
        time.sleep(0.2)
    return project


@pytest.fixture()
def keyed(served):
    """``keyed(role) -> (client, key)``: a key of ``role`` and a client signed in with it (redirects not
    followed); every key is revoked when the test ends, so the next test finds an open server."""

    def sign_in(role: str) -> tuple[TestClient, str]:
        key = served.store.create_key(role)
        client = TestClient(create_app(served), follow_redirects=False)
        assert client.post("/ui/login", data={"key": key}).status_code == 303
        return client, key

    yield sign_in
    for k in served.store.api_keys():
        served.store.revoke_key(k["id"])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def test_every_page_renders_on_an_open_server(served):
    client = TestClient(create_app(served))
    pages = {
        "/ui": ['id="champion"', 'id="decisions"', 'id="act-rollback"', "v2"],
        "/ui/timeline": ['id="series-served"', 'id="chart-drift"'],
        "/ui/lineage": ['id="version-1"', 'id="version-2"', 'class="report-link"', 'id="promote-1"'],
        "/ui/labels": ['class="label-form"', "confidence"],
        "/ui/confirm?action=evolve": ['name="reason"', 'id="confirm"'],
    }
    for path, needles in pages.items():
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Content-Security-Policy" in page.headers and page.headers["Cache-Control"] == "no-store"
        for needle in needles:
            assert needle in page.text, (path, needle)
    report = re.search(r'href="(/ui/reports/fit-[^"]+-v1\.html)"', client.get("/ui/lineage").text)
    assert report and client.get(report.group(1)).status_code == 200
    assert client.get("/ui/reports/..%2Fevents.db").status_code == 404
    assert client.get("/ui/static/console.css").status_code == 200


def test_the_accuracy_chart_has_one_point_per_period_with_labels(served):
    client = TestClient(create_app(served))
    data = client.get("/ui/api/timeline").json()["accuracy"]
    # the same periods, counted independently: 24 equal spans of prediction time, the empty ones left out
    rows = served.store.outcomes()
    seconds = pd.to_datetime(rows["ts"], utc=True).astype("int64").to_numpy() / 1e9
    counts, _ = np.histogram(seconds, bins=24, range=(seconds.min(), seconds.max()))
    assert data["labels"] == [int(c) for c in counts if c]
    assert sum(data["labels"]) == 200
    right = [(str(p) == str(y)) for p, y in zip(rows["prediction"], rows["label"], strict=True)]
    assert np.isclose(np.average(data["served"], weights=data["labels"]), np.mean(right), atol=1e-3)
    page = client.get("/ui/timeline").text
    svg = page[page.index("<svg") : page.index("</svg>", page.index('id="series-served"')) + 6]
    assert points(svg, "served") == len(data["periods"]) == len(counts[counts > 0])


def test_charts_leave_out_periods_without_a_value():
    t0 = pd.Timestamp("2026-01-01").to_pydatetime()
    times = [t0 + pd.Timedelta(hours=h) for h in range(4)]
    svg = timeline_chart(
        times, {"served": [0.9, None, 0.8, 0.7], "v3 in the shadow": [None, None, 0.85, None]}
    )
    assert points(svg, "served") == 3 and points(svg, "v3 in the shadow") == 1 and points(svg, "absent") == 0


def test_keys_roles_and_sessions(served):
    keys = {role: served.store.create_key(role) for role in ("predict", "feedback", "admin")}
    try:
        client = TestClient(create_app(served), follow_redirects=False)
        first = client.get("/ui/lineage")
        assert first.status_code == 303 and first.headers["location"].startswith("/ui/login?next=")
        assert client.post("/ui/login", data={"key": "lmk_wrong"}).status_code == 401
        signed = client.post("/ui/login", data={"key": keys["predict"], "next": "/ui/lineage"})
        assert signed.status_code == 303 and signed.headers["location"] == "/ui/lineage"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
        assert keys["predict"] not in cookie
        page = client.get("/ui/labels")
        assert page.status_code == 200 and "a feedback or admin key may label" in page.text
        assert 'id="act-rollback"' not in client.get("/ui").text  # a predict key sees, no more
        # an open redirect is refused: after signing in, only console pages
        away = client.post("/ui/login", data={"key": keys["predict"], "next": "https://evil.example/"})
        assert away.headers["location"] == "/ui"
        for text in (page.text, str(page.headers)):
            assert not any(k in text for k in keys.values())
    finally:
        for key in served.store.api_keys():
            served.store.revoke_key(key["id"])


def test_label_queue_writes_feedback_and_moves_on(served, keyed):
    client, _ = keyed("feedback")
    page = client.get("/ui/labels").text
    first = re.search(r'name="prediction_id" value="([^"]+)"', page).group(1)
    before = served.store.counts()["feedback"]
    assert (
        client.post("/ui/labels", data={"prediction_id": first, "label": "yes"}).status_code == 403
    )  # no CSRF
    saved = client.post("/ui/labels", data={"prediction_id": first, "label": "yes", "csrf": _csrf(page)})
    assert saved.status_code == 303
    assert served.store.counts()["feedback"] == before + 1  # durable before the page says so
    after = client.get(saved.headers["location"]).text
    assert "Saved the label of prediction" in after and f'value="{first}"' not in after
    wrong = client.post("/ui/labels", data={"prediction_id": first, "label": "maybe", "csrf": _csrf(after)})
    assert wrong.status_code == 422 and "Not saved" in wrong.text  # quarantined with its reason, said
    denied = client.post("/ui/actions/rollback", data={"reason": "try", "csrf": _csrf(after)})
    assert denied.status_code == 403 and "admin" in denied.text
    assert served.registry.alias_version("champion") == "2"


def test_admin_actions_record_their_reason(served, keyed):
    client, _ = keyed("admin")
    page = client.get("/ui/confirm?action=rollback").text
    assert client.post("/ui/actions/rollback", data={"reason": " ", "csrf": _csrf(page)}).status_code == 422
    done = client.post("/ui/actions/rollback", data={"reason": "v2 looks worse", "csrf": _csrf(page)})
    assert done.status_code == 303 and served.registry.alias_version("champion") == "1"
    last = served.store.decisions(limit=1)[0]
    assert (
        last["kind"] == "rollback" and "v2 looks worse" in last["reason"] and "admin key #" in last["reason"]
    )
    assert "Rolled back" in client.get("/ui?done=rollback").text
    missing = client.post("/ui/actions/promote", data={"version": "99", "reason": "x", "csrf": _csrf(page)})
    assert missing.status_code == 404 and "Traceback" not in missing.text
    back = client.post("/ui/actions/promote", data={"version": "2", "reason": "undo", "csrf": _csrf(page)})
    assert back.status_code == 303 and served.registry.alias_version("champion") == "2"
    served.store.revoke_key(served.store.api_keys()[-1]["id"])
    assert client.get("/ui").status_code == 303  # a revoked key's session ends at once


def test_lamarck_ui_serves_the_console_without_predictions(served, serve_process):
    import httpx

    _, base = serve_process(served, "--no-open", command="ui")
    assert httpx.get(f"{base}/ui").status_code == 200
    assert httpx.post(f"{base}/v1/predict", json={"rows": [{"x0": 1.0}]}).status_code == 404


@pytest.mark.parametrize("n", [3])
def test_without_probabilities_the_queue_shows_the_newest_unlabelled(tmp_path, n):
    from lamarck.serve._console import label_queue

    project = Project(tmp_path / "p")
    ids = project.store.log_predictions(
        [{"x": float(i)} for i in range(5)], predictions=[1.5] * 5, model_version="1"
    )
    project.store.add_feedback([{"prediction_id": ids[0], "label": 2.0}])
    queue = label_queue(project, n=n)
    assert len(queue) == n and ids[0] not in {r["prediction_id"] for r in queue}
    assert all(r["uncertainty"] is None and r["inputs"].keys() == {"x"} for r in queue)
