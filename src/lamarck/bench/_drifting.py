"""Drifting streams for the evolution comparison: elec2 (real) and river's synthetic generators.

Each builder returns a :class:`DriftCase`: the rows in stream order (features plus ``class``), where the
first champion is fitted, the batch size, how often the loop runs, and optional *probes*: held-out rows
of one concept, scored on the serving model after every batch, to measure backward transfer
(accuracy on an old concept after a new one was learned).

- ``sea``: SEA with four abrupt concept changes (variants 0→1→2→3, 10 % label noise).
- ``agrawal``: Agrawal with gradual drift between four classification functions (0→2→5→8).
- ``agrawal-recurring``: two customer segments with different rules, seen one after the other and
  then the first again (segment A: ``car`` ≤ 10, rule 1; segment B: ``car`` > 10, rule 6). Nothing
  about segment A changes while B is seen, so a model that forgets A has only itself to blame; the
  probes hold out rows of each segment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lamarck.bench._paths import elec2_csv

TARGET = "class"


@dataclass
class DriftCase:
    name: str
    frame: pd.DataFrame
    start: int
    batch: int
    every: int
    #: rows in "one day of events" (the bench's middle label delay): elec2's half-hours, 50 elsewhere
    day: int = 50
    probes: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: (name, first row) of each concept phase of the stream
    phases: list[tuple[str, int]] = field(default_factory=list)


def _frame(pairs: Iterator[tuple[dict[Hashable, Any], Any]], n: int) -> pd.DataFrame:
    rows = [{**x, TARGET: int(y)} for x, y in itertools.islice(pairs, n)]
    return pd.DataFrame(rows)


def sea(n: int = 16000, seed: int = 7) -> DriftCase:
    from river.datasets import synth

    block = n // 4
    parts = [_frame(iter(synth.SEA(variant=v, noise=0.1, seed=seed + v)), block) for v in (0, 1, 2, 3)]
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.rename(columns={c: f"x{c}" for c in frame.columns if c != TARGET})
    return DriftCase(
        "sea",
        frame,
        start=block // 2,
        batch=500,
        every=2000,
        phases=[(f"concept {v}", v * block) for v in range(4)],
    )


def agrawal(n: int = 16000, seed: int = 7) -> DriftCase:
    from river.datasets import synth

    functions = (0, 2, 5, 8)
    block = n // len(functions)
    stream: synth.Agrawal | synth.ConceptDriftStream = synth.Agrawal(
        classification_function=functions[0], seed=seed, perturbation=0.05
    )
    for k, f in enumerate(functions[1:], start=1):
        stream = synth.ConceptDriftStream(
            stream,
            synth.Agrawal(classification_function=f, seed=seed + k, perturbation=0.05),
            position=k * block,
            width=1000,
            seed=seed,
        )
    return DriftCase(
        "agrawal",
        _frame(iter(stream), n),
        start=block // 2,
        batch=500,
        every=2000,
        phases=[(f"rule {f}", k * block) for k, f in enumerate(functions)],
    )


def _segment(rule: int, keep: Callable[[dict], bool], n: int, seed: int) -> pd.DataFrame:
    from river.datasets import synth

    gen = synth.Agrawal(classification_function=rule, seed=seed, perturbation=0.05)
    return _frame(((x, y) for x, y in gen if keep(x)), n)


def agrawal_recurring(n: int = 16000, seed: int = 7) -> DriftCase:
    a, b = (lambda x: x["car"] <= 10), (lambda x: x["car"] > 10)
    first, second, third = int(n * 0.375), int(n * 0.375), n - 2 * int(n * 0.375)
    frame = pd.concat(
        [
            _segment(1, a, first, seed),
            _segment(6, b, second, seed + 1),
            _segment(1, a, third, seed + 2),
        ],
        ignore_index=True,
    )
    probes = {"A": _segment(1, a, 2000, seed + 10), "B": _segment(6, b, 2000, seed + 11)}
    return DriftCase(
        "agrawal-recurring",
        frame,
        start=2000,
        batch=500,
        every=2000,
        probes=probes,
        phases=[("A", 0), ("B", first), ("A again", first + second)],
    )


def elec2(path: Path) -> DriftCase:
    week = 336
    return DriftCase("elec2", pd.read_csv(path), start=8 * week, batch=week, every=6 * week, day=48)


CASES: dict[str, Callable[[], DriftCase]] = {
    "elec2": lambda: elec2(elec2_csv()),
    "sea": sea,
    "agrawal": agrawal,
    "agrawal-recurring": agrawal_recurring,
}
