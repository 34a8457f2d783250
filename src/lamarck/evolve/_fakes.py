"""In-memory stand-ins for the registry, the store and a model, for unit tests and doctests of the loop's
parts.

They keep the same contract as :class:`lamarck.registry.Registry` and :class:`lamarck.store.EventStore`
for the calls the ledger, the gate, the triggers and the candidates make; nothing is written to disk.

    >>> import pandas as pd
    >>> model = FakeModel(lambda X: X["x"] > 0)
    >>> model.predict(pd.DataFrame({"x": [-1.0, 2.0]})).tolist()
    ['no', 'yes']
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from lamarck.errors import ModelNotFoundError

__all__ = ["FakeModel", "FakeRegistry", "FakeStore"]


class FakeModel:
    """A binary classifier with a fixed rule (``rule(X)`` True means ``yes``), shaped like a fitted model."""

    task = "binary"
    metric = "accuracy"
    target = "label"

    def __init__(self, rule: Callable[[pd.DataFrame], Any], *, input_columns: Sequence[str] = ("x",)) -> None:
        self.rule = rule
        self.input_columns = list(input_columns)
        self.classes_ = np.array(["no", "yes"], dtype=object)
        self.version: str | None = None

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        yes = np.asarray(self.rule(X), dtype=bool)
        p = np.where(yes, 0.9, 0.1)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def describe(self) -> str:
        return "fake rule"


class FakeRegistry:
    """Aliases, versions, models and their lineage in memory (doctests and unit tests)."""

    def __init__(
        self,
        versions: set[str],
        lineage: dict[str, dict[str, Any]] | None = None,
        *,
        models: dict[str, Any] | None = None,
    ) -> None:
        self.known, self.lineage = set(versions), lineage or {}
        self.models: dict[str, Any] = dict(models or {})
        self.tags: dict[str, dict[str, str]] = {}
        self.registered: list[dict[str, Any]] = []  # the keyword arguments of each register() call
        self.alias: dict[str, str] = {}

    def info(self, ref: str) -> Any:
        version = self.alias.get(ref, ref)
        if version not in self.known:
            raise ModelNotFoundError(f"no model version {ref!r}. Fix: list versions with `lamarck history`.")
        return SimpleNamespace(
            version=version,
            lineage=self.lineage.get(version, {}),
            tags=self.tags.get(version, {}),
            spec={},
            artifact_dir=None,
        )

    def versions(self) -> list[Any]:
        """Every version, newest first."""
        return [self.info(v) for v in sorted(self.known, key=int, reverse=True)]

    def load(self, ref: str = "champion") -> Any:
        version = self.info(ref).version
        if version not in self.models:
            raise ModelNotFoundError(f"the files of model version {version} are missing.")
        return self.models[version]

    def register(self, model: Any, **kwargs: Any) -> Any:
        version = str(max((int(v) for v in self.known), default=0) + 1)
        self.known.add(version)
        self.models[version] = model
        self.lineage[version] = dict(kwargs.get("lineage") or {})
        self.tags[version] = dict(kwargs.get("tags") or {})
        self.registered.append(kwargs)
        return self.info(version)

    def alias_version(self, alias: str) -> str | None:
        return self.alias.get(alias)

    def set_alias(self, alias: str, version: str) -> None:
        self.alias[alias] = str(version)

    def delete_alias(self, alias: str) -> None:
        self.alias.pop(alias, None)

    def pinned_aliases(self) -> contextlib.AbstractContextManager[None]:
        """The aliases live in memory: reading them costs nothing, so there is nothing to pin."""
        return contextlib.nullcontext()


class FakeStore:
    """Decisions and feedback in memory, newest decision first on read (doctests and unit tests).

    ``clock`` stamps each decision (``ts``, seconds since the epoch), for the cooldowns.
    """

    def __init__(self, *, clock: Callable[[], float] = lambda: 0.0) -> None:
        self.rows: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []
        self.quarantined: list[tuple[dict[str, Any], str]] = []
        self.shadow: dict[str, pd.DataFrame] = {}
        self.clock = clock

    def record_decision(self, kind: str, reason: str, figures: dict[str, Any] | None = None) -> None:
        self.rows.append(
            {
                "id": len(self.rows) + 1,
                "ts": pd.Timestamp(self.clock(), unit="s", tz="UTC"),
                "kind": kind,
                "reason": reason,
                "figures": dict(figures or {}),
            }
        )

    def decisions(self, limit: int = 50, *, kinds: Any = None) -> list[dict[str, Any]]:
        rows = [r for r in reversed(self.rows) if not kinds or r["kind"] in kinds]
        return rows[:limit]

    def add_feedback(self, items: Sequence[Mapping[str, Any]]) -> int:
        """Labelled rows: each item holds the inputs' columns, ``label`` and optionally ``weight``/``source``."""
        for item in items:
            self.feedback.append({"feedback_id": len(self.feedback) + 1, "source": "explicit", **item})
        return len(items)

    def labelled(
        self,
        *,
        after_id: int | None = None,
        upto_id: int | None = None,
        last: int | None = None,
        first: int | None = None,
    ) -> pd.DataFrame:
        rows = [
            r
            for r in self.feedback
            if (after_id is None or r["feedback_id"] > after_id)
            and (upto_id is None or r["feedback_id"] <= upto_id)
        ]
        if last is not None:
            rows = rows[max(len(rows) - last, 0) :]
        elif first is not None:
            rows = rows[:first]
        return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()

    def count_feedback(self, *, after_id: int = 0, exclude_source: str | None = None) -> int:
        return sum(
            1 for r in self.feedback if r["feedback_id"] > after_id and r.get("source") != exclude_source
        )

    def max_feedback_id(self) -> int:
        return len(self.feedback)

    def quarantine(self, rows: Sequence[Mapping[str, Any]], reasons: Sequence[str], *, source: str) -> int:
        self.quarantined.extend((dict(r), why) for r, why in zip(rows, reasons, strict=True))
        return len(rows)

    def quarantined_feedback_ids(self, *, source: str) -> set[int]:
        return {int(r["feedback_id"]) for r, _ in self.quarantined if r.get("feedback_id") is not None}

    def shadow_labelled(self, model_version: str) -> pd.DataFrame:
        return self.shadow.get(model_version, pd.DataFrame(columns=["label"]))

    def recent_predictions(self, model_version: str, *, limit: int = 2000) -> pd.DataFrame:
        return pd.DataFrame(columns=["prediction", "proba"])

    def take_lease(self, name: str, owner: str, *, seconds: float) -> bool:
        return True  # one process: nothing to share

    def end_lease(self, name: str, owner: str, *, keep_s: float = 0.0) -> None:
        return None

    def lease_holder(self, name: str) -> tuple[str, Any] | None:
        return None
