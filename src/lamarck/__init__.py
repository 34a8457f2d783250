"""Lamarck: from a table and one sentence to a served model that keeps itself current.

>>> import lamarck
>>> sorted(lamarck.__all__)
['AutoClassifier', 'AutoRegressor', 'LamarckError', 'Project', 'TaskSpec', '__version__']
"""

from lamarck._sklearn import AutoClassifier, AutoRegressor
from lamarck.errors import LamarckError
from lamarck.plan import TaskSpec
from lamarck.project import Project

__version__ = "0.1.0"

__all__ = ["AutoClassifier", "AutoRegressor", "LamarckError", "Project", "TaskSpec", "__version__"]
