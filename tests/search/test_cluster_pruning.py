"""Per-fold pruning on a cluster: the study's PercentilePruner as numbers a worker applies (issue 15)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from lamarck.search._cluster import _pruner, pruning_bars
from lamarck.search._search import PRUNE_PERCENTILE, PRUNE_STARTUP


def _study(rng: np.random.Generator, n_completed: int) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.PercentilePruner(
            PRUNE_PERCENTILE, n_startup_trials=PRUNE_STARTUP, n_warmup_steps=0
        ),
    )
    for _ in range(n_completed):
        values = {s: float(v) for s, v in enumerate(rng.normal(0.8, 0.05, size=4))}
        study.add_trial(
            optuna.trial.create_trial(value=float(rng.normal(0.8, 0.05)), intermediate_values=values)
        )
    return study


@pytest.mark.parametrize("n_completed", [0, 3, 6, 20])
@pytest.mark.parametrize("seed", range(4))
def test_a_worker_prunes_exactly_where_the_study_would(seed: int, n_completed: int) -> None:
    rng = np.random.default_rng(seed)
    study = _study(rng, n_completed)
    bars = pruning_bars(study, percentile=PRUNE_PERCENTILE, startup=PRUNE_STARTUP)
    assert (bars == {}) == (n_completed < PRUNE_STARTUP)
    pruned = 0
    for _ in range(30):
        values = rng.normal(0.78, 0.06, size=4)
        trial = study.ask()
        reported: list[tuple[int, float]] = []
        ours = _pruner(bars, reported)
        for step, value in enumerate(values):
            trial.report(float(value), step)
            theirs = trial.should_prune()
            assert ours(float(value), step) == theirs, (step, value, bars)
            if theirs:
                pruned += 1
                break
        assert [s for s, _ in reported] == list(range(len(reported)))
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)  # not completed: the bars stand
    assert (pruned > 0) == (n_completed >= PRUNE_STARTUP)  # the rule was exercised, both ways
