"""``POST /v1/feedback``: labels for logged predictions (by id) or labelled rows, committed to the store
before the answer (keys with role ``feedback`` or ``admin``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lamarck.serve._deps import State, require
from lamarck.serve._errors import answers
from lamarck.serve._limits import clean_feedback
from lamarck.serve._schemas import FeedbackRequest

router = APIRouter(tags=["feedback"])


@router.post("/v1/feedback", responses=answers(400, 401, 403, 413, 422))
def feedback(req: FeedbackRequest, state: State, _who: str = require("feedback", "admin")) -> dict[str, Any]:
    """Store labels through ``Project.add_feedback``, the rule the CLI uses too: unusable records are
    quarantined with their reason, the rest committed before the answer; 422 when none is usable. Rows and
    labels are held to the limits of ``/v1/predict`` (413 / 422), weights must be finite numbers > 0."""
    req = clean_feedback(req, state.limits)
    if req.items:
        items = [{"prediction_id": i.prediction_id, "label": i.label, "weight": i.weight} for i in req.items]
        result = state.add_feedback(items=items)
    else:
        result = state.add_feedback(rows=req.rows, label_column=req.label_column, weight=req.weight)
    if result.quarantined:
        return result.to_dict()
    return {"accepted": result.accepted}
