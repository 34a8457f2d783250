"""`lamarck serve --workers 2`: two processes answer on one port from one store, both follow an alias
move within seconds, no feedback is lost; the stream learner refuses to be served twice (one evolve pass at a
time across processes: tests/evolve/test_evolve_lease.py)."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import numpy as np
import pandas as pd
import pytest

from lamarck import Project
from lamarck.store import EventStore


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_workers_share_the_store_and_follow_a_promotion(
    backend, tmp_path, serve_process, monkeypatch, request
):
    if (
        backend == "postgresql"
    ):  # the team's store: the test's project and both workers read LAMARCK_STORE_URL
        monkeypatch.setenv("LAMARCK_STORE_URL", request.getfixturevalue("postgres_url"))
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = np.where(frame["a"] > frame["b"], "yes", "no")
    project = Project(tmp_path / "p")
    project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False, seed=0)
    project.fit(frame, "predict y, in 3 seconds", learners=["lightgbm"], report=False, seed=1)
    champion = project.registry.alias_version("champion")
    other = "1" if champion == "2" else "2"
    proc, base = serve_process(project, "--workers", "2")
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:  # new connections land on either process
            with httpx.Client(base_url=base, timeout=5) as c:
                workers.add(c.get("/healthz").json()["worker"])
        assert len(workers) == 2, f"one process answered every connection: {workers}"
        assert proc.pid not in workers  # the supervisor does not serve

        labelled: list[str] = []
        versions: list[str] = []
        lock = threading.Lock()

        def work(k: int, n: int) -> None:
            for i in range(n):
                with httpx.Client(base_url=base, timeout=10) as c:  # a new connection each time
                    r = c.post("/v1/predict", json={"rows": [{"a": float(k), "b": float(i)}]})
                    assert r.status_code == 200, r.text
                    pid = r.json()["prediction_ids"][0]
                    f = c.post("/v1/feedback", json={"items": [{"prediction_id": pid, "label": "yes"}]})
                    assert f.status_code == 200, f.text
                    with lock:
                        labelled.append(pid)
                        versions.append(r.json()["model_version"])

        threads = [threading.Thread(target=work, args=(k, 15)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(labelled) == 60 and set(versions) == {champion}

        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.post(f"/v1/models/{other}/promote").status_code == 200
        deadline = time.monotonic() + 5  # the bar: every process answers with the new champion within 5 s
        seen: set[str] = set()
        while time.monotonic() < deadline:  # both processes answer with the new champion within seconds
            answers = []
            for _ in range(12):
                with httpx.Client(base_url=base, timeout=10) as c:
                    answers.append(c.post("/v1/predict", json={"rows": [{"a": 0.0, "b": 1.0}]}).json())
            seen = {a["model_version"] for a in answers}
            if seen == {other}:
                break
            time.sleep(0.5)
        assert seen == {other}

        with httpx.Client(base_url=base, timeout=10) as c:
            refused = c.post("/v1/stream/predict", json={"rows": [{"a": 0.0, "b": 1.0}]})
        assert refused.status_code == 409 and "--workers 1" in refused.json()["detail"]
    finally:  # a graceful stop (the fixture kills what does not stop)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    store = EventStore(project.store.url)
    stored = {r["prediction_id"] for r in store.feedback_after(0)}
    assert set(labelled) <= stored  # every acknowledged label, whichever process took it


@pytest.mark.slow
def test_every_worker_runs_the_loop_and_the_lease_lets_one_pass_run(tmp_path, serve_process):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = np.where(frame["a"] > frame["b"], "yes", "no")
    project = Project(tmp_path / "p")
    project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False, seed=0)
    proc, base = serve_process(project, "--workers", "2", "--auto-evolve", "--evolve-every", "1")
    try:
        lasts: dict[int, dict] = {}
        deadline = time.monotonic() + 30
        while len(lasts) < 2 and time.monotonic() < deadline:  # both workers have run (or tried) a pass
            with httpx.Client(base_url=base, timeout=5) as c:
                worker = c.get("/healthz").json()["worker"]
                loop = c.get("/v1/status").json()["auto_evolve"]
            assert loop["enabled"] and loop["every_s"] == 1.0
            if loop["last"] is not None:
                lasts[worker] = loop["last"]
            time.sleep(0.3)
        assert len(lasts) == 2, lasts
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
