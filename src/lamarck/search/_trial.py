"""One trial's work: fit a learner's configuration on every fold and score it out of fold.

The same function runs in the search's own process and, with ``AutoSearch(cluster=...)``, on a Dask
worker (:mod:`lamarck.search._cluster`): it takes the time it has left in seconds, not a clock reading, so
a worker on another machine keeps its own deadline. ``report(mean_score, fold) -> prune?`` is Optuna's
per-fold pruning in process (``None``: every fold runs).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from lamarck.evaluate import score, signed
from lamarck.search._learners import LEARNERS, FitContext, FoldData
from lamarck.search._objective import fit_learner

__all__ = ["FoldRun", "run_folds"]

log = logging.getLogger(__name__)

Status = Literal["complete", "pruned", "failed"]


@dataclass
class FoldRun:
    """What a trial's folds gave: its status, fold models, out-of-fold predictions and fold scores; how
    many fits the deadline cut short, the error of a failed trial, and its seconds."""

    status: Status
    models: list[Any] = field(default_factory=list)
    oof: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fold_scores: list[float] = field(default_factory=list)
    n_cut: int = 0
    error: str = ""
    seconds: float = 0.0
    #: where the fold models were written instead of travelling with the run (a path or fsspec URL)
    models_at: str = ""
    #: (fold, value) a worker's pruning rule was given, for the coordinator to report to the study
    reported: list[tuple[int, float]] = field(default_factory=list)


def run_folds(
    name: str,
    params: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    task: str,
    metric: str,
    n_classes: int,
    seed: int,
    n_jobs: int,
    time_left_s: float,
    trial_time_s: float,
    may_stop: bool,
    prepared: dict[str, Any],
    report: Callable[[float, int], bool] | None = None,
) -> FoldRun:
    """Fit ``name`` with ``params`` on each fold within ``trial_time_s`` (the search's deadline is
    ``time_left_s`` away; past it, with ``may_stop``, the trial ends as pruned: another trial already
    gives a model). ``prepared``: what learners make of the whole table once (``FoldData.cache``)."""
    from lamarck.search._predict import SharedInputs, fold_matrix

    t0 = time.monotonic()
    deadline, trial_deadline = t0 + time_left_s, t0 + trial_time_s
    learner = LEARNERS[name]
    n_rows = len(X)
    oof = np.zeros((n_rows, n_classes)) if n_classes else np.zeros(n_rows)
    run = FoldRun("complete", oof=oof)
    try:
        for i, (tr, va) in enumerate(folds):
            now = time.monotonic()
            if now > deadline and may_stop:
                run.status, run.error = "pruned", "time budget reached"
                break
            fold_deadline = now + max(trial_deadline - now, 0.5) / (len(folds) - i)
            ctx = FitContext(
                task=task,
                n_classes=n_classes,
                seed=seed,
                n_jobs=n_jobs,
                deadline=fold_deadline,
                fold=FoldData(X, y, tr, va, prepared),
            )
            model = fit_learner(learner, params, X.iloc[tr], y[tr], ctx, X.iloc[va], y[va])
            if learner.stops_at_deadline and time.monotonic() > fold_deadline:
                run.n_cut += 1
            pred = fold_matrix(model, SharedInputs(X.iloc[va]), task, n_classes)
            oof[va] = pred
            run.models.append(model)
            run.fold_scores.append(score(metric, y[va], pred))
            last = i == len(folds) - 1
            if (
                report is not None
                and not last
                and report(float(np.mean([signed(metric, s) for s in run.fold_scores])), i)
            ):
                run.status = "pruned"
                break
    except Exception as e:  # a learner that fails on this data must not end the search
        run.status, run.error = "failed", f"{type(e).__name__}: {e}"
        log.debug("trial of %s failed:\n%s", name, traceback.format_exc())
    run.seconds = time.monotonic() - t0
    return run
