"""``POST /v1/predict``: the champion's answers (keys with role ``predict`` or ``admin``).

Rows without the columns the model needs are quarantined with their reason and left out of the answer
(422 when none is left). The answered rows are logged, as received, with the champion's version. While a
challenger is shadowing, it predicts the same rows after the answer is sent (:func:`shadow`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, BackgroundTasks, HTTPException, Response

from lamarck.evolve import row_outputs
from lamarck.serve._deps import State, require
from lamarck.serve._errors import answers
from lamarck.serve._limits import clean_rows
from lamarck.serve._schemas import PredictRequest
from lamarck.serve._state import ServerState

log = logging.getLogger(__name__)

router = APIRouter(tags=["predict"])


def _jsonable(values: np.ndarray) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in values]


@router.post(
    "/v1/predict",
    responses=answers(400, 401, 403, 413, 422, 503, rows=True),
    response_model=dict[str, Any],  # documented as before; the answer is encoded here, once (orjson)
)
def predict(
    req: PredictRequest, background: BackgroundTasks, state: State, _who: str = require("predict", "admin")
) -> Response:
    """The champion's predictions, probabilities (for classes) and a prediction id per row.

    With the online layer on (setting ``online_layer``), the answer is the champion's combined with online
    members that learn every label, once that combination has been significantly better on recent labels
    (``/v1/status`` shows which one serves, under ``layer``); ``model_version`` is the champion's.

    A non-finite number in a row: ``NaN`` is a missing value (as ``null``, the model imputes it);
    ``Infinity``, ``-Infinity`` or a number too large for a float (``1e999``) is refused with 422 naming
    the row and the column. Limits (settings): ``max_rows_per_request`` rows, ``max_value_bytes`` per
    string value and ``max_column_name_bytes`` per column name (413 beyond them), values nested at most
    ``max_depth`` lists or objects deep (422).
    """
    t0 = time.perf_counter()
    project, metrics = state.project, state.metrics
    received = clean_rows(req.rows, state.limits)
    model, version = state.models.champion()
    required = list(model.input_schema)
    bad = [(i, [c for c in required if c not in row]) for i, row in enumerate(received)]
    bad = [(i, missing) for i, missing in bad if missing]
    quarantined = []
    rows = received
    if bad:
        reasons = [f"missing column(s) {missing}" for _, missing in bad]
        project.store.quarantine([received[i] for i, _ in bad], reasons, source="predict")
        quarantined = [{"index": i, "reason": r} for (i, _), r in zip(bad, reasons, strict=True)]
        metrics.inc("quarantined_rows", len(bad))
        dropped = {i for i, _ in bad}
        rows = [row for i, row in enumerate(received) if i not in dropped]
        if not rows:
            raise HTTPException(
                422,
                {
                    "detail": "no row has the columns the model needs",
                    "quarantined": quarantined,
                    "required": required,
                },
            )
    out: dict[str, Any] = {}
    probas = None
    # from the rows as received, without a DataFrame where the model allows it (LamarckModel.outputs);
    # the rows are also what is logged
    served, seen = state.layer.answer(model, version, rows, row_outputs(model, rows))
    if model.task != "regression":
        out["predictions"] = _jsonable(np.asarray(model.classes_)[served.argmax(axis=1)])
        probas = served.tolist()  # Python floats, once, for the answer and the log
        names = [str(c) for c in model.classes_]
        out["probabilities"] = [dict(zip(names, p, strict=True)) for p in probas]
    else:
        out["predictions"] = _jsonable(served)
    with state.write_lock:
        ids = project.store.log_predictions(
            rows, predictions=out["predictions"], probas=probas, model_version=version
        )
    state.layer.remember(ids, seen)
    out["prediction_ids"] = ids
    out["model_version"] = version
    if quarantined:
        out["quarantined"] = quarantined
    state.served_version = version
    background.add_task(shadow, state, rows, ids)
    metrics.inc("predictions", len(rows))
    metrics.observe_predict(time.perf_counter() - t0)
    # FastAPI would walk the answer (jsonable_encoder) and validate it against dict before encoding it
    return Response(orjson.dumps(out), media_type="application/json", background=background)


def shadow(state: ServerState, rows: list[dict[str, Any]], ids: list[str]) -> None:
    """The challenger's answers to rows the champion answered, logged beside them (never raises)."""
    found = state.models.of("challenger")
    if found is None or found[1] == state.served_version:
        return
    model, version = found
    try:
        frame = pd.DataFrame.from_records(rows)
        preds = model.predict(frame)
        probas = None if model.task == "regression" else model.predict_proba(frame).tolist()
        with state.write_lock:
            state.project.store.log_shadow(
                ids, predictions=_jsonable(np.asarray(preds)), probas=probas, model_version=version
            )
        state.metrics.inc("shadow_predictions", len(ids))
    except Exception:  # the shadow never hurts the champion's answers
        log.exception("shadow prediction by v%s failed", version)
        state.metrics.inc("shadow_errors")
