"""The console as a person uses it, in real headless Chromium (Debian's ``chromium``, driven by Playwright):
a project that went through the loop demo (elec2, seven weeks), served with API keys on 127.0.0.1.

Each page opens without a console error; the accuracy chart draws one point per period that the
figures behind it have; a feedback key labels three rows and sees the feedback count and the queue
change; a feedback key cannot promote; an admin rolls back and the overview shows it. A screenshot of
each page is written to ``$LAMARCK_SCREENSHOTS`` (``docs/console`` when refreshing the README's pictures),
else to the test's own folder.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import httpx
import pandas as pd
import pytest

from lamarck import Project
from lamarck.bench import SharedFileMissingError, elec2_csv
from lamarck.serve import create_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
WEEK = 336


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("Debian's chromium is not installed (make browser installs it; .ci/run does)")
    return found


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    """The loop demo's project after eight weeks of fit and seven streamed (about half a minute here)."""
    try:
        elec2_csv()
    except SharedFileMissingError as exc:
        pytest.skip(str(exc))
    spec = importlib.util.spec_from_file_location("loop_demo", ROOT / "examples" / "loop_demo.py")
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    folder = tmp_path_factory.mktemp("loop-demo")
    cwd = Path.cwd()
    os.chdir(folder)  # the demo writes demo-output/loop/ under the working folder
    try:
        assert demo.run(15 * WEEK) == 0
    finally:
        os.chdir(cwd)
    return Project.existing(folder / "demo-output" / "loop" / "project")


@pytest.fixture()
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("LAMARCK_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page, base: str, key: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("#key", key)
    page.click("#sign-in")
    page.wait_for_url(f"{base}/ui")


def test_a_person_watches_labels_and_acts(demo_project, live_server, shots):
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    project = demo_project
    feedback_key = project.store.create_key("feedback", name="labelling team")
    admin_key = project.store.create_key("admin", name="on call")
    base = live_server(create_app(project))
    # traffic whose labels have not arrived yet: the label queue's rows
    rows = pd.read_csv(elec2_csv()).iloc[15 * WEEK : 15 * WEEK + 20].drop(columns=["class"])
    answer = httpx.post(
        f"{base}/v1/predict", json={"rows": rows.to_dict("records")}, headers={"X-API-Key": admin_key}
    )
    assert answer.status_code == 200
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(f"{base}/ui")  # no session: the sign-in page, which takes the key in a form
        assert page.url.startswith(f"{base}/ui/login")
        page.screenshot(path=str(shots / "login.png"))
        _sign_in(page, base, feedback_key)
        assert "feedback key #" in page.inner_text("#caller")

        # every page, without a console error
        for path, name in [("/ui", "overview"), ("/ui/timeline", "timeline"), ("/ui/lineage", "lineage")]:
            page.goto(base + path)
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        # the accuracy chart: one point per period of the figures behind it
        figures = page.request.get(f"{base}/ui/api/timeline").json()["accuracy"]
        page.goto(f"{base}/ui/timeline")
        served = [v for v in figures["served"] if v is not None]
        assert len(served) >= 5  # seven streamed weeks
        assert page.locator("#series-served use").count() == len(served)
        for name, values in figures["shadow"].items():
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            assert page.locator(f"#series-{slug} use").count() == sum(v is not None for v in values)
        assert page.locator("#chart-drift svg").count() == 1

        # a feedback key cannot promote: no button, and the action itself is refused
        page.goto(f"{base}/ui/lineage")
        assert page.locator("a[id^=promote-]").count() == 0
        page.goto(f"{base}/ui")
        assert page.locator("#act-rollback").count() == 0
        champion = project.registry.alias_version("champion")
        page.goto(f"{base}/ui/labels")
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        refused = page.request.post(
            f"{base}/ui/actions/promote",
            form={"version": "2" if champion != "2" else "1", "reason": "not mine to do", "csrf": csrf or ""},
        )
        assert refused.status == 403 and project.registry.alias_version("champion") == champion

        # label three rows: the feedback count and the queue move
        page.goto(f"{base}/ui")
        count = int(page.inner_text("#count-feedback"))
        page.goto(f"{base}/ui/labels")
        page.screenshot(path=str(shots / "labels.png"), full_page=True)
        labelled = []
        for _ in range(3):
            form = page.locator("form.label-form").first
            labelled.append(form.locator("input[name=prediction_id]").get_attribute("value"))
            form.locator("button").click()
            page.wait_for_selector("#flash")
            assert "Saved the label of prediction" in page.inner_text("#flash")
        queue = page.locator("form.label-form input[name=prediction_id]").evaluate_all(
            "(xs) => xs.map(x => x.value)"
        )
        assert not set(labelled) & set(queue) and len(set(labelled)) == 3
        page.goto(f"{base}/ui")
        assert int(page.inner_text("#count-feedback")) == count + 3

        # an admin rolls back, with a reason, and the overview shows it
        page.click("text=Sign out")
        _sign_in(page, base, admin_key)
        page.click("#act-rollback")
        page.screenshot(path=str(shots / "confirm.png"))
        page.fill("#reason", "the drift chart says the new version is off")
        page.click("#confirm")
        page.wait_for_url(re.compile(r".*/ui\?done=rollback"))
        after = project.registry.alias_version("champion")
        assert after != champion
        assert page.inner_text("#champion .figure") == f"v{after}"
        first = page.locator("#decisions tr.decision").first.inner_text()
        assert "rollback" in first and "the drift chart says the new version is off" in first
        page.screenshot(path=str(shots / "overview-after-rollback.png"), full_page=True)
        browser.close()
    assert errors == []
    # no key material in what the server logged or answered to the browser's requests
    status = httpx.get(f"{base}/v1/status", headers={"X-API-Key": admin_key}).text
    assert feedback_key not in status and admin_key not in status
