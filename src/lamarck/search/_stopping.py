"""When a search is done: the plateau rule that ends it before its budget, and time-to-quality.

A user's budget is a ceiling, not a target. :class:`EarlyStop` ends the search once the best complete
trial's out-of-fold score has not improved by more than ``tolerance`` (relative) over the last
``patience`` trials that ran, and at least ``min_budget_share`` of the budget is spent:

    >>> rule = EarlyStop(patience=3, tolerance=0.001, min_budget_share=0.25)
    >>> scores = [0.80, 0.85, 0.8501, 0.84, 0.8502]   # signed out-of-fold scores, in trial order
    >>> print(rule.reason(scores, elapsed_s=30.0, budget_s=60.0))
    no trial improved the best out-of-fold score by more than 0.1% in the last 3 trials
    >>> rule.reason(scores, elapsed_s=10.0, budget_s=60.0) is None   # too early in the budget
    True

Time-to-quality is when the search's best score first came within 1 % of the final one:

    >>> time_to_quality([(1.0, 0.70), (4.0, 0.895), (9.0, 0.90)], final=0.90, metric="roc_auc", end_s=12.0)
    4.0

Optuna's ``terminator.BestValueStagnationEvaluator`` counts only completed trials and has no tolerance
nor budget floor; a search's plateau is mostly pruned trials and improvements in the fourth digit, so the
rule is written here, over the search's own records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lamarck.errors import ConfigError
from lamarck.evaluate import signed

__all__ = ["EarlyStop", "time_to_quality"]

#: each setting of :class:`EarlyStop`: (lowest, highest) allowed
_RANGES: dict[str, tuple[float, float]] = {
    "patience": (1, 10_000),
    "tolerance": (0.0, 1.0),
    "min_budget_share": (0.0, 1.0),
}


@dataclass(frozen=True)
class EarlyStop:
    """Stop the search on a plateau: no gain above ``tolerance`` x |best| over the last ``patience`` trials
    (pruned, cut and failed trials count as trials without gain), once ``min_budget_share`` of the budget
    is spent. ``AutoSearch(early_stop=None)`` (setting ``early_stop = false``) searches to the budget."""

    patience: int = 15
    tolerance: float = 1e-3
    min_budget_share: float = 0.25

    def __post_init__(self) -> None:
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
                raise ConfigError(
                    f"early stop {name} must be a number from {low:g} to {high:g}, got {value!r}. "
                    f"Fix: e.g. EarlyStop({name}={getattr(EarlyStop, name)!r})."
                )

    def reason(self, scores: Sequence[float], *, elapsed_s: float, budget_s: float) -> str | None:
        """Why the search should stop now, or None. ``scores`` are the signed (higher is better)
        out-of-fold scores of the trials that ran, in order; a trial without a complete score is -inf."""
        if elapsed_s < self.min_budget_share * budget_s or len(scores) <= self.patience:
            return None
        before = max(scores[: -self.patience])
        if not math.isfinite(before):
            return None
        recent = max(scores[-self.patience :])
        if recent > before + self.tolerance * max(abs(before), 1e-12):
            return None
        return (
            f"no trial improved the best out-of-fold score by more than {self.tolerance:.1%} in the last "
            f"{self.patience} trials"
        )


def time_to_quality(
    history: Sequence[tuple[float, float]], *, final: float, metric: str, end_s: float, share: float = 0.99
) -> float:
    """Seconds until the search's best score first reached ``share`` of ``final`` (within 1 % of it by
    default; for a loss, at most 1 % above it). ``history`` is the search's (seconds, best score so far) in
    the metric's units; when no trial reached it (the final model is an ensemble, or a rule on top of the
    members), the final score came at the end of the search, ``end_s``.

    >>> time_to_quality([(2.0, 5.0), (6.0, 4.04), (9.0, 4.0)], final=4.0, metric="rmse", end_s=10.0)
    6.0
    >>> time_to_quality([(2.0, 5.0)], final=4.0, metric="rmse", end_s=10.0)
    10.0
    """
    target = signed(metric, final) - (1.0 - share) * abs(final)
    for seconds, best in history:
        if signed(metric, best) >= target - 1e-12:
            return float(seconds)
    return float(end_s)
