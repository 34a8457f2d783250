"""Meta-learning: every task starts from what earlier tasks learned.

:func:`describe_task` gives a task's meta-features; :class:`KnowledgeBase` keeps every fit's meta-features
and trials (the project's own and the user's, shared by every project on the machine);
:func:`load_portfolio` reads the portfolio shipped with the package (built offline by
``lamarck meta build``); :func:`warm_start` picks the configurations of the nearest known tasks, which the
search tries first.
"""

from lamarck.meta._features import DISTANCE_FEATURES, MetaFeatures, describe_task
from lamarck.meta._knowledge import (
    Config,
    KnowledgeBase,
    KnownTask,
    TaskRecord,
    Trial,
    best_configs,
    default_knowledge_url,
    signed_score,
)
from lamarck.meta._portfolio import BUILD_LOG, PORTFOLIO_FILE, Portfolio, load_portfolio, portfolio_dict
from lamarck.meta._warm import SOURCE, Neighbour, WarmStart, nearest, warm_start

__all__ = [
    "BUILD_LOG",
    "DISTANCE_FEATURES",
    "PORTFOLIO_FILE",
    "SOURCE",
    "Config",
    "KnowledgeBase",
    "KnownTask",
    "MetaFeatures",
    "Neighbour",
    "Portfolio",
    "TaskRecord",
    "Trial",
    "WarmStart",
    "best_configs",
    "default_knowledge_url",
    "describe_task",
    "load_portfolio",
    "nearest",
    "portfolio_dict",
    "signed_score",
    "warm_start",
]
