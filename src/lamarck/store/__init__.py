"""Store: the append-only event log (predictions, feedback, quarantine, decisions)."""

from lamarck.store._store import EventStore, create_store_engine

__all__ = ["EventStore", "create_store_engine"]
