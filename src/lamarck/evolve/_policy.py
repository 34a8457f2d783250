"""The thresholds of the evolution policy, with their rules as data.

The defaults are the seeds' numbers (p < 0.05 with at least 200 labels, no more than 1 point forgotten).
What a pass does with them is told in :mod:`lamarck.evolve._evolver`.

    >>> EvolutionPolicy(alpha=0.01).alpha
    0.01
    >>> EvolutionPolicy(alpha=2.0)
    Traceback (most recent call last):
    ...
    lamarck.errors.ConfigError: evolution policy alpha=2.0 is out of range (allowed: 0 < alpha < 1). Fix: counts are positive, alpha and fractions lie between 0 and 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["EvolutionPolicy"]

#: the policy's parameter rules: name -> (allowed range as text, check)
RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "min_test_labels": (">= 1", lambda v: v >= 1),
    "min_new_labels": (">= 1", lambda v: v >= 1),
    "alpha": ("0 < alpha < 1", lambda v: 0 < v < 1),
    "test_fraction": ("0 < test_fraction < 1", lambda v: 0 < v < 1),
    "replay_fraction": ("0 <= replay_fraction < 1", lambda v: 0 <= v < 1),
    "max_forgetting": (">= 0", lambda v: v >= 0),
    "supersede_ratio": ("> 0", lambda v: v > 0),
    "superseded_weight": ("0 <= superseded_weight <= 1", lambda v: 0 <= v <= 1),
    "reuse_versions": (">= 0", lambda v: v >= 0),
    "shadow_labels": (">= 0", lambda v: v >= 0),
    "max_fold_models": (">= 1", lambda v: v >= 1),
    "gain_growth": ("0 < gain_growth", lambda v: v > 0),
    "absorb_margin": (">= 0", lambda v: v >= 0),
    "scout_margin": (">= 0 (inf: no scout)", lambda v: v >= 0),
    # the rule of a fit's --time: 1 s to 7 days
    "fresh_search_budget_s": ("1 to 604800 seconds", lambda v: 1 <= v <= 604_800),
    "cooldown_s": (">= 0", lambda v: v >= 0),
    "cooldown_labels": (">= 0", lambda v: v >= 0),
    "retention": ("replay, distill or both", lambda v: v in ("replay", "distill", "both")),
    "cooldown_max_labels": (">= 0", lambda v: v >= 0),
    "trigger_window": (">= 1", lambda v: v >= 1),
    "fresh_search_margin": (">= 0", lambda v: v >= 0),
}


@dataclass(frozen=True)
class EvolutionPolicy:
    """Thresholds of the policy; the defaults are the seeds' numbers (p < 0.05, ≥ 200 labels, 1 point)."""

    min_new_labels: int = 500
    min_test_labels: int = 200
    test_fraction: float = 0.3
    alpha: float = 0.05
    max_forgetting: float = 0.01
    #: an old row of the replay hold-out whose region today's traffic covers at least this densely
    #: (p_new / p_old) is judged by the recent labels instead: the new concept supersedes it there
    #: (``math.inf``: judge every old row, even against labels that contradict it)
    supersede_ratio: float = 0.5
    #: the training weight left to such superseded old rows in the replay (their labels may contradict
    #: the new ones there; 1.0: replay them at full weight)
    superseded_weight: float = 0.1
    #: earlier versions offered as candidates too, so a recurring concept brings its model back
    reuse_versions: int = 3
    replay_fraction: float = 0.2
    #: how a challenger keeps the old concepts in regions today's traffic has left: ``replay`` their
    #: labels; ``distill`` the champion's answers there instead (learning without forgetting: soft labels,
    #: as rows weighted by the champion's class probabilities, or its values); ``both``, half and half
    retention: str = "replay"
    max_replay_test: int = 2000
    shadow_labels: int = 200
    shadow_max_labels: int = 2000
    grace_labels: int = 1000
    rollback_min_labels: int = 100
    cooldown_s: float = 0.0
    #: after a rejected challenger, decay or drift retrains only once this many new labels arrived
    #: (``min_new_labels`` still does on its own); with ``online``, twice as many after each further reject
    #: in a row, up to ``cooldown_max_labels``: a signal that lost the gate again and again (a severe
    #: drift too) is mostly change the online layer absorbs, and each try costs a fit
    cooldown_labels: int = 1000
    cooldown_max_labels: int = 16_000
    fresh_search: bool = True
    fresh_search_budget_s: float = 30.0
    #: online: a fresh search runs (on severe drift, with the served answers decaying) only when the best
    #: quick candidate came within this of the served answers on the recent labels (metric points on a
    #: 0..1 metric, else a share of its value)
    fresh_search_margin: float = 0.03
    #: online: before the warm start, a *scout* (the champion's heaviest member alone, one fold model,
    #: refit the warm start's way: a fraction of its cost) is tested against the served answers; when it
    #: falls more than this behind them (accuracy points for classes, as McNemar counts them; for values,
    #: metric points on a 0..1 metric, else a share of its value), no challenger is trained and the pass is
    #: a reject (a batch model retrained on these rows does not catch up with what the layer serves: on SEA
    #: every full warm start lost by 1.6 to 2.9 points); ``math.inf``: no scout
    scout_margin: float = 0.01
    pool_reservoir: int = 5000
    pool_recent: int = 3000
    pool_hard: int = 1000
    half_life: float = 5000.0
    max_fold_models: int = 2
    #: the champion is served with its online layer (``lamarck serve``'s default): the layer learns every
    #: label, so the batch evolver is the slow half. Labels alone never train; decay is read on the
    #: *served* answers (what the layer could not absorb); feature drift trains only when severe; and the
    #: layer's gain over the bare champion, once it grew by ``gain_growth`` since the last training
    #: decision, trains (the batch model is behind what the layer learned); a challenger must beat the
    #: *served* answers; a fresh search runs only on severe drift with decay of the served answers, when no
    #: quick candidate passed and the best came within ``fresh_search_margin`` (the warm start and earlier
    #: champions otherwise)
    online: bool = False
    gain_growth: float = 0.03
    #: online: served decay counts when the newest answers still err this much more than before it began
    absorb_margin: float = 0.02
    #: online: a pass reads at most the newest this many labels since the cursor for its triggers (most
    #: passes train nothing, and the cursor moves only when one does: without a bound each pass would read
    #: and score every label since the last training decision); a pass that trains reads them all
    trigger_window: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        from lamarck.errors import ConfigError

        for name, (allowed, ok) in RULES.items():
            value = getattr(self, name)
            if not ok(value):
                raise ConfigError(
                    f"evolution policy {name}={value!r} is out of range (allowed: {allowed}). Fix: counts "
                    "are positive, alpha and fractions lie between 0 and 1."
                )
