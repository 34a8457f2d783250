"""Evolve: drift and decay detectors, the memory pool, and (to come) the evolution policy."""

from lamarck.evolve._drift import ColumnDrift, DecayDetector, DriftReport, feature_drift, psi
from lamarck.evolve._memory import MemoryPool, PoolRow, hardness

__all__ = [
    "ColumnDrift",
    "DecayDetector",
    "DriftReport",
    "MemoryPool",
    "PoolRow",
    "feature_drift",
    "hardness",
    "psi",
]
