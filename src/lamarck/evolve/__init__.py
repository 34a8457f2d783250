"""Evolve: the memory pool, drift and decay detectors, and the evolution policy (train a challenger with
replay, gate it, shadow it, promote it, roll it back)."""

from lamarck.evolve._drift import ColumnDrift, DecayDetector, DriftReport, feature_drift, psi
from lamarck.evolve._ledger import ChampionLedger, Move, Resumed
from lamarck.evolve._memory import MemoryPool, PoolRow, hardness
from lamarck.evolve._policy import (
    PRED_PREFIX,
    Decision,
    EvolutionPolicy,
    Evolver,
    read_reference,
    write_reference,
)

__all__ = [
    "PRED_PREFIX",
    "ChampionLedger",
    "ColumnDrift",
    "DecayDetector",
    "Decision",
    "DriftReport",
    "EvolutionPolicy",
    "Evolver",
    "MemoryPool",
    "Move",
    "PoolRow",
    "Resumed",
    "feature_drift",
    "hardness",
    "psi",
    "read_reference",
    "write_reference",
]
