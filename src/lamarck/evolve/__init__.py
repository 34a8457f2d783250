"""Evolve: the batch loop that keeps a served champion current (the online learner is :mod:`lamarck.stream`).

The batch loop (:class:`Evolver`, one pass per ``lamarck evolve``; see :mod:`lamarck.evolve._evolver`):
reconcile the champion ledger, watch a promotion and roll it back, shadow a challenger, or train one:
labels after the cursor (:class:`LabelWindow`) → triggers (:class:`Triggers`) → candidates
(:class:`Candidate`: warm start, earlier champions, fresh search) → gate (:class:`GateResult`: recent
test plus anti-forgetting) → registration → shadow or promotion. Each pass returns a :class:`Decision`
whose figures are built once from those typed parts.
"""

from lamarck.evolve._candidates import Candidate
from lamarck.evolve._decision import Decision
from lamarck.evolve._drift import (
    ColumnDrift,
    DecayDetector,
    DriftReport,
    feature_drift,
    prediction_drift,
    psi,
)
from lamarck.evolve._evolver import Evolver, ShadowFigures, WatchFigures
from lamarck.evolve._gate import Forgetting, GateResult
from lamarck.evolve._labels import LabelWindow, encode, label_text, served_errors
from lamarck.evolve._ledger import ChampionLedger, Move, Resumed
from lamarck.evolve._memory import MemoryPool, PoolRow, hardness
from lamarck.evolve._policy import EvolutionPolicy
from lamarck.evolve._reference import PRED_PREFIX, read_reference, write_reference
from lamarck.evolve._scoring import predict as model_outputs
from lamarck.evolve._scoring import predict_rows as row_outputs
from lamarck.evolve._triggers import PredictionDrift, Triggers

__all__ = [
    "PRED_PREFIX",
    "Candidate",
    "ChampionLedger",
    "ColumnDrift",
    "DecayDetector",
    "Decision",
    "DriftReport",
    "EvolutionPolicy",
    "Evolver",
    "Forgetting",
    "GateResult",
    "LabelWindow",
    "MemoryPool",
    "Move",
    "PoolRow",
    "PredictionDrift",
    "Resumed",
    "ShadowFigures",
    "Triggers",
    "WatchFigures",
    "encode",
    "feature_drift",
    "hardness",
    "label_text",
    "model_outputs",
    "prediction_drift",
    "psi",
    "read_reference",
    "row_outputs",
    "served_errors",
    "write_reference",
]
