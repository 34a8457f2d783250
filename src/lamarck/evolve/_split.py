"""What a challenger trains on and what the gate judges it on, from the new labels and the old concepts.

- the newest ``n_test`` new labels are held out: the gate's recent test;
- the old concepts (the champion's training reference, then the feedback already learned from) are the
  memory; a share of those whose honest champion prediction is known (out-of-fold, or held out when the
  champion was trained) is held out for the anti-forgetting check: neither model trains on it;
- old rows in regions today's traffic covers (density ratio ≥ ``supersede_ratio``) are superseded: the
  recent labels judge them and the replay yields to them (``superseded_weight``);
- the rest, with the other new labels, goes through a :class:`~lamarck.evolve.MemoryPool` (reservoir +
  recent window + hard examples, weighted): the challenger's training rows.
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

__all__ = ["Replay", "Split", "old_concepts", "split"]


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


def _pool(policy: EvolutionPolicy, champion: Any, old: Rows, fresh: Rows) -> Rows:
    """Replay old concepts beside the new ones: reservoir + recent window + hard examples, weighted."""
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
    loss = (
        hard(champion, predict(champion, X), y.astype(int) if champion.classes_ is not None else y)
        if len(X)
        else np.zeros(0)
    )
    for i, row in enumerate(X.to_dict("records")):
        features = cast("dict[str, Any]", row)  # the feature frame's column names are text
        pool.add({**features, "__i": i}, label=y[i], weight=w[i], loss=float(loss[i]))
    frame = pool.training_frame()
    idx = frame["__i"].to_numpy(dtype=int)
    return Rows(X.iloc[idx].reset_index(drop=True), y[idx], frame["weight"].to_numpy(dtype=float))
