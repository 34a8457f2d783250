"""What a pass decided: a :class:`Decision` whose figures are built once from typed parts.

Every part (:class:`~lamarck.evolve.LabelWindow`, :class:`~lamarck.evolve.Triggers`,
:class:`~lamarck.evolve.GateResult`, ...) has a ``to_dict()``; :meth:`Decision.of` merges them into the
JSON-friendly ``figures`` that the store records and ``/v1/status`` and ``lamarck evolve --json`` show.
Nothing in the pass reads those figures back by key.

    >>> from lamarck.evolve._labels import LabelWindow
    >>> d = Decision.of("skip", "no trigger", LabelWindow(new_labels=3, cursor=9, from_cursor=6, unusable_labels=0))
    >>> d.to_dict()["figures"]
    {'new_labels': 3, 'cursor': 9, 'from_cursor': 6, 'unusable_labels': 0}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["Decision", "DecisionKind", "FigurePart"]

DecisionKind = Literal["skip", "signal", "challenger", "promote", "reject", "retire", "rollback", "resume"]


class FigurePart(Protocol):
    """A typed part of a decision's figures."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Decision:
    """What a pass decided, why, and the figures behind it (a JSON-friendly mapping, read-only by use)."""

    kind: DecisionKind
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)
    version: str | None = None

    @classmethod
    def of(
        cls,
        kind: DecisionKind,
        reason: str,
        *parts: FigurePart | dict[str, Any] | None,
        version: str | None = None,
    ) -> Decision:
        """A decision whose figures are its parts serialised once, in order (a later key wins)."""
        return cls(kind, reason, merge(*parts), version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "figures": {k: v for k, v in self.figures.items() if not k.startswith("_")},
            "version": self.version,
        }


def merge(*parts: FigurePart | dict[str, Any] | None) -> dict[str, Any]:
    """The figures of typed parts (and plain mappings of a few extra keys), merged in order."""
    out: dict[str, Any] = {}
    for part in parts:
        if part is not None:
            out.update(part if isinstance(part, dict) else part.to_dict())
    return out
