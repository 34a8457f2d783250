"""Does `fit` honour its budget on a million rows, and how much memory does it take?

    .venv/bin/python bench/scale.py --rows 1000000 --budget 60

Generates a seeded synthetic table (numeric, categorical, a date, missing values), fits it through
`Project.fit` (registration and report included) and prints wall time, budget ratio and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time

import numpy as np
import pandas as pd

from lamarck import Project


def make(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{i}": rng.normal(size=rows).astype("float32") for i in range(12)})
    X["city"] = rng.choice([f"c{i}" for i in range(50)], rows)
    X["segment"] = rng.choice(["a", "b", "c", "d"], rows)
    X["day"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D")
    X.loc[rng.random(rows) < 0.05, "x3"] = np.nan
    logit = (
        X["x0"] * 1.5 - X["x1"] + np.sin(X["x2"] * 2) + (X["segment"] == "a") * 0.8 + rng.normal(size=rows)
    )
    X["label"] = np.where(logit > 0.5, "yes", "no")
    return X


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--budget", type=float, default=60.0)
    args = ap.parse_args()
    frame = make(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        result = Project(tmp).fit(frame, f"predict the label, optimize AUC, in {args.budget:g} seconds")
        seconds = time.monotonic() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rows": args.rows,
                "budget_s": args.budget,
                "seconds": round(seconds, 1),
                "ratio": round(seconds / args.budget, 3),
                "peak_rss_mb": round(peak_mb),
                "trials": result.n_trials,
                "auc": round(result.score, 4),
                "validation": result.validation,
                "table_mb": round(frame.memory_usage(deep=True).sum() / 2**20),
            }
        )
    )


if __name__ == "__main__":
    main()
