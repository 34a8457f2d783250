"""How long a trial's fold models take to answer one row as the server answers it (``latency_probe``), for
the ensemble selection under a latency limit (``AutoSearch(latency_ms=..., latency_of=...)``).

The probe times the fold models on one row of the processed frame, through the same shared inputs and
compiled kernels as ``LamarckModel.outputs`` (the kernels it builds are the ones the served model reuses),
the median of a few calls after a first one (which builds them). Per-request costs outside the models
(reading the row, HTTP, logging) are not in it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from lamarck.search._model import _fast
from lamarck.search._predict import SharedInputs, fold_matrices

__all__ = ["latency_probe"]

REPEATS = 7


def latency_probe(
    processor: Any, features: pd.DataFrame, task: str, n_classes: int
) -> Callable[[list[Any]], float]:
    """Milliseconds a member of these fold models takes on one row of ``features`` (the processed frame)."""
    fast = _fast(processor)
    row = features.iloc[:1]

    def inputs() -> SharedInputs:
        return SharedInputs(row, layout=None if fast is None else fast[1])

    def measure(models: list[Any]) -> float:
        fold_matrices(models, inputs(), task, n_classes)  # builds (and checks) the kernels once
        times = []
        for _ in range(REPEATS):
            shared = inputs()
            shared.matrix()  # the row's matrix is the request's, not the member's
            t0 = time.perf_counter()
            fold_matrices(models, shared, task, n_classes)
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    return measure
