"""Steps ``learn from the past`` (before the search: the task's meta-features and the warm start from
the nearest earlier tasks) and ``remember`` (after it: the task and every trial go into the project's
knowledge base and the user's). Neither may fail a fit: a knowledge base that cannot be read or written is
logged and the fit goes on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lamarck._fit._types import FitOptions, Prepared

if TYPE_CHECKING:
    from lamarck.meta import KnowledgeBase, MetaFeatures, WarmStart
    from lamarck.project import Project
    from lamarck.settings import Settings

__all__ = ["Learned", "learn", "project_knowledge", "remember", "user_knowledge"]

log = logging.getLogger(__name__)

#: known tasks read from a knowledge base for the nearest-task lookup (the most recent first)
KNOWN_TASKS = 2000


@dataclass(frozen=True)
class Learned:
    """What the fit takes from earlier tasks: its own meta-features and the warm start (None when off)."""

    meta: MetaFeatures | None
    warm: WarmStart | None

    @property
    def first(self) -> list[tuple[str, dict[str, Any], str]] | None:
        """The configurations the search tries first."""
        return self.warm.configs if self.warm is not None and self.warm.configs else None


def user_knowledge(settings: Settings) -> KnowledgeBase:
    """The user-level knowledge base of ``settings`` (``knowledge_url``, else the default user path)."""
    from lamarck.meta import KnowledgeBase, default_knowledge_url

    return KnowledgeBase(settings.knowledge_url or default_knowledge_url())


def project_knowledge(project: Project) -> KnowledgeBase:
    """The project's own knowledge base, ``<project>/knowledge.db``."""
    from lamarck.meta import KnowledgeBase

    return KnowledgeBase(f"sqlite:///{project.path.resolve() / 'knowledge.db'}")


def learn(project: Project, prepared: Prepared, options: FitOptions) -> Learned:
    """The task's meta-features and, unless the warm start is off (setting ``warm_start``, no portfolio,
    or the grid sampler, whose trials are the grid), the configurations of the nearest known tasks."""
    from lamarck.meta import describe_task, load_portfolio, warm_start

    try:
        meta = describe_task(
            prepared.X, prepared.y, task=prepared.spec.task, kinds=prepared.kinds, seed=prepared.seed
        )
    except Exception:
        log.warning("the task's meta-features could not be computed; no warm start", exc_info=True)
        return Learned(meta=None, warm=None)
    settings = project.settings
    if not (settings.warm_start and options.portfolio and options.sampler != "grid"):
        return Learned(meta=meta, warm=None)
    options.stage("warm start from earlier tasks")
    t0 = time.perf_counter()
    kb = user_knowledge(settings) if settings.knowledge_base else project_knowledge(project)
    try:
        known = kb.tasks(task=meta.task, limit=KNOWN_TASKS)
    except Exception as e:
        log.warning("knowledge base %s not read (%s); warm start from the portfolio only", kb.url, e)
        known = []
    finally:
        kb.dispose()
    try:
        shipped = load_portfolio().tasks
    except Exception as e:
        log.warning("the shipped portfolio could not be read (%s)", e)
        shipped = ()
    warm = warm_start(meta, knowledge=known, portfolio=shipped)
    log.info("warm start in %.2fs: %s", time.perf_counter() - t0, warm.note())
    return Learned(meta=meta, warm=warm)


def remember(project: Project, prepared: Prepared, learned: Learned, result: Any) -> None:
    """The task and its trials into the project's knowledge base and (setting ``knowledge_base``) the
    user's; an error is logged, never raised."""
    if learned.meta is None:
        return
    from lamarck.evaluate import get_metric
    from lamarck.meta import TaskRecord, Trial

    spec = prepared.spec
    record = TaskRecord(
        dataset=prepared.dataset_name,
        task=spec.task,
        metric=spec.metric,
        meta=learned.meta,
        project=str(project.path.resolve()),
        greater_is_better=get_metric(spec.metric).greater_is_better,
    )
    trials = [Trial(t.learner, t.params, t.score, t.seconds, t.status, t.source) for t in result.trials]
    bases = [project_knowledge(project)]
    if project.settings.knowledge_base:
        bases.append(user_knowledge(project.settings))
    for kb in bases:
        try:
            kb.record(record, trials)
        except Exception as e:  # a full disk, a read-only home, a server down: the fit goes on
            log.warning("this fit was not recorded in the knowledge base %s: %s", kb.url, e)
        finally:
            kb.dispose()
