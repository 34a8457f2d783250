"""Store: the append-only event log (predictions, shadow predictions, feedback, quarantine, decisions)
and the hashed API keys of the server."""

from lamarck.store._store import ROLES, EventStore, create_store_engine, hash_key

__all__ = ["ROLES", "EventStore", "create_store_engine", "hash_key"]
