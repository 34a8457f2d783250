import shutil
from html.parser import HTMLParser

import numpy as np
import pytest

from lamarck.report import ReportData, render_report


def _data(task: str) -> ReportData:
    rng = np.random.default_rng(0)
    n = 200
    if task == "regression":
        y = rng.normal(size=n)
        pred, proba, classes = y + rng.normal(scale=0.3, size=n), None, None
        card = {
            "score": 0.3,
            "secondary": {"rmse": 0.3},
            "calibration": None,
            "robustness": 0.97,
            "latency": {"single_row_ms": 1.0},
            "size_bytes": 1234,
        }
    else:
        classes = ["no", "yes"] if task == "binary" else ["a", "b", "c"]
        idx = rng.integers(0, len(classes), n)
        y = np.asarray(classes)[idx]
        proba = rng.dirichlet(np.ones(len(classes)), n)
        proba[np.arange(n), idx] += 1
        proba /= proba.sum(axis=1, keepdims=True)
        pred = np.asarray(classes)[proba.argmax(axis=1)]
        card = {
            "score": 0.9,
            "secondary": {"accuracy": 0.8},
            "calibration": {
                "brier": 0.1,
                "ece": 0.05,
                "curve": [
                    {"predicted": 0.2, "observed": 0.25, "count": 5},
                    {"predicted": 0.8, "observed": 0.7, "count": 9},
                ],
            },
            "robustness": 0.95,
            "latency": {"single_row_ms": 1.0},
            "size_bytes": 1234,
        }
    return ReportData(
        title="Report <script>alert(1)</script>",
        created_at="2026-11-23",
        dataset="d.csv",
        n_rows=n,
        spec={
            "target": "y",
            "task": task,
            "metric": "roc_auc",
            "time_budget_s": 10,
            "exclude_columns": [],
            "positive_class": None,
            "sentence": "predict y",
            "reasons": {"target": {"source": "sentence", "text": "y"}},
        },
        leaderboard=[
            {
                "rank": 0,
                "learner": "ensemble",
                "score": 0.9,
                "fit_seconds": None,
                "source": "final",
                "params": {},
            },
            {
                "rank": 1,
                "learner": "lightgbm",
                "score": 0.88,
                "fit_seconds": 1.0,
                "source": "portfolio",
                "params": {"num_leaves": 31},
            },
        ],
        findings=[{"rule": "missing", "column": "x", "severity": "warning", "message": "12% missing"}],
        columns=[
            {
                "name": "x",
                "kind": "numeric",
                "role": "feature",
                "missing_rate": 0.12,
                "n_unique": 50,
                "reason": "numeric feature",
            }
        ],
        feature_importance={"x": 0.7, "z": 0.3},
        scorecard=card,
        y_true=y,
        y_pred=pred,
        proba=proba,
        classes=classes,
        task=task,
        history=[(1.0, 0.8), (3.0, 0.9)],
    )


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.ids += [v for k, v in attrs if k == "id"]


@pytest.mark.parametrize(("task", "n_plots"), [("binary", 4), ("multiclass", 2), ("regression", 2)])
def test_report_sections_plots_and_escaping(tmp_path, task, n_plots):
    path = render_report(_data(task), tmp_path / "r.html")
    html = path.read_text()
    parser = _Collect()
    parser.feed(html)
    for section in ("plan", "leaderboard", "scorecard", "plots", "importance", "quality", "profile"):
        assert section in parser.ids
    assert html.count("<figure>") == n_plots
    assert parser.tags.count("svg") >= n_plots + 1  # plots + importance
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'src="http' not in html and 'href="http' not in html  # self-contained: nothing fetched
    assert "<metadata>" not in html


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make browser installs it)")
    from playwright.sync_api import sync_playwright

    path = render_report(_data("binary"), tmp_path / "r.html")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        rows = page.locator("#leaderboard table tr")
        assert rows.count() == 3 and rows.nth(1).is_visible()
        boxes = [page.locator("svg").nth(i).bounding_box() for i in range(page.locator("svg").count())]
        assert boxes and all(b and b["width"] > 50 and b["height"] > 50 for b in boxes)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
