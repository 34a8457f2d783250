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

__all__ = ["DEFAULT_METRIC", "METRICS", "Metric", "Task", "get_metric", "metrics_for", "score", "signed"]
