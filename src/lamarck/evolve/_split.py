"""What a challenger trains on and what the gate judges it on, from the new labels and the old concepts.

- the newest ``n_test`` new labels are held out: the gate's recent test;
- the old concepts (the champion's training reference, then the feedback already learned from) are the
  memory; a share of those whose honest champion prediction is known (out-of-fold, or held out when the
  champion was trained) is held out for the anti-forgetting check: neither model trains on it;
- old rows in regions today's traffic covers (density ratio ≥ ``supersede_ratio``) are superseded: the
  recent labels judge them and the replay yields to them (``superseded_weight``);
- the rest, with the other new labels, goes through a :class:`~lamarck.evolve.MemoryPool` (reservoir +
  recent window + hard examples, weighted): the challenger's training rows;
- with ``retention`` ``distill`` (or ``both``), the old rows the pool keeps in regions the traffic has left
  teach the champion's answers there instead of (or beside) their labels: learning without forgetting,
  the soft labels given to any learner as one row per class weighted by the champion's probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from lamarck.evolve._drift import coverage
from lamarck.evolve._labels import Rows, labelled, usable
from lamarck.evolve._memory import MemoryPool
from lamarck.evolve._policy import EvolutionPolicy
from lamarck.evolve._reference import PRED_PREFIX
from lamarck.evolve._scoring import hard, predict

__all__ = ["Replay", "Split", "no_replay", "old_concepts", "split"]


@dataclass(frozen=True)
class Replay:
    """The replay hold-out: old rows, their labels, the champion's honest predictions, which are judged."""

    X: pd.DataFrame
    y: np.ndarray
    champion_pred: np.ndarray
    #: rows the anti-forgetting check judges (the others are superseded by the recent labels)
    judged: np.ndarray

    def __len__(self) -> int:
        return len(self.X)


def no_replay() -> Replay:
    """An empty replay hold-out: a verdict on the recent test alone (the scout's)."""
    empty = np.zeros(0)
    return Replay(pd.DataFrame(), empty, empty, np.zeros(0, dtype=bool))


@dataclass(frozen=True)
class Split:
    """The rows of one challenge: training rows, the recent test and the replay hold-out."""

    train: Rows
    X_test: pd.DataFrame
    y_test: np.ndarray
    replay: Replay
    #: old rows outside the replay hold-out (the memory the pool replays from)
    old_rows: int
    #: of those, rows superseded by today's traffic (replayed at ``superseded_weight``)
    old_rows_superseded: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "replay_superseded_rows": int((~self.replay.judged).sum()),
            "old_rows_superseded": self.old_rows_superseded,
            "test_labels": len(self.X_test),
            "train_rows": len(self.train.X),
            "replay_test_rows": len(self.replay),
            "old_rows": self.old_rows,
        }


def split(
    policy: EvolutionPolicy,
    champion: Any,
    new: Rows,
    old_rows: pd.DataFrame,
    reference: pd.DataFrame | None,
    *,
    n_test: int,
) -> Split:
    """Split the new labels and the old concepts into training rows, recent test and replay hold-out."""
    p = policy
    X_new, y_new, w_new = new
    X_test, y_test = X_new.iloc[-n_test:].reset_index(drop=True), y_new[-n_test:]
    X_fresh, y_fresh, w_fresh = (
        X_new.iloc[:-n_test].reset_index(drop=True),
        y_new[:-n_test],
        w_new[:-n_test],
    )
    X_old, y_old, w_old, P_old = old_concepts(champion, old_rows, reference)
    rng = np.random.default_rng(p.seed)
    # a share of all old rows, taken from the honest ones, so it does not shrink from one generation to
    # the next: an evolved version carries its own hold-out forward
    honest = np.flatnonzero(~np.isnan(P_old).any(axis=1))
    k = min(len(honest), p.max_replay_test, int(np.ceil(p.replay_fraction * len(X_old))))
    replay_test = np.zeros(len(X_old), dtype=bool)
    replay_test[rng.choice(honest, size=k, replace=False) if k else []] = True
    X_replay, y_replay = X_old[replay_test].reset_index(drop=True), y_old[replay_test]
    champ_replay = P_old[replay_test] if champion.classes_ is not None else P_old[replay_test, 0]
    superseded = np.zeros(len(X_old), dtype=bool)
    if len(X_old) and math.isfinite(p.supersede_ratio):
        superseded = coverage(X_old, X_new, seed=p.seed) >= p.supersede_ratio
    train = _pool(
        p,
        champion,
        Rows(
            X_old[~replay_test].reset_index(drop=True),
            y_old[~replay_test],
            w_old[~replay_test] * np.where(superseded[~replay_test], p.superseded_weight, 1.0),
        ),
        Rows(X_fresh, y_fresh, w_fresh),
        left=~superseded[~replay_test],
    )
    return Split(
        train=train,
        X_test=X_test,
        y_test=y_test,
        replay=Replay(X_replay, y_replay, champ_replay, ~superseded[replay_test]),
        old_rows=int((~replay_test).sum()),
        old_rows_superseded=int(superseded[~replay_test].sum()),
    )


def old_concepts(
    champion: Any, old_rows: pd.DataFrame, reference: pd.DataFrame | None
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The memory of earlier concepts: the training reference, then the feedback already learned from.

    Returns inputs, labels, weights and the champion's honest predictions (NaN where unknown).
    """
    width = 1 if champion.classes_ is None else len(champion.classes_)
    parts: list[tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]] = []
    if reference is not None and champion.target in reference.columns:
        ref = reference.rename(columns={champion.target: "label"})
        pred_cols = [f"{PRED_PREFIX}{j}" for j in range(width)]
        if not all(c in ref.columns for c in pred_cols):
            ref = ref.assign(**{c: np.nan for c in pred_cols})
        y, known, has_inputs = usable(champion, ref)
        ok = known & has_inputs
        X = ref.reindex(columns=champion.input_columns)[ok].reset_index(drop=True)
        parts.append((X, y[ok], np.ones(len(X)), ref[pred_cols].to_numpy(dtype=float)[ok]))
    X, y, w = labelled(champion, old_rows)
    parts.append((X, y, w, np.full((len(X), width), np.nan)))
    parts = [part for part in parts if len(part[0])]
    if not parts:
        return (
            pd.DataFrame(columns=champion.input_columns),
            np.zeros(0),
            np.zeros(0),
            np.zeros((0, width)),
        )
    return (
        pd.concat([part[0] for part in parts], ignore_index=True),
        np.concatenate([part[1] for part in parts]),
        np.concatenate([part[2] for part in parts]),
        np.concatenate([part[3] for part in parts]),
    )


def _pool(
    policy: EvolutionPolicy, champion: Any, old: Rows, fresh: Rows, *, left: np.ndarray | None = None
) -> Rows:
    """Replay old concepts beside the new ones: reservoir + recent window + hard examples, weighted.

    ``left`` marks the old rows in regions the traffic has left: with ``retention`` other than ``replay``
    they are distilled (:func:`distill`)."""
    p = policy
    pool = MemoryPool(
        reservoir_size=p.pool_reservoir,
        recent_size=p.pool_recent,
        hard_size=p.pool_hard,
        half_life=p.half_life,
        seed=p.seed,
    )
    X = pd.concat([old.X, fresh.X], ignore_index=True) if len(old.X) else fresh.X
    y = np.concatenate([old.y, fresh.y])
    w = np.concatenate([old.w, fresh.w])
    answers = predict(champion, X) if len(X) else np.zeros(0)
    loss = (
        hard(champion, answers, y.astype(int) if champion.classes_ is not None else y)
        if len(X)
        else np.zeros(0)
    )
    for i, row in enumerate(X.to_dict("records")):
        features = cast("dict[str, Any]", row)  # the feature frame's column names are text
        pool.add({**features, "__i": i}, label=y[i], weight=w[i], loss=float(loss[i]))
    frame = pool.training_frame()
    idx = frame["__i"].to_numpy(dtype=int)
    rows = Rows(X.iloc[idx].reset_index(drop=True), y[idx], frame["weight"].to_numpy(dtype=float))
    if p.retention == "replay" or left is None or not len(idx):
        return rows
    mask = np.concatenate([left, np.zeros(len(fresh.X), dtype=bool)])[idx]
    return distill(rows, answers[idx], mask, classes=None if champion.classes_ is None else len(champion.classes_),
                   keep_labels=p.retention == "both")  # fmt: skip


def distill(
    rows: Rows, answers: np.ndarray, mask: np.ndarray, *, classes: int | None, keep_labels: bool
) -> Rows:
    """Rows where ``mask`` holds learn the teacher's ``answers`` (probabilities, or values) instead of their
    labels (with ``keep_labels``: half their weight on the label, half on the answers).

    Classes become one copy of the row per class the teacher gives at least 1 %, weighted by its
    probability (soft labels for any learner that takes sample weights); values replace the label.

        >>> X = pd.DataFrame({"a": [1.0, 2.0]})
        >>> out = distill(Rows(X, np.array([1, 0]), np.ones(2)), np.array([[0.3, 0.7], [0.9, 0.1]]),
        ...               np.array([True, False]), classes=2, keep_labels=False)
        >>> out.X["a"].tolist(), out.y.tolist(), out.w.round(2).tolist()
        ([2.0, 1.0, 1.0], [0, 0, 1], [1.0, 0.3, 0.7])
    """
    X, y, w = rows
    share = 0.5 if keep_labels else 0.0
    if classes is None:
        y = np.where(mask, share * y + (1 - share) * answers, y)
        return Rows(X, y, w)
    keep = ~mask | keep_labels
    parts_X, parts_y, parts_w = [X[keep]], [y[keep]], [w[keep] * np.where(mask[keep], share, 1.0)]
    soft = np.flatnonzero(mask)
    for c in range(classes):
        p = answers[soft, c]
        p = np.where(p >= 0.01, p, 0.0)
        p = p / np.maximum(np.where(answers[soft] >= 0.01, answers[soft], 0.0).sum(axis=1), 1e-12)
        on = p > 0
        parts_X.append(X.iloc[soft[on]])
        parts_y.append(np.full(int(on.sum()), c, dtype=y.dtype))
        parts_w.append(w[soft[on]] * (1 - share) * p[on])
    return Rows(
        pd.concat(parts_X, ignore_index=True), np.concatenate(parts_y), np.concatenate(parts_w).astype(float)
    )
