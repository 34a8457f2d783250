"""The memory pool lives in :mod:`lamarck.stream` (its background LightGBM member trains on it too, and
``evolve`` depends on ``stream``, not the other way round); this name stays for the batch policy."""

from lamarck.stream import MemoryPool, PoolRow, hardness

__all__ = ["MemoryPool", "PoolRow", "hardness"]
