"""``POST /v1/feedback``: labels for logged predictions (by id) or labelled rows, committed to the store
before the answer (keys with role ``feedback`` or ``admin``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from lamarck.serve._deps import State, require
from lamarck.serve._errors import answers
from lamarck.serve._schemas import FeedbackRequest

router = APIRouter(tags=["feedback"])


@router.post("/v1/feedback", responses=answers(401, 403, 422))
def feedback(req: FeedbackRequest, state: State, _who: str = require("feedback", "admin")) -> dict[str, Any]:
    if req.items:
        items = [{"prediction_id": i.prediction_id, "label": i.label, "weight": i.weight} for i in req.items]
    else:
        assert req.rows is not None and req.label_column is not None  # checked by the model validator
        missing = [k for k, r in enumerate(req.rows) if req.label_column not in r]
        if missing:
            raise HTTPException(422, f"rows {missing[:10]} lack the label column {req.label_column!r}")
        items = [
            {
                "inputs": {k: v for k, v in r.items() if k != req.label_column},
                "label": r[req.label_column],
                "weight": req.weight,
            }
            for r in req.rows
        ]
    with state.write_lock:
        n = state.project.store.add_feedback(items)  # committed before we answer
    state.metrics.inc("feedback", n)
    return {"accepted": n}
