"""Trials on a Dask cluster: the search asks Optuna for a trial, a worker fits its folds, the search tells
Optuna the score.

The search's process keeps the study (ask and tell: workers never touch it, so no storage server is
needed; ``optuna_storage`` still makes it outlive the process), the budget, the bookkeeping of every trial
and the ensemble; the workers only run :func:`lamarck.search._trial.run_folds`. The table is scattered to
every worker once. As many trials run at a time as the workers have threads. Each trial gets the seconds
left, not a clock reading, so a worker on another machine keeps its own deadline; at the deadline the
search waits a short grace for the trials still running (their fits stop at the deadline too), then
cancels them. A worker that dies takes its running trial with it: Dask runs the trial again on another
worker (``distributed.scheduler.allowed-failures``), and a trial that kills workers again and again is
recorded as failed.

Per-fold pruning runs on the workers with the study's rule as numbers (:func:`pruning_bars`): each trial
takes, per fold, the value Optuna's ``PercentilePruner`` would compare it with when it was submitted, and
stops after a fold where its best running mean falls below; the coordinator then reports the trial's
running means to the study, so the next trials' bars count it, as in one process.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import Any

import numpy as np
import optuna
import pandas as pd

from lamarck.errors import ConfigError
from lamarck.search._trial import FoldRun, run_folds

__all__ = ["connect", "drive"]

log = logging.getLogger(__name__)

#: what learners make of the whole table once, per worker process and table (``FoldData.cache``)
_PREPARED: dict[str, dict[str, Any]] = {}
#: seconds the search waits past its deadline for the trials still running, at most
GRACE_S = 5.0


def connect(cluster: Any) -> tuple[Any, bool]:
    """A ``distributed.Client`` for ``cluster`` (an address, or a client already made) and whether this
    call made it (and closes it)."""
    try:
        from distributed import Client
    except ImportError as e:
        raise ConfigError(
            "cluster: running trials on Dask needs the 'distributed' package. Fix: pip install "
            "'lamarck[cluster]', or leave the cluster setting empty to search in this process."
        ) from e
    if isinstance(cluster, Client):
        return cluster, False
    try:
        return Client(str(cluster), timeout=10), True
    except OSError as e:
        raise ConfigError(
            f"cluster={cluster!r}: no Dask scheduler answers there ({e}). Fix: start one (dask scheduler, "
            "then dask worker ADDRESS) and pass its address, e.g. tcp://10.0.0.5:8786."
        ) from e


def pruning_bars(study: optuna.Study, *, percentile: float, startup: int) -> dict[int, float]:
    """Optuna's ``PercentilePruner(percentile, n_startup_trials=startup)`` as numbers a worker applies
    without the study: per fold, the value at the pruner's percentile of the completed trials' reported
    values there (the top ``percentile`` per cent keep going); empty before ``startup`` trials completed."""
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not completed or len(completed) < startup:
        return {}
    q = 100 - percentile if study.direction == optuna.study.StudyDirection.MAXIMIZE else percentile
    bars: dict[int, float] = {}
    for step in sorted({s for t in completed for s in t.intermediate_values}):
        values = [t.intermediate_values[step] for t in completed if step in t.intermediate_values]
        bars[step] = float(np.nanpercentile(np.asarray(values, dtype=float), q))
    return bars


def _pruner(bars: dict[int, float], reported: list[tuple[int, float]]) -> Callable[[float, int], bool]:
    """``run_folds``' report hook on a worker: whether the trial's best running mean so far (a maximised,
    signed value) is below the bar of this fold, as ``PercentilePruner.prune`` decides."""
    best = -math.inf

    def report(value: float, step: int) -> bool:
        nonlocal best
        reported.append((step, value))
        if math.isnan(value):
            return True
        best = max(best, value)
        bar = bars.get(step)
        return bar is not None and not math.isnan(bar) and best < bar

    return report


def _run(
    token: str, data: tuple[pd.DataFrame, np.ndarray], job: dict[str, Any], artifacts: str, number: int
) -> FoldRun:
    """On a worker: the trial's folds, with this worker's cache of what learners made of the table; with
    ``artifacts``, a complete trial's fold models are written there and only their address comes back.
    ``job["bars"]`` (``None``: never pruned): the pruning rule's value per fold (:func:`pruning_bars`)."""
    X, y = data
    if token not in _PREPARED:
        _PREPARED.clear()  # one table at a time per worker
        _PREPARED[token] = {}
    bars = job.get("bars")
    reported: list[tuple[int, float]] = []
    report = None if bars is None else _pruner(bars, reported)
    args = {k: v for k, v in job.items() if k != "bars"}
    run = run_folds(X=X, y=y, prepared=_PREPARED[token], report=report, **args)
    run.reported = reported
    if artifacts and run.status == "complete":
        import cloudpickle
        import fsspec

        run.models_at = f"{artifacts.rstrip('/')}/lamarck-trials-{token}/trial-{number}.pkl"
        with fsspec.open(run.models_at, "wb", auto_mkdir=True) as fh:
            fh.write(cloudpickle.dumps(run.models))
        run.models = []
    return run


class StoredModels(list[Any]):
    """The fold models of a trial that a worker wrote to shared storage: an empty list with their address,
    read only for the trials the search keeps to the end (:func:`load_kept`)."""

    def __init__(self, at: str) -> None:
        super().__init__()
        self.at = at


def load_kept(kept: dict[int, tuple[list[Any], np.ndarray, float]], artifacts: str, token: str) -> None:
    """Read the fold models of the kept trials from shared storage (in place), then remove the search's
    folder there."""
    import fsspec

    from lamarck.registry import load_pickle

    for number, (models, oof, s) in list(kept.items()):
        if isinstance(models, StoredModels):
            with fsspec.open(models.at, "rb") as fh:
                kept[number] = (load_pickle(fh), oof, s)
    fs, root = fsspec.core.url_to_fs(f"{artifacts.rstrip('/')}/lamarck-trials-{token}")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def drive(
    cluster: Any,
    study: optuna.Study,
    *,
    suggest: Callable[[optuna.Trial], tuple[str, dict[str, Any], str]],
    too_costly: Callable[[str, float], tuple[str, bool] | None],
    job: Callable[[str, dict[str, Any], float], dict[str, Any]],
    record: Callable[[int, str, dict[str, Any], str, FoldRun], float | None],
    done: Callable[[optuna.trial.FrozenTrial], bool],
    X: pd.DataFrame,
    y: np.ndarray,
    deadline: float,
    max_trials: int | None,
    artifacts: str = "",
    kept: dict[int, tuple[list[Any], np.ndarray, float]] | None = None,
    prunable: Callable[[str], bool] = lambda source: False,
    pruner: tuple[float, int] = (25.0, 6),
) -> str:
    """Run the search's trials on ``cluster`` until ``done`` says stop, the deadline or ``max_trials``;
    returns a note for the report (workers, threads, trials run). ``prunable(source)``: whether trials of
    that source may stop after a fold; ``pruner``: the study's ``PercentilePruner`` (percentile, startup
    trials)."""
    from distributed import wait

    client, owned = connect(cluster)
    token = uuid.uuid4().hex
    running: dict[Any, tuple[optuna.Trial, str, dict[str, Any], str]] = {}
    asked = finished = 0
    halt = False
    began = time.monotonic()
    waited = 0.0  # seconds spent waiting for workers; the rest is the search's own work per trial
    try:
        slots = max(sum(client.nthreads().values()), 1)
        workers = len(client.nthreads())
        s0 = time.monotonic()
        data = client.scatter((X, y), broadcast=True)
        scatter_s = time.monotonic() - s0
        while True:
            if any(f.status != "finished" for f in data):
                # the table is lost with a worker that held its only copy (Dask's memory manager keeps one
                # replica of a broadcast once no task waits for it): send it again for the next trials
                data = client.scatter((X, y), broadcast=True)
            while not halt and len(running) < slots and (max_trials is None or asked < max_trials):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                trial = study.ask()
                asked += 1
                name, params, source = suggest(trial)
                costly = too_costly(name, left)
                if costly is not None:  # not started, and not a trial of the records: as in process
                    halt = done(study.tell(trial, state=optuna.trial.TrialState.PRUNED)) or costly[1]
                    continue
                bars = (
                    pruning_bars(study, percentile=pruner[0], startup=pruner[1]) if prunable(source) else None
                )
                future = client.submit(
                    _run,
                    token,
                    data,
                    {**job(name, params, left), "bars": bars},
                    artifacts,
                    trial.number,
                    pure=False,
                    key=f"lamarck-trial-{token}-{trial.number}",
                )
                running[future] = (trial, name, params, source)
            if not running:
                break
            wait_s = max(deadline - time.monotonic(), 0.0) + GRACE_S
            w0 = time.monotonic()
            cancelled = False
            try:
                finished_now, _ = wait(list(running), timeout=wait_s, return_when="FIRST_COMPLETED")
            except CancelledError:  # trials cancelled with the table a dead worker held: each one fails below
                finished_now, cancelled = {f for f in running if f.status != "pending"}, True
            waited += time.monotonic() - w0
            if not finished_now and not cancelled:  # the grace is over: what still runs is lost to the budget
                for future, (trial, name, params, source) in running.items():
                    future.cancel()
                    record(trial.number, name, params, source, FoldRun("pruned", error="time budget reached"))
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                running.clear()
                break
            for future in finished_now:
                trial, name, params, source = running.pop(future)
                try:
                    run = future.result()
                except Exception as e:  # the trial's worker died too often, or the task could not run
                    run = FoldRun("failed", error=f"{type(e).__name__}: {e}")
                if run.models_at:  # its fold models wait in shared storage
                    run.models = StoredModels(run.models_at)
                for step, value in run.reported:  # what the study's pruner reads for the next trials
                    trial.report(value, step)
                s = record(trial.number, name, params, source, run)
                finished += 1
                if s is None:
                    state = (
                        optuna.trial.TrialState.FAIL
                        if run.status == "failed"
                        else optuna.trial.TrialState.PRUNED
                    )
                    frozen = study.tell(trial, state=state)
                else:
                    frozen = study.tell(trial, s)
                halt = done(frozen) or halt
    finally:
        for future in running:
            future.cancel()
        if owned:
            client.close()
    if artifacts and kept is not None:
        load_kept(kept, artifacts, token)
    own_ms = 1000 * (time.monotonic() - began - waited - scatter_s) / max(asked, 1)
    return (
        f"trials ran on a Dask cluster: {workers} worker(s), {slots} at a time; {finished} trial(s) finished "
        f"there; the table scattered in {scatter_s:.2f} s, the search's own work {own_ms:.0f} ms per trial "
        "(ask, tell, records, receiving fold models)"
    )
