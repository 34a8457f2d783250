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

from lamarck.search._compiled import without_kernels
from lamarck.search._model import _fast
from lamarck.search._predict import SharedInputs, fold_matrices

__all__ = ["latency_probe", "timings"]

REPEATS = 7


def latency_probe(
    processor: Any, features: pd.DataFrame, task: str, n_classes: int
) -> Callable[[list[Any]], float]:
    """Milliseconds a member of these fold models takes on one row of ``features`` (the processed frame)."""
    fast = _fast(processor)
    layout = None if fast is None else fast[1]
    row = features.iloc[:1]
    matrix = SharedInputs(row, layout=layout).matrix()  # the row's matrix is the request's, not the member's

    def inputs() -> SharedInputs:
        return SharedInputs(row) if matrix is None else SharedInputs(matrix=matrix, layout=layout)

    def measure(models: list[Any]) -> float:  # the first call builds (and checks) the kernels, untimed
        return _median_ms(lambda: fold_matrices(models, inputs(), task, n_classes), REPEATS)

    return measure


def _median_ms(f: Callable[[], Any], repeats: int) -> float:
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def timings(
    model: Any, rows: list[dict[str, Any]], *, compiled: bool = True, repeats: int = 200
) -> dict[str, float]:
    """Where a prediction of ``rows`` (JSON values) spends its time, median milliseconds per step.

    ``compiled=True``: the server's rows path (``LamarckModel.outputs``): the rows encoded into the matrix,
    then each member through its kernel, and the whole call; and the whole ``predict_proba`` (``predict``)
    on a DataFrame of the rows, kernels included (what MLflow's pyfunc of the model runs). ``compiled=False``: the path before the
    kernels: a DataFrame from the rows, the processor's frame, each member's fold models through their own
    interface, and the whole ``predict_proba`` (``predict``) on the frame.
    """
    n_classes = 0 if model.classes_ is None else len(model.classes_)
    whole = model.predict if model.task == "regression" else model.predict_proba
    out: dict[str, float] = {}
    if compiled:
        fast = _fast(model.processor)
        if fast is not None:
            encoder, layout = fast
            out["rows encoded into the matrix"] = _median_ms(lambda: encoder.encode(rows), repeats)
            matrix = encoder.encode(rows)
            for m in model.members:

                def members(models: list[Any] = m.models) -> Any:
                    return fold_matrices(
                        models, SharedInputs(matrix=matrix, layout=layout), model.task, n_classes
                    )

                out[f"{m.learner} x{len(m.models)}"] = _median_ms(members, repeats)
        out["whole model"] = _median_ms(lambda: model.outputs(rows), repeats)
        out["whole model through a DataFrame"] = _median_ms(
            lambda: whole(pd.DataFrame.from_records(rows)), repeats
        )
        return out
    with without_kernels():
        out["DataFrame from the JSON rows"] = _median_ms(lambda: pd.DataFrame.from_records(rows), repeats)
        frame = pd.DataFrame.from_records(rows)
        out["processor's frame"] = _median_ms(lambda: model._features(frame), repeats)
        features = model._features(frame)
        for m in model.members:

            def framed(models: list[Any] = m.models) -> Any:
                return fold_matrices(models, SharedInputs(features), model.task, n_classes)

            out[f"{m.learner} x{len(m.models)}"] = _median_ms(framed, repeats)
        out["whole model"] = _median_ms(lambda: whole(pd.DataFrame.from_records(rows)), max(repeats // 4, 5))
    return out
