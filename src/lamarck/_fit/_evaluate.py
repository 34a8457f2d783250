"""Step ``evaluate``: the final model's scorecard (honest out-of-fold figures), the importance of each
input column and, when asked, the LLM's review of the fit."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from lamarck._fit._prepare import encoded
from lamarck._fit._types import Assembled, Evaluation, FitOptions, Prepared, Processed

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = ["evaluate", "finding_dict", "importance"]


def evaluate(
    project: Project,
    prepared: Prepared,
    processed: Processed,
    result: Any,
    assembled: Assembled,
    options: FitOptions,
) -> Evaluation:
    """Scorecard and importance; with ``llm_review`` the LLM's review (a note says why when there is none)."""
    card = scorecard(assembled.model, prepared, result)
    origins = getattr(processed.processor, "origins_", {})
    imp = importance(assembled.model, list(processed.X.columns), origins)
    review = None
    if options.llm_review:
        options.stage("LLM review")
        review = _llm_review(project, prepared, card, assembled, processed.llm_features)
    return Evaluation(scorecard=card, importance=imp, review=review)


def scorecard(model: Any, prepared: Prepared, result: Any) -> dict[str, Any]:
    """Scorecard of the final model: metrics from out-of-fold predictions, the rest from the model."""
    from lamarck.evaluate import METRICS, calibration, score
    from lamarck.evaluate import scorecard as make_scorecard

    spec, classes, seed = prepared.spec, prepared.classes, prepared.seed
    X, y_raw = prepared.X, prepared.y_raw
    n = min(len(X), 1000)
    sample = X.sample(n=n, random_state=seed) if len(X) > n else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card = make_scorecard(
            model,
            sample,
            y_raw.loc[sample.index].to_numpy(),
            task=spec.task,
            metric=spec.metric,
            classes=None if classes is None else list(classes),
            seed=seed,
        ).to_dict()
    # the primary and secondary metrics of a model on its own training rows are optimistic: replace
    # them with the honest out-of-fold figures of the validation scheme
    rows = result.oof_rows
    y = encoded(y_raw, classes)[rows] if classes is not None else y_raw.to_numpy(dtype=float)[rows]
    oof = result.oof[rows]
    secondary = {}
    for name in card.get("secondary", {}):
        if name in METRICS and METRICS[name].fits(spec.task):
            try:
                secondary[name] = score(name, y, oof)
            except ValueError:
                secondary[name] = math.nan
    card["secondary"] = secondary
    if spec.task != "regression":
        card["calibration"] = calibration(y, oof)
    card["score"] = result.best_score
    card["evaluated_on"] = f"out-of-fold predictions ({result.validation.describe()})"
    # when the search was done: seconds to come within 1 % of the final score, and why it stopped early
    card["time_to_quality_s"] = round(float(result.time_to_quality_s), 3)
    card["search_seconds"] = round(float(result.seconds), 3)
    card["stopped_early"] = result.stopped
    return card


def importance(model: Any, feature_names: list[str], origins: Mapping[str, str]) -> dict[str, float]:
    """Importance per input column from the tree members (gain or split counts), normalised to 1.

    ``origins`` maps a learner's feature name to the input column it is made of (the processor's
    ``origins_``), so the user reads their own column names; a name without an origin stands for itself.
    """
    totals: dict[str, float] = {}
    for member in model.members:
        for fold_model in member.models:
            values = getattr(fold_model, "feature_importances_", None)
            if values is None or len(values) != len(feature_names):
                continue
            values = np.asarray(values, dtype=float)
            if values.sum() <= 0:
                continue
            for name, v in zip(feature_names, values / values.sum(), strict=True):
                col = origins.get(name, name)
                totals[col] = totals.get(col, 0.0) + member.weight * v / len(member.models)
    s = sum(totals.values())
    return {k: v / s for k, v in sorted(totals.items(), key=lambda kv: -kv[1])} if s > 0 else {}


def _llm_review(
    project: Project,
    prepared: Prepared,
    card: dict[str, Any],
    assembled: Assembled,
    feature_trials: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """The LLM's review of the fit (for the report); None with a note when it gives no valid answer."""
    from lamarck.errors import LLMUnavailableError
    from lamarck.plan import configured_client, review_fit

    settings = project.settings
    calibration = {k: v for k, v in (card.get("calibration") or {}).items() if k != "curve"}
    facts = {
        "plan": prepared.spec.model_dump(mode="json", exclude={"reasons"}),
        "scorecard": {**{k: v for k, v in card.items() if k != "calibration"}, "calibration": calibration},
        "leaderboard_top": [
            {k: r.get(k) for k in ("learner", "score", "source")} for r in assembled.leaderboard[:5]
        ],
        "data_findings": [finding_dict(f) for f in prepared.quality.findings][:30],
        "columns_not_used": prepared.excluded,
        "llm_features": [{k: t.get(k) for k in ("name", "status", "delta")} for t in feature_trials],
    }
    try:
        review = review_fit(
            configured_client(settings, flag="--llm-review"),
            facts=facts,
            timeout_s=settings.llm_timeout_s,
            audit_dir=project.path / "llm",
        )
    except LLMUnavailableError as e:
        assembled.notes.append(f"no LLM review: {e}")
        return None
    if review is None:
        assembled.notes.append("no LLM review: the model's answers did not fit the review format twice")
        return None
    return review.model_dump()


def finding_dict(f: Any) -> dict[str, Any]:
    """A data-quality finding as a JSON-friendly dict."""
    return (
        f.to_dict()
        if hasattr(f, "to_dict")
        else {
            "rule": f.rule,
            "column": f.column,
            "severity": f.severity,
            "message": f.message,
            "figures": getattr(f, "figures", {}),
        }
    )
