"""Validation by data size: k-fold on small data, hold-out on large, stratified for classification, seeded.

>>> import numpy as np
>>> scheme = choose_scheme(n_rows=1000, task="binary")
>>> scheme.kind, scheme.n_splits
('kfold', 5)
>>> y = np.array([0, 1] * 500)
>>> folds = scheme.split(y, seed=0)
>>> len(folds), sorted(np.concatenate([val for _, val in folds]).tolist()) == list(range(1000))
(5, True)
>>> choose_scheme(n_rows=500_000, task="regression").kind
'holdout'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

__all__ = ["ValidationScheme", "choose_scheme"]


@dataclass(frozen=True)
class ValidationScheme:
    """How trials are scored: ``kfold`` (every row gets an out-of-fold prediction) or ``holdout``."""

    kind: Literal["kfold", "holdout"]
    n_splits: int
    holdout_fraction: float
    stratified: bool
    reason: str

    def split(self, y: np.ndarray, *, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
        """Train / validation index pairs for ``y``."""
        n = len(y)
        idx = np.arange(n)
        stratify = self.stratified and _can_stratify(y, self.n_splits if self.kind == "kfold" else 2)
        if self.kind == "kfold":
            splitter = (
                StratifiedKFold(self.n_splits, shuffle=True, random_state=seed)
                if stratify
                else KFold(self.n_splits, shuffle=True, random_state=seed)
            )
            return [(tr, va) for tr, va in splitter.split(idx, y if stratify else None)]
        tr, va = train_test_split(
            idx, test_size=self.holdout_fraction, random_state=seed, stratify=y if stratify else None
        )
        return [(np.sort(tr), np.sort(va))]

    def describe(self) -> str:
        if self.kind == "kfold":
            return f"{self.n_splits}-fold{' stratified' if self.stratified else ''} cross-validation ({self.reason})"
        return f"hold-out of {self.holdout_fraction:.0%}{' stratified' if self.stratified else ''} ({self.reason})"


def _can_stratify(y: np.ndarray, n_splits: int) -> bool:
    _, counts = np.unique(y, return_counts=True)
    return bool(len(counts) > 1 and counts.min() >= n_splits)


def choose_scheme(*, n_rows: int, task: str, n_splits: int | None = None) -> ValidationScheme:
    """The scheme for a table of ``n_rows``: 5 folds below 20k rows, 3 below 200k, a hold-out above."""
    stratified = task != "regression"
    if n_splits is not None:
        return ValidationScheme("kfold", n_splits, 0.0, stratified, f"{n_splits} folds asked for")
    if n_rows < 20_000:
        return ValidationScheme("kfold", 5, 0.0, stratified, f"{n_rows:,} rows < 20,000")
    if n_rows < 200_000:
        return ValidationScheme("kfold", 3, 0.0, stratified, f"{n_rows:,} rows < 200,000")
    fraction = min(0.2, 100_000 / n_rows)
    return ValidationScheme("holdout", 1, fraction, stratified, f"{n_rows:,} rows >= 200,000")
