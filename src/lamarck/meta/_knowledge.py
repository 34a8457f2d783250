"""The knowledge base of past tasks: each fit's meta-features and every trial's configuration and
out-of-fold score. SQLAlchemy: SQLite by default, PostgreSQL by URL.

Two live side by side: the project's own (``<project>/knowledge.db``) and the user's, which every project
on the machine shares (:func:`default_knowledge_url`: ``$XDG_DATA_HOME/lamarck/knowledge.db``, else
``~/.local/share/lamarck/knowledge.db``; the ``knowledge_url`` setting moves it, e.g. to PostgreSQL).

    >>> from lamarck.meta import MetaFeatures
    >>> kb = KnowledgeBase("sqlite://")
    >>> meta = MetaFeatures.from_dict({"task": "binary", "n_rows": 500, "n_columns": 4})
    >>> trials = [Trial("lightgbm", {"num_leaves": 31}, 0.91, 0.2), Trial("linear", {"C": 1.0}, 0.88, 0.1)]
    >>> _ = kb.record(TaskRecord("churn.csv", "binary", "roc_auc", meta, project="/tmp/p"), trials)
    >>> [(t.name, t.configs[0].learner) for t in kb.tasks()]
    [('churn.csv', 'lightgbm')]
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lamarck.errors import DataError
from lamarck.meta._features import MetaFeatures

__all__ = [
    "Config",
    "KnowledgeBase",
    "KnownTask",
    "TaskRecord",
    "Trial",
    "default_knowledge_url",
    "signed_score",
]

_meta = sa.MetaData()

TASKS = sa.Table(
    "meta_tasks",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("project", sa.Text, nullable=False),
    sa.Column("dataset", sa.Text, nullable=False),
    sa.Column("task", sa.String(16), nullable=False, index=True),
    sa.Column("metric", sa.String(32), nullable=False),
    sa.Column("greater_is_better", sa.Boolean, nullable=False),
    sa.Column("meta", sa.JSON, nullable=False),
    sa.Column("best_score", sa.Float),
)
TRIALS = sa.Table(
    "meta_trials",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("meta_tasks.id"), nullable=False, index=True),
    sa.Column("learner", sa.String(32), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
)

#: configurations kept per task when tasks are read back (the best ones, at most one per learner first)
CONFIGS_PER_TASK = 3


def default_knowledge_url() -> str:
    """The user-level knowledge base: ``$XDG_DATA_HOME/lamarck/knowledge.db`` (``%LOCALAPPDATA%`` on
    Windows), else ``~/.local/share/lamarck/knowledge.db``; its folder is made on first write."""
    base = os.environ.get("XDG_DATA_HOME") or os.environ.get("LOCALAPPDATA")
    root = Path(base) if base else Path.home() / ".local" / "share"
    return f"sqlite:///{root / 'lamarck' / 'knowledge.db'}"


def signed_score(score: float, greater_is_better: bool) -> float:
    """A score where larger is better (``-inf`` for a missing one).

    >>> signed_score(0.3, False), signed_score(float("nan"), True)
    (-0.3, -inf)
    """
    if score is None or not math.isfinite(score):
        return -math.inf
    return score if greater_is_better else -score


@dataclass(frozen=True)
class Trial:
    """One trial of a search as the knowledge base keeps it; ``score`` is out of fold, in the metric's
    own units."""

    learner: str
    params: Mapping[str, Any]
    score: float
    seconds: float
    status: str = "complete"
    source: str = "sampler"


@dataclass(frozen=True)
class TaskRecord:
    """One fit: what it was (dataset, task, metric) and its meta-features."""

    dataset: str
    task: str
    metric: str
    meta: MetaFeatures
    project: str = ""
    greater_is_better: bool = True


@dataclass(frozen=True)
class Config:
    """A configuration that did well on a known task."""

    learner: str
    params: dict[str, Any]
    score: float


@dataclass(frozen=True)
class KnownTask:
    """A past task with its best configurations, best first. ``origin`` says where it is known from
    (``knowledge base``, ``portfolio``)."""

    name: str
    origin: str
    task: str
    metric: str
    meta: MetaFeatures
    configs: tuple[Config, ...]
    when: str = ""
    project: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def best_configs(trials: Sequence[Trial], greater_is_better: bool, k: int = CONFIGS_PER_TASK) -> list[Config]:
    """The ``k`` best complete trials, the best of each learner before any learner's second.

    >>> t = [Trial("a", {"x": 1}, 0.9, 1), Trial("a", {"x": 2}, 0.95, 1), Trial("b", {}, 0.8, 1)]
    >>> [(c.learner, c.params) for c in best_configs(t, True, k=2)]
    [('a', {'x': 2}), ('b', {})]
    """
    done = [t for t in trials if t.status == "complete" and math.isfinite(signed_score(t.score, True))]
    done.sort(key=lambda t: signed_score(t.score, greater_is_better), reverse=True)
    firsts: list[Trial] = []
    rest: list[Trial] = []
    seen: set[str] = set()
    for t in done:
        (rest if t.learner in seen else firsts).append(t)
        seen.add(t.learner)
    return [Config(t.learner, dict(t.params), float(t.score)) for t in (firsts + rest)[:k]]


def _shown(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return scheme + sep + rest.split("@")[-1] if sep else url


class KnowledgeBase:
    """Tasks and their trials, append-only. The engine (and, for SQLite, the file's folder) is made on
    first use."""

    def __init__(self, url: str, *, engine: sa.Engine | None = None) -> None:
        self.url = url
        self._engine = engine

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            if self.url.startswith("sqlite:///") and len(self.url) > len("sqlite:///"):
                Path(self.url.removeprefix("sqlite:///")).expanduser().parent.mkdir(
                    parents=True, exist_ok=True
                )
            try:
                engine = sa.create_engine(self.url, pool_pre_ping=True, future=True)
                if engine.dialect.name == "sqlite":
                    sa.event.listen(engine, "connect", _sqlite_pragmas)
                _meta.create_all(engine)
            except (sa.exc.ArgumentError, sa.exc.DatabaseError, ImportError) as e:
                problem = " ".join(str(getattr(e, "orig", None) or e).split())[:200]
                raise DataError(
                    f"cannot open the knowledge base {_shown(self.url)!r}: {problem}. Fix: set knowledge_url "
                    "to a working database (e.g. sqlite:///knowledge.db), or knowledge_base = false."
                ) from None
            self._engine = engine
        return self._engine

    def record(self, task: TaskRecord, trials: Sequence[Trial]) -> int:
        """Store one fit and its trials in one transaction; returns the task's id."""
        best = best_configs(trials, task.greater_is_better, k=1)
        with self.engine.begin() as conn:
            inserted = conn.execute(
                TASKS.insert().values(
                    ts=datetime.now(UTC),
                    project=task.project,
                    dataset=task.dataset,
                    task=task.task,
                    metric=task.metric,
                    greater_is_better=task.greater_is_better,
                    meta=_finite(task.meta.to_dict()),
                    best_score=best[0].score if best else None,
                )
            ).inserted_primary_key
            assert inserted is not None  # an INSERT of one row always has its key
            task_id = inserted[0]
            if trials:
                conn.execute(
                    TRIALS.insert(),
                    [
                        {
                            "task_id": task_id,
                            "learner": t.learner,
                            "params": _finite(dict(t.params)),
                            "score": t.score if math.isfinite(t.score) else None,
                            "seconds": float(t.seconds),
                            "status": t.status,
                            "source": t.source[:64],
                        }
                        for t in trials
                    ],
                )
        return int(task_id)

    def tasks(self, *, task: str | None = None, limit: int = 2000) -> list[KnownTask]:
        """The most recent ``limit`` tasks (of one kind with ``task``), each with its best configurations."""
        query = sa.select(TASKS).order_by(TASKS.c.id.desc()).limit(limit)
        if task is not None:
            query = query.where(TASKS.c.task == task)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            ids = [r["id"] for r in rows]
            by_task: dict[int, list[Trial]] = {i: [] for i in ids}
            if ids:
                found = conn.execute(
                    sa.select(TRIALS).where(TRIALS.c.task_id.in_(ids), TRIALS.c.status == "complete")
                ).mappings()
                for t in found:
                    score = math.nan if t["score"] is None else float(t["score"])
                    by_task[t["task_id"]].append(
                        Trial(t["learner"], t["params"], score, t["seconds"], t["status"], t["source"])
                    )
        return [
            KnownTask(
                name=r["dataset"],
                origin="knowledge base",
                task=r["task"],
                metric=r["metric"],
                meta=MetaFeatures.from_dict(r["meta"]),
                configs=tuple(best_configs(by_task[r["id"]], r["greater_is_better"])),
                when=r["ts"].isoformat(timespec="seconds") if r["ts"] else "",
                project=r["project"],
            )
            for r in rows
        ]

    def trials(self, task_id: int) -> list[Trial]:
        """Every trial of one task, in the order they ran."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(TRIALS).where(TRIALS.c.task_id == task_id).order_by(TRIALS.c.id)
            ).mappings()
            return [
                Trial(
                    t["learner"],
                    t["params"],
                    math.nan if t["score"] is None else float(t["score"]),
                    t["seconds"],
                    t["status"],
                    t["source"],
                )
                for t in found
            ]

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _sqlite_pragmas(conn: Any, _record: Any) -> None:
    cur = conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities as None, numpy scalars as Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
