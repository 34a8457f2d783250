"""Lamarck: from a table and one sentence to a served model that keeps itself current.

    >>> import lamarck
    >>> sorted(lamarck.__all__)
    ['AutoClassifier', 'AutoRegressor', 'LamarckError', 'Project', 'StreamLearner', 'TaskSpec', '__version__']

The public names are imported on first use, so ``lamarck --help`` starts without loading the ML stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from lamarck.errors import LamarckError

if TYPE_CHECKING:
    from lamarck._sklearn import AutoClassifier, AutoRegressor
    from lamarck.plan import TaskSpec
    from lamarck.project import Project
    from lamarck.stream import StreamLearner

__version__ = "0.1.0"

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
