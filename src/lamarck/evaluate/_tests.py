"""Champion vs challenger: one-sided McNemar and paired bootstrap tests.

>>> import numpy as np
>>> y = np.array([1] * 300)
>>> champ = np.array([1] * 200 + [0] * 100); chall = np.ones(300, dtype=int)
>>> mcnemar(y, champ, chall).better
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from lamarck.evaluate._metrics import score, signed

__all__ = ["TestResult", "mcnemar", "paired_bootstrap"]


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float
    n: int
    delta: float
    better: bool
    method: str


def mcnemar(
    y_true: np.ndarray, pred_champion: np.ndarray, pred_challenger: np.ndarray, *, alpha: float = 0.05
) -> TestResult:
    """One-sided: is the challenger right more often where the two disagree?"""
    y = np.asarray(y_true)
    a = np.asarray(pred_champion) == y
    b = np.asarray(pred_challenger) == y
    n01 = int(np.sum(a & ~b))  # champion right, challenger wrong
    n10 = int(np.sum(~a & b))  # challenger right, champion wrong
    n = n01 + n10
    if n == 0:
        return TestResult(0.0, 1.0, len(y), 0.0, False, "mcnemar")
    if n < 25:
        p = float(stats.binomtest(n10, n, 0.5, alternative="greater").pvalue)
        stat = float(n10)
        method = "mcnemar-exact"
    else:
        stat = (abs(n10 - n01) - 1) ** 2 / n
        p_two = float(stats.chi2.sf(stat, 1))
        p = p_two / 2 if n10 > n01 else 1 - p_two / 2
        method = "mcnemar-chi2"
    delta = float(b.mean() - a.mean())
    return TestResult(float(stat), p, len(y), delta, bool(p < alpha and delta > 0), method)


def paired_bootstrap(
    y_true: np.ndarray,
    champion_pred: np.ndarray,
    challenger_pred: np.ndarray,
    *,
    metric: str,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> TestResult:
    """One-sided bootstrap p-value that the challenger's metric is better (same resampled rows for both)."""
    y = np.asarray(y_true)
    a, b = np.asarray(champion_pred), np.asarray(challenger_pred)
    rng = np.random.default_rng(seed)
    n = len(y)
    base = signed(metric, score(metric, y, b)) - signed(metric, score(metric, y, a))
    worse = 0
    done = 0
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        try:
            d = signed(metric, score(metric, y[idx], b[idx])) - signed(metric, score(metric, y[idx], a[idx]))
        except ValueError:
            continue
        done += 1
        worse += d <= 0
    p = (worse + 1) / (done + 1) if done else math.nan
    return TestResult(float(base), float(p), n, float(base), bool(p < alpha and base > 0), "paired-bootstrap")
