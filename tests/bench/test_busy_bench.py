"""The busy-machine part (issue 14): its burner always stops, its summary applies the 1 % bar, and its
runner fits Lamarck and HistGradientBoosting on a tiny case under the burner."""

from __future__ import annotations

import csv
import time

import pytest

from lamarck.bench import PARTS, Case
from lamarck.bench._busy import BUSY_FIELDS, Burner, relative_gap, run_busy, summarize_busy

IRIS = Case(
    name="iris",
    source="sklearn:load_iris",
    target="target",
    task="multiclass",
    metric="accuracy",
    instruction="predict the target, maximize accuracy",
)


def test_busy_is_a_registered_part():
    assert "busy" in PARTS


def test_the_burner_burns_and_always_stops():
    with Burner(1, max_seconds=30) as burner:
        time.sleep(0.5)
        assert burner.alive == 1
    assert burner.alive == 0
    with pytest.raises(RuntimeError), Burner(1, max_seconds=30) as failing:
        raise RuntimeError("a case failed")
    assert failing.alive == 0  # stopped in the finally, whatever happened
    with Burner(1, max_seconds=0.2) as bounded:  # bounded: it ends by itself (after its interpreter starts)
        bounded.processes_[0].join(timeout=30)
        assert bounded.alive == 0 and bounded.processes_[0].exitcode == 0


def test_the_summary_applies_the_one_percent_bar(tmp_path):
    path = tmp_path / "results.csv"
    rows = [
        {"case": "a", "system": "histgb", "metric": "rmse", "score": 100.0, "seconds": 1},
        {"case": "a", "system": "lamarck", "metric": "rmse", "score": 100.5, "seconds": 30,
         "time_to_quality_s": 4.2, "stopped_early": "", "trials": 9, "truncated": 0, "load": 2.1},
        {"case": "b", "system": "histgb", "metric": "roc_auc", "score": 0.90, "seconds": 1},
        {"case": "b", "system": "lamarck", "metric": "roc_auc", "score": 0.88, "seconds": 28,
         "time_to_quality_s": 3.0, "stopped_early": "search stopped early", "trials": 30, "truncated": 1,
         "load": 2.0},
    ]  # fmt: skip
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=BUSY_FIELDS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in BUSY_FIELDS})
    table = summarize_busy(path)
    assert "| a | rmse | 100 | 100.5 | 1.0050 | -0.50% | yes |" in table
    assert "| b | roc_auc | 0.9 | 0.88 | 0.9778 | -2.22% | **no** |" in table
    assert "1 of 2 cases within 1 %" in table
    assert relative_gap("log_loss", lamarck=0.5, histgb=0.55) == pytest.approx(0.5 / 5.5)


@pytest.mark.slow  # two short fits of Lamarck under the burner, about 30 s
def test_the_runner_on_a_tiny_case(tmp_path):
    out = tmp_path / "busy"
    seen: list[dict] = []
    path = run_busy([IRIS], budget=8, output=out, seed=0, warm_up_s=0.2, on_result=seen.append)
    rows = list(csv.DictReader(path.open()))
    assert [(r["system"], r["error"]) for r in rows] == [("lamarck", ""), ("histgb", "")]
    lam = rows[0]
    assert float(lam["score"]) > 0.8 and float(lam["time_to_quality_s"]) >= 0 and int(lam["trials"]) >= 1
    assert float(lam["seconds"]) < 30
    assert "| iris | accuracy |" in summarize_busy(path)
    # resumable: a second run finds both rows and fits nothing
    run_busy([IRIS], budget=8, output=out, seed=0, warm_up_s=0.0)
    assert len(list(csv.DictReader(path.open()))) == 2
