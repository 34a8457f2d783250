"""The search: Optuna drives trials over the model zoo within a time budget.

With the portfolio, a cheap baseline that completes even on a busy machine comes first (the learner's
``baseline``: LightGBM with HistGradientBoosting's defaults and at most 200 trees), then a portfolio of
known-good configurations, cheapest first; then the chosen sampler (TPE by default; ``random``, ``grid``
or ``evolutionary``) proposes a learner and its parameters. Every trial is scored by the validation
scheme; a trial below the top quarter after a fold stops there (Optuna's percentile rule, on a cluster
too). A trial whose fits the deadline cut short is ``truncated``: kept and shown, but ranked after every
complete trial and left out of the ensemble while one completed. The search stops early on a plateau (:class:`EarlyStop`). The fold models of
the best trials are kept, so the final model is a bag of fold models and needs no refit; a greedy
(Caruana) ensemble over the best trials' out-of-fold predictions is used when it beats the best single
trial.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    >>> y = (X["a"] + 0.3 * rng.normal(size=300) > 0).astype(int).to_numpy()
    >>> result = AutoSearch(task="binary", metric="roc_auc", time_budget_s=5,
    ...                     learners=["lightgbm", "linear"]).fit(X, y)
    >>> result.best_score > 0.9
    True
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import optuna
import pandas as pd

from lamarck.errors import ConfigError, DataError, LamarckError
from lamarck.evaluate import get_metric, score, signed
from lamarck.search._decision import DecisionRule, choose_rule, weighted_median
from lamarck.search._ensemble import caruana_weights
from lamarck.search._learners import LEARNERS, Learner
from lamarck.search._neural import NEEDS_TORCH
from lamarck.search._neural import available as neural_available
from lamarck.search._neural import warm as warm_torch
from lamarck.search._objective import DEFAULT, learner_objectives, target_shape
from lamarck.search._stopping import EarlyStop, time_to_quality
from lamarck.search._threads import search_threads
from lamarck.search._trial import FoldRun, run_folds
from lamarck.search._validation import ValidationScheme, choose_scheme

__all__ = ["SAMPLERS", "AutoSearch", "Member", "SearchResult", "TrialRecord", "failure_notes", "fit_threads"]

log = logging.getLogger(__name__)

Sampler = Literal["tpe", "random", "grid", "evolutionary"]
SAMPLERS: tuple[str, ...] = ("tpe", "random", "grid", "evolutionary")
KEEP_TOP = 12  # trials whose fold models and out-of-fold predictions are kept for the ensemble
#: below this many rows a learner fits on one thread, whatever ``n_jobs`` says: on small data the threads
#: of LightGBM (OpenMP) wait on each other at every tree, and on a busy machine a fit of 400 rows took
#: 0.1-0.8 s on two threads against 0.02-0.04 s on one (the same trees)
ONE_THREAD_ROWS = 50_000
#: Optuna's PercentilePruner of the search: after a fold, trials below the top ``PRUNE_PERCENTILE`` per
#: cent of the completed ones there stop, once ``PRUNE_STARTUP`` trials completed (in process and on a
#: cluster alike)
PRUNE_PERCENTILE = 25.0
PRUNE_STARTUP = 6
#: sources of trials that run all their folds (known-good configurations are never pruned), as prefixes
#: (a champion's configurations come as ``champion vN``)
UNPRUNED = ("portfolio", "warm start", "baseline", "champion")


def fit_threads(n_rows: int, n_jobs: int) -> int:
    """Threads a learner fits with on ``n_rows`` rows when ``n_jobs`` are allowed.

    >>> fit_threads(400, 4), fit_threads(100_000, 4)
    (1, 4)
    """
    return 1 if n_rows < ONE_THREAD_ROWS else n_jobs


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the leaderboard shows it. ``score`` is in the metric's own units."""

    number: int
    learner: str
    params: dict[str, Any]
    score: float
    seconds: float
    status: Literal["complete", "truncated", "pruned", "failed", "skipped"]
    source: str = "sampler"
    error: str = ""
    fold_scores: tuple[float, ...] = ()


@dataclass
class Member:
    """A trial kept in the final model: its fold models and its weight in the ensemble."""

    learner: str
    params: dict[str, Any]
    models: list[Any]
    weight: float
    trial: int
    score: float


@dataclass
class SearchResult:
    """What a search found: every trial, the members of the final model and how it was validated."""

    task: str
    metric: str
    n_classes: int
    trials: list[TrialRecord]
    members: list[Member]
    best_score: float
    ensemble_score: float
    single_best_score: float
    oof: np.ndarray
    oof_rows: np.ndarray
    validation: ValidationScheme
    history: list[tuple[float, float]]
    seconds: float
    sampler: str
    notes: list[str] = field(default_factory=list)
    #: what the final model does with its members' outputs (tuned out of fold), None for the plain rule
    rule: DecisionRule | None = None
    #: seconds until the best score first came within 1 % of the final one (:func:`time_to_quality`)
    time_to_quality_s: float = math.nan
    #: why the search stopped before its budget ("" when it did not)
    stopped: str = ""

    @property
    def leaderboard(self) -> list[TrialRecord]:
        """Completed trials, best first, then the trials the deadline cut short (``truncated``), best first:
        a truncated score never ranks above a complete one."""
        done = [t for t in self.trials if t.status in ("complete", "truncated") and math.isfinite(t.score)]
        return sorted(
            done, key=lambda t: (t.status == "complete", signed(self.metric, t.score)), reverse=True
        )

    @property
    def failures(self) -> list[TrialRecord]:
        """Trials whose learner raised an error (``error`` says which), in the order they ran."""
        return [t for t in self.trials if t.status == "failed"]


def predict_matrix(model: Any, X: pd.DataFrame, ctx_task: str, n_classes: int) -> np.ndarray:
    """A model's prediction: (n, K) probabilities over encoded classes, or a vector for regression."""
    if ctx_task == "regression":
        return as_matrix(model, model.predict(X), len(X), ctx_task, n_classes)
    return as_matrix(model, model.predict_proba(X), len(X), ctx_task, n_classes)


def as_matrix(model: Any, output: Any, n_rows: int, ctx_task: str, n_classes: int) -> np.ndarray:
    """A model's raw ``predict`` (regression) or ``predict_proba`` output in :func:`predict_matrix`'s form."""
    if ctx_task == "regression":
        return np.asarray(output, dtype=float).reshape(-1)
    proba = np.asarray(output, dtype=float)
    classes = _classes_of(model)
    if proba.shape[1] == n_classes and (classes is None or len(classes) == n_classes):
        return proba
    out = np.zeros((n_rows, n_classes))
    cols = classes if classes is not None else np.arange(proba.shape[1])
    for j, c in enumerate(cols):
        out[:, int(c)] = proba[:, j]
    return out


def _classes_of(model: Any) -> np.ndarray | None:
    for obj in (model, getattr(model, "est", None), getattr(model, "pipeline", None)):
        if obj is not None and hasattr(obj, "classes_"):
            return np.asarray(obj.classes_)
    return None


def failure_notes(trials: Sequence[TrialRecord]) -> list[str]:
    """One note per learner that raised an error: on how many of its trials, and the first error.

    >>> t = [TrialRecord(0, "lightgbm", {}, math.nan, 0.1, "failed", error="ValueError: bad name"),
    ...      TrialRecord(1, "linear", {}, 0.9, 0.1, "complete")]
    >>> failure_notes(t)
    ['lightgbm failed on 1 of 1 trial(s) (ValueError: bad name)']
    """
    notes = []
    for name in dict.fromkeys(t.learner for t in trials if t.status == "failed"):
        mine = [t for t in trials if t.learner == name]
        failed = [t for t in mine if t.status == "failed"]
        notes.append(f"{name} failed on {len(failed)} of {len(mine)} trial(s) ({failed[0].error})")
    return notes


def _nothing_completed(trials: list[TrialRecord], budget_s: float) -> LamarckError:
    """The error when no trial completed: the learners' errors when they all failed (a larger budget
    would not help), the budget when time ran out first."""
    failed = [t for t in trials if t.status == "failed"]
    errors = "; ".join(dict.fromkeys(f"{t.learner}: {t.error}" for t in failed))[:800]
    if failed and len(failed) == len(trials):
        return DataError(
            f"every learner failed on this data ({errors}), so no model could be fitted. "
            "Fix: the errors name the cause; exclude the column or rows involved (--exclude), or choose other "
            "learners (--learners). A larger budget will not help."
        )
    return ConfigError(
        f"no trial completed within the budget of {budget_s:g}s ({errors or 'no trial ran'}). "
        "Fix: give a larger budget (--time) or a smaller table."
    )


def seeded(
    first: Sequence[tuple[str, dict[str, Any], str]] | None,
    objectives: dict[str, tuple[str, ...]],
    names: Sequence[str],
) -> list[tuple[str, dict[str, Any], str]]:
    """The configurations to try first that this search can run: learners it searches, each named once,
    an ``objective`` this metric offers (else the default; none when the learner has no choice).

    >>> seeded([("lightgbm", {"objective": "l1", "num_leaves": 8}, "warm start"), ("knn", {}, "x")],
    ...        {"lightgbm": ("default", "poisson")}, ["lightgbm"])
    [('lightgbm', {'objective': 'default', 'num_leaves': 8}, 'warm start')]
    """
    out: list[tuple[str, dict[str, Any], str]] = []
    for name, params, source in first or ():
        if name not in names:
            continue
        choices = objectives.get(name) or ()
        p = {k: v for k, v in params.items() if k != "objective"}
        if choices:
            wanted = params.get("objective", DEFAULT)
            p = {"objective": wanted if wanted in choices else DEFAULT, **p}
        if all((name, p) != (n, q) for n, q, _ in out):
            out.append((name, p, source))
    return out


class AutoSearch:
    """Search the zoo for the best model of ``task`` by ``metric`` within ``time_budget_s`` seconds.

    ``fit(X, y)`` takes the processed feature frame and the encoded target (integers ``0..K-1`` for
    classification) and returns a :class:`SearchResult`. ``on_trial`` is called after every trial with
    ``(record, best_score, elapsed_s)``; the CLI uses it for its progress display. Learners fit with
    ``n_jobs`` threads from :data:`ONE_THREAD_ROWS` rows on (no more than the cores other processes leave
    free, :func:`lamarck.search._threads.search_threads`), with one below (:func:`fit_threads`).
    ``early_stop`` ends the search on a plateau (None: search to the budget).
    ``first``: configurations ``(learner, params, source)`` tried before the portfolio (the warm start of
    :mod:`lamarck.meta`); like the portfolio's, they are never pruned.
    ``latency_ms`` with ``latency_of`` (milliseconds a trial's fold models take on one row, e.g.
    :func:`lamarck.search.latency_probe`): the final model answers one row within that limit — trials
    slower on their own are left out, and the ensemble drops its slowest member until the members fit
    together (the fastest trial alone when none fits, with a note).
    ``cluster``: a Dask scheduler address (or a ``distributed.Client``): trials run on its workers, as
    many at a time as they have threads, and the search keeps the study, the budget and the ensemble
    (:mod:`lamarck.search._cluster`); ``None`` runs them here, one after the other. ``cluster_artifacts``:
    a folder or fsspec URL that the workers and this process reach, where workers write the fold models of
    complete trials (only the kept trials' are read back); empty: the models come back with each task.
    """

    def __init__(
        self,
        *,
        task: str,
        metric: str,
        time_budget_s: float,
        sampler: str = "tpe",
        seed: int = 0,
        n_jobs: int = 2,
        learners: Sequence[str] | None = None,
        portfolio: bool = True,
        ensemble: bool = True,
        n_splits: int | None = None,
        max_trials: int | None = None,
        on_trial: Callable[[TrialRecord, float, float], None] | None = None,
        storage: str | None = None,
        study_name: str | None = None,
        first: Sequence[tuple[str, dict[str, Any], str]] | None = None,
        early_stop: EarlyStop | None = EarlyStop(),
        latency_ms: float | None = None,
        latency_of: Callable[[list[Any]], float] | None = None,
        cluster: Any = None,
        cluster_artifacts: str = "",
    ) -> None:
        self.task = task
        self.metric = metric
        self.time_budget_s = time_budget_s
        self.sampler = sampler
        self.seed = seed
        self.n_jobs = n_jobs
        self.learners = learners
        self.portfolio = portfolio
        self.ensemble = ensemble
        self.n_splits = n_splits
        self.max_trials = max_trials
        self.on_trial = on_trial
        self.storage = storage
        self.study_name = study_name
        self.first = first
        self.early_stop = early_stop
        self.latency_ms = latency_ms
        self.latency_of = latency_of
        self.cluster = cluster
        self.cluster_artifacts = cluster_artifacts

    # ------------------------------------------------------------------ set-up

    def _check(self) -> list[Learner]:
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {self.sampler!r}. Fix: use one of {', '.join(SAMPLERS)}.")
        if not (self.time_budget_s > 0 and math.isfinite(self.time_budget_s)):
            raise ConfigError(
                f"time budget must be a positive number of seconds, got {self.time_budget_s!r}. Fix: pass e.g. 60."
            )
        get_metric(self.metric)
        names = list(self.learners) if self.learners else [n for n, k in LEARNERS.items() if k.default]
        unknown = [n for n in names if n not in LEARNERS]
        if unknown:
            raise ConfigError(f"unknown learner(s) {unknown}. Fix: choose among {', '.join(LEARNERS)}.")
        if "mlp" in names:
            if not neural_available():
                raise ConfigError(NEEDS_TORCH)
            warm_torch()
        chosen = [LEARNERS[n] for n in names if LEARNERS[n].supports(self.task)]
        if not chosen:
            raise ConfigError(f"none of the learners {names} supports task {self.task!r}.")
        return chosen

    def _make_sampler(self) -> optuna.samplers.BaseSampler:
        if self.sampler == "tpe":
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=self.seed,
                multivariate=True,
                group=True,
                n_startup_trials=8,
                constant_liar=False,
                warn_independent_sampling=False,
            )
        if self.sampler == "evolutionary":
            return optuna.samplers.NSGAIISampler(seed=self.seed, population_size=12)
        return optuna.samplers.RandomSampler(seed=self.seed)

    def _initial_configs(
        self, learners: list[Learner], objectives: dict[str, tuple[str, ...]] | None = None
    ) -> list[tuple[str, dict[str, Any], str]]:
        """Configurations enqueued before sampling: the grid (grid sampler) or the portfolio.

        ``objectives`` gives each learner's choices of objective for this metric (none: the search is as
        before); the default configurations then name the default objective, and the first learner that
        has other objectives (LightGBM, when it is searched) tries its first configuration with each of
        them right after its default one."""
        objectives = objectives or {}

        def named(name: str, params: dict[str, Any]) -> dict[str, Any]:
            return {"objective": DEFAULT, **params} if objectives.get(name) else params

        if self.sampler == "grid":
            grids = [[(ln.name, named(ln.name, g), "grid") for g in ln.grid(self.task)] for ln in learners]
            out: list[tuple[str, dict[str, Any], str]] = []
            for i in range(max(len(g) for g in grids)):  # interleave learners, cheapest first
                for g in sorted(grids, key=lambda g: LEARNERS[g[0][0]].cost):
                    if i < len(g):
                        out.append(g[i])
            return out
        if not self.portfolio:
            return []
        first = [(ln.name, named(ln.name, ln.portfolio(self.task)[0]), "portfolio") for ln in learners]
        first.sort(key=lambda c: (c[0] != "lightgbm", LEARNERS[c[0]].cost))  # LightGBM sets the time scale
        rest = [
            (ln.name, named(ln.name, p), "portfolio") for ln in learners for p in ln.portfolio(self.task)[1:]
        ]
        for i, (name, params, src) in enumerate(first):
            if objectives.get(name):
                variants = [(name, {**params, "objective": o}, src) for o in objectives[name] if o != DEFAULT]
                return first[: i + 1] + variants + first[i + 1 :] + rest
        return first + rest

    # ------------------------------------------------------------------ the search

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> SearchResult:
        learners = self._check()
        start = time.monotonic()
        deadline = start + self.time_budget_s
        y = np.asarray(y)
        n_classes = int(y.max()) + 1 if self.task != "regression" else 0
        scheme = choose_scheme(n_rows=len(X), task=self.task, n_splits=self.n_splits)
        folds = scheme.split(y, seed=self.seed)
        oof_rows = np.concatenate([va for _, va in folds])
        n_rows = len(X)
        names = [ln.name for ln in learners if n_rows <= ln.max_rows] or [learners[0].name]
        shape = target_shape(y, self.task)
        objectives = {n: learner_objectives(LEARNERS[n], self.metric, self.task, shape) for n in names}

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="maximize",
            sampler=self._make_sampler(),
            # after a fold, a trial whose best running mean is below the top quarter of the completed trials
            # at that fold stops (Optuna's PercentilePruner keeps the top ``percentile`` per cent)
            pruner=optuna.pruners.PercentilePruner(
                PRUNE_PERCENTILE, n_startup_trials=PRUNE_STARTUP, n_warmup_steps=0
            ),
            storage=self.storage or None,
            study_name=self.study_name,
            load_if_exists=bool(self.storage),
        )
        queue = seeded(self.first, objectives, names)
        tried = [(n, p) for n, p, _ in queue]
        queue += [
            c for c in self._initial_configs(learners, objectives) if c[0] in names and c[:2] not in tried
        ]
        if self.portfolio and self.sampler != "grid":
            queue = self._baseline(names, objectives) + queue
        for name, params, _ in queue:
            study.enqueue_trial(
                {"learner": name, **{f"{name}.{k}": v for k, v in params.items()}}, skip_if_exists=True
            )
        sources = [src for _, _, src in queue]
        notes: list[str] = []
        n_jobs = self.n_jobs
        if fit_threads(n_rows, self.n_jobs) > 1:  # on small data one thread anyway: nothing to measure
            n_jobs = search_threads(self.n_jobs)
            if n_jobs < self.n_jobs:
                notes.append(
                    f"learners fit on {n_jobs} thread(s) of the {self.n_jobs} allowed: other processes keep "
                    "the machine's other cores busy"
                )

        trials: list[TrialRecord] = []
        kept: dict[int, tuple[list[Any], np.ndarray, float]] = {}  # trial → (fold models, oof, signed score)
        cut: set[int] = set()  # kept trials whose fits the deadline cut short
        ran: list[float] = []  # each trial's signed score when it completed, -inf otherwise (early stop)
        stopped: list[str] = []
        history: list[tuple[float, float]] = []
        seconds_by_learner: dict[str, float] = {}
        best_signed = -math.inf
        prepared: dict[str, Any] = {}  # what learners make of the whole table once (FoldData.cache)

        def suggest(trial: optuna.Trial) -> tuple[str, dict[str, Any], str]:
            """The trial's learner, parameters and source (a queued configuration, else the sampler)."""
            name = trial.suggest_categorical("learner", names)
            params = LEARNERS[name].search_space(trial, self.task, n_rows)
            if trial.number < len(queue) and queue[trial.number][0] == name:
                # settings outside the search space that a queued configuration fixes (the baseline's trees)
                params.update({k: v for k, v in queue[trial.number][1].items() if k not in params})
            if objectives[name]:  # the objective is one more choice of the configuration
                params = {
                    "objective": trial.suggest_categorical(f"{name}.objective", objectives[name]),
                    **params,
                }
            source = sources[trial.number] if trial.number < len(sources) else self.sampler
            return name, params, source

        def too_costly(name: str, time_left: float) -> tuple[str, bool] | None:
            """Why a trial of ``name`` is not started (its learner's last fit took longer than the time
            left), and whether nothing fits any more; ``None`` to run it."""
            estimate = seconds_by_learner.get(name)
            if estimate is None and "lightgbm" in seconds_by_learner:
                estimate = seconds_by_learner["lightgbm"] * LEARNERS[name].cost
            if trials and estimate is not None and estimate > time_left:
                cheapest = min(seconds_by_learner.values(), default=0.0)
                return f"estimated {estimate:.1f}s > {time_left:.1f}s left", cheapest > time_left
            return None

        def job(name: str, params: dict[str, Any], time_left: float) -> dict[str, Any]:
            """``run_folds``' arguments for a trial starting now, but the data and the pruning hook."""
            return {
                "name": name,
                "params": params,
                "folds": folds,
                "task": self.task,
                "metric": self.metric,
                "n_classes": n_classes,
                "seed": self.seed,
                "n_jobs": fit_threads(n_rows, n_jobs),
                "time_left_s": time_left,
                # the first trial may use all the time (there must be a model); later ones at most half
                "trial_time_s": time_left if not kept else 0.5 * time_left,
                "may_stop": bool(trials),
            }

        def record(number: int, name: str, params: dict[str, Any], source: str, run: FoldRun) -> float | None:
            """Keep a finished trial (its signed score when it completed, else ``None``)."""
            nonlocal best_signed
            fold_scores = tuple(run.fold_scores)
            if run.status == "complete" and (not run.n_cut or name not in seconds_by_learner):
                # a fit the deadline cut short took the time it was given, not what the learner costs: on
                # diamonds, the second trial cut at half the time left made that the estimate of every
                # later trial, and the search stopped at 15 s of 30 with one trial
                seconds_by_learner[name] = max(run.seconds, seconds_by_learner.get(name, 0.0) * 0.5)
                value = score(self.metric, y[oof_rows], run.oof[oof_rows])
                s = signed(self.metric, value)
                kept[number] = (run.models, run.oof, s)
                if run.n_cut:
                    cut.add(number)
                if len(kept) > KEEP_TOP:  # truncated trials go first, then the worst
                    worst = min(kept, key=lambda k: (k not in cut, kept[k][2]))
                    del kept[worst]
                    cut.discard(worst)
                if not run.n_cut:
                    best_signed = max(best_signed, s)
                    history.append((time.monotonic() - start, signed(self.metric, best_signed)))
                ran.append(-math.inf if run.n_cut else s)
                trials.append(
                    TrialRecord(
                        number,
                        name,
                        params,
                        value,
                        run.seconds,
                        "truncated" if run.n_cut else "complete",
                        source,
                        error=f"cut by the time budget on {run.n_cut} of {len(folds)} folds"
                        if run.n_cut
                        else "",
                        fold_scores=fold_scores,
                    )
                )
                return s
            ran.append(-math.inf)
            partial = float(np.mean(fold_scores)) if fold_scores else math.nan
            trials.append(
                TrialRecord(
                    number, name, params, partial, run.seconds, run.status, source, run.error, fold_scores
                )
            )
            return None

        def objective(trial: optuna.Trial) -> float:
            t0 = time.monotonic()
            name, params, source = suggest(trial)
            costly = too_costly(name, deadline - t0)
            if costly is not None:
                if costly[1]:
                    trial.study.stop()  # nothing fits in the time left
                raise optuna.TrialPruned(costly[0])

            def report(value: float, step: int) -> bool:
                trial.report(value, step)
                return trial.should_prune()

            pruning = None if source.startswith(UNPRUNED) else report
            run = run_folds(X=X, y=y, prepared=prepared, report=pruning, **job(name, params, deadline - t0))
            s = record(trial.number, name, params, source, run)
            if s is not None:
                return s
            if run.status == "failed":
                raise optuna.TrialPruned(run.error)  # recorded as failed by us; optuna only needs to move on
            raise optuna.TrialPruned()

        def done(_trial: optuna.trial.FrozenTrial) -> bool:
            """After each trial: tell the progress display; whether the search stops (budget spent, the
            grid done, or a plateau)."""
            if self.on_trial and trials and trials[-1].number == _trial.number:
                best = signed(self.metric, best_signed) if math.isfinite(best_signed) else math.nan
                self.on_trial(trials[-1], best, time.monotonic() - start)
            halt = time.monotonic() >= deadline or (self.sampler == "grid" and len(trials) >= len(queue))
            elapsed = time.monotonic() - start
            why = (
                self.early_stop.reason(ran, elapsed_s=elapsed, budget_s=self.time_budget_s)
                if self.early_stop is not None and self.sampler != "grid" and not stopped
                else None
            )
            if why:
                stopped.append(
                    f"search stopped early after {len(ran)} trials, at {elapsed:.0f}s of its "
                    f"{self.time_budget_s:.0f}s: {why}"
                )
            return halt or bool(why)

        def stop_when_done(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
            if done(frozen):
                study.stop()

        if self.cluster is not None:
            from lamarck.search._cluster import drive

            notes.append(
                drive(
                    self.cluster,
                    study,
                    suggest=suggest,
                    too_costly=too_costly,
                    job=job,
                    record=record,
                    done=done,
                    X=X,
                    y=y,
                    deadline=deadline,
                    max_trials=self.max_trials,
                    artifacts=self.cluster_artifacts,
                    kept=kept,
                    prunable=lambda source: not source.startswith(UNPRUNED),
                    pruner=(PRUNE_PERCENTILE, PRUNE_STARTUP),
                )
            )
        else:
            study.optimize(
                objective,
                timeout=max(self.time_budget_s, 0.1),
                n_trials=self.max_trials,
                callbacks=[stop_when_done],
                catch=(),
                gc_after_trial=False,
            )
        if not kept:
            raise _nothing_completed(trials, self.time_budget_s)
        notes.extend(stopped)
        result = self._finish(trials, kept, cut, y, oof_rows, n_classes, scheme, history, start, notes)
        result.stopped = stopped[0] if stopped else ""
        return result

    def _baseline(
        self, names: list[str], objectives: dict[str, tuple[str, ...]]
    ) -> list[tuple[str, dict[str, Any], str]]:
        """The cheap configuration tried first: LightGBM's baseline when it is searched, else the cheapest
        learner's that has one (none when no learner has one)."""
        order = sorted(names, key=lambda n: (n != "lightgbm", LEARNERS[n].cost))
        for name in order:
            params = LEARNERS[name].baseline(self.task)
            if params is not None:
                named = {"objective": DEFAULT, **params} if objectives.get(name) else dict(params)
                return [(name, named, "baseline")]
        return []

    def _within_latency(
        self,
        order: list[int],
        kept: dict[int, tuple[list[Any], np.ndarray, float]],
        by_number: dict[int, TrialRecord],
        notes: list[str],
    ) -> tuple[list[int], dict[int, float]]:
        """The candidates that answer one row within the limit on their own, best first, and every
        candidate's latency (ms); the fastest alone when none does."""
        assert self.latency_ms is not None and self.latency_of is not None
        cost = {k: float(self.latency_of(kept[k][0])) for k in order}
        fitting = [k for k in order if cost[k] <= self.latency_ms]
        if not fitting:
            fastest = min(order, key=lambda k: cost[k])
            notes.append(
                f"latency limit {self.latency_ms:g} ms: no trial answers one row within it; the fastest "
                f"(trial {fastest}, {by_number[fastest].learner}, {cost[fastest]:.2f} ms) is served alone. Fix: "
                "allow more milliseconds, or search faster learners (--learners lightgbm,linear)."
            )
            return [fastest], cost
        slow = [k for k in order if k not in fitting]
        if slow:
            names = ", ".join(f"{by_number[k].learner} {cost[k]:.2f} ms" for k in slow[:5])
            notes.append(
                f"latency limit {self.latency_ms:g} ms: {len(slow)} of {len(order)} kept trials answer one row "
                f"more slowly and are left out ({names}{'…' if len(slow) > 5 else ''})"
            )
        return fitting, cost

    def _trim_to_latency(
        self,
        order: list[int],
        weights: list[float],
        preds: list[np.ndarray],
        yv: np.ndarray,
        cost: dict[int, float],
        by_number: dict[int, TrialRecord],
        notes: list[str],
    ) -> list[float]:
        """Ensemble weights whose members answer one row within the limit together: the slowest chosen
        member is dropped and the weights chosen again without it, until they fit."""
        assert self.latency_ms is not None
        left_out: list[int] = []
        while True:
            chosen = [i for i, wi in enumerate(weights) if wi > 0]
            total = sum(cost[order[i]] for i in chosen)
            if total <= self.latency_ms or len(chosen) <= 1:
                break
            slowest = max(chosen, key=lambda i: cost[order[i]])
            left_out.append(slowest)
            allowed = [i for i in range(len(order)) if i not in left_out]
            sub = caruana_weights(
                [preds[i] for i in allowed], lambda p: signed(self.metric, score(self.metric, yv, p))
            )
            weights = [0.0] * len(order)
            for i, wi in zip(allowed, sub, strict=True):
                weights[i] = wi
        if left_out:
            names = ", ".join(f"{by_number[order[i]].learner} {cost[order[i]]:.2f} ms" for i in left_out)
            notes.append(
                f"latency limit {self.latency_ms:g} ms: the ensemble left out {names} to answer one row in "
                f"{sum(cost[order[i]] for i, wi in enumerate(weights) if wi > 0):.2f} ms"
            )
        return weights

    def _finish(
        self,
        trials: list[TrialRecord],
        kept: dict[int, tuple[list[Any], np.ndarray, float]],
        cut: set[int],
        y: np.ndarray,
        oof_rows: np.ndarray,
        n_classes: int,
        scheme: ValidationScheme,
        history: list[tuple[float, float]],
        start: float,
        notes: list[str],
    ) -> SearchResult:
        by_number = {t.number: t for t in trials}
        # a truncated trial never beats a complete one: it is a candidate only when none completed
        order = sorted([k for k in kept if k not in cut] or kept, key=lambda k: kept[k][2], reverse=True)
        cost: dict[int, float] = {}
        if self.latency_ms is not None and self.latency_of is not None:
            order, cost = self._within_latency(order, kept, by_number, notes)
        best = order[0]
        if best in cut:
            notes.append(
                f"no trial completed within the budget: the final model is trial {best}, which the deadline "
                "cut short (a larger budget or a less busy machine gives a complete one)"
            )
        single_best = kept[best][2]
        weights = [1.0] + [0.0] * (len(order) - 1)
        ens_signed = single_best
        if self.ensemble and len(order) > 1:
            preds = [kept[k][1][oof_rows] for k in order]
            yv = y[oof_rows]
            w = caruana_weights(preds, lambda p: signed(self.metric, score(self.metric, yv, p)))
            if cost:
                w = self._trim_to_latency(order, w, preds, yv, cost, by_number, notes)
            blended = sum(wi * p for wi, p in zip(w, preds, strict=True))
            ens_signed = signed(self.metric, score(self.metric, yv, blended))
            if ens_signed > single_best + 1e-9 and sum(1 for wi in w if wi > 0) > 1:
                weights = w
                notes.append(
                    f"greedy ensemble of {sum(1 for wi in w if wi > 0)} trials beats the best single trial "
                    f"({signed(self.metric, ens_signed):.5g} vs {signed(self.metric, single_best):.5g})"
                )
            else:
                ens_signed = single_best
                notes.append(
                    "greedy ensemble did not beat the best single trial; the best trial is used alone"
                )
        members = [
            Member(by_number[k].learner, by_number[k].params, kept[k][0], wi, k, by_number[k].score)
            for k, wi in zip(order, weights, strict=True)
            if wi > 0
        ]
        oof = np.asarray(sum(m.weight * kept[m.trial][1] for m in members))
        rule, oof, ens_signed = self._decision_rule(members, kept, y, oof, oof_rows, ens_signed, notes)
        notes.extend(failure_notes(trials))
        seconds = time.monotonic() - start
        final = signed(self.metric, ens_signed)
        return SearchResult(
            task=self.task,
            metric=self.metric,
            n_classes=n_classes,
            trials=trials,
            members=members,
            best_score=signed(self.metric, ens_signed),
            ensemble_score=signed(self.metric, ens_signed),
            single_best_score=signed(self.metric, single_best),
            oof=np.asarray(oof),
            oof_rows=oof_rows,
            validation=scheme,
            history=history,
            seconds=seconds,
            sampler=self.sampler,
            notes=notes,
            rule=rule,
            time_to_quality_s=time_to_quality(history, final=final, metric=self.metric, end_s=seconds),
        )

    def _decision_rule(
        self,
        members: list[Member],
        kept: dict[int, tuple[list[Any], np.ndarray, float]],
        y: np.ndarray,
        oof: np.ndarray,
        oof_rows: np.ndarray,
        ens_signed: float,
        notes: list[str],
    ) -> tuple[DecisionRule | None, np.ndarray, float]:
        """The rule the final model applies to its members' outputs, when it improves the metric out of
        fold (:mod:`lamarck.search._decision`); the out-of-fold predictions and signed score with it."""
        yv = y[oof_rows]
        if self.task == "regression":
            if self.metric not in ("mae", "mape") or len(members) < 2:
                return None, oof, ens_signed
            stacked = np.stack([kept[m.trial][1] for m in members])
            median = weighted_median(stacked, np.array([m.weight for m in members]))
            median_signed = signed(self.metric, score(self.metric, yv, median[oof_rows]))
            if median_signed <= ens_signed + 1e-12:
                return None, oof, ens_signed
            notes.append(
                f"the weighted median of the members beats their weighted mean out of fold "
                f"({signed(self.metric, median_signed):.5g} vs {signed(self.metric, ens_signed):.5g})"
            )
            return DecisionRule(combine="median"), median, median_signed
        choice = choose_rule(self.metric, yv, oof[oof_rows], seed=self.seed)
        if choice.note:
            notes.append(choice.note)
        if choice.rule is None:
            return None, oof, ens_signed
        return choice.rule, choice.rule.proba(oof), signed(self.metric, choice.score)
