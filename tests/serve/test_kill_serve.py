"""kill -9 of `lamarck serve` under load loses no acknowledged prediction log or feedback (group commit:
an answer is sent only once its own rows are committed)."""

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
def test_kill_9_under_load_loses_no_acknowledged_prediction_or_feedback(tmp_path, serve_process):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = np.where(frame["a"] > frame["b"], "yes", "no")
    project = Project(tmp_path / "p")
    project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False)
    proc, base = serve_process(project)
    predicted: list[str] = []
    labelled: list[str] = []
    stop = threading.Event()
    try:

        def work(k: int) -> None:
            with httpx.Client(base_url=base, timeout=10) as client:
                i = 0
                while not stop.is_set():
                    row = {"a": float(k), "b": float(i)}
                    i += 1
                    try:
                        r = client.post("/v1/predict", json={"rows": [row]})
                        if r.status_code != 200:
                            continue
                        ids = r.json()["prediction_ids"]
                        predicted.extend(ids)  # acknowledged: the answer arrived
                        f = client.post(
                            "/v1/feedback", json={"items": [{"prediction_id": ids[0], "label": "yes"}]}
                        )
                        if f.status_code == 200:
                            labelled.extend(ids)
                    except httpx.HTTPError:  # the server died under this request: never acknowledged
                        return

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(labelled) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # in flight: 8 clients mid-request
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=15)
    finally:
        stop.set()
    assert len(labelled) >= 150, "too few requests were answered to test anything"
    store = EventStore(project.store.url)  # a fresh connection: what is on disk
    logged = store.predictions_by_id(predicted)
    assert sorted(logged) == sorted(set(predicted))  # every acknowledged prediction was logged
    feedback = store.labelled()
    assert set(labelled) <= set(feedback["prediction_id"])  # and every acknowledged label stored
