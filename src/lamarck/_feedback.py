"""Feedback: the one rule that decides which labels are usable, for the CLI and the API alike.

A label is usable when it is present and not empty (``None``, NaN or a blank string), a single value (not
a dict or list), one the champion can learn from when there is one (a class it knows, or a finite number
for regression), its weight is a finite number > 0, and it says what it labels (a ``prediction_id`` the
store logged, or the row's inputs). A prediction labelled twice in one request keeps its first usable
label; the later ones are quarantined. Unusable ones are quarantined with their reason; the usable ones
are written in one committed transaction.

    >>> split_feedback(rows=[{"a": 1, "y": "yes"}, {"a": 2, "y": None}], label_column="y")[1]
    [(1, "label 'y' is empty (None)")]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lamarck.errors import ConfigError, DataError

__all__ = ["FeedbackResult", "add_feedback", "split_feedback"]


@dataclass(frozen=True)
class FeedbackResult:
    """What ``Project.add_feedback`` did: labels stored, and ``(index, reason)`` of each one quarantined."""

    accepted: int
    quarantined: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "quarantined": [{"index": i, "reason": why} for i, why in self.quarantined],
        }


def add_feedback(
    store: Any,
    *,
    items: Sequence[Mapping[str, Any]] | None = None,
    rows: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    label_column: str | None = None,
    weight: float = 1.0,
    source: str = "api",
    task: str | None = None,
    classes: Sequence[Any] | None = None,
    offsets: Mapping[str, int] | None = None,
    offsets_of: str = "",
) -> FeedbackResult:
    """Quarantine the unusable labels (``source`` says who sent them), then store the rest in one transaction.

    With ``offsets`` (a consumer's position in the source ``offsets_of``: slot -> next offset), the quarantine,
    the labels and the offsets are one transaction, and a batch without one usable label still moves the
    offsets (its rows quarantined once) instead of raising.

    ``task`` and ``classes`` are the champion's (``None`` without one): a label must then be one of its
    classes, or a finite number for ``task="regression"``. Items whose ``prediction_id`` the store never
    logged are quarantined. Raises :class:`DataError` when not one label is usable (they are all
    quarantined first: nothing is lost).
    """
    records, found, bad = _split(
        items=items, rows=rows, label_column=label_column, weight=weight, task=task, classes=classes
    )
    known = store.predictions_by_id([it["prediction_id"] for _, it in found if "prediction_id" in it])
    good = []
    for i, item in found:
        if "prediction_id" in item and item["prediction_id"] not in known:
            bad.append(
                (i, f"prediction_id {item['prediction_id']!r} is unknown: no logged prediction has it")
            )
        else:
            good.append(item)
    bad.sort()
    if offsets is not None:
        kept = ([records[i] for i, _ in bad], [why for _, why in bad], source)
        accepted = store.add_feedback(good, offsets=offsets, offsets_of=offsets_of, quarantine=kept)
        return FeedbackResult(accepted=accepted, quarantined=bad)
    if bad:
        store.quarantine([records[i] for i, _ in bad], [why for _, why in bad], source=source)
    if not good:
        raise DataError(_nothing_usable(records, bad, label_column, source))
    return FeedbackResult(accepted=store.add_feedback(good), quarantined=bad)


def split_feedback(
    *,
    items: Sequence[Mapping[str, Any]] | None = None,
    rows: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    label_column: str | None = None,
    weight: float = 1.0,
    task: str | None = None,
    classes: Sequence[Any] | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """``(usable feedback items for the store, [(index, reason), ...] of the unusable)``; nothing written,
    and no store is read (prediction ids are not looked up)."""
    _, good, bad = _split(
        items=items, rows=rows, label_column=label_column, weight=weight, task=task, classes=classes
    )
    return [item for _, item in good], bad


def _split(
    *,
    items: Sequence[Mapping[str, Any]] | None,
    rows: pd.DataFrame | Sequence[Mapping[str, Any]] | None,
    label_column: str | None,
    weight: float,
    task: str | None = None,
    classes: Sequence[Any] | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
    if (items is None) == (rows is None):
        raise ConfigError(
            "add_feedback takes either items (prediction ids with labels) or rows (inputs with their label), "
            f"got {'both' if items is not None else 'neither'}. Fix: pass exactly one of them."
        )
    if not _good_weight(weight):
        raise ConfigError(
            f"weight (the --weight option) must be a finite number > 0, got {weight!r}; nothing was stored. "
            "Fix: pass a positive weight, e.g. --weight 1 (or weight=1.0), or leave it out for the default 1."
        )
    if rows is not None and not label_column:
        raise ConfigError(
            "rows need label_column, the column that holds each row's label, got none. "
            "Fix: e.g. add_feedback(rows=frame, label_column='churned')."
        )
    given: Sequence[Mapping[Any, Any]] = (
        items
        if items is not None
        else rows.to_dict("records")
        if isinstance(rows, pd.DataFrame)
        else rows or []
    )
    records: list[dict[str, Any]] = [dict(r) for r in given]
    if not records:
        raise DataError("no feedback was given (0 items and 0 rows). Fix: send at least one labelled row.")
    known = None if classes is None or task == "regression" else {str(c) for c in classes}
    good: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str]] = []
    first: dict[str, int] = {}  # prediction id -> index of its first usable label in this request
    for i, record in enumerate(records):
        item, why = _item(record, label_column if items is None else None, weight)
        if not why:
            why = _label_problem(item["label"], task, known)
        if not why and "prediction_id" in item:
            pid = item["prediction_id"]
            if pid in first:
                why = f"prediction_id {pid!r} is labelled twice in this request: the first label (#{first[pid]}) is kept"
            else:
                first[pid] = i
        if why:
            bad.append((i, why))
        else:
            good.append((i, item))
    return records, good, bad


def _label_problem(label: Any, task: str | None, known: set[str] | None) -> str:
    """Why ``label`` cannot be a label of the champion (``task``, its class names ``known``), or ``""``."""
    if not pd.api.types.is_scalar(label):
        return f"label {label!r} is not a single value (a {type(label).__name__})"
    if task == "regression":
        if isinstance(label, bool) or not _finite(label):
            return f"label {label!r} is not a finite number, and the champion predicts a number (regression)"
    elif known is not None and _label_text(label) not in known:
        return f"label {label!r} is not one of the champion's classes {sorted(known)}"
    return ""


def _label_text(v: Any) -> str:
    """Labels compare as text, integral floats (JSON round trips) as integers: the rule evolve reads them by."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _item(record: dict[str, Any], label_column: str | None, weight: float) -> tuple[dict[str, Any], str]:
    """The store's feedback item for one record, or the reason it cannot be used."""
    w = record.get("weight", weight) if label_column is None else weight
    if label_column is None:  # a label for a logged prediction
        if "label" not in record:
            return {}, "no 'label'"
        label = record["label"]
        what = "label"
        pid = record.get("prediction_id")
        if _empty(pid):
            return {}, f"no prediction_id ({pid!r})"
        item = {"prediction_id": str(pid), "label": label}
    else:  # a row with its label
        if label_column not in record:
            return {}, f"label column {label_column!r} is missing"
        label = record[label_column]
        what = f"label {label_column!r}"
        inputs = {k: v for k, v in record.items() if k != label_column}
        if not inputs:
            return {}, f"the row has no input besides its label {label_column!r}"
        item = {"inputs": inputs, "label": label}
    if _empty(label):
        return {}, f"{what} is empty ({label!r})"
    if not _good_weight(w):
        return {}, f"weight {w!r} is not a finite number > 0"
    return {**item, "weight": float(w)}, ""


def _empty(value: Any) -> bool:
    """None, NaN (also numpy's, pandas' NA and NaT) or a blank string."""
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.api.types.is_scalar(value) and pd.isna(value))
    except (TypeError, ValueError):
        return False


def _good_weight(w: Any) -> bool:
    return not isinstance(w, bool) and _finite(w) and float(w) > 0


def _nothing_usable(
    records: list[dict[str, Any]], bad: list[tuple[int, str]], label_column: str | None, source: str
) -> str:
    sample = [f"#{i}: {why}" for i, why in bad[:3]]
    if label_column is None:
        values = [r.get("label", "<absent>") for r in records[:5]]
        fix = "send {'prediction_id': ..., 'label': ..., 'weight': w > 0} for each prediction you label"
    else:
        values = [r.get(label_column, "<absent>") for r in records[:5]]
        columns = sorted({k for r in records[:50] for k in r})[:20]
        fix = f"put each row's label in column {label_column!r} (the rows have columns {columns})"
    return (
        f"none of the {len(records)} feedback record(s) is usable: a label must be present, not empty "
        "(None, NaN or blank), a single value the champion can learn from (one of its classes, a number for "
        "regression), for a prediction the store logged (once per request), and its weight a finite number > 0. "
        f"Reasons: {'; '.join(sample)}; labels seen: {values!r}. "
        f"All {len(records)} were quarantined (source {source!r}), nothing is lost. Fix: {fix}."
    )
