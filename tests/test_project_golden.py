"""Behaviour of ``Project.fit`` does not change: a golden fit gives the recorded figures.

A seeded frame, a search that ends by trial count (the budget does not bind, so the clock decides
nothing) and every figure a user sees afterwards: the leaderboard, the scorecard, the registered params,
metrics, spec and lineage, the report's inputs and the champion's predictions. Times (fit seconds, latency, dates) are left out.

``LAMARCK_WRITE_GOLDEN=1 pytest tests/test_project_golden.py`` rewrites the record (only when a change of
figures is meant, and say so in the commit).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

GOLDEN = Path(__file__).with_name("test_project_golden.json")
MAX_TRIALS = 10


def golden_frame(n: int = 500, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.choice(["u", "v", "w"], n),
            "c": rng.uniform(0, 10, n).round(2),
            "noise": rng.normal(size=n),
        }
    )
    logit = frame["a"] + 0.8 * (frame["b"] == "u") - 0.15 * frame["c"] + rng.normal(scale=0.7, size=n)
    frame["churn"] = np.where(logit > -0.6, "yes", "no")
    frame.loc[frame.index[::37], "c"] = np.nan  # some missing values
    frame.loc[frame.index[5], "churn"] = None  # one row without a target: quarantined
    return frame


def _plain(value: Any) -> Any:
    """JSON-friendly, floats rounded to 9 digits so that the record reads figures, not bit patterns."""
    if isinstance(value, pd.DataFrame):
        return _plain(value.to_dict("list"))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def _card(card: dict[str, Any]) -> dict[str, Any]:
    measured = ("latency", "time_to_quality_s", "search_seconds")  # measured times
    return {k: v for k, v in card.items() if k not in measured}


def _board(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "fit_seconds"} for r in rows]


def run_golden(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fit the golden frame in a project at ``path``; the figures to compare."""
    import lamarck.report
    import lamarck.search
    from lamarck import Project

    real_search = lamarck.search.AutoSearch

    class BoundedSearch(real_search):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "max_trials": MAX_TRIALS})

    captured: dict[str, Any] = {}
    real_render = lamarck.report.render_report

    def capture(data: Any, out: Path) -> Path:
        captured["report"] = data
        return real_render(data, out)

    monkeypatch.setattr(lamarck.search, "AutoSearch", BoundedSearch)
    # one thread: quicker on a shared machine, and no thread count in the figures
    monkeypatch.setenv("LAMARCK_N_JOBS", "1")
    # no warm start: the record pins the default search, not what the shipped portfolio (rebuilt from
    # time to time) or earlier fits suggest (tests/meta checks the warm start)
    monkeypatch.setenv("LAMARCK_WARM_START", "false")
    monkeypatch.setattr(lamarck.report, "render_report", capture)
    project = Project(path)
    result = project.fit(
        golden_frame(),
        "predict churn, maximize AUC",
        learners=["linear", "lightgbm"],
        time_budget_s=900,
        seed=3,
    )
    info = project.registry.info("champion")
    report = captured["report"]
    predictions, _ = project.predict(golden_frame().drop(columns=["churn"]).head(20), proba=True)
    return _plain(
        {
            "spec": result.spec.model_dump(mode="json"),
            "champion_version": result.champion_version,
            "score": result.score,
            "metric": result.metric,
            "validation": result.validation,
            "n_trials": result.n_trials,
            "leaderboard": _board(result.leaderboard),
            "scorecard": _card(result.scorecard),
            "quality": result.quality,
            "quarantined_rows": result.quarantined_rows,
            "excluded": result.excluded,
            "notes": result.notes,
            "llm_features": result.llm_features,
            "review": result.review,
            "registered": {
                "params": info.params,
                "metrics": info.metrics,
                "spec": info.spec,
                "lineage": info.lineage,
                "tags": {k: v for k, v in info.tags.items() if not k.startswith("mlflow.")},
                "aliases": list(info.aliases),
                "artifacts": sorted(
                    re.sub(r"\d{8}T\d{6}", "<time>", p.name)
                    for p in info.artifact_dir.rglob("*")
                    if p.is_file()
                )
                if info.artifact_dir
                else None,
            },
            "report": {
                "title": report.title,
                "dataset": report.dataset,
                "n_rows": report.n_rows,
                "spec": report.spec,
                "leaderboard": _board(report.leaderboard),
                "findings": report.findings,
                "columns": report.columns,
                "feature_importance": report.feature_importance,
                "scorecard": _card(report.scorecard),
                "y_true": report.y_true,
                "y_pred": report.y_pred,
                "proba": report.proba,
                "classes": report.classes,
                "task": report.task,
                "history_scores": [s for _, s in report.history],
                "champion_version": report.champion_version,
                "notes": report.notes,
                "llm_features": report.llm_features,
                "review": report.review,
            },
            "decisions": [(d["kind"], d["reason"]) for d in project.store.decisions(limit=10)],
            "predictions": predictions,
        }
    )


def _differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two records differ: equal structures, floats within 1e-7 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{where}[{i}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        close = isinstance(a, int | float) and isinstance(b, int | float) and a == pytest.approx(b, rel=1e-7)
        return [] if close else [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_fit_gives_the_recorded_figures(tmp_path, monkeypatch):
    got = json.loads(json.dumps(run_golden(tmp_path / "p", monkeypatch), sort_keys=True))
    if os.environ.get("LAMARCK_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert _differences(got, want) == []
