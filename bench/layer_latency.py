"""What the champion's online layer adds to a single-row ``POST /v1/predict`` (issue 13: at most 1 ms).

Fits a champion on the first 8 weeks of elec2, then serves the next 2,000 rows one at a time with labels
(so the layer has learned and serves its combination), through two apps of the same project: the layer
on and the layer off. Then it times single-row predicts on the next rows, alternating the two apps
request by request so that whatever else the machine does weighs on both alike, and prints the median
and 99th percentile of each and their difference.

    .venv/bin/python bench/layer_latency.py [--rows 2000] [--budget 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.bench import elec2_csv
from lamarck.serve import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows timed per app")
    parser.add_argument("--budget", type=float, default=20.0, help="fit budget, seconds")
    args = parser.parse_args()
    frame = pd.read_csv(elec2_csv())
    start, warm = 8 * 336, 2000
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(Path(tmp) / "p")
        project.fit(frame.iloc[:start], "predict class", time_budget_s=args.budget, report=False)
        layered = TestClient(create_app(project, online_layer=True)).__enter__()
        bare = TestClient(create_app(project, online_layer=False)).__enter__()
        rows = frame.drop(columns=["class"]).to_dict("records")
        for i in range(start, start + warm):  # the layer learns; the bare app serves the same rows
            body = layered.post("/v1/predict", json={"rows": [rows[i]]}).json()
            item = {"prediction_id": body["prediction_ids"][0], "label": frame["class"].iloc[i]}
            layered.post("/v1/feedback", json={"items": [item]})
        print(
            "layer:", {k: v for k, v in layered.get("/v1/status").json()["layer"].items() if k != "members"}
        )
        times: dict[str, list[float]] = {"layer on": [], "layer off": []}
        for i in range(start + warm, start + warm + args.rows):
            for name, client in (("layer on", layered), ("layer off", bare)):
                t = time.perf_counter()
                assert client.post("/v1/predict", json={"rows": [rows[i]]}).status_code == 200
                times[name].append(time.perf_counter() - t)
        for name, values in times.items():
            ms = np.array(values) * 1000
            print(
                f"{name}: median {np.median(ms):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms ({len(ms)} rows)"
            )
        on, off = (np.array(times[k]) * 1000 for k in ("layer on", "layer off"))
        print(f"added by the layer: median {np.median(on) - np.median(off):+.2f} ms, "
              f"p99 {np.percentile(on, 99) - np.percentile(off, 99):+.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
