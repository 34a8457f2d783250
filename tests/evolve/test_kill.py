"""kill -9 at any moment of `lamarck evolve` leaves the champion serving and the store consistent."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from lamarck import Project
from lamarck.evolve import EvolutionPolicy

from .test_policy import champion_project, make, send

EVOLVE = [
    sys.executable,
    "-m",
    "lamarck.cli",
    "evolve",
    "--json",
    "--shadow-labels",
    "0",
    "--min-new-labels",
    "300",
    "--min-test-labels",
    "200",
    "--fresh-search-budget",
    "3",
]


def _consistent(project: Project) -> None:
    for db in ("events.db", "mlflow.db"):
        with sqlite3.connect(project.path / db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    model = project.load_model("champion")  # the champion loads and predicts
    assert len(model.predict(make(5, seed=99).drop(columns=["label"]))) == 5


@pytest.mark.slow
def test_kill_9_during_evolve_loses_nothing_and_resumes(tmp_path):
    project = champion_project(tmp_path)
    send(project, make(900, seed=2, region=4.0, rule="new"))
    feedback = project.store.counts()["feedback"]
    env = {**os.environ, "LAMARCK_PROJECT": str(project.path)}
    rng = np.random.default_rng(0)
    killed = 0
    for delay in sorted(rng.uniform(1.0, 6.0, size=4)):
        proc = subprocess.Popen([*EVOLVE, "--project", str(project.path)], env=env, stdout=subprocess.PIPE)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
        fresh = Project(project.path)  # as a new process would see it
        _consistent(fresh)
        assert fresh.store.counts()["feedback"] == feedback  # acknowledged feedback is never lost
        if proc.returncode == 0:
            break
    assert killed >= 2  # the test did kill evolve in flight, at different moments
    # the next run resumes and finishes; the alias agrees with the decision log
    done = Project(project.path)
    decision = done.evolve(
        EvolutionPolicy(min_new_labels=300, min_test_labels=200, shadow_labels=0, fresh_search=False)
    )
    moves = done.store.decisions(limit=1, kinds=("promote", "rollback"))
    assert moves[0]["figures"]["to"] == done.registry.alias_version("champion")
    assert decision.kind in ("promote", "skip", "resume"), decision.reason
    assert any(
        d["kind"] == "promote" and d["figures"].get("origin") == "evolve" for d in done.store.decisions()
    ), (decision.reason, [(d["kind"], d["reason"][:80]) for d in done.store.decisions()])
    _consistent(done)
