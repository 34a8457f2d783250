"""Metrics, scorecards and champion-vs-challenger tests. Imports nothing else of Lamarck but errors."""

from lamarck.evaluate._metrics import (
    DEFAULT_METRIC,
    METRICS,
    Metric,
    Task,
    get_metric,
    metrics_for,
    score,
    signed,
)
from lamarck.evaluate._scorecard import Scorecard, calibration, scorecard
from lamarck.evaluate._tests import TestResult, mcnemar, paired_bootstrap

__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "Metric",
    "Scorecard",
    "Task",
    "TestResult",
    "calibration",
    "get_metric",
    "mcnemar",
    "metrics_for",
    "paired_bootstrap",
    "score",
    "scorecard",
    "signed",
]
