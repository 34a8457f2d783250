"""Does the MLP member keep the old concept when the loop fine-tunes it on a new one (issue 19)?

The recurring-concept stream of the evolution bench (``agrawal-recurring``: segment A, then segment B with
another rule, then A again). An MLP (the zoo's ``mlp`` learner, its first portfolio configuration, behind a
``FeatureProcessor`` fitted on the first model's rows, as a champion is) is trained on the first
``--train-rows`` rows of concept A (the evolution bench's first champion); then it is warm-started, as the
evolver does (``MLPLearner.warm_start``), on the first N rows of concept B, alone or with a replay sample of
the A rows it was trained on (the evolver trains on new rows plus its memory pool), with each retention mode
(``none`` is plain fine-tuning) and, for reference, refitted from scratch on the same rows (``refit``: what
the evolver did before the MLP had a warm start). Measured on the held-out probes of each concept: accuracy
on A before and after (backward transfer = after − before), accuracy on B after, and the CPU seconds of the
fine-tuning, for each seed (the network's initialisation and the replay sample; the stream is fixed).

The issue's bar: EWC or distillation lifts the backward transfer by at least 5 points over plain
fine-tuning, at no more than 1 point of loss on the new concept.

    .venv/bin/python bench/mlp_retention.py --output bench/results/mlp-retention
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import shlex
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lamarck.bench import DRIFT_CASES, DRIFT_TARGET
from lamarck.data import FeatureProcessor
from lamarck.search import LEARNERS, FitContext, warm_start_learner

#: the MLP learner's retention modes (its ``fine_tuning``, a ``FineTuning``), and the refit for reference
MODES = ["none", "ewc", "distill", "ewc+distill", "refit"]
FIELDS = ["seed", "new_rows", "replay", "mode", "a_before", "a_after", "bwt", "b_before", "b_after", "cpu_s"]


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _variants(modes: list[str], anchors: list[str], grow: list[str] = ("off",)) -> list[str]:  # type: ignore[assignment]
    """Each mode, a retention mode once per anchor (``distill@pseudo``), a warm start once per growth
    setting (``distill@pseudo+grow``: the capacity gate on, ``FineTuning.grow``)."""
    return [
        (m if m in ("none", "refit") else f"{m}@{a}") + ("+grow" if g == "on" and m != "refit" else "")
        for m in modes
        for a in (anchors if m not in ("none", "refit") else [""])
        for g in (grow if m != "refit" else ["off"])
    ]


def _accuracy(model: Any, X: pd.DataFrame, y: np.ndarray) -> float:
    return float(np.mean(model.predict(X) == y))


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    case = DRIFT_CASES["agrawal-recurring"]()
    frame = case.frame
    starts = dict(case.phases)
    a_rows, b_rows = frame.iloc[: args.train_rows], frame.iloc[starts["B"] : starts["A again"]]
    features = [c for c in frame.columns if c != DRIFT_TARGET]
    processor = FeatureProcessor(columns=features).fit(a_rows[features])

    def prepare(rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        return processor.transform(rows[features]), rows[DRIFT_TARGET].to_numpy(dtype=int)

    XA, yA = prepare(a_rows)
    probe_A, probe_B = prepare(case.probes["A"]), prepare(case.probes["B"])
    learner: Any = LEARNERS["mlp"]  # an MLPLearner: its fine_tuning is read and replaced
    params = learner.portfolio("binary")[0]
    out: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        ctx = FitContext(task="binary", n_classes=2, seed=seed, n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = learner.fit(params, XA, yA, ctx)
        a_before, b_before = _accuracy(base, *probe_A), _accuracy(base, *probe_B)
        print(f"seed {seed}: A {a_before:.4f}, B {b_before:.4f} before", file=sys.stderr)
        rng = np.random.default_rng(seed)
        for n_new in args.new_rows:
            XB, yB = prepare(b_rows.iloc[:n_new])
            for replay in args.replay:
                keep = np.sort(rng.choice(len(XA), size=min(replay, len(XA)), replace=False))
                X = pd.concat([XB, XA.iloc[keep]], ignore_index=True)
                y = np.concatenate([yB, yA[keep]])
                for label in _variants(args.modes, args.anchors, args.grow):
                    label, _, grow = label.partition("+")
                    mode, _, anchor = label.partition("@")
                    t0 = time.process_time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if mode == "refit":
                            model = learner.fit(params, X, y, ctx)
                        else:
                            tuned = copy.copy(learner)  # the zoo's learner, another fine-tuning
                            tuned.fine_tuning = dataclasses.replace(
                                learner.fine_tuning,
                                retention=mode,
                                anchor=anchor or "rows",
                                ewc_strength=args.ewc_strength,
                                distill_weight=args.distill_weight,
                                temperature=args.temperature,
                                grow=grow == "grow",
                            )
                            model = warm_start_learner(tuned, base, X, y, ctx, sample_weight=np.ones(len(y)))
                    cpu = time.process_time() - t0
                    a_after, b_after = _accuracy(model, *probe_A), _accuracy(model, *probe_B)
                    row = {
                        "seed": seed,
                        "new_rows": n_new,
                        "replay": len(keep),
                        "mode": label + ("+grow" if grow else ""),
                        "a_before": round(a_before, 4),
                        "a_after": round(a_after, 4),
                        "bwt": round(a_after - a_before, 4),
                        "b_before": round(b_before, 4),
                        "b_after": round(b_after, 4),
                        "cpu_s": round(cpu, 2),
                    }
                    print(row, file=sys.stderr)
                    out.append(row)
    return out


def _cell(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    mean = statistics.fmean(values) * scale
    spread = (statistics.stdev(values) * scale) if len(values) > 1 else 0.0
    return f"{mean:+.{digits}f} ± {spread:.{digits}f}" if scale == 100.0 else f"{mean:.{digits}f}"


def report(rows: list[dict[str, Any]], command: str) -> str:
    lines = [
        "# MLP retention on agrawal-recurring (A → B)",
        "",
        f"    {command}",
        "",
        "Mean ± standard deviation over seeds, in accuracy points on the held-out probes (2,000 rows each).",
        "BWT: accuracy on probe A after − before (backward transfer); B after: accuracy on probe B after.",
        "mode@rows: retention measured on the rows at hand; mode@pseudo: on pseudo-rows drawn from the first",
        "model's preprocessing (FineTuning.anchor). refit: a new network on the same rows (no warm start).",
        "+grow: the capacity gate on (FineTuning.grow: a copy widened to twice the units, kept when it fits the",
        "new rows' held-out tenth 2 % better); without it, the network keeps its size.",
        "",
        "| new B rows | replay A rows | mode | BWT (A after − before) | A after | B after | CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[int, int], dict[str, list[dict[str, Any]]]] = {}
    for r in rows:
        groups.setdefault((r["new_rows"], r["replay"]), {}).setdefault(r["mode"], []).append(r)
    verdicts = []
    for (n_new, replay), modes in groups.items():
        for mode, rs in modes.items():
            lines.append(
                f"| {n_new} | {replay} | {mode} | {_cell([r['bwt'] for r in rs])} | "
                f"{_cell([r['a_after'] for r in rs]).lstrip('+')} | {_cell([r['b_after'] for r in rs]).lstrip('+')} | "
                f"{_cell([r['cpu_s'] for r in rs], scale=1.0)} |"
            )
        if "none" not in modes:
            continue
        base_bwt = statistics.fmean(r["bwt"] for r in modes["none"])
        base_b = statistics.fmean(r["b_after"] for r in modes["none"])
        for mode in modes:
            if mode in ("none", "refit"):
                continue
            lift = 100 * (statistics.fmean(r["bwt"] for r in modes[mode]) - base_bwt)
            loss_b = 100 * (base_b - statistics.fmean(r["b_after"] for r in modes[mode]))
            met = lift >= 5.0 and loss_b <= 1.0
            verdicts.append(
                f"| {n_new} | {replay} | {mode} | {lift:+.1f} | {-loss_b:+.1f} | {'met' if met else 'not met'} |"
            )
    lines += [
        "",
        "## The issue's bar (≥ +5 points of BWT over plain fine-tuning, ≤ 1 point lost on B)",
        "",
        "| new B rows | replay A rows | mode | BWT − plain's | B after − plain's | bar |",
        "|---|---|---|---|---|---|",
        *verdicts,
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("bench/results/mlp-retention"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-rows", type=int, default=2000, help="concept A rows of the first model")
    parser.add_argument("--new-rows", type=_ints, default=[500, 2000], help="concept B rows, comma-separated")
    parser.add_argument("--replay", type=_ints, default=[0, 1000], help="replayed A rows, comma-separated")
    parser.add_argument(
        "--modes",
        type=lambda t: t.split(","),
        default=MODES,
        help="retention modes (and refit), comma-separated",
    )
    parser.add_argument(
        "--anchors",
        type=lambda t: t.split(","),
        default=["rows", "pseudo"],
        help="where retention measures the old network (rows at hand, pseudo-rows), comma-separated",
    )
    parser.add_argument(
        "--grow",
        type=lambda t: t.split(","),
        default=["off"],
        help="the capacity gate (FineTuning.grow) off, on, or off,on: each warm start once per setting",
    )
    mlp: Any = LEARNERS["mlp"]
    tuning = mlp.fine_tuning
    parser.add_argument("--ewc-strength", type=float, default=tuning.ewc_strength)
    parser.add_argument("--distill-weight", type=float, default=tuning.distill_weight)
    parser.add_argument("--temperature", type=float, default=tuning.temperature)
    args = parser.parse_args()
    command = ".venv/bin/python " + " ".join(
        shlex.quote(a) for a in ["bench/mlp_retention.py", *sys.argv[1:]]
    )
    rows = run(args)
    args.output.mkdir(parents=True, exist_ok=True)
    with open(args.output / "results.csv", "w", newline="") as f:
        f.write(f"# {command}\n")
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (args.output / "results.md").write_text(report(rows, command))
    print(report(rows, command))


if __name__ == "__main__":
    main()
