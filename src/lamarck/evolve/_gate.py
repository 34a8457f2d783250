"""The gate: is a challenger significantly better on the recent labels, without forgetting?

1. **Recent test.** One-sided McNemar (classification) or paired bootstrap (regression) on the held-out
   recent labels: the challenger passes only with p < ``alpha``.
2. **Anti-forgetting.** On the judged rows of the replay hold-out (old rows in regions today's traffic
   has left; see :mod:`lamarck.evolve._split`), the metric lost against the champion's honest answers
   (relative unless the metric is on a 0..1 scale). A loss rejects the challenger only when it is above
   ``max_forgetting`` *and* significant (the same one-sided test, the other way round): a point estimate
   on a few rows is noise. Fewer than 30 judged rows: nothing to judge.

    >>> r = GateResult(how="warm start", p_value=0.001, delta=0.12, test="mcnemar", score_champion=0.7,
    ...                score_challenger=0.82, passed=True, why="passed")
    >>> r.to_dict()["forgetting"], r.forgetting
    (0.0, 0.0)
    >>> round(GateResult(how="warm start", p_value=1.0, delta=-0.1, test="mcnemar", score_champion=0.9,
    ...                  score_challenger=0.8, passed=False, why="").shortfall("accuracy"), 3)
    0.1
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lamarck.evaluate import get_metric
from lamarck.evolve._policy import EvolutionPolicy
from lamarck.evolve._scoring import metric_value, one_sided_test, predict
from lamarck.evolve._split import Replay

__all__ = ["MIN_JUDGED_ROWS", "Forgetting", "GateResult", "holdout_size", "judge"]

#: metrics whose scale is already 0..1, so "1 point" of forgetting is 0.01 absolute; others are relative
_UNIT_METRICS = {"roc_auc", "accuracy", "balanced_accuracy", "f1", "f1_macro", "average_precision", "r2"}
#: fewer judged replay rows than this: the anti-forgetting check has nothing to judge
MIN_JUDGED_ROWS = 30


@dataclass(frozen=True)
class Forgetting:
    """The anti-forgetting check on the judged replay rows."""

    before: float
    after: float
    #: metric lost (relative unless the metric is on a 0..1 scale); 0.0 when it cannot be computed
    loss: float
    p_value: float
    #: the champion's honest answers are significantly better than the challenger's on these rows
    significant: bool


@dataclass(frozen=True)
class GateResult:
    """One candidate's verdict: the recent test, the anti-forgetting check, passed or why not."""

    how: str
    p_value: float
    delta: float
    test: str
    score_champion: float
    score_challenger: float
    passed: bool
    why: str
    replay_judged_rows: int = 0
    #: None when fewer than :data:`MIN_JUDGED_ROWS` replay rows were judged
    check: Forgetting | None = None

    @property
    def forgetting(self) -> float:
        return 0.0 if self.check is None else self.check.loss

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "how": self.how,
            "p_value": self.p_value,
            "delta": self.delta,
            "test": self.test,
            "score_champion": self.score_champion,
            "score_challenger": self.score_challenger,
            "forgetting": self.forgetting,
            "passed": self.passed,
            "replay_judged_rows": self.replay_judged_rows,
        }
        if self.check is not None:
            out.update(
                {
                    "replay_before": self.check.before,
                    "replay_after": self.check.after,
                    "forgetting_p_value": self.check.p_value,
                    "forgetting_significant": self.check.significant,
                }
            )
        out["why"] = self.why
        return out

    def shortfall(self, metric: str) -> float:
        """How far the candidate scored below what it was tested against on the recent labels (0 when it
        scored higher): for classes, accuracy points, as McNemar's test counted them (the served answers
        are labels: a ranking metric such as AUC would read their ties as a loss of the *answers*); for
        values, metric points on a 0..1 metric, a share of the baseline's value otherwise."""
        if self.test.startswith("mcnemar"):
            return max(-self.delta, 0.0) if math.isfinite(self.delta) else math.inf
        gap = self.score_champion - self.score_challenger
        if not (math.isfinite(gap)):
            return math.inf
        scale = 1.0 if get_metric(metric).name in _UNIT_METRICS else (abs(self.score_champion) or 1.0)
        return max(gap / scale, 0.0)

    def chosen(self) -> dict[str, Any]:
        """The figures a decision carries of the candidate it chose."""
        return {
            "p_value": self.p_value,
            "delta": self.delta,
            "test": self.test,
            "forgetting": self.forgetting,
            "how": self.how,
        }


def holdout_size(policy: EvolutionPolicy, new_labels: int) -> tuple[int, bool]:
    """How many of the new labels the gate holds out, and whether enough are left to train on."""
    n_test = max(policy.min_test_labels, int(new_labels * policy.test_fraction))
    return n_test, new_labels >= n_test + max(50, policy.min_test_labels // 4)


def judge(
    policy: EvolutionPolicy,
    champion: Any,
    model: Any,
    *,
    how: str,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    champion_test: np.ndarray,
    replay: Replay,
    against: str = "the champion",
) -> GateResult:
    """The gate's verdict on ``model`` against ``champion`` (whose predictions on the test are given).

    ``champion_test`` may be other answers than the bare champion's, e.g. the answers that were served
    (with the online layer on): ``against`` names them in the verdict."""
    p = policy
    chal_test = predict(model, X_test)
    test = one_sided_test(champion, y_test, champion_test, chal_test, alpha=p.alpha, seed=p.seed)
    judged = replay.judged
    check = None
    if judged.sum() >= MIN_JUDGED_ROWS:
        y_old, champ_old = replay.y[judged], replay.champion_pred[judged]
        chal_old = predict(model, replay.X[judged])
        before = metric_value(champion, y_old, champ_old)
        after = metric_value(champion, y_old, chal_old)
        scale = 1.0 if get_metric(champion.metric).name in _UNIT_METRICS else (abs(before) or 1.0)
        loss = (before - after) / scale if math.isfinite(before) and math.isfinite(after) else 0.0
        # the loss must be more than noise too: the same one-sided test as the gate, the other way round
        # (is the champion's honest answer significantly better than the challenger's on these rows?)
        worse = one_sided_test(champion, y_old, chal_old, champ_old, alpha=p.alpha, seed=p.seed)
        check = Forgetting(before, after, loss, worse.p_value, bool(worse.better))
    n_judged = int(judged.sum())
    if not test.better:
        passed, why = (
            False,
            f"{how}: not significantly better than {against} on {len(X_test)} recent labels "
            f"(p={test.p_value:.3g}, delta={test.delta:+.4f})",
        )
    elif check is not None and check.loss > p.max_forgetting and check.significant:
        passed, why = (
            False,
            f"{how}: forgets, {check.loss:.2%} worse on {n_judged} rows of "
            f"older data that today's traffic does not cover (limit {p.max_forgetting:.0%}, "
            f"p={check.p_value:.3g})",
        )
    else:
        passed, why = True, "passed"
    return GateResult(
        how=how,
        p_value=test.p_value,
        delta=test.delta,
        test=test.method,
        score_champion=metric_value(champion, y_test, champion_test),
        score_challenger=metric_value(champion, y_test, chal_test),
        passed=passed,
        why=why,
        replay_judged_rows=n_judged,
        check=check,
    )
