"""Labelled rows: which feedback the batch champion can use, and where the last decision stopped.

One rule, one place: a feedback row is usable by a model when its label is a class the model knows and
it carries at least one of the model's input columns; the served stream learner's feedback
(``source = "stream"``) is its own, never the batch champion's. The cursor is the last feedback id that a
training decision (``challenger``, ``reject``, ``promote``, ``retire``) saw.

    >>> import pandas as pd
    >>> encode(pd.Series(["yes", 1.0, "maybe"]), np.array(["1", "yes"]))
    (array([ 1,  0, -1]), array([ True,  True, False]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "LabelWindow",
    "Rows",
    "batch_labels",
    "count_batch_labels",
    "cursor",
    "encode",
    "label_text",
    "labelled",
    "served_answers",
    "served_errors",
    "usable",
]

#: decisions that read labels for training and carry the cursor forward
CURSOR_KINDS = ("challenger", "reject", "promote", "retire")


class Rows(NamedTuple):
    """Usable rows: the model's inputs, encoded labels and feedback weights."""

    X: pd.DataFrame
    y: np.ndarray
    w: np.ndarray


@dataclass(frozen=True)
class LabelWindow:
    """The labels a training pass reads: those after the cursor, up to the newest feedback id."""

    new_labels: int
    cursor: int
    from_cursor: int
    unusable_labels: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "new_labels": self.new_labels,
            "cursor": self.cursor,
            "from_cursor": self.from_cursor,
            "unusable_labels": self.unusable_labels,
        }


def label_text(v: Any) -> str:
    """Labels compare as text; integral floats (JSON round trips) as integers."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def encode(labels: pd.Series, classes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Encoded labels and a mask of the rows whose label the model knows."""
    if classes is None:
        values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=float)
        return values, ~np.isnan(values)
    index = {str(c): i for i, c in enumerate(classes)}
    codes = labels.map(lambda v: index.get(label_text(v), -1)).to_numpy(dtype=int)
    return codes, codes >= 0


def usable(model: Any, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encoded labels, which labels the model knows, and which rows carry any of its input columns."""
    y, known = encode(rows["label"], model.classes_)
    has_inputs = rows.reindex(columns=model.input_columns).notna().any(axis=1).to_numpy()
    return y, known, has_inputs


def labelled(model: Any, rows: pd.DataFrame, *, quarantine_to: Any = None) -> Rows:
    """Rows usable by ``model``: inputs, encoded labels and feedback weights.

    A row is unusable when its label is not a class the model knows or it carries none of the model's
    input columns (e.g. feedback for an unknown prediction id); with a store as ``quarantine_to`` those
    rows are quarantined there with their reason, each feedback row once: a row whose ``feedback_id`` a
    pass already quarantined (``source = "evolve"``) is not quarantined again by the next pass, which
    reads the same rows while the cursor stays put.
    """
    cols = model.input_columns
    if rows.empty:
        return Rows(pd.DataFrame(columns=cols), np.zeros(0), np.zeros(0))
    X_all = rows.reindex(columns=cols)
    y, known, has_inputs = usable(model, rows)
    ok = known & has_inputs
    if quarantine_to is not None and not ok.all():
        _quarantine_once(model, rows, ~ok, has_inputs, quarantine_to)
    weights = (
        pd.to_numeric(rows["weight"], errors="coerce").fillna(1.0).to_numpy(dtype=float)
        if "weight" in rows.columns
        else np.ones(len(rows))
    )
    return Rows(X_all[ok].reset_index(drop=True), y[ok], weights[ok])


def served_errors(model: Any, rows: pd.DataFrame) -> np.ndarray:
    """The error of the answer that was served for each row :func:`labelled` keeps (same order): 0 or 1
    for a class, the absolute error for a number; NaN where no answer was logged (a labelled row sent
    without a prediction id). With the online layer on, the served answer is not the bare champion's.

        >>> class M: classes_, input_columns = np.array(["no", "yes"]), ["a"]
        >>> rows = pd.DataFrame({"a": [1, 2, 3], "label": ["yes", "no", "yes"], "prediction": ["yes", "yes", None]})
        >>> served_errors(M(), rows)
        array([ 0.,  1., nan])
    """
    _, known, has_inputs = usable(model, rows)
    ok = known & has_inputs
    logged = rows["prediction"] if "prediction" in rows.columns else pd.Series([None] * len(rows))
    out = np.full(len(rows), np.nan)
    for i, (pred, label) in enumerate(zip(logged, rows["label"], strict=True)):
        if pred is None or (isinstance(pred, float) and np.isnan(pred)):
            continue
        if model.classes_ is None:
            try:
                out[i] = abs(float(pred) - float(label))
            except (TypeError, ValueError):
                continue
        else:
            out[i] = float(label_text(pred) != label_text(label))
    return out[ok]


def served_answers(model: Any, served: pd.Series, fallback: np.ndarray) -> np.ndarray:
    """The logged served answers in :func:`~lamarck.evolve._scoring.predict`'s shape (one-hot rows over
    ``model``'s classes, or values), ``fallback``'s row where none was logged or the class is unknown.

        >>> class M: classes_ = np.array(["no", "yes"])
        >>> served_answers(M(), pd.Series(["yes", None]), np.array([[0.7, 0.3], [0.6, 0.4]]))
        array([[0. , 1. ],
               [0.6, 0.4]])
    """
    out = np.array(fallback, dtype=float, copy=True)
    if model.classes_ is None:
        values = pd.to_numeric(served, errors="coerce").to_numpy(dtype=float)
        return np.where(np.isnan(values), out, values)
    codes, known = encode(served.where(served.notna(), None), model.classes_)
    rows = np.flatnonzero(known & served.notna().to_numpy())
    out[rows] = 0.0
    out[rows, codes[rows]] = 1.0
    return out


def _quarantine_once(
    model: Any, rows: pd.DataFrame, bad: np.ndarray, has_inputs: np.ndarray, store: Any
) -> None:
    """Quarantine the ``bad`` rows that no earlier pass quarantined (by ``feedback_id``)."""
    fresh = bad.copy()
    if "feedback_id" in rows.columns:
        seen = store.quarantined_feedback_ids(source="evolve")
        fresh &= ~rows["feedback_id"].isin(seen).to_numpy()
    if not fresh.any():
        return
    reasons = [
        "inputs carry none of the model's columns"
        if not has_inputs[i]
        else f"label {rows['label'].iloc[i]!r} is not a class the model knows ({list(model.classes_)})"
        for i in np.flatnonzero(fresh)
    ]
    records = rows[fresh].drop(columns=["ts"], errors="ignore").to_dict("records")
    store.quarantine(records, reasons, source="evolve")


def batch_labels(
    store: Any,
    *,
    after_id: int | None = None,
    upto_id: int | None = None,
    last: int | None = None,
    first: int | None = None,
) -> pd.DataFrame:
    """Labelled rows for the batch champion: the served stream learner's feedback is its own.

    ``after_id`` / ``upto_id``: after or up to a feedback id; ``last`` / ``first``: the newest or the
    oldest rows only."""
    rows = store.labelled(after_id=after_id, upto_id=upto_id, last=last, first=first)
    if rows.empty and "label" not in rows.columns:  # none: the columns a labelled frame has
        return pd.DataFrame(
            columns=["feedback_id", "label", "weight", "source", "model_version", "prediction", "ts"]
        )
    return rows[rows["source"] != "stream"] if "source" in rows.columns else rows


def count_batch_labels(store: Any, *, after_id: int = 0) -> int:
    """How many labels for the batch champion came after the cursor ``after_id`` (usable or not)."""
    return int(store.count_feedback(after_id=after_id, exclude_source="stream"))


def cursor(store: Any) -> int:
    """The last feedback id a training decision saw (0 before the first)."""
    last = next(iter(store.decisions(limit=1, kinds=CURSOR_KINDS)), None)
    return int(last["figures"].get("cursor") or 0) if last else 0
