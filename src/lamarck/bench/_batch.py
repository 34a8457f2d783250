"""Batch comparison: Lamarck against peers on a suite, same seeded 75/25 split, one shared metric function.

Results go to ``DIR/results.csv`` (``case,system,metric,score,seconds,error``; score in the metric's own
units), appended row by row, so a bench killed half-way resumes without redoing finished cases.
"""

from __future__ import annotations

import csv
import math
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lamarck.bench._peers import PEERS, PeerInstallError, ensure_peer, peer_python, peer_runner, peers_dir
from lamarck.bench._suite import Case, load_case
from lamarck.evaluate import score, signed

__all__ = [
    "FIELDS",
    "SYSTEMS",
    "fit_lamarck",
    "run",
    "run_batch",
    "score_lamarck",
    "shared_score",
    "split_case",
    "summarize",
]

FIELDS = ["case", "system", "metric", "score", "seconds", "error"]


def split_case(case: Case, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    X, y = load_case(case)
    strat = y if case.task != "regression" else None
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=strat)


def _classes(case: Case, y: pd.Series) -> list[str]:
    classes = sorted(y.astype(str).unique())
    if case.task == "binary":
        pos = case.positive_class if case.positive_class in classes else classes[-1]
        classes = [c for c in classes if c != pos] + [pos]
    return classes


def shared_score(case: Case, y_test: pd.Series, pred: Any, classes: Sequence[str] | None = None) -> float:
    """The case metric of ``pred``: a (n, K) probability frame with class-named columns, or values."""
    if case.task == "regression":
        return score(case.metric, y_test.to_numpy(dtype=float), np.asarray(pred, dtype=float))
    classes = list(classes or _classes(case, y_test))
    proba = pd.DataFrame(pred).reindex(columns=classes, fill_value=0.0).to_numpy(dtype=float)
    index = {c: i for i, c in enumerate(classes)}
    return score(case.metric, y_test.astype(str).map(index).to_numpy(), proba)


def _run_lamarck(
    case: Case,
    Xtr: pd.DataFrame,
    Xte: pd.DataFrame,
    ytr: pd.Series,
    yte: pd.Series,
    budget: float,
    seed: int,
    **search: Any,
) -> float:
    """Lamarck as a user runs it; ``search`` (``sampler=``, ``portfolio=``) goes to ``Project.fit``."""
    result = fit_lamarck(case, Xtr, ytr, budget, seed, **search)
    return score_lamarck(case, result.model, Xte, ytr, yte)


def fit_lamarck(
    case: Case, Xtr: pd.DataFrame, ytr: pd.Series, budget: float, seed: int, **search: Any
) -> Any:
    """``Project.fit`` on the case's training rows with its sentence (no registration, no report); the
    :class:`lamarck.project.FitResult`, its target checked against the case's."""
    from lamarck.project import Project

    frame = Xtr.copy()
    frame[case.target] = ytr
    with tempfile.TemporaryDirectory() as tmp:
        result = Project(tmp).fit(
            frame, case.instruction, time_budget_s=budget, seed=seed, register=False, report=False, **search
        )
    if result.spec.target != case.target:
        raise RuntimeError(f"planner chose target {result.spec.target!r}, the case says {case.target!r}")
    return result


def score_lamarck(case: Case, model: Any, Xte: pd.DataFrame, ytr: pd.Series, yte: pd.Series) -> float:
    """The case metric of a Lamarck model on the test rows."""
    if case.task == "regression":
        return shared_score(case, yte, model.predict(Xte))
    proba = pd.DataFrame(model.predict_proba(Xte), columns=[str(c) for c in model.classes_])
    return shared_score(case, yte, proba, _classes(case, pd.concat([ytr, yte])))


def _run_histgb(
    case: Case, Xtr: pd.DataFrame, Xte: pd.DataFrame, ytr: pd.Series, yte: pd.Series, budget: float, seed: int
) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    def prep(X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for c in X.columns:
            if not pd.api.types.is_numeric_dtype(X[c]):
                X[c] = X[c].astype("category")
        return X

    Xa = prep(pd.concat([Xtr, Xte]))
    A, B = Xa.iloc[: len(Xtr)], Xa.iloc[len(Xtr) :]
    if case.task == "regression":
        m = HistGradientBoostingRegressor(random_state=seed, categorical_features="from_dtype").fit(A, ytr)
        return shared_score(case, yte, m.predict(B))
    m = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype").fit(
        A, ytr.astype(str)
    )
    proba = pd.DataFrame(m.predict_proba(B), columns=[str(c) for c in m.classes_])
    return shared_score(case, yte, proba, _classes(case, pd.concat([ytr, yte])))


def _run_peer(
    case: Case,
    Xtr: pd.DataFrame,
    Xte: pd.DataFrame,
    ytr: pd.Series,
    yte: pd.Series,
    budget: float,
    seed: int,
    peer: str = "flaml",
) -> tuple[float, float]:
    """Fit a peer in its own virtual environment (a subprocess) on the same split; score here.

    Returns the score and the peer's own fit + predict seconds (its interpreter start-up left out).
    """
    import json
    import subprocess

    python = peer_python(peer)
    if python is None:
        raise RuntimeError(
            f"no environment for {peer} in {peers_dir()}; run `lamarck bench --install-peers --against "
            f"{peer}` (or `make bench-peers`) first"
        )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train = Xtr.copy()
        train[case.target] = ytr
        _to_parquet(train, work / "train.parquet")
        _to_parquet(Xte, work / "test.parquet")
        (work / "config.json").write_text(
            json.dumps(
                {
                    "target": case.target,
                    "task": case.task,
                    "metric": case.metric,
                    "budget": budget,
                    "seed": seed,
                }
            )
        )
        proc = subprocess.run(
            [str(python), str(peer_runner()), peer, str(work)],
            capture_output=True,
            text=True,
            timeout=budget * 3 + 120,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{peer} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
            )
        pred = pd.read_parquet(work / "pred.parquet")
        seconds = json.loads((work / "timing.json").read_text())["seconds"]
    if case.task == "regression":
        return shared_score(case, yte, pred["prediction"].to_numpy()), seconds
    return shared_score(case, yte, pred, _classes(case, pd.concat([ytr, yte]))), seconds


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame = frame.copy()
    for c in frame.columns:  # plain types: the peer's pandas may be older than ours
        if not pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    frame.reset_index(drop=True).to_parquet(path)


SYSTEMS: dict[str, Callable[..., Any]] = {
    "lamarck": _run_lamarck,
    "histgb": _run_histgb,
    "flaml": partial(_run_peer, peer="flaml"),
    "autogluon": partial(_run_peer, peer="autogluon"),
}
# search strategies at equal budgets, without the portfolio so that only the sampler differs
for _sampler in ("grid", "random", "tpe", "evolutionary"):
    SYSTEMS[f"search-{_sampler}"] = partial(_run_lamarck, sampler=_sampler, portfolio=False)


def _done(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    with path.open() as fh:
        return {(r["case"], r["system"]) for r in csv.DictReader(fh)}


@contextmanager
def appending(
    output: Path, fields: Sequence[str]
) -> Iterator[tuple[set[tuple[str, str]], Callable[[dict[str, Any]], None]]]:
    """The results file of a resumable run (``output/results.csv``): the (case, system) pairs it holds
    already, and a function that appends one row and flushes it (a killed run resumes after it)."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / "results.csv"
    done = _done(path)
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fields))
        if new:
            writer.writeheader()

        def write(row: dict[str, Any]) -> None:
            writer.writerow(row)
            fh.flush()

        yield done, write


def run_batch(
    cases: Sequence[Case],
    *,
    systems: Sequence[str],
    budget: float,
    output: Path,
    seed: int = 0,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Run every (case, system) not yet in ``output/results.csv`` and append its row."""
    with appending(output, FIELDS) as (done, write):
        for case in cases:
            todo = [s for s in systems if (case.name, s) not in done]
            if not todo:
                continue
            Xtr, Xte, ytr, yte = split_case(case, seed)
            for system in todo:
                t0 = time.monotonic()
                own_seconds = None
                row: dict[str, Any] = {"case": case.name, "system": system, "metric": case.metric}
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        out = SYSTEMS[system](case, Xtr, Xte, ytr, yte, budget, seed)
                    row["score"], own_seconds = out if isinstance(out, tuple) else (out, None)
                    row["error"] = ""
                except Exception as e:
                    row["score"] = ""
                    row["error"] = f"{type(e).__name__}: {e}"[:300]
                    traceback.print_exc()
                row["seconds"] = round(time.monotonic() - t0 if own_seconds is None else own_seconds, 2)
                write(row)
                if on_result:
                    on_result(row)
    return output / "results.csv"


def summarize(results: Path, baseline: str = "histgb") -> str:
    """Markdown: per-case scores (higher is better: losses negated), mean rank, wins, normalized score."""
    df = pd.read_csv(results)
    df["signed"] = [
        signed(m, float(s)) if isinstance(s, int | float) and not math.isnan(s) else math.nan
        for m, s in zip(df["metric"], pd.to_numeric(df["score"], errors="coerce"), strict=True)
    ]
    systems = sorted(df["system"].unique())
    # a system whose every row failed has no score, and pivot_table drops it: keep it as a NaN column
    wide = df.pivot_table(index="case", columns="system", values="signed", aggfunc="last")
    wide = wide.reindex(columns=systems)
    secs = df.pivot_table(index="case", columns="system", values="seconds", aggfunc="last")
    lines = ["| case | metric | " + " | ".join(systems) + " |", "|---|---|" + "---|" * len(systems)]
    metrics = df.groupby("case")["metric"].first()
    for case in wide.index:
        cells = []
        for s in systems:
            v = wide.loc[case].get(s, math.nan)
            cells.append("fail" if pd.isna(v) else f"{v:.4f} ({secs.loc[case].get(s, math.nan):.0f}s)")
        lines.append(f"| {case} | {metrics[case]} | " + " | ".join(cells) + " |")
    ranks = wide.rank(axis=1, ascending=False, method="min")
    best = wide.max(axis=1)
    lines += [
        "",
        "| system | mean rank | wins | mean normalized score (baseline=0, best=1) | failures |",
        "|---|---|---|---|---|",
    ]
    for s in systems:
        norm = ((wide[s] - wide.get(baseline, wide[s])) / (best - wide.get(baseline, wide[s]))).where(
            best != wide.get(baseline, best)
        )
        fails = int(df[(df.system == s) & df["signed"].isna()].shape[0])
        mean_rank = "—" if ranks[s].isna().all() else f"{ranks[s].mean():.2f}"
        lines.append(
            f"| {s} | {mean_rank} | {int((ranks[s] == 1).sum())} | {norm.fillna(0).mean():.3f} | {fails} |"
        )
    if baseline in wide.columns and "lamarck" in wide.columns:
        diff = wide["lamarck"] - wide[baseline]
        rel = diff / wide[baseline].abs()
        lines += [
            "",
            f"Lamarck beats {baseline} on {int((diff > 0).sum())} of {int(diff.notna().sum())} cases; "
            f"worst relative gap {rel.min():+.2%}.",
        ]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def run(args: Any, console: Any) -> None:
    """``lamarck bench --part batch`` (the default part): Lamarck against ``args.against`` on the suite.

    Peers that run in their own environment (flaml, autogluon) get it first, created when missing.
    """
    from lamarck.bench._paths import public_suite
    from lamarck.bench._suite import load_suite, pick

    cases = load_suite(args.suite or public_suite())
    wanted = set(pick(args.cases, [c.name for c in cases], flag="--cases"))
    cases = [c for c in cases if c.name in wanted]
    peers = [s for s in SYSTEMS if s != "lamarck"]
    systems = [
        "lamarck",
        *[s for s in pick(args.against or "histgb", peers, flag="--against") if s != "lamarck"],
    ]
    for peer in (s for s in systems if s in PEERS and peer_python(s) is None):
        console.print(f"creating the {peer} environment in {peers_dir() / peer} (once)...")
        try:
            ensure_peer(peer, log=console.print)
        except PeerInstallError as e:  # its rows record "no environment"; the other systems still run
            console.print(f"[red]{e}[/red]")

    def show(row: dict[str, Any]) -> None:
        status = f"[red]{row['error']}[/red]" if row["error"] else f"{row['metric']} {_fmt(row['score'])}"
        console.print(f"{row['case']:32s} {row['system']:10s} {status} ({row['seconds']}s)")

    output = Path(args.output)
    path = run_batch(
        cases, systems=systems, budget=args.budget, output=output, seed=args.seed, on_result=show
    )
    table = summarize(path)
    (output / "results.md").write_text(table + "\n")
    console.print(table)
