"""Does the MLP member improve the ensemble? The 14 public cases, each fitted twice at the same budget:
the default learners, and the default learners plus ``mlp`` (issue 19's bar: better out of fold on at least
3 of the 14 cases at 120 s, and never over the budget).

    .venv/bin/python bench/mlp_suite.py --budget 120 --output bench/results/mlp-suite [--cases a,b]

Per case and system: the ensemble's out-of-fold score (the search's own figure, what "improves the ensemble
out of fold" means), the held-out test score (the case's metric on its test split), the MLP's weight in the
ensemble, the trials it ran, and the fit's wall time against the budget. Resumable: a (case, system) already
in ``results.csv`` is not fitted again. Needs the neural extra (``make neural``).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

SYSTEMS = ("default", "default+mlp")
FIELDS = [
    "case",
    "system",
    "metric",
    "oof",
    "test",
    "mlp_weight",
    "mlp_trials",
    "trials",
    "seconds",
    "budget",
    "error",
]


def _learners(system: str) -> list[str]:
    from lamarck.search import LEARNERS

    names = [n for n, learner in LEARNERS.items() if learner.default]
    return [*names, "mlp"] if system == "default+mlp" else names


def _run(case: Any, system: str, budget: float, seed: int) -> dict[str, Any]:
    from lamarck.bench import fit_lamarck, score_lamarck, split_case

    Xtr, Xte, ytr, yte = split_case(case, seed)
    t0 = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_lamarck(case, Xtr, ytr, budget, seed, learners=_learners(system))
    seconds = time.monotonic() - t0
    members = getattr(result.model, "members", [])
    weight = sum(m.weight for m in members if m.learner == "mlp")
    mlp_trials = sum(1 for r in result.leaderboard if r.get("learner") == "mlp")
    return {
        "oof": result.score,
        "test": score_lamarck(case, result.model, Xte, ytr, yte),
        "mlp_weight": round(float(weight), 3),
        "mlp_trials": mlp_trials,
        "trials": result.n_trials,
        "seconds": round(seconds, 1),
    }


def _markdown(rows: list[dict[str, str]], budget: float, command: str) -> str:
    from lamarck.evaluate import signed

    by = {(r["case"], r["system"]): r for r in rows}
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = [
        f"# The MLP member on the public suite ({budget:g} s per fit)",
        "",
        f"Command: `{command}`",
        "",
        "| case | metric | OOF default | OOF +mlp | test default | test +mlp | mlp weight | mlp trials | seconds (default / +mlp) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    better = helped = over = both = test_better = 0
    for c in cases:
        a, b = by.get((c, "default")), by.get((c, "default+mlp"))
        if a is None or b is None or a["error"] or b["error"]:
            lines.append(
                f"| {c} | | {a and (a['error'] or a['oof'])} | {b and (b['error'] or b['oof'])} | | | | | |"
            )
            continue
        both += 1
        metric = a["metric"]
        gain = signed(metric, float(b["oof"])) - signed(metric, float(a["oof"]))
        better += gain > 0
        # the MLP improved the ensemble: better out of fold *and* the MLP weighs in it (a gain without it
        # is the search's other trials, a different path through the same budget)
        mlp_in = float(b["mlp_weight"] or 0) > 0
        helped += gain > 0 and mlp_in
        over += float(b["seconds"]) > float(b["budget"]) * 1.05
        test_better += signed(metric, float(b["test"])) > signed(metric, float(a["test"]))
        mark = "**" if gain > 0 and mlp_in else ""
        lines.append(
            f"| {c} | {metric} | {float(a['oof']):.4f} | {mark}{float(b['oof']):.4f}{mark} | {float(a['test']):.4f} | "
            f"{float(b['test']):.4f} | {b['mlp_weight']} | {b['mlp_trials']} | {a['seconds']} / {b['seconds']} |"
        )
    lines += [
        "",
        f"The MLP improves the ensemble out of fold (better, with a weight in it) on **{helped} of {both}** "
        f"cases (bold); the fit with the MLP allowed is better out of fold on {better} (with or without the "
        f"MLP in its ensemble); {over} fit(s) with the MLP ran over the budget by more than 5 %. On the test "
        f"split the fit with the MLP allowed scores better on {test_better} of {both}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per fit (default 120)")
    parser.add_argument("--output", type=Path, default=Path("bench/results/mlp-suite"))
    parser.add_argument("--cases", help="comma-separated case names (default: all 14)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true", help="only write results.md from results.csv")
    args = parser.parse_args(argv)
    os.environ.setdefault("LAMARCK_KNOWLEDGE_BASE", "false")  # a case must not seed its own next fit

    from lamarck.bench import load_suite, public_suite
    from lamarck.search import LEARNERS
    from lamarck.text import available

    if not available() or "mlp" not in LEARNERS:
        print("the neural extra is not installed: make neural", file=sys.stderr)
        return 2
    cases = [] if args.report else load_suite(public_suite())
    if args.cases:
        wanted = {c.strip() for c in args.cases.split(",")}
        cases = [c for c in cases if c.name in wanted]
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / "results.csv"
    rows = list(csv.DictReader(path.open())) if path.exists() else []
    done = {(r["case"], r["system"]) for r in rows}
    for case in cases:
        for system in SYSTEMS:
            if (case.name, system) in done:
                continue
            row: dict[str, Any] = {
                "case": case.name,
                "system": system,
                "metric": case.metric,
                "budget": args.budget,
            }
            try:
                row |= _run(case, system, args.budget, args.seed)
                row["error"] = ""
            except Exception as e:  # a failed fit is a row, not the end of the bench
                row["error"] = f"{type(e).__name__}: {e}"[:300]
            print(row, flush=True)
            rows.append({k: str(row.get(k, "")) for k in FIELDS})
            with path.open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=FIELDS)
                w.writeheader()
                w.writerows(rows)
    command = f"python bench/mlp_suite.py --budget {args.budget:g} --output {args.output}"
    (args.output / "results.md").write_text(_markdown(rows, args.budget, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
