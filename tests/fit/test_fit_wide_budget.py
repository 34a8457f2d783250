"""A fit honours its budget on a wide table: ``lamarck fit`` on 2,000 columns x 40 rows with ``--time 8``
ends within 8 x 1.10 + 5 s of wall time, reading and planning included (it took 29 s, 47 s under load:
the leakage check fitted a tree per column, and reading, profiling, checking and predicting walked the
columns one by one)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

BUDGET_S = 8.0


def wide_table(n_rows: int = 40, n_columns: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_columns))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(n_columns)])
    frame["y"] = np.where(X[:, 0] + X[:, 1] + 0.3 * rng.normal(size=n_rows) > 0, "yes", "no")
    return frame


def _fit_seconds(data: Path, project: Path) -> tuple[float, float, dict[str, Any]]:
    """``lamarck fit`` in a process of its own: (wall seconds, its processor seconds, the JSON result)."""
    cmd = [sys.executable, "-m", "lamarck.cli", "fit", str(data), "predict y", "--time", str(BUDGET_S)]
    cmd += ["--project", str(project), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=data.parent, capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert done.returncode == 0, done.stderr[-2000:]
    return wall, cpu, json.loads(done.stdout)


@pytest.mark.slow
def test_a_wide_fit_ends_within_its_budget(tmp_path):
    """The rule on the wall clock. On a shared machine other work can stretch any fit (a 10-column one
    too) past it; then the time the fit itself used the processors for must be within the rule, so
    that what is over is time spent waiting for a processor, not work that grows with the columns (the
    leakage check alone used 60 s of processor time before)."""
    data = tmp_path / "wide.csv"
    wide_table().to_csv(data, index=False)
    limit = BUDGET_S * 1.10 + 5
    wall, cpu, result = _fit_seconds(data, tmp_path / "p")
    assert result["champion_version"] is not None
    assert [r for r in result["leaderboard"] if r["status"] == "failed"] == []
    load = os.getloadavg()[0]
    figures = f"{wall:.1f}s wall, {cpu:.1f}s processor, load {load:.1f} on {os.cpu_count()} processors"
    assert wall <= limit or cpu <= limit, f"{figures}: over {limit:g}s for a budget of {BUDGET_S:g}s"
