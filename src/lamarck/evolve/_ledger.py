"""The champion ledger: every alias move is a recorded decision first and an alias move second.

One rule, one place. ``Project.fit``, ``Project.promote`` / ``rollback``, the evolver and the stream
learner's registration all move aliases through :class:`ChampionLedger`:

1. the decision (``promote`` or ``rollback``, with ``from``, ``to`` and the caller's figures) is written
   to the store;
2. the alias moves in the registry;
3. a champion move ends the shadow of any challenger (it was measured against the old champion).

A process killed between 1 and 2 leaves a decision whose ``to`` is not where the alias points;
:meth:`ChampionLedger.reconcile` finishes that move (the evolver calls it first in every pass).

Moves of the ``champion`` alias are recorded with their own kind (``promote`` / ``rollback``); moves of
other aliases (``stream``) are recorded as kind ``alias`` with ``figures["alias"]`` and ``figures["move"]``,
so they never look like a champion decision to the evolver.

    >>> from lamarck.evolve._fakes import FakeRegistry, FakeStore
    >>> ledger = ChampionLedger(FakeRegistry({"1", "2"}), FakeStore())
    >>> ledger.move("promote", "1", reason="new fit")
    >>> ledger.move("promote", "2", reason="better")
    '1'
    >>> ledger.rollback_target(), ledger.rollback(reason="oops")
    ('1', '1')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from lamarck.errors import ModelNotFoundError

__all__ = ["ALIAS_KINDS", "ChampionLedger", "Move", "Resumed"]

#: decision kinds that move the champion alias
ALIAS_KINDS = ("promote", "rollback")
#: the decision kind of a move of any other alias (``stream``)
OTHER_ALIAS_KIND = "alias"
#: how far back the ledger looks for the move a rollback undoes
_LOOKBACK = 200

MoveKind = Literal["promote", "rollback"]


class _Registry(Protocol):
    def info(self, ref: str) -> Any: ...
    def alias_version(self, alias: str) -> str | None: ...
    def set_alias(self, alias: str, version: str) -> None: ...
    def delete_alias(self, alias: str) -> None: ...


class _Store(Protocol):
    def record_decision(self, kind: str, reason: str, figures: dict[str, Any] | None = None) -> None: ...
    def decisions(self, limit: int = 50, *, kinds: Any = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Move:
    """A recorded alias move, as read back from the store."""

    kind: MoveKind
    alias: str
    to: str
    previous: str | None
    figures: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_decision(cls, decision: dict[str, Any]) -> Move:
        figures = dict(decision["figures"] or {})
        kind = (
            figures.get("move", decision["kind"])
            if decision["kind"] == OTHER_ALIAS_KIND
            else decision["kind"]
        )
        previous = figures.get("from")
        return cls(
            kind=kind,
            alias=str(figures.get("alias", "champion")),
            to=str(figures.get("to") or ""),
            previous=None if previous in (None, "") else str(previous),
            figures=figures,
        )


@dataclass(frozen=True)
class Resumed:
    """A move that a killed process had recorded but not made, finished by :meth:`~ChampionLedger.reconcile`."""

    alias: str
    kind: MoveKind
    previous: str | None
    to: str


class ChampionLedger:
    """Record-then-move for the aliases of one registry, with the decisions in one store."""

    def __init__(self, registry: Any, store: Any) -> None:
        self.registry = registry
        self.store = store

    # ------------------------------------------------------------------ write

    def move(
        self,
        kind: MoveKind,
        to: str,
        *,
        reason: str,
        figures: dict[str, Any] | None = None,
        alias: str = "champion",
    ) -> str | None:
        """Record the decision, then point ``alias`` at version ``to``; returns the version it replaced.

        Raises :class:`~lamarck.errors.ModelNotFoundError` for an unknown version (nothing is recorded).
        """
        to = str(self.registry.info(str(to)).version)
        previous = self.registry.alias_version(alias)
        recorded = {**(figures or {}), "from": previous, "to": to}
        if alias == "champion":
            self.store.record_decision(kind, reason, recorded)
        else:
            self.store.record_decision(OTHER_ALIAS_KIND, reason, {**recorded, "alias": alias, "move": kind})
        self._point(alias, to)
        return previous

    def rollback(self, *, reason: str, figures: dict[str, Any] | None = None, alias: str = "champion") -> str:
        """Move ``alias`` back to the version its last promotion replaced; returns that version."""
        target = self.rollback_target(alias)
        if target is None:
            current = self.registry.alias_version(alias)
            raise ModelNotFoundError(
                f"{alias} version {current} has no earlier version to roll back to. Fix: promote a version "
                "with `POST /v1/models/{version}/promote` or fit again."
            )
        self.move("rollback", target, reason=reason, figures=figures, alias=alias)
        return target

    def reconcile(self, alias: str = "champion") -> Resumed | None:
        """Finish a move that was recorded but not made (the process died in between); records ``resume``."""
        last = self.last_move(alias)
        if last is None or not last.to:
            return None
        have = self.registry.alias_version(alias)
        if have == last.to:
            return None
        self._point(alias, last.to)
        figures: dict[str, Any] = {"from": have, "to": last.to, "version": last.to}
        if alias != "champion":
            figures["alias"] = alias
        self.store.record_decision(
            "resume", f"finished an interrupted {last.kind}: {alias} {have} -> {last.to}", figures
        )
        return Resumed(alias=alias, kind=last.kind, previous=have, to=last.to)

    # ------------------------------------------------------------------ read

    def moves(self, alias: str = "champion", *, limit: int = _LOOKBACK) -> list[Move]:
        """The recorded moves of ``alias``, newest first."""
        if alias == "champion":
            return [Move.from_decision(d) for d in self.store.decisions(limit=limit, kinds=ALIAS_KINDS)]
        found = self.store.decisions(limit=limit, kinds=(OTHER_ALIAS_KIND,))
        return [m for m in map(Move.from_decision, found) if m.alias == alias]

    def last_move(self, alias: str = "champion") -> Move | None:
        """The newest recorded move of ``alias``."""
        return next(iter(self.moves(alias, limit=1 if alias == "champion" else _LOOKBACK)), None)

    def rollback_target(self, alias: str = "champion") -> str | None:
        """The version a rollback of ``alias`` goes to: what the promotion to the current one replaced,
        else the current version's lineage parent."""
        current = self.registry.alias_version(alias)
        for m in self.moves(alias):
            if m.kind == "promote" and m.to == current and m.previous:
                return m.previous
        if current is None:
            return None
        parent = (self.registry.info(current).lineage or {}).get("parent")
        return str(parent) if parent else None

    # ------------------------------------------------------------------ internals

    def _point(self, alias: str, to: str) -> None:
        self.registry.set_alias(alias, to)
        if alias == "champion" and self.registry.alias_version("challenger") is not None:
            self.registry.delete_alias("challenger")  # its shadow compared it with the old champion
