"""Reproducible comparisons against peers on suites of real data (``lamarck bench``).

``lamarck bench`` runs the batch comparison by default; other comparisons register themselves in
``PARTS`` (name -> ``run(args: BenchArgs, console)``) and run with ``lamarck bench --part NAME``.
Each part writes ``results.csv``, ``results.md`` (and plots where useful) into ``args.output``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamarck.bench._batch import FIELDS, run_batch, shared_score, split_case, summarize
from lamarck.bench._suite import Case, load_case, load_suite


@dataclass(frozen=True)
class BenchArgs:
    """The options of ``lamarck bench`` as a part receives them (each part uses what applies to it)."""

    suite: Path | None = None
    output: Path = Path("bench/results/batch")
    against: str = ""
    cases: str | None = None
    budget: float = 60.0
    seed: int = 0


#: name -> ``run(args, console)``; a part imports its heavy dependencies inside ``run``
PARTS: dict[str, Callable[[BenchArgs, Any], None]] = {}


def _stream_part(args: BenchArgs, console: Any) -> None:
    from lamarck.bench._stream import run

    run(args, console)


PARTS["stream"] = _stream_part


def _planner_part(args: BenchArgs, console: Any) -> None:
    from lamarck.bench._planner import run

    run(args, console)


PARTS["planner"] = _planner_part


def _evolution_part(args: BenchArgs, console: Any) -> None:
    from lamarck.bench._evolution import run_evolution_bench

    run_evolution_bench(args, console)


PARTS["evolution"] = _evolution_part


def _serving_part(args: BenchArgs, console: Any) -> None:
    from lamarck.bench._serving import run

    run(args, console)


PARTS["serving"] = _serving_part

__all__ = [
    "FIELDS",
    "PARTS",
    "BenchArgs",
    "Case",
    "load_case",
    "load_suite",
    "run_batch",
    "shared_score",
    "split_case",
    "summarize",
]
