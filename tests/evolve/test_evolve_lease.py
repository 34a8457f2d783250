"""One evolve pass at a time over a store, whatever process runs it (serve --workers N --auto-evolve,
several servers, lamarck evolve on a schedule)."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamarck import Project

HELD = "another evolve pass holds the store's lease"


def _passes(path: str, seconds: float, out: multiprocessing.Queue) -> None:  # in a child process
    from lamarck.evolve import Evolver

    spans: list[tuple[float, float]] = []  # each pass's own work, timed inside the lease
    inner = Evolver._pass

    def timed(self: Evolver) -> object:
        t0 = time.time()
        try:
            return inner(self)
        finally:
            spans.append((t0, time.time()))

    Evolver._pass = timed  # type: ignore[method-assign]
    project = Project(Path(path))
    reasons = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        reasons.append(project.evolve().reason)
    out.put((spans, reasons))


def _project(path: Path) -> Project:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    frame["y"] = np.where(frame["a"] > frame["b"], "yes", "no")
    project = Project(path)
    project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False, seed=0)
    preds, _ = project.predict(frame.drop(columns=["y"]).head(300))
    ids = project.store.log_predictions(
        frame.drop(columns=["y"]).head(300).to_dict("records"), predictions=list(preds["prediction"]),
        model_version="1",
    )  # fmt: skip
    labels = frame["y"].head(300)
    project.store.add_feedback([{"prediction_id": i, "label": y} for i, y in zip(ids, labels, strict=True)])
    return project


@pytest.mark.slow
def test_two_processes_never_run_a_pass_at_the_same_time(tmp_path):
    _project(tmp_path / "p")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_passes, args=(str(tmp_path / "p"), 5.0, out)) for _ in range(2)]
    for p in procs:
        p.start()
    records = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    ran = sorted(span for spans, _ in records for span in spans)
    held = sum(reason.startswith(HELD) for _, reasons in records for reason in reasons)
    # passes ran, and the lease turned some away (on a loaded machine two processes' 5 s may hold only
    # two passes: a fresh clone's full suite ran 2, with 4,340 attempts turned away)
    assert len(ran) >= 2 and held >= 1, (len(ran), held)
    for (_, end), (start, _) in itertools.pairwise(ran):
        assert start >= end, "two passes overlapped"  # timed inside the lease, on one machine's clock


def test_a_pass_that_finds_the_lease_held_is_a_skip_that_says_who(tmp_path):
    project = Project(tmp_path / "p")
    assert project.store.take_lease("evolve", "host:42:1", seconds=60)
    decision = project.evolve()
    assert decision.kind == "skip" and decision.reason.startswith(HELD) and "host:42:1" in decision.reason
    project.store.end_lease("evolve", "host:42:1")
    assert not project.evolve().reason.startswith(HELD)  # no champion yet: the pass itself ran


def test_the_lease_of_a_process_killed_in_its_pass_is_taken_over_at_once(tmp_path):
    """A pass killed with SIGKILL cannot give its lease back; the next pass on the same machine sees that
    its holder no longer runs and takes it (tests/evolve/test_kill.py kills real passes)."""
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    project = Project(tmp_path / "p")
    import socket

    assert project.store.take_lease("evolve", f"{socket.gethostname()}:{gone.stdout.strip()}:1", seconds=3600)
    assert not project.evolve().reason.startswith(HELD)
