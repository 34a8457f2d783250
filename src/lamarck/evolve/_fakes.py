"""In-memory stand-ins for the registry and the store, for unit tests and doctests of the loop's parts.

They keep the same contract as :class:`lamarck.registry.Registry` and :class:`lamarck.store.EventStore`
for the calls the ledger, the gate and the triggers make; nothing is written to disk.
"""

from __future__ import annotations

from typing import Any

from lamarck.errors import ModelNotFoundError

__all__ = ["FakeRegistry", "FakeStore"]


class FakeRegistry:
    """Aliases and versions in memory (doctests and unit tests)."""

    def __init__(self, versions: set[str], lineage: dict[str, dict[str, Any]] | None = None) -> None:
        self.versions, self.lineage = versions, lineage or {}
        self.alias: dict[str, str] = {}

    def info(self, ref: str) -> Any:
        from types import SimpleNamespace

        version = self.alias.get(ref, ref)
        if version not in self.versions:
            raise ModelNotFoundError(f"no model version {ref!r}. Fix: list versions with `lamarck history`.")
        return SimpleNamespace(version=version, lineage=self.lineage.get(version, {}))

    def alias_version(self, alias: str) -> str | None:
        return self.alias.get(alias)

    def set_alias(self, alias: str, version: str) -> None:
        self.alias[alias] = str(version)

    def delete_alias(self, alias: str) -> None:
        self.alias.pop(alias, None)


class FakeStore:
    """Decisions in memory, newest first on read (doctests and unit tests)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record_decision(self, kind: str, reason: str, figures: dict[str, Any] | None = None) -> None:
        self.rows.append(
            {"id": len(self.rows) + 1, "kind": kind, "reason": reason, "figures": dict(figures or {})}
        )

    def decisions(self, limit: int = 50, *, kinds: Any = None) -> list[dict[str, Any]]:
        rows = [r for r in reversed(self.rows) if not kinds or r["kind"] in kinds]
        return rows[:limit]
