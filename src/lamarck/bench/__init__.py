"""Reproducible comparisons against peers on suites of real data (``lamarck bench``)."""

from lamarck.bench._batch import FIELDS, run_batch, shared_score, split_case, summarize
from lamarck.bench._suite import Case, load_case, load_suite

__all__ = [
    "FIELDS",
    "Case",
    "load_case",
    "load_suite",
    "run_batch",
    "shared_score",
    "split_case",
    "summarize",
]
