"""Lamarck: from a table and one sentence to a served model that keeps itself current.

    >>> import lamarck
    >>> sorted(lamarck.__all__)
    ['AutoClassifier', 'AutoRegressor', 'LamarckError', 'Project', 'StreamLearner', 'TaskSpec', '__version__']

The public names are imported on first use, so ``lamarck --help`` starts without loading the ML stack.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

from lamarck.errors import LamarckError

if TYPE_CHECKING:
    from lamarck._sklearn import AutoClassifier, AutoRegressor
    from lamarck.plan import TaskSpec
    from lamarck.project import Project
    from lamarck.stream import StreamLearner

__version__ = "0.1.0"

# OpenMP threads that wait sleep instead of spinning: on a machine whose other cores are busy, spinning
# made a two-thread LightGBM fit 4-16 times slower (lamarck.search._threads has the figures). Read by the
# OpenMP runtimes when they load, so it is set before any learner is imported; a user's value is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = [
    "AutoClassifier",
    "AutoRegressor",
    "LamarckError",
    "Project",
    "StreamLearner",
    "TaskSpec",
    "__version__",
]

_LAZY = {
    "AutoClassifier": "lamarck._sklearn",
    "AutoRegressor": "lamarck._sklearn",
    "Project": "lamarck.project",
    "StreamLearner": "lamarck.stream",
    "TaskSpec": "lamarck.plan",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lamarck' has no attribute {name!r}")
