"""What the console's pages show, computed from the project (the pages themselves are
:mod:`lamarck.serve._routes.console`): accuracy over time from feedback, the challenger's shadow on the same
periods, promotions and rollbacks, drift per column and of the predictions over time, the lineage of every
version, and the label queue.

Periods are equal spans of prediction time between the first and the last row shown; a period without a
labelled row has no point (never a zero).

    >>> import tempfile
    >>> from lamarck.project import Project
    >>> project = Project(tempfile.mkdtemp())
    >>> ids = project.store.log_predictions([{"x": 1}, {"x": 2}], predictions=["a", "b"], model_version="1")
    >>> project.store.add_feedback([{"prediction_id": i, "label": "a"} for i in ids])
    2
    >>> t = timeline(project, task="classification")
    >>> t.metric, t.served, t.labels
    ('accuracy', [0.5], [2])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from lamarck.evolve import (
    PRED_PREFIX,
    feature_drift,
    label_text,
    model_outputs,
    prediction_drift,
    read_reference,
)

__all__ = [
    "DriftTimeline",
    "Timeline",
    "drift_timeline",
    "label_queue",
    "lineage",
    "report_of",
    "served_recent",
    "timeline",
]

#: the decisions drawn on the time axis
EVENT_KINDS = ("promote", "rollback", "operator")


@dataclass
class Timeline:
    """Served accuracy (or mean absolute error) per period, each shadowed version's on the rows it
    answered in that period, and the alias moves on the same axis."""

    metric: str
    periods: list[datetime] = field(default_factory=list)
    served: list[float | None] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    shadow: dict[str, list[float | None]] = field(default_factory=dict)
    events: list[tuple[datetime, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "periods": [p.isoformat() for p in self.periods],
            "served": self.served,
            "labels": self.labels,
            "shadow": self.shadow,
            "events": [{"ts": t.isoformat(), "kind": k, "label": s} for t, k, s in self.events],
        }


@dataclass
class DriftTimeline:
    """PSI per input column and of the predicted probabilities (or values) per period, each period's
    logged rows against the champion's training reference."""

    periods: list[datetime] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    columns: dict[str, list[float | None]] = field(default_factory=dict)
    #: the two-sample Kolmogorov-Smirnov statistic of the same columns per period (None: not numeric)
    ks: dict[str, list[float | None]] = field(default_factory=dict)
    prediction: list[float | None] = field(default_factory=list)
    reason: str | None = None  # why there is nothing to show

    def to_dict(self) -> dict[str, Any]:
        return {
            "periods": [p.isoformat() for p in self.periods],
            "rows": self.rows,
            "columns": self.columns,
            "ks": self.ks,
            "prediction": self.prediction,
            "reason": self.reason,
        }


def _utc(values: pd.Series) -> pd.Series:
    """Timestamps as UTC-aware (SQLite gives them back naive; they were written in UTC)."""
    return pd.to_datetime(values, utc=True)


def _bins(
    ts: pd.Series, periods: int, lo: pd.Timestamp, hi: pd.Timestamp
) -> tuple[np.ndarray, list[datetime]]:
    """Each row's period (0..periods-1) on ``periods`` equal spans of [lo, hi], and each span's middle."""
    span = max((hi - lo).total_seconds(), 1e-6)
    offset = (ts - lo).dt.total_seconds().to_numpy()
    index = np.clip((offset / span * periods).astype(int), 0, periods - 1)
    middles = [
        (lo + pd.Timedelta(seconds=span * (k + 0.5) / periods)).floor("ms").to_pydatetime()
        for k in range(periods)
    ]
    return index, middles


def _errors(predictions: pd.Series, labels: pd.Series, regression: bool) -> np.ndarray:
    """0/1 per row for classes (1: wrong), the absolute error for numbers; NaN where either is missing."""
    out = np.full(len(labels), np.nan)
    for i, (p, y) in enumerate(zip(predictions, labels, strict=True)):
        if p is None or y is None:
            continue
        if regression:
            try:
                out[i] = abs(float(p) - float(y))
            except (TypeError, ValueError):
                continue
        else:
            out[i] = float(label_text(p) != label_text(y))
    return out


def _score(errors: np.ndarray, regression: bool) -> float | None:
    kept = errors[~np.isnan(errors)]
    if not len(kept):
        return None
    return round(float(kept.mean()) if regression else 1.0 - float(kept.mean()), 4)


def timeline(project: Any, *, task: str, periods: int = 24, last: int = 20_000) -> Timeline:
    """Served accuracy (``task`` classification) or MAE per period over the newest ``last`` labelled
    predictions; the shadow's on the same periods; promotions, rollbacks and operator requests as events."""
    regression = task == "regression"
    out = Timeline(metric="mean absolute error" if regression else "accuracy")
    rows = project.store.outcomes(last=last)
    if rows.empty:
        return out
    ts = _utc(rows["ts"])
    lo, hi = ts.min(), ts.max()
    n = max(1, min(periods, len(rows)))
    index, middles = _bins(ts, n, lo, hi)
    errors = _errors(rows["prediction"], rows["label"], regression)
    kept = [k for k in range(n) if (index == k).any()]
    out.periods = [middles[k] for k in kept]
    out.served = [_score(errors[index == k], regression) for k in kept]
    out.labels = [int((index == k).sum()) for k in kept]
    shadow = project.store.shadow_outcomes(last=last)
    if not shadow.empty:
        sts = _utc(shadow["ts"])
        inside = ((sts >= lo) & (sts <= hi)).to_numpy()
        shadow = shadow[inside]
        s_index, _ = _bins(sts[inside], n, lo, hi)
        s_errors = _errors(shadow["prediction"], shadow["label"], regression)
        for version in sorted(set(shadow["model_version"]), key=_version_key):
            mine = (shadow["model_version"] == version).to_numpy()
            out.shadow[f"v{version} in the shadow"] = [
                _score(s_errors[mine & (s_index == k)], regression) if (mine & (s_index == k)).any() else None
                for k in kept
            ]
    for d in project.store.decisions(limit=500, kinds=EVENT_KINDS):
        at = pd.Timestamp(d["ts"])
        at = at.tz_localize(UTC) if at.tzinfo is None else at
        if lo <= at <= hi:
            version = (d.get("figures") or {}).get("to") or (d.get("figures") or {}).get("version")
            label = d["kind"] + (f" v{version}" if version else "")
            out.events.append((at.to_pydatetime(), d["kind"], label))
    out.events.reverse()  # oldest first
    return out


def _version_key(v: Any) -> tuple[int, str]:
    text = str(v)
    return (int(text), text) if text.isdigit() else (1 << 30, text)


def drift_timeline(
    project: Any, champion: Any, *, periods: int = 12, last: int = 6000, top: int = 6
) -> DriftTimeline:
    """PSI per period of the newest ``last`` logged rows against ``champion``'s training reference: the
    ``top`` columns that drifted most, and the predictions (the champion's outputs are drift too)."""
    out = DriftTimeline()
    info = project.registry.info("champion")
    reference = read_reference(info)
    if reference is None:
        out.reason = f"version {info.version} keeps no training reference to compare with"
        return out
    log = project.store.prediction_log(last=last)
    if len(log) < 20:
        out.reason = f"{len(log)} logged prediction(s): too few to show drift over time"
        return out
    ts = _utc(log["ts"])
    n = max(1, min(periods, len(log) // 20))
    index, middles = _bins(ts, n, ts.min(), ts.max())
    inputs = pd.DataFrame.from_records(list(log["inputs"]))
    features = [c for c in reference.columns if c in inputs.columns and not str(c).startswith(PRED_PREFIX)]
    before = model_outputs(champion, reference.reindex(columns=champion.input_columns).head(5000))
    psi: dict[str, list[float | None]] = {c: [] for c in features}
    ks: dict[str, list[float | None]] = {c: [] for c in features}
    for k in range(n):
        mine = index == k
        if mine.sum() < 10:  # too few rows for a PSI worth drawing
            continue
        out.periods.append(middles[k])
        out.rows.append(int(mine.sum()))
        part = inputs[mine]
        for c in feature_drift(reference[features], part[features], columns=features).columns:
            psi[c.column].append(round(c.psi, 4))
            ks[c.column].append(None if c.ks_statistic is None else round(c.ks_statistic, 4))
        out.prediction.append(_prediction_psi(champion, before, log["proba"][mine], log["prediction"][mine]))
    biggest = sorted(psi, key=lambda c: -max((v or 0.0 for v in psi[c]), default=0.0))[:top]
    out.columns = {c: psi[c] for c in biggest}
    out.ks = {c: ks[c] for c in biggest}
    return out


def _prediction_psi(champion: Any, before: np.ndarray, proba: pd.Series, values: pd.Series) -> float | None:
    """The largest PSI of one period's served outputs (each class's probability, or the values) against
    the champion's own outputs on its reference inputs (the rule of the evolver's prediction drift: the
    same function on both sides); None when the period logged none."""
    current: np.ndarray
    if champion.classes_ is None:
        current = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    else:
        width = len(champion.classes_)
        rows = [p for p in proba if isinstance(p, list) and len(p) == width]
        current = np.asarray(rows, dtype=float).reshape(len(rows), width)
    if len(current) < 2:
        return None
    classes = None if champion.classes_ is None else list(champion.classes_)
    report = prediction_drift(before, current, classes)
    return round(max((c.psi for c in report.columns), default=0.0), 4)


def served_recent(project: Any, *, task: str, last: int = 500) -> dict[str, Any] | None:
    """The served answers' accuracy (or MAE) on the newest ``last`` labelled predictions."""
    rows = project.store.outcomes(last=last)
    if rows.empty:
        return None
    regression = task == "regression"
    errors = _errors(rows["prediction"], rows["label"], regression)
    return {
        "metric": "mean absolute error" if regression else "accuracy",
        "value": _score(errors, regression),
        "labels": int((~np.isnan(errors)).sum()),
    }


def lineage(project: Any) -> list[dict[str, Any]]:
    """Every version, newest first: parent, why it was made, the data it saw, its scorecard, its aliases,
    when it served (promotions and rollbacks to it) and its fit report's file name when there is one."""
    versions = project.status()["versions"]
    served: dict[str, list[str]] = {}
    for d in project.store.decisions(limit=2000, kinds=("promote", "rollback")):
        to = str((d.get("figures") or {}).get("to") or "")
        if to:
            served.setdefault(to, []).append(f"{d['kind']} {str(d['ts'])[:19]}")
    out = []
    for v in versions:
        line = dict(v.get("lineage") or {})
        out.append(
            {
                "version": v["version"],
                "aliases": v["aliases"],
                "created_at": v["created_at"],
                "parent": line.get("parent"),
                "reason": line.get("reason") or "",
                "data": line.get("data"),
                "rows": line.get("rows"),
                "reuse_of": line.get("reuse_of"),
                "metrics": {
                    k: val for k, val in (v.get("metrics") or {}).items() if isinstance(val, int | float)
                },
                "moves": served.get(v["version"], []),
                "report": report_of(project, v["version"]),
            }
        )
    return out


def report_of(project: Any, version: str) -> str | None:
    """The file name of ``version``'s fit report in the project's ``reports/`` (None without one)."""
    folder = project.path / "reports"
    found = sorted(folder.glob(f"fit-*-v{version}.html")) if folder.is_dir() else []
    return found[-1].name if found else None


def label_queue(project: Any, *, n: int = 10, strategy: str = "entropy") -> list[dict[str, Any]]:
    """The logged, unlabelled predictions whose labels would help most (``Project.suggest_labels``), each
    with its inputs, the model's answer and confidence (the answer's probability); for a regression (no
    probabilities to rank by), the newest unlabelled predictions."""
    table = project.suggest_labels(n, strategy=strategy)
    if table.empty:
        newest = project.store.unlabelled_predictions(limit=n)
        return [
            {
                "prediction_id": r["id"],
                "prediction": r["prediction"],
                "model_version": r["model_version"],
                "uncertainty": None,
                "confidence": None,
                "inputs": _clean_inputs(r["inputs"] or {}),
            }
            for r in (newest.to_dict("records") if len(newest) else [])
        ]
    fixed = {"prediction_id", "score", "prediction", "model_version", "confidence"}
    out = []
    for record in table.to_dict("records"):
        confidence = record.get("confidence")
        out.append(
            {
                "prediction_id": record["prediction_id"],
                "prediction": record["prediction"],
                "model_version": record["model_version"],
                "uncertainty": round(float(record["score"]), 4),
                "confidence": None
                if confidence is None or pd.isna(confidence)
                else round(float(confidence), 4),
                "inputs": _clean_inputs({k: v for k, v in record.items() if k not in fixed}),
            }
        )
    return out


def _clean_inputs(inputs: dict[Any, Any]) -> dict[str, Any]:
    return {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in inputs.items()}
