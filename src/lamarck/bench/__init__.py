"""Reproducible comparisons against peers on suites of real data (``lamarck bench``).

Every comparison registers itself in ``PARTS`` (name -> ``run(args: BenchArgs, console)``) and runs with
``lamarck bench --part NAME``; ``batch`` (Lamarck against AutoML peers) is the default; ``busy`` runs
Lamarck against a default HistGradientBoosting under a CPU burner. Each part writes
``results.csv``, ``results.md`` (and plots where useful) into ``args.output``. Shared material (the public
suite, elec2) is found by :func:`public_suite` / :func:`shared_file`; peers' environments by
:func:`ensure_peer` / :func:`install_peers`.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamarck.bench._batch import (
    FIELDS,
    fit_lamarck,
    run_batch,
    score_lamarck,
    shared_score,
    split_case,
    summarize,
)
from lamarck.bench._drifting import CASES as DRIFT_CASES
from lamarck.bench._drifting import TARGET as DRIFT_TARGET
from lamarck.bench._kafka import BrokerUnavailableError, create_topics, kafka_broker, produce_rows
from lamarck.bench._metabuild import CORPUS, CorpusCase, build_portfolio, excluded_names
from lamarck.bench._paths import SharedFileMissingError, elec2_csv, public_suite, shared_file
from lamarck.bench._peers import PEERS, PeerInstallError, ensure_peer, install_peers, peers_dir
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
    #: the evolution part's label delays (comma-separated; default all)
    delays: str | None = None

    def __post_init__(self) -> None:
        """The budget is a number of seconds from 1 to 7 days (the rule of ``--time``), checked before
        any case runs."""
        import math

        from lamarck.errors import BudgetError

        if not (
            isinstance(self.budget, int | float)
            and math.isfinite(self.budget)
            and 1 <= self.budget <= 604_800
        ):
            raise BudgetError(
                f"bench budget must be a number of seconds from 1 to 604800 (7 days) per case and system, got "
                f"{self.budget!r}. Fix: --budget 60."
            )


#: name -> ``run(args, console)``; a part imports its heavy dependencies inside ``run``
PARTS: dict[str, Callable[[BenchArgs, Any], None]] = {}


def _lazy(module: str, name: str = "run") -> Callable[[BenchArgs, Any], None]:
    """A part that imports ``lamarck.bench.MODULE`` (and its heavy dependencies) only when it runs."""

    def run(args: BenchArgs, console: Any) -> None:
        getattr(importlib.import_module(f"lamarck.bench.{module}"), name)(args, console)

    return run


PARTS.update(
    {
        "batch": _lazy("_batch"),
        "stream": _lazy("_stream"),
        "planner": _lazy("_planner"),
        "evolution": _lazy("_evolution", "run_evolution_bench"),
        "serving": _lazy("_serving"),
        "hostile": _lazy("_hostile"),
        "busy": _lazy("_busy"),
        "kafka": _lazy("_kafka_bench"),
        "text": _lazy("_text_bench"),
    }
)

#: names of the text part (its data set) imported from it on first use
_TEXT_NAMES = ("bbc_news",)
#: names of the serving part imported from it on first use
_SERVING_NAMES = ("free_port", "server", "serving_case")
#: names of the evolution part's loop (HTTP client, plots) imported from it on first use
_EVOLUTION_NAMES = (
    "HttpClient",
    "InProcessClient",
    "RetrainClient",
    "plot_loop",
    "produce_rows",
    "run_loop",
    "write_batches",
)


def __getattr__(name: str) -> Any:
    if name in _EVOLUTION_NAMES:
        return getattr(importlib.import_module("lamarck.bench._evolution"), name)
    if name in _TEXT_NAMES:
        return getattr(importlib.import_module("lamarck.bench._text_bench"), name)
    if name in _SERVING_NAMES:
        return getattr(importlib.import_module("lamarck.bench._serving"), name)
    raise AttributeError(f"module 'lamarck.bench' has no attribute {name!r}")


__all__ = [
    "CORPUS",
    "DRIFT_CASES",
    "DRIFT_TARGET",
    "FIELDS",
    "PARTS",
    "PEERS",
    "BenchArgs",
    "BrokerUnavailableError",
    "Case",
    "CorpusCase",
    "HttpClient",
    "InProcessClient",
    "PeerInstallError",
    "RetrainClient",
    "SharedFileMissingError",
    "bbc_news",
    "build_portfolio",
    "create_topics",
    "elec2_csv",
    "ensure_peer",
    "excluded_names",
    "fit_lamarck",
    "free_port",
    "install_peers",
    "kafka_broker",
    "load_case",
    "load_suite",
    "peers_dir",
    "plot_loop",
    "produce_rows",
    "public_suite",
    "run_batch",
    "run_loop",
    "score_lamarck",
    "server",
    "serving_case",
    "shared_file",
    "shared_score",
    "split_case",
    "summarize",
    "write_batches",
]
