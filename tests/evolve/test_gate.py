"""The gate on its own: fixed-rule models (``FakeModel``), no registry, no fitting.

The old concept is ``x > 0`` everywhere; in the new region (``r == 1``) the rule became ``x > 1``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lamarck.evolve import EvolutionPolicy, GateResult
from lamarck.evolve._fakes import FakeModel
from lamarck.evolve._gate import holdout_size, judge
from lamarck.evolve._labels import encode
from lamarck.evolve._split import Replay

COLUMNS = ("x", "r")
CHAMPION = FakeModel(lambda X: X["x"] > 0, input_columns=COLUMNS)
#: learned the new region and kept the old one
GOOD = FakeModel(lambda X: np.where(X["r"] == 1, X["x"] > 1, X["x"] > 0), input_columns=COLUMNS)
#: learned the new region's rule and applies it everywhere: forgets the old concept on 0 < x < 1
FORGETFUL = FakeModel(lambda X: X["x"] > 1, input_columns=COLUMNS)


def rows(n: int, *, region: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x": rng.normal(size=n), "r": region})
    truth = X["x"] > (1 if region == 1 else 0)
    y, _ = encode(pd.Series(np.where(truth, "yes", "no")), CHAMPION.classes_)
    return X, y


def replay(n: int, *, seed: int, judged: bool = True) -> Replay:
    """Old rows with the champion's honest answers (it was right on the old concept)."""
    X, y = rows(n, region=0, seed=seed)
    return Replay(X, y, CHAMPION.predict_proba(X), np.full(n, judged))


def verdict(model: FakeModel, old: Replay, policy: EvolutionPolicy | None = None) -> GateResult:
    X_test, y_test = rows(300, region=1, seed=1)
    return judge(
        policy or EvolutionPolicy(),
        CHAMPION,
        model,
        how="test",
        X_test=X_test,
        y_test=y_test,
        champion_test=CHAMPION.predict_proba(X_test),
        replay=old,
    )


def test_a_significantly_better_challenger_that_remembers_passes():
    result = verdict(GOOD, replay(500, seed=2))
    assert result.passed and result.why == "passed"
    assert result.p_value < 0.05 and result.delta > 0.1
    assert result.check is not None and result.check.loss == 0.0 and not result.check.significant
    assert result.replay_judged_rows == 500


def test_a_challenger_no_better_than_the_champion_is_rejected():
    result = verdict(CHAMPION, replay(500, seed=2))
    assert not result.passed and "not significantly better" in result.why
    assert result.p_value > 0.05


def test_a_challenger_that_forgets_the_old_concept_significantly_is_rejected():
    result = verdict(FORGETFUL, replay(500, seed=2))
    assert result.p_value < 0.05  # better on the recent labels ...
    assert not result.passed and "forgets" in result.why  # ... but it forgot the old concept
    assert result.check is not None and result.check.significant
    assert result.forgetting > 0.2 and result.check.before == 1.0


def test_superseded_old_rows_are_not_judged():
    """Where today's traffic covers the old rows, the recent labels judge: nothing is forgotten there."""
    result = verdict(FORGETFUL, replay(500, seed=2, judged=False))
    assert result.passed and result.check is None and result.replay_judged_rows == 0


def test_a_point_estimate_loss_on_a_few_rows_is_not_a_reject():
    """40 judged old rows, the challenger wrong on 2 of them: 5% lost (above the 1% limit), not significant."""
    old = replay(40, seed=3)
    wrong = set(old.X.index[old.X["x"] > 0][:2])
    slip = FakeModel(
        lambda X: np.where(
            X.index.isin(list(wrong)) & (X["r"] == 0),
            X["x"] <= 0,
            np.where(X["r"] == 1, X["x"] > 1, X["x"] > 0),
        ),
        input_columns=COLUMNS,
    )
    result = verdict(slip, old)
    assert result.check is not None
    assert result.check.loss == pytest.approx(0.05) and result.check.loss > EvolutionPolicy().max_forgetting
    assert not result.check.significant and result.passed


def test_fewer_than_30_judged_rows_are_not_checked():
    result = verdict(FORGETFUL, replay(29, seed=4))
    assert result.passed and result.check is None and result.forgetting == 0.0


def test_a_tighter_alpha_can_refuse_what_a_loose_one_passes():
    X_test, _ = rows(300, region=1, seed=1)
    # a challenger that fixes only a tenth of the champion's mistakes in the new region
    fixed = set(X_test.index[(X_test["x"] > 0) & (X_test["x"] <= 1)][:9])
    small = FakeModel(
        lambda X: np.where(X.index.isin(list(fixed)) & (X["r"] == 1), False, X["x"] > 0),
        input_columns=COLUMNS,
    )
    loose = verdict(small, replay(100, seed=5), EvolutionPolicy(alpha=0.05))
    strict = verdict(small, replay(100, seed=5), EvolutionPolicy(alpha=0.001))
    assert loose.passed and not strict.passed and loose.p_value == strict.p_value


def test_the_result_serialises_to_the_recorded_shape():
    keys = list(verdict(FORGETFUL, replay(500, seed=2)).to_dict())
    assert keys == [
        "how",
        "p_value",
        "delta",
        "test",
        "score_champion",
        "score_challenger",
        "forgetting",
        "passed",
        "replay_judged_rows",
        "replay_before",
        "replay_after",
        "forgetting_p_value",
        "forgetting_significant",
        "why",
    ]
    unchecked = verdict(GOOD, replay(10, seed=2)).to_dict()
    assert "forgetting_p_value" not in unchecked and unchecked["forgetting"] == 0.0
    assert set(verdict(GOOD, replay(500, seed=2)).chosen()) == {
        "p_value",
        "delta",
        "test",
        "forgetting",
        "how",
    }


def test_the_holdout_needs_rows_left_to_train_on():
    policy = EvolutionPolicy(min_test_labels=200, test_fraction=0.3)
    assert holdout_size(policy, 250) == (200, True)
    assert holdout_size(policy, 249) == (200, False)
    assert holdout_size(policy, 1000) == (300, True)
