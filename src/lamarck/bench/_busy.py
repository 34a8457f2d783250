"""A busy machine (issue 14): Lamarck against a default HistGradientBoosting while a CPU burner keeps the
other cores busy.

For each case the part starts :class:`Burner` (one pure-Python process per other core, by default all
cores but one; bounded in time, stopped in a ``finally`` and killed if it does not stop), then fits Lamarck
as a user runs it and a default HistGradientBoosting on the same seeded 75/25 split, both under the
burner. ``results.csv`` has the batch part's columns plus Lamarck's time-to-quality, whether its search
stopped early, its trials, its truncated trials and the load average; ``results.md`` the per-case
comparison: scores, the ratio Lamarck / HGB (metric units), the signed relative gap (negative: Lamarck is
worse) and the issue's bar (no case worse than HGB by more than 1 %)::

    lamarck bench --part busy --budget 30 --output bench/results/busy            # every public case
    lamarck bench --part busy --budget 30 --cases ontario_hourly_wage,galton_child_height

    >>> round(relative_gap("rmse", lamarck=101.0, histgb=100.0), 6)
    -0.01
    >>> round(relative_gap("roc_auc", lamarck=0.90, histgb=0.80), 6)
    0.125
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from lamarck.bench._batch import FIELDS, _run_histgb, appending, fit_lamarck, score_lamarck, split_case
from lamarck.bench._suite import Case
from lamarck.evaluate import signed

__all__ = ["BAR", "BUSY_FIELDS", "Burner", "relative_gap", "run", "run_busy", "summarize_busy"]

BUSY_FIELDS = [*FIELDS, "time_to_quality_s", "stopped_early", "trials", "truncated", "load"]
#: the issue's bar: with the burner on, no case worse than a default HistGradientBoosting by more than 1 %
BAR = -0.01


def _burn(stop: Any, seconds: float) -> None:
    """Keep one core busy until ``stop`` is set or ``seconds`` pass (runs in the burner process)."""
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end and not stop.is_set():
        for _ in range(50_000):
            x += 1


class Burner:
    """``n`` processes that each keep a core busy, for at most ``max_seconds``; a context manager that
    always stops them (set an event, then terminate, then kill)."""

    def __init__(self, n: int | None = None, *, max_seconds: float = 600.0) -> None:
        self.n = n
        self.max_seconds = max_seconds

    def __enter__(self) -> Burner:
        ctx = mp.get_context("spawn")  # a clean child: no copy of this process's threads
        self.stop_event_ = ctx.Event()
        n = self.n if self.n is not None else max(1, (os.cpu_count() or 2) - 1)
        self.processes_ = [
            ctx.Process(target=_burn, args=(self.stop_event_, self.max_seconds), daemon=True)
            for _ in range(n)
        ]
        try:
            for p in self.processes_:
                p.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """End every burner process (idempotent)."""
        self.stop_event_.set()
        for p in self.processes_:
            if p.pid is None:
                continue
            p.join(timeout=2.0)
            if p.is_alive():
                p.terminate()
                p.join(timeout=2.0)
            if p.is_alive():
                p.kill()
                p.join(timeout=2.0)

    @property
    def alive(self) -> int:
        """How many burner processes still run."""
        return sum(1 for p in getattr(self, "processes_", []) if p.is_alive())


def relative_gap(metric: str, *, lamarck: float, histgb: float) -> float:
    """Lamarck's signed relative difference to HGB: positive when Lamarck is better, -0.01 = 1 % worse."""
    h = signed(metric, histgb)
    return (signed(metric, lamarck) - h) / max(abs(h), 1e-12)


def run_busy(
    cases: Sequence[Case],
    *,
    budget: float,
    output: Path,
    seed: int = 0,
    burners: int | None = None,
    warm_up_s: float = 1.0,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Each case not yet in ``output/results.csv``: Lamarck and HGB fitted under a :class:`Burner`."""
    with appending(output, BUSY_FIELDS) as (done, write):
        for case in cases:
            todo = [s for s in ("lamarck", "histgb") if (case.name, s) not in done]
            if not todo:
                continue
            Xtr, Xte, ytr, yte = split_case(case, seed)
            with Burner(burners, max_seconds=4 * budget + 120):
                time.sleep(warm_up_s)  # the burner's interpreter starts
                for system in todo:
                    row = _run_one(system, case, Xtr, Xte, ytr, yte, budget, seed)
                    write(row)
                    if on_result:
                        on_result(row)
    return output / "results.csv"


def _run_one(
    system: str,
    case: Case,
    Xtr: pd.DataFrame,
    Xte: pd.DataFrame,
    ytr: pd.Series,
    yte: pd.Series,
    budget: float,
    seed: int,
) -> dict[str, Any]:
    row: dict[str, Any] = {k: "" for k in BUSY_FIELDS}
    row.update(case=case.name, system=system, metric=case.metric)
    t0 = time.monotonic()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if system == "histgb":
                row["score"] = _run_histgb(case, Xtr, Xte, ytr, yte, budget, seed)
            else:
                result = fit_lamarck(case, Xtr, ytr, budget, seed)
                row["score"] = score_lamarck(case, result.model, Xte, ytr, yte)
                card = result.scorecard
                row["time_to_quality_s"] = card.get("time_to_quality_s", "")
                row["stopped_early"] = card.get("stopped_early", "")
                trials = [r for r in result.leaderboard if r.get("trial") is not None]
                row["trials"] = result.n_trials
                row["truncated"] = sum(1 for r in trials if r.get("status") == "truncated")
    except Exception as e:
        row["error"] = f"{type(e).__name__}: {e}"[:300]
        traceback.print_exc()
    row["seconds"] = round(time.monotonic() - t0, 2)
    row["load"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else ""
    return row


def summarize_busy(results: Path) -> str:
    """Markdown: per case HGB, Lamarck, their ratio and gap, the bar, time-to-quality; then the count."""
    df = pd.read_csv(results, keep_default_na=False)
    lines = [
        "| case | metric | histgb | lamarck | lamarck / histgb | gap | within 1 % | time to quality | "
        "stopped early | trials (cut) | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    passed = total = 0
    for case, rows in df.groupby("case", sort=True):
        by = {r["system"]: r for _, r in rows.iterrows()}
        lam, hgb = by.get("lamarck"), by.get("histgb")
        metric = str(rows["metric"].iloc[0])

        def value(r: Any) -> float:
            return float(r["score"]) if r is not None and str(r["score"]) not in ("", "nan") else math.nan

        lv, hv = value(lam), value(hgb)
        if lam is None or math.isnan(lv) or math.isnan(hv):
            cells = ["fail" if math.isnan(hv) else f"{hv:.5g}", "fail" if math.isnan(lv) else f"{lv:.5g}"]
            lines.append(f"| {case} | {metric} | {' | '.join(cells)} | — | — | no | — | — | — | — |")
            total += 1
            continue
        gap = relative_gap(metric, lamarck=lv, histgb=hv)
        ok = gap >= BAR
        passed += ok
        total += 1
        stopped = "yes" if str(lam["stopped_early"]).strip() else "no"
        lines.append(
            f"| {case} | {metric} | {hv:.5g} | {lv:.5g} | {lv / hv if hv else math.nan:.4f} | {gap:+.2%} | "
            f"{'yes' if ok else '**no**'} | {lam['time_to_quality_s']} s of {lam['seconds']} s | {stopped} | "
            f"{lam['trials']} ({lam['truncated']}) | {lam['load']} |"
        )
    lines += [
        "",
        f"{passed} of {total} cases within 1 % of a default HistGradientBoosting (the issue's bar) with the "
        "burner on.",
    ]
    return "\n".join(lines)


def run(args: Any, console: Any) -> None:
    """``lamarck bench --part busy``: the public suite (or ``--cases``) under a CPU burner."""
    from lamarck.bench._paths import public_suite
    from lamarck.bench._suite import load_suite, pick

    cases = load_suite(args.suite or public_suite())
    wanted = set(pick(args.cases, [c.name for c in cases], flag="--cases"))
    cases = [c for c in cases if c.name in wanted]
    output = Path(args.output)
    if output == Path("bench/results/batch"):
        output = Path("bench/results/busy")

    def show(row: dict[str, Any]) -> None:
        status = f"[red]{row['error']}[/red]" if row["error"] else f"{row['metric']} {row['score']}"
        console.print(
            f"{row['case']:32s} {row['system']:8s} {status} ({row['seconds']}s, load {row['load']})"
        )

    path = run_busy(cases, budget=args.budget, output=output, seed=args.seed, on_result=show)
    table = summarize_busy(path)
    (output / "results.md").write_text(table + "\n")
    console.print(table)
