"""A table read from Parquet files and trained on a Dask cluster, against loading it in one process (issue
15's second figure): rows, peak memory per worker, wall time, the model of every row against the fit of a
sample.

    .venv/bin/python bench/large_table.py [--rows 6000000] [--memory-limit 1.5GiB] [--output bench/results/large-table]

The table is generated (``--rows`` rows, ten numeric columns and a binary target whose rule mixes them),
written as 12 Parquet files. First a separate process loads it whole with pandas and reports its peak
RSS: what one process needs just to hold it. Then ``Project.fit("part-*.parquet", ..., cluster=...)``
runs on a LocalCluster of ``--workers`` (two) single-thread workers, each capped at ``--memory-limit``; each worker's peak
RSS is read from the worker itself (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _write(folder: Path, rows: int, parts: int = 12) -> int:
    rng = np.random.default_rng(0)
    size = 0
    for k in range(parts):
        n = rows // parts
        X = rng.normal(size=(n, 10))
        logit = X[:, 0] + X[:, 1] * X[:, 2] - 0.5 * np.abs(X[:, 3]) + 0.3 * X[:, 4] ** 2
        f = pd.DataFrame(X, columns=[f"x{j}" for j in range(10)])
        f["y"] = np.where(logit + rng.normal(size=n) > 0, "yes", "no")
        f.to_parquet(folder / f"part-{k:02d}.parquet")
        size += int(f.memory_usage(deep=True).sum())
    return size


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--memory-limit", default="1.5GiB")
    parser.add_argument("--workers", type=int, default=2, help="single-thread worker processes")
    parser.add_argument("--output", default="bench/results/large-table")
    parser.add_argument(
        "--learner",
        choices=("lightgbm", "xgboost"),
        help="search and train on every row with this booster only",
    )
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster

    from lamarck import Project

    tmp = Path(tempfile.mkdtemp())
    data = tmp / "data"
    data.mkdir()
    in_memory = _write(data, args.rows)
    load = subprocess.run(
        [sys.executable, "-c", "import glob, resource, pandas as pd; "
         f"f = pd.concat([pd.read_parquet(p) for p in sorted(glob.glob('{data}/part-*.parquet'))]); "
         "print(len(f), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    loaded_rows, one_process_mb = load.stdout.split()
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
            memory_limit=args.memory_limit,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        t0 = time.monotonic()
        result = Project(tmp / "p").fit(
            str(data / "part-*.parquet"),
            "predict y, optimize AUC, in 60 seconds",
            cluster=client,
            report=False,
            learners=[args.learner] if args.learner else None,
        )
        wall = time.monotonic() - t0
        peaks = sorted(client.run(_peak_rss_mb).values())
    note = next(n for n in result.notes if n.startswith("large table"))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# A table on Parquet files, trained on a Dask cluster of {args.workers} workers",
        "",
        f"Command: `.venv/bin/python bench/large_table.py --rows {args.rows} --memory-limit {args.memory_limit}"
        + (f" --workers {args.workers}" if args.workers != 2 else "")
        + (f" --learner {args.learner}`." if args.learner else "`."),
        "",
        "| figure | value |",
        "|---|---|",
        f"| rows | {int(loaded_rows):,} (10 numeric columns, binary target) |",
        f"| the table in pandas | {in_memory / 2**20:,.0f} MiB |",
        f"| one process loading it whole: peak RSS | {float(one_process_mb):,.0f} MiB |",
        f"| each worker's memory limit | {args.memory_limit} |",
        f"| peak RSS per worker ({args.workers} workers) | {', '.join(f'{p:,.0f} MiB' for p in peaks)} |",
        f"| fitting process peak RSS | {_peak_rss_mb():,.0f} MiB |",
        f"| wall time of the fit | {wall:.0f} s |",
        f"| result | {note} |",
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
