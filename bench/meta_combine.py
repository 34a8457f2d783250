"""Issue 14's quality bar in one table: Lamarck cold at 60 s (no warm start, no early stop: the figure
before the knowledge base), Lamarck at 20 s and at 60 s with its defaults, FLAML, AutoGluon and a default
HistGradientBoosting, all normalized on the same scale (per case: HistGradientBoosting = 0, the best of
all these systems = 1).

    LAMARCK_WARM_START=false LAMARCK_EARLY_STOP=false .venv/bin/lamarck bench --budget 60 \\
        --output bench/results/meta-60s-cold
    .venv/bin/lamarck bench --budget 20 --output bench/results/meta-20s
    .venv/bin/lamarck bench --budget 60 --against histgb,flaml,autogluon --output bench/results/meta-60s-peers
    .venv/bin/python bench/meta_combine.py          # writes bench/results/meta-combined/results.{csv,md}
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lamarck.bench import summarize

ROOT = Path(__file__).parent / "results"
#: folder -> {system in that run: name in the combined table}
RUNS = {
    "meta-60s-cold": {"lamarck": "lamarck-60s-cold"},
    "meta-20s": {"lamarck": "lamarck-20s"},
    "meta-60s-peers": {"lamarck": "lamarck", "histgb": "histgb", "flaml": "flaml", "autogluon": "autogluon"},
}


def main() -> None:
    parts = []
    for folder, names in RUNS.items():
        df = pd.read_csv(ROOT / folder / "results.csv")
        df = df[df["system"].isin(list(names))].copy()
        df["system"] = df["system"].map(names)
        parts.append(df)
    out = ROOT / "meta-combined"
    out.mkdir(exist_ok=True)
    pd.concat(parts, ignore_index=True).to_csv(out / "results.csv", index=False)
    table = summarize(out / "results.csv")
    (out / "results.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
