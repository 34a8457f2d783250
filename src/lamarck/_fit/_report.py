"""Step ``report``: the HTML report of a fit (``reports/fit-<time>-v<version>.html``, without the version
when the fit registered none) from one typed bundle."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lamarck._fit._evaluate import finding_dict
from lamarck._fit._model import processor_notes
from lamarck._fit._types import ReportInputs

__all__ = ["report_data", "write_report"]

#: the plots show at most this many out-of-fold rows (they say as much and keep the file small)
MAX_PLOTTED_ROWS = 5000


def write_report(folder: Path, inputs: ReportInputs) -> Path:
    """Render the report of a fit into ``folder``; returns the file's path."""
    from lamarck.report import render_report

    folder.mkdir(parents=True, exist_ok=True)
    version = f"-v{inputs.version}" if inputs.version is not None else ""  # the console links a version to it
    path = folder / f"fit-{datetime.now(UTC):%Y%m%dT%H%M%S}{version}.html"
    return render_report(report_data(inputs), path)


def report_data(inputs: ReportInputs) -> Any:
    """The :class:`lamarck.report.ReportData` of a fit: the figures, plus a sample of out-of-fold rows."""
    from lamarck.report import ReportData

    prepared, result = inputs.prepared, inputs.search
    spec, classes, y = prepared.spec, prepared.classes, prepared.y
    rows = result.oof_rows
    if len(rows) > MAX_PLOTTED_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, MAX_PLOTTED_ROWS, replace=False))
    oof = result.oof[rows]
    truth = y[rows]
    if spec.task == "regression":
        y_true, y_pred, proba = truth, oof, None
    else:
        y_true = np.asarray(classes)[truth]
        y_pred = np.asarray(classes)[oof.argmax(axis=1)]
        proba = oof
    return ReportData(
        title=f"Lamarck — {spec.target} ({spec.task})",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        dataset=prepared.dataset_name,
        n_rows=len(prepared.frame),
        spec=spec.model_dump(mode="json"),
        leaderboard=inputs.assembled.leaderboard,
        findings=[finding_dict(f) for f in prepared.quality.findings],
        columns=[_column_dict(c) for c in prepared.profile.columns],
        feature_importance=inputs.evaluation.importance,
        scorecard=inputs.evaluation.scorecard,
        y_true=y_true,
        y_pred=y_pred,
        proba=proba,
        classes=None if classes is None else [str(c) for c in classes],
        task=spec.task,
        history=result.history,
        champion_version=inputs.version,
        notes=[
            *processor_notes(inputs.assembled.model.processor),
            *result.notes,
            f"validation: {result.validation.describe()}",
        ],
        llm_features=inputs.llm_features or [],
        review=inputs.evaluation.review,
    )


def _column_dict(c: Any) -> dict[str, Any]:
    return {
        "name": c.name,
        "kind": c.kind,
        "role": c.role,
        "missing_rate": c.missing_rate,
        "n_unique": c.n_unique,
        "reason": c.reason,
    }
