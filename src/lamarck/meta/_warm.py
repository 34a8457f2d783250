"""The warm start: the configurations of the nearest known tasks, to try before anything else.

Distances are Euclidean on meta-features standardised over the known tasks of the same kind (binary,
multiclass or regression) and the new one (:data:`lamarck.meta.DISTANCE_FEATURES`; counts on a log
scale); a figure that one side lacks counts as the mean. The user's own knowledge base is asked first,
then the shipped portfolio; the best configuration of each neighbour comes before any neighbour's second.

    >>> from lamarck.meta import Config, KnownTask, MetaFeatures
    >>> def known(name, rows):
    ...     meta = MetaFeatures.from_dict({"task": "binary", "n_rows": rows, "n_columns": 5})
    ...     return KnownTask(name, "portfolio", "binary", "roc_auc", meta, (Config("linear", {"C": rows}, 0.9),))
    >>> pool = [known("small", 100), known("mid", 2_000), known("large", 200_000)]
    >>> query = MetaFeatures.from_dict({"task": "binary", "n_rows": 3_000, "n_columns": 5})
    >>> [t.name for t, _ in nearest(query, pool, k=2)]
    ['mid', 'small']
    >>> start = warm_start(query, portfolio=pool, k=1)
    >>> start.configs, start.neighbours[0].name
    ([('linear', {'C': 2000}, 'warm start')], 'mid')
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from lamarck.meta._features import MetaFeatures
from lamarck.meta._knowledge import KnownTask

__all__ = ["SOURCE", "Neighbour", "WarmStart", "nearest", "warm_start"]

#: the ``source`` of a trial seeded by the warm start (the leaderboard shows it)
SOURCE = "warm start"


@dataclass(frozen=True)
class Neighbour:
    """A known task the warm start drew on."""

    name: str
    origin: str
    distance: float
    task: str
    metric: str
    when: str = ""

    def describe(self) -> str:
        """``name (origin, distance d)``, e.g. ``titanic (portfolio, distance 1.2)``."""
        when = f", {self.when[:10]}" if self.when else ""
        return f"{self.name} ({self.origin}{when}, distance {self.distance:.2f})"


@dataclass(frozen=True)
class WarmStart:
    """The configurations to try first, as ``(learner, params, source)``, and the tasks they come from."""

    configs: list[tuple[str, dict[str, Any], str]]
    neighbours: tuple[Neighbour, ...]

    def note(self) -> str:
        """One line for the fit's notes: where the start came from."""
        if not self.neighbours:
            return "warm start: no earlier task of this kind is known; the search started cold"
        names = "; ".join(n.describe() for n in self.neighbours)
        return (
            f"warm start: {len(self.configs)} configuration(s) tried first, from the nearest tasks: {names}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "configs": [{"learner": n, "params": p} for n, p, _ in self.configs],
            "neighbours": [
                {
                    "name": n.name,
                    "origin": n.origin,
                    "distance": n.distance,
                    "metric": n.metric,
                    "when": n.when,
                }
                for n in self.neighbours
            ],
        }


def nearest(query: MetaFeatures, known: Sequence[KnownTask], *, k: int = 3) -> list[tuple[KnownTask, float]]:
    """The ``k`` known tasks of the query's kind nearest to it, nearest first, with their distances."""
    pool = [t for t in known if t.task == query.task and t.configs]
    if not pool or k <= 0:
        return []
    M = np.vstack([query.vector(), *(t.meta.vector() for t in pool)])
    finite = np.isfinite(M)
    counts = finite.sum(axis=0)
    mean = np.where(counts > 0, np.where(finite, M, 0.0).sum(axis=0) / np.maximum(counts, 1), 0.0)
    M = np.where(np.isfinite(M), M, mean)
    sd = M.std(axis=0)
    Z = (M - mean) / np.where(sd > 1e-12, sd, 1.0)
    d = cdist(Z[:1], Z[1:])[0]
    order = np.argsort(d, kind="stable")[:k]
    return [(pool[i], float(d[i])) for i in order]


def warm_start(
    query: MetaFeatures,
    *,
    knowledge: Sequence[KnownTask] = (),
    portfolio: Sequence[KnownTask] = (),
    k: int = 3,
    max_configs: int = 4,
) -> WarmStart:
    """Configurations to try first: from the ``k`` nearest tasks of the user's knowledge base, then the
    ``k`` nearest of the portfolio; each neighbour's best configuration before any second one; no
    configuration twice; at most ``max_configs``. A LightGBM configuration, if any, goes first (its time
    sets the scale for the other learners' cost estimates)."""
    found = [*nearest(query, knowledge, k=k), *nearest(query, portfolio, k=k)]
    configs: list[tuple[str, dict[str, Any], str]] = []
    used: list[tuple[KnownTask, float]] = []
    seen: set[str] = set()
    depth = max((len(t.configs) for t, _ in found), default=0)
    for rank in range(depth):
        for task, distance in found:
            if len(configs) >= max_configs or rank >= len(task.configs):
                continue
            c = task.configs[rank]
            key = json.dumps([c.learner, c.params], sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            configs.append((c.learner, dict(c.params), SOURCE))
            if all(t is not task for t, _ in used):
                used.append((task, distance))
    configs.sort(key=lambda c: c[0] != "lightgbm")  # stable: otherwise in the order found
    neighbours = tuple(
        Neighbour(t.name, t.origin, round(d, 4) if math.isfinite(d) else d, t.task, t.metric, t.when)
        for t, d in used
    )
    return WarmStart(configs=configs, neighbours=neighbours)
