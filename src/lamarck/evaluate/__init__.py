"""Metrics, scorecards, champion-vs-challenger tests and the uncertainty of predictions.

Imports nothing else of Lamarck but errors."""

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
from lamarck.evaluate._uncertainty import UNCERTAINTY_STRATEGIES, UncertaintyStrategy, uncertainty

__all__ = [
    "DEFAULT_METRIC",
    "METRICS",
    "UNCERTAINTY_STRATEGIES",
    "Metric",
    "Scorecard",
    "Task",
    "TestResult",
    "UncertaintyStrategy",
    "calibration",
    "get_metric",
    "mcnemar",
    "metrics_for",
    "paired_bootstrap",
    "score",
    "scorecard",
    "signed",
    "uncertainty",
]
