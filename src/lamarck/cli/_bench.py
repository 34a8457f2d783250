"""``lamarck bench``: Lamarck against its peers on a suite of real data (through :mod:`lamarck.bench`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from lamarck.cli._app import console

__all__ = ["bench"]


def bench(
    suite: Annotated[
        Path | None,
        typer.Option(help="Suite YAML (public suite schema); default: the shared folder's public suite."),
    ] = None,
    output: Annotated[Path, typer.Option(help="Folder for results.csv and results.md.")] = Path(
        "bench/results/batch"
    ),
    against: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated peers. Batch: histgb (default), flaml, autogluon, search-tpe, "
            "search-random, search-grid, search-evolutionary. "
            "--part evolution: batch-loop, retrain-all, retrain-recent, stream (the default set), and the "
            "ablations loop-unguarded, loop-distill, layer-only."
        ),
    ] = None,
    cases: Annotated[str | None, typer.Option(help="Comma-separated subset of case names.")] = None,
    budget: Annotated[float, typer.Option(help="Wall-clock budget per case and system, seconds.")] = 60.0,
    seed: Annotated[
        int, typer.Option(help="Seed of the split and of every system.", min=0, max=2**32 - 1)
    ] = 0,
    delays: Annotated[
        str | None,
        typer.Option(
            help="--part evolution: label delays, comma-separated: immediate (each label before the next "
            "prediction), day (a day of events later), week (weekly batches); default all three."
        ),
    ] = None,
    part: Annotated[
        str,
        typer.Option(
            help="Which comparison: batch (AutoML peers), or another registered part "
            "(see lamarck.bench.PARTS: e.g. stream, planner, evolution, serving, hostile, busy: against "
            "HistGradientBoosting with a CPU burner on the other cores, e.g. --budget 30)."
        ),
    ] = "batch",
    install_peers: Annotated[
        bool,
        typer.Option(
            "--install-peers",
            help="Create or update the environments of the peers in --against (default flaml,autogluon) "
            "in LAMARCK_PEERS_DIR (default ~/.cache/lamarck/peers), then exit.",
        ),
    ] = False,
) -> None:
    """Lamarck against its peers on a suite of real data, one row per case and system (resumable).

    Example: lamarck bench --budget 60 --output bench/results/batch-60s

    A benchmark never reads or writes your user-level knowledge base (``LAMARCK_KNOWLEDGE_BASE=false``
    unless you set it): a case fitted in one run would seed its own fit in the next. The shipped portfolio,
    built without the suite's datasets, still seeds Lamarck's fits.
    """
    from lamarck.bench import PARTS, PEERS, BenchArgs
    from lamarck.bench import install_peers as install

    if install_peers:
        names = [s.strip() for s in (against or ",".join(PEERS)).split(",") if s.strip() in PEERS]
        for python in install(names, log=console.print):
            console.print(f"ready: {python}")
        return
    if part not in PARTS:
        from lamarck.errors import ConfigError

        raise ConfigError(f"unknown bench part {part!r}. Fix: --part with one of {sorted(PARTS)}.")
    with _without_user_knowledge():
        args = BenchArgs(
            suite=suite,
            output=output,
            against=against or "",
            cases=cases,
            budget=budget,
            seed=seed,
            delays=delays,
        )
        PARTS[part](args, console)


@contextmanager
def _without_user_knowledge() -> Iterator[None]:
    """``LAMARCK_KNOWLEDGE_BASE=false`` while a benchmark runs (unless the user set it), restored after."""
    if "LAMARCK_KNOWLEDGE_BASE" in os.environ:
        yield
        return
    os.environ["LAMARCK_KNOWLEDGE_BASE"] = "false"
    try:
        yield
    finally:
        os.environ.pop("LAMARCK_KNOWLEDGE_BASE", None)
