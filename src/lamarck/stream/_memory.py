"""The memory pool: what a challenger trains on, so that nothing that still matters is forgotten.

Three parts, each bounded: a reservoir over all history (uniform, Algorithm R), a window of the most
recent rows, and the hard examples (high loss, low margin, high entropy: the seeds' "high-value
samples"). Each row's training weight decays with age (``half_life`` rows) and is multiplied by its
feedback weight (explicit labels count more than implicit signals).

    >>> import pandas as pd
    >>> pool = MemoryPool(reservoir_size=50, recent_size=20, hard_size=10, seed=0)
    >>> for i in range(200):
    ...     pool.add({"x": i}, label=i % 2, loss=1.0 if i % 50 == 0 else 0.1)
    >>> frame = pool.training_frame()
    >>> len(frame) <= 80, int(frame["x"].max()), {0, 50, 100, 150} <= set(pool.hard_rows()["x"])
    (True, 199, True)
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MemoryPool", "PoolRow", "hardness"]


@dataclass(order=True)
class PoolRow:
    seq: int
    features: dict[str, Any] = field(compare=False)
    label: Any = field(compare=False)
    weight: float = field(default=1.0, compare=False)
    loss: float = field(default=0.0, compare=False)


def hardness(proba: np.ndarray, label_index: np.ndarray) -> np.ndarray:
    """Per-row hardness: log loss of the true class plus (1 - margin) plus normalised entropy."""
    p = np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0)
    loss = -np.log(p[np.arange(len(p)), label_index])
    top2 = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.hstack([np.zeros((len(p), 1)), p])
    margin = top2[:, 1] - top2[:, 0]
    entropy = -(p * np.log(p)).sum(axis=1) / np.log(max(p.shape[1], 2))
    return loss + (1 - margin) + entropy


class MemoryPool:
    """Reservoir + recent window + hard examples, with recency-decayed, feedback-weighted rows."""

    def __init__(
        self,
        *,
        reservoir_size: int = 5000,
        recent_size: int = 2000,
        hard_size: int = 1000,
        half_life: float = 5000.0,
        seed: int = 0,
    ) -> None:
        self.reservoir_size = reservoir_size
        self.recent_size = recent_size
        self.hard_size = hard_size
        self.half_life = half_life
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._counter = itertools.count()
        self._seen = 0
        self._reservoir: list[PoolRow] = []
        self._recent: deque[PoolRow] = deque(maxlen=recent_size)
        self._hard: list[tuple[float, int, PoolRow]] = []  # min-heap on loss

    def __len__(self) -> int:
        return len({r.seq for r in self._rows()})

    @property
    def seen(self) -> int:
        return self._seen

    def add(self, features: Mapping[str, Any], *, label: Any, weight: float = 1.0, loss: float = 0.0) -> None:
        row = PoolRow(next(self._counter), dict(features), label, float(weight), float(loss))
        self._seen += 1
        if len(self._reservoir) < self.reservoir_size:
            self._reservoir.append(row)
        else:
            j = int(self._rng.integers(0, self._seen))
            if j < self.reservoir_size:
                self._reservoir[j] = row
        self._recent.append(row)
        item = (row.loss, row.seq, row)
        if self.hard_size <= 0:
            return
        if len(self._hard) < self.hard_size:
            heapq.heappush(self._hard, item)
        elif row.loss > self._hard[0][0]:
            heapq.heapreplace(self._hard, item)

    def _rows(self) -> list[PoolRow]:
        return [*self._reservoir, *self._recent, *(r for _, _, r in self._hard)]

    def hard_rows(self) -> pd.DataFrame:
        return self._frame([r for _, _, r in sorted(self._hard, key=lambda t: -t[0])])

    def training_frame(self, *, label_column: str = "label", weight_column: str = "weight") -> pd.DataFrame:
        """Every distinct row of the pool with its training weight (recency decay x feedback weight)."""
        unique = {r.seq: r for r in self._rows()}
        rows = [unique[k] for k in sorted(unique)]
        return self._frame(rows, label_column=label_column, weight_column=weight_column)

    def _frame(
        self, rows: list[PoolRow], *, label_column: str = "label", weight_column: str = "weight"
    ) -> pd.DataFrame:
        if not rows:
            return pd.DataFrame(columns=[label_column, weight_column])
        newest = self._seen - 1
        records = []
        for r in rows:
            age = newest - r.seq
            decay = 0.5 ** (age / self.half_life) if self.half_life > 0 else 1.0
            records.append({**r.features, label_column: r.label, weight_column: r.weight * decay})
        return pd.DataFrame.from_records(records)
