"""Append-only events: predictions with their inputs and model version, feedback, quarantined rows and
evolution decisions. SQLAlchemy: SQLite in WAL mode inside the project by default, PostgreSQL by URL.

    >>> store = EventStore("sqlite://")
    >>> ids = store.log_predictions([{"x": 1}], predictions=["yes"], model_version="1")
    >>> store.add_feedback([{"prediction_id": ids[0], "label": "no"}])
    1
    >>> store.labelled()[["x", "label", "model_version"]].to_dict("records")
    [{'x': 1, 'label': 'no', 'model_version': '1'}]

Every write is one transaction, committed before the call returns: feedback is durable before it is
acknowledged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pandas as pd
import sqlalchemy as sa

from lamarck.errors import DataError
from lamarck.store._group import GroupCommit

__all__ = ["ROLES", "EventStore", "create_store_engine", "hash_key"]

_meta = sa.MetaData()

PREDICTIONS = sa.Table(
    "predictions",
    _meta,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("prediction", sa.JSON),
    sa.Column("proba", sa.JSON),
)
FEEDBACK = sa.Table(
    "feedback",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("prediction_id", sa.String(36), index=True),
    sa.Column("inputs", sa.JSON),
    sa.Column("label", sa.JSON, nullable=False),
    sa.Column("weight", sa.Float, nullable=False, default=1.0),
    sa.Column("source", sa.String(32), nullable=False, default="explicit"),
)
QUARANTINE = sa.Table(
    "quarantine",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("row", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
DECISIONS = sa.Table(
    "decisions",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),
)


SHADOW = sa.Table(
    "shadow",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("prediction_id", sa.String(36), nullable=False, index=True),
    sa.Column("model_version", sa.String(64), nullable=False, index=True),
    sa.Column("prediction", sa.JSON),
    sa.Column("proba", sa.JSON),
)
API_KEYS = sa.Table(
    "api_keys",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)
#: named leases across processes (one evolve pass at a time over a shared store): who holds each, until when
LEASES = sa.Table(
    "leases",
    _meta,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
)

#: where a consumer of an outside source (a Kafka topic's partitions) has read up to: written in the same
#: transaction as the feedback those messages carried, so a restart reads on from there (none lost, none twice)
SOURCE_OFFSETS = sa.Table(
    "source_offsets",
    _meta,
    sa.Column("source", sa.String(255), primary_key=True),
    sa.Column("slot", sa.String(255), primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
)

#: roles of API keys: ``predict`` may predict, ``feedback`` may send labels, ``admin`` may do anything
ROLES = ("predict", "feedback", "admin")


def hash_key(key: str) -> str:
    """SHA-256 of an API key (keys are 256-bit random tokens, so no salt or stretching is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_store_engine(url: str) -> sa.Engine:
    """The one place that turns a store URL into an engine (SQLite gets WAL and a busy timeout)."""
    try:
        engine = sa.create_engine(
            url, pool_pre_ping=True, future=True, json_serializer=_dumps, json_deserializer=_loads
        )
    except (sa.exc.ArgumentError, ImportError) as e:
        raise DataError(
            f"cannot use store URL {url.split('@')[-1]!r}: {e}. Fix: e.g. sqlite:///events.db "
            "or postgresql+psycopg://user@host/db."
        ) from None
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

    return engine


def prediction_id() -> str:
    """A new prediction id: a UUID version 7 (RFC 9562), 48 bits of Unix milliseconds then 74 random
    bits, so ids sort by time and each insert lands at the end of the table's primary-key index (random
    version-4 ids landed anywhere in it: a 100-row commit cost 1.6x the CPU in SQLite alone).

    >>> a = prediction_id(); b = prediction_id()
    >>> uuid.UUID(a).version, len(a), a[:8] <= b[:8]
    (7, 36, True)
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits, 74 of them used
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 68) << 64 | 0b10 << 62 | (rand & (2**62 - 1))
    return str(uuid.UUID(int=value))


def _dumps(value: Any) -> str:
    """JSON text of a stored value (orjson: every logged row's inputs, prediction and probabilities are
    written through here, and the stdlib encoder was a third of a logged batch's CPU); what orjson refuses
    (an integer beyond 64 bits) goes through the stdlib encoder."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


#: a run of 19 digits or more may be an integer beyond 64 bits, which orjson would read as a float
_LONG_DIGITS = re.compile(r"\d{19}")


def _loads(text: Any) -> Any:
    """A stored JSON value (orjson, or the stdlib decoder where a number may not fit 64 bits).

    >>> _loads('{"a": [1, 2.5, null]}'), _loads("[1180591620717411303425]")
    ({'a': [1, 2.5, None]}, [1180591620717411303425])
    """
    if isinstance(text, bytes | bytearray):
        text = text.decode()
    if not isinstance(text, str):  # SQLite hands back a bare number as a number: SQLAlchemy keeps it
        raise TypeError(f"not JSON text: {type(text).__name__}")
    if _LONG_DIGITS.search(text):
        return json.loads(text)
    return orjson.loads(text)


def _in_memory(url: str) -> bool:
    """Whether ``url`` is an in-memory SQLite database (one database per connection, so per thread)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return False  # opening it will say what is wrong
    return parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or "mode=memory" in url
    )


def _shown(url: str) -> str:
    """A store URL without its credentials."""
    scheme, sep, rest = url.partition("://")
    return scheme + sep + rest.split("@")[-1] if sep else url


def _json_safe(value: Any) -> Any:
    """``value`` as JSON can hold it: NaN → None, numpy scalars → Python, dates → ISO text, keys → text.

    >>> import numpy as np
    >>> _json_safe({"a": float("nan"), 1: [np.int64(2), 2.5, "x", None, True], "t": pd.Timestamp("2024-01-02")})
    {'a': None, '1': [2, 2.5, 'x', None, True], 't': '2024-01-02T00:00:00'}
    """
    kind = type(value)  # the plain types of a JSON request first: every logged row goes through here
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return None if value != value else value
    if kind is dict:
        return {k if type(k) is str else str(k): _json_safe(v) for k, v in value.items()}
    if kind is list:
        return [_json_safe(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    return value


class EventStore:
    """Append-only event log of a project."""

    def __init__(self, url: str, *, engine: sa.Engine | None = None) -> None:
        self.url = url
        self._engine = engine
        self._group: GroupCommit | None = None
        self._opening = threading.Lock()  # threads that first use the store at once open it once

    def group_commits(self, on: bool = True) -> bool:
        """Let appends from several threads (predictions, shadow answers, feedback, quarantine) share
        commits (:class:`~lamarck.store._group.GroupCommit`: each call still returns only once its rows
        are committed); ``on=False`` commits what waits and goes back to one commit per call. An
        in-memory SQLite store (one database per connection) keeps one commit per call. Returns whether
        appends are now grouped."""
        if not on:
            if self._group is not None:
                self._group.close()
            self._group = None
            return False
        if self._group is None and not _in_memory(self.url):
            self._group = GroupCommit(lambda: self.engine)
        return self._group is not None

    @property
    def grouped(self) -> GroupCommit | None:
        """The group commit in use, if any (its ``commits`` and ``batches`` counters)."""
        return self._group

    def _append(self, table: sa.Table, records: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``records``, committed before returning (shared with other threads when grouped)."""
        if not records:
            return
        if self._group is not None:
            self._group.append(table, records)
            return
        with self.engine.begin() as conn:
            conn.execute(table.insert(), list(records))

    @property
    def engine(self) -> sa.Engine:
        if self._engine is not None:
            return self._engine
        with self._opening:
            if self._engine is not None:
                return self._engine
            engine = create_store_engine(self.url)
            try:
                _meta.create_all(engine)
            except sa.exc.DatabaseError as e:  # a file that is not a database, a server that refuses
                engine.dispose()
                problem = " ".join(str(e.orig or e).split())[:200]
                raise DataError(
                    f"cannot open the event store {_shown(self.url)!r}: {problem}. Fix: move that file aside "
                    "(a new store is made; the registry's models stay), or set store_url to a working database."
                ) from None
            self._engine = engine
        return self._engine

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def log_predictions(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        predictions: Sequence[Any],
        model_version: str,
        probas: Sequence[Sequence[float]] | None = None,
    ) -> list[str]:
        """Store each row with its prediction; returns the prediction ids."""
        ids = [prediction_id() for _ in rows]
        now = self._now()
        records = [
            {
                "id": i,
                "ts": now,
                "model_version": str(model_version),
                "inputs": _json_safe(dict(r)),
                "prediction": _json_safe(p),
                "proba": None if probas is None else _json_safe(list(probas[k])),
            }
            for k, (i, r, p) in enumerate(zip(ids, rows, predictions, strict=True))
        ]
        self._append(PREDICTIONS, records)
        return ids

    def add_feedback(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        offsets: Mapping[str, int] | None = None,
        offsets_of: str = "",
        quarantine: tuple[Sequence[Mapping[str, Any]], Sequence[str], str] | None = None,
    ) -> int:
        """Store labels, by ``prediction_id`` or with their ``inputs``; committed before returning.

        With ``offsets`` (slot -> next offset of the source ``offsets_of``, e.g. a Kafka topic's
        partitions), the labels, the ``quarantine`` (rows, reasons, source) and the new offsets are written in
        one transaction: a consumer that restarts from :meth:`source_offsets` neither loses nor repeats one."""
        now = self._now()
        records = []
        for item in items:
            if "label" not in item:
                raise DataError(
                    f"feedback item {dict(item)!r} has no 'label'. Fix: send {{'prediction_id': ..., "
                    "'label': ...}} or a row with its label."
                )
            if not item.get("prediction_id") and not item.get("inputs"):
                raise DataError(
                    "feedback item needs a 'prediction_id' or the row's 'inputs'. Fix: add one of them."
                )
            records.append(
                {
                    "ts": now,
                    "prediction_id": item.get("prediction_id"),
                    "inputs": _json_safe(dict(item["inputs"])) if item.get("inputs") else None,
                    "label": _json_safe(item["label"]),
                    "weight": float(item.get("weight", 1.0)),
                    "source": str(item.get("source", "explicit")),
                }
            )
        if offsets is None:
            self._append(FEEDBACK, records)
            return len(records)
        with self.engine.begin() as conn:
            if records:
                conn.execute(FEEDBACK.insert(), records)
            if quarantine is not None and quarantine[0]:
                conn.execute(QUARANTINE.insert(), self._quarantine_records(*quarantine))
            for slot, offset in offsets.items():
                where = (SOURCE_OFFSETS.c.source == offsets_of) & (SOURCE_OFFSETS.c.slot == slot)
                conn.execute(SOURCE_OFFSETS.delete().where(where))
                conn.execute(
                    SOURCE_OFFSETS.insert(),
                    [{"source": offsets_of, "slot": slot, "next_offset": int(offset)}],
                )
        return len(records)

    def source_offsets(self, source: str) -> dict[str, int]:
        """Where the consumer of ``source`` has read up to: slot -> next offset (see :meth:`add_feedback`)."""
        q = sa.select(SOURCE_OFFSETS.c.slot, SOURCE_OFFSETS.c.next_offset).where(
            SOURCE_OFFSETS.c.source == source
        )
        with self.engine.connect() as conn:
            return {str(r.slot): int(r.next_offset) for r in conn.execute(q)}

    def quarantine(self, rows: Sequence[Mapping[str, Any]], reasons: Sequence[str], *, source: str) -> int:
        """Keep rows that could not be used, each with its reason."""
        records = self._quarantine_records(rows, reasons, source)
        self._append(QUARANTINE, records)
        return len(records)

    def _quarantine_records(
        self, rows: Sequence[Mapping[str, Any]], reasons: Sequence[str], source: str
    ) -> list[dict[str, Any]]:
        now = self._now()
        return [
            {"ts": now, "source": source, "row": _json_safe(dict(r)), "reason": why}
            for r, why in zip(rows, reasons, strict=True)
        ]

    def quarantined(self, limit: int = 100, *, source: str | None = None) -> list[dict[str, Any]]:
        """The newest quarantined rows first, each with ``id``, ``ts``, ``source``, ``row`` and ``reason``."""
        q = sa.select(QUARANTINE).order_by(QUARANTINE.c.id.desc()).limit(limit)
        if source is not None:
            q = q.where(QUARANTINE.c.source == source)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]

    def quarantined_feedback_ids(self, *, source: str) -> set[int]:
        """The ``feedback_id`` carried by the rows ``source`` quarantined (a feedback row quarantined once is
        not quarantined again by a later pass)."""
        q = sa.select(QUARANTINE.c.row).where(QUARANTINE.c.source == source)
        with self.engine.connect() as conn:
            rows = conn.execute(q).scalars().all()
        return {
            int(r["feedback_id"]) for r in rows if isinstance(r, dict) and r.get("feedback_id") is not None
        }

    def record_decision(self, kind: str, reason: str, figures: Mapping[str, Any] | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                DECISIONS.insert(),
                [
                    {
                        "ts": self._now(),
                        "kind": kind,
                        "reason": reason,
                        "figures": _json_safe(dict(figures or {})),
                    }
                ],
            )

    # ------------------------------------------------------------------ reads

    def labelled(
        self,
        *,
        since: datetime | None = None,
        after_id: int | None = None,
        upto_id: int | None = None,
        last: int | None = None,
        first: int | None = None,
    ) -> pd.DataFrame:
        """Labelled rows in arrival order: feedback joined to its prediction (inputs, version, prediction).

        ``feedback_id`` increases with arrival, so ``after_id`` reads only what came after a cursor and
        ``upto_id`` what came up to it; ``last``: only the newest rows of those, ``first`` only the oldest
        (still in arrival order).
        """
        j = FEEDBACK.outerjoin(PREDICTIONS, FEEDBACK.c.prediction_id == PREDICTIONS.c.id)
        q = (
            sa.select(
                FEEDBACK.c.id.label("feedback_id"),
                FEEDBACK.c.prediction_id,
                FEEDBACK.c.ts,
                FEEDBACK.c.label,
                FEEDBACK.c.weight,
                FEEDBACK.c.source,
                FEEDBACK.c.inputs.label("fb_inputs"),
                PREDICTIONS.c.inputs,
                PREDICTIONS.c.model_version,
                PREDICTIONS.c.prediction,
            )
            .select_from(j)
            .order_by(FEEDBACK.c.id.desc() if last is not None else FEEDBACK.c.id)
        )
        if since is not None:
            q = q.where(FEEDBACK.c.ts >= since)
        if after_id is not None:
            q = q.where(FEEDBACK.c.id > after_id)
        if upto_id is not None:
            q = q.where(FEEDBACK.c.id <= upto_id)
        if last is not None:
            q = q.limit(max(int(last), 0))
        elif first is not None:
            q = q.limit(max(int(first), 0))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        if last is not None:
            rows = rows[::-1]
        records = []
        for r in rows:
            inputs = r["inputs"] or r["fb_inputs"] or {}
            records.append(
                {
                    **inputs,
                    "label": r["label"],
                    "weight": r["weight"],
                    "source": r["source"],
                    "model_version": r["model_version"],
                    "prediction": r["prediction"],
                    "ts": r["ts"],
                    "feedback_id": r["feedback_id"],
                    "prediction_id": r["prediction_id"],
                }
            )
        return pd.DataFrame.from_records(records)

    def predictions_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The logged predictions among ``ids``: id -> inputs, prediction, proba, model_version."""
        wanted = sorted({str(i) for i in ids})
        if not wanted:
            return {}
        q = sa.select(
            PREDICTIONS.c.id,
            PREDICTIONS.c.inputs,
            PREDICTIONS.c.prediction,
            PREDICTIONS.c.proba,
            PREDICTIONS.c.model_version,
        ).where(PREDICTIONS.c.id.in_(wanted))
        with self.engine.connect() as conn:
            return {r["id"]: dict(r) for r in conn.execute(q).mappings().all()}

    def feedback_after(self, after_id: int, *, source: str | None = None) -> list[dict[str, Any]]:
        """Feedback newer than the cursor ``after_id``, in arrival order, each with its row's inputs (from
        the feedback itself or from its logged prediction); only ``source`` when given."""
        j = FEEDBACK.outerjoin(PREDICTIONS, FEEDBACK.c.prediction_id == PREDICTIONS.c.id)
        q = (
            sa.select(
                FEEDBACK.c.id,
                FEEDBACK.c.prediction_id,
                FEEDBACK.c.label,
                FEEDBACK.c.weight,
                FEEDBACK.c.source,
                FEEDBACK.c.inputs.label("fb_inputs"),
                PREDICTIONS.c.inputs,
            )
            .select_from(j)
            .where(FEEDBACK.c.id > after_id)
            .order_by(FEEDBACK.c.id)
        )
        if source is not None:
            q = q.where(FEEDBACK.c.source == source)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [
            {
                "feedback_id": int(r["id"]),
                "prediction_id": r["prediction_id"],
                "inputs": r["fb_inputs"] or r["inputs"] or {},
                "label": r["label"],
                "weight": r["weight"],
                "source": r["source"],
            }
            for r in rows
        ]

    def count_feedback(self, *, after_id: int = 0, exclude_source: str | None = None) -> int:
        """How many feedback rows came after the cursor ``after_id`` (all but ``exclude_source``'s)."""
        q = sa.select(sa.func.count()).select_from(FEEDBACK).where(FEEDBACK.c.id > after_id)
        if exclude_source is not None:
            q = q.where(FEEDBACK.c.source != exclude_source)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one() or 0)

    def max_feedback_id(self) -> int:
        """The id of the newest feedback (0 when there is none): a cursor for "labels after this"."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(FEEDBACK.c.id))).scalar_one() or 0)

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (PREDICTIONS, FEEDBACK, QUARANTINE, DECISIONS, SHADOW)
            }

    # ------------------------------------------------------------------ shadow

    def log_shadow(
        self,
        prediction_ids: Sequence[str],
        *,
        predictions: Sequence[Any],
        model_version: str,
        probas: Sequence[Sequence[float]] | None = None,
    ) -> int:
        """Store a challenger's predictions on live rows (the champion's answer is what was served)."""
        now = self._now()
        records = [
            {
                "ts": now,
                "prediction_id": pid,
                "model_version": str(model_version),
                "prediction": _json_safe(p),
                "proba": None if probas is None else _json_safe(list(probas[k])),
            }
            for k, (pid, p) in enumerate(zip(prediction_ids, predictions, strict=True))
        ]
        self._append(SHADOW, records)
        return len(records)

    def shadow_labelled(self, model_version: str) -> pd.DataFrame:
        """Labels of live rows that ``model_version`` shadowed: inputs, label, both predictions, both versions."""
        q = (
            sa.select(
                FEEDBACK.c.id.label("feedback_id"),
                FEEDBACK.c.label,
                PREDICTIONS.c.inputs,
                PREDICTIONS.c.model_version.label("served_version"),
                PREDICTIONS.c.prediction.label("served_prediction"),
                SHADOW.c.prediction.label("shadow_prediction"),
            )
            .select_from(
                SHADOW.join(PREDICTIONS, SHADOW.c.prediction_id == PREDICTIONS.c.id).join(
                    FEEDBACK, FEEDBACK.c.prediction_id == SHADOW.c.prediction_id
                )
            )
            .where(SHADOW.c.model_version == str(model_version))
            .order_by(FEEDBACK.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return pd.DataFrame.from_records(
            [{**(r["inputs"] or {}), **{k: r[k] for k in r if k != "inputs"}} for r in rows]
        )

    def outcomes(self, *, last: int = 20_000) -> pd.DataFrame:
        """The newest ``last`` labelled predictions, oldest first, without their inputs (the console's
        accuracy over time): ``ts`` (when predicted), ``model_version``, ``prediction``, ``label``,
        ``feedback_ts``. Feedback on rows that were never predicted (labelled rows) has no outcome."""
        q = (
            sa.select(
                FEEDBACK.c.id.label("feedback_id"),
                PREDICTIONS.c.ts,
                PREDICTIONS.c.model_version,
                PREDICTIONS.c.prediction,
                FEEDBACK.c.label,
                FEEDBACK.c.ts.label("feedback_ts"),
            )
            .select_from(FEEDBACK.join(PREDICTIONS, FEEDBACK.c.prediction_id == PREDICTIONS.c.id))
            .order_by(FEEDBACK.c.id.desc())
            .limit(max(int(last), 0))
        )
        return self._oldest_first(
            q, ["feedback_id", "ts", "model_version", "prediction", "label", "feedback_ts"]
        )

    def shadow_outcomes(self, *, last: int = 20_000) -> pd.DataFrame:
        """The newest ``last`` labelled rows that a challenger answered in the shadow, oldest first: ``ts``
        (when predicted), ``model_version`` (the shadow's), its ``prediction``, the ``served_prediction``
        and the ``label``."""
        q = (
            sa.select(
                SHADOW.c.id.label("shadow_id"),
                PREDICTIONS.c.ts,
                SHADOW.c.model_version,
                SHADOW.c.prediction,
                PREDICTIONS.c.prediction.label("served_prediction"),
                FEEDBACK.c.label,
            )
            .select_from(
                SHADOW.join(PREDICTIONS, SHADOW.c.prediction_id == PREDICTIONS.c.id).join(
                    FEEDBACK, FEEDBACK.c.prediction_id == SHADOW.c.prediction_id
                )
            )
            .order_by(SHADOW.c.id.desc())
            .limit(max(int(last), 0))
        )
        return self._oldest_first(
            q, ["shadow_id", "ts", "model_version", "prediction", "served_prediction", "label"]
        )

    def prediction_log(self, *, last: int = 5000) -> pd.DataFrame:
        """The newest ``last`` logged predictions, oldest first: ``ts``, ``model_version``, ``inputs`` (a
        dict per row), ``prediction``, ``proba`` (drift over time in the console)."""
        q = (
            sa.select(
                PREDICTIONS.c.ts,
                PREDICTIONS.c.model_version,
                PREDICTIONS.c.inputs,
                PREDICTIONS.c.prediction,
                PREDICTIONS.c.proba,
            )
            .order_by(PREDICTIONS.c.ts.desc())
            .limit(max(int(last), 0))
        )
        return self._oldest_first(q, ["ts", "model_version", "inputs", "prediction", "proba"])

    def _oldest_first(self, q: Any, columns: list[str]) -> pd.DataFrame:
        """The rows of a newest-first query (``ORDER BY ... DESC LIMIT n``), oldest first, as a frame."""
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return pd.DataFrame.from_records([dict(r) for r in rows[::-1]], columns=columns)

    def shadow_count(self, model_version: str) -> int:
        with self.engine.connect() as conn:
            q = sa.select(sa.func.count()).where(SHADOW.c.model_version == str(model_version))
            return int(conn.execute(q).scalar_one())

    # ------------------------------------------------------------------ active learning

    def recent_predictions(
        self, model_version: str, *, limit: int = 2000, since: datetime | None = None
    ) -> pd.DataFrame:
        """The newest predictions ``model_version`` served, labelled or not (id, prediction, proba, ts),
        newest first; with ``since``, only those logged at or after that time."""
        q = sa.select(
            PREDICTIONS.c.id, PREDICTIONS.c.prediction, PREDICTIONS.c.proba, PREDICTIONS.c.ts
        ).where(PREDICTIONS.c.model_version == str(model_version))
        if since is not None:
            q = q.where(PREDICTIONS.c.ts >= since)
        q = q.order_by(PREDICTIONS.c.ts.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return pd.DataFrame.from_records([dict(r) for r in rows], columns=["id", "prediction", "proba", "ts"])

    def unlabelled_predictions(self, *, limit: int = 20_000) -> pd.DataFrame:
        """The newest logged predictions that no feedback has labelled yet (inputs, proba, id)."""
        labelled = sa.select(FEEDBACK.c.prediction_id).where(FEEDBACK.c.prediction_id.is_not(None))
        q = (
            sa.select(
                PREDICTIONS.c.id,
                PREDICTIONS.c.ts,
                PREDICTIONS.c.model_version,
                PREDICTIONS.c.inputs,
                PREDICTIONS.c.prediction,
                PREDICTIONS.c.proba,
            )
            .where(PREDICTIONS.c.id.not_in(labelled))
            .order_by(PREDICTIONS.c.ts.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return pd.DataFrame.from_records([dict(r) for r in rows])

    # ------------------------------------------------------------------ API keys

    def create_key(self, role: str, *, name: str = "") -> str:
        """A new API key with ``role``; only its hash is stored, so the key is shown once."""
        if role not in ROLES:
            raise DataError(f"unknown role {str(role)[:100]!r}. Fix: use one of {list(ROLES)}.")
        if len(name) > 128 or not name.isprintable():
            raise DataError(
                f"key name {name[:40]!r}{'...' if len(name) > 40 else ''} ({len(name)} characters) is not "
                "allowed: at most 128 printable characters. Fix: --name with a short label, e.g. labelling-team."
            )
        key = "lmk_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                API_KEYS.insert(),
                [
                    {
                        "ts": self._now(),
                        "name": name or role,
                        "role": role,
                        "key_hash": hash_key(key),
                        "revoked": False,
                    }
                ],
            )
        return key

    def key_role(self, key: str) -> str | None:
        """The role of a key, or None for an unknown or revoked key."""
        with self.engine.connect() as conn:
            q = sa.select(API_KEYS.c.role).where(API_KEYS.c.key_hash == hash_key(key), ~API_KEYS.c.revoked)
            return conn.execute(q).scalar_one_or_none()

    def key_session(self, key: str) -> tuple[int, str] | None:
        """The id and role of an active key (the console's session names the key by id, never by its
        material), or None for an unknown or revoked key."""
        with self.engine.connect() as conn:
            q = sa.select(API_KEYS.c.id, API_KEYS.c.role).where(
                API_KEYS.c.key_hash == hash_key(key), ~API_KEYS.c.revoked
            )
            row = conn.execute(q).first()
        return None if row is None else (int(row.id), str(row.role))

    def key_role_by_id(self, key_id: int) -> str | None:
        """The role of the key with id ``key_id``, or None when it is unknown or revoked."""
        with self.engine.connect() as conn:
            q = sa.select(API_KEYS.c.role).where(API_KEYS.c.id == int(key_id), ~API_KEYS.c.revoked)
            return conn.execute(q).scalar_one_or_none()

    def api_keys(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(
                        API_KEYS.c.id, API_KEYS.c.ts, API_KEYS.c.name, API_KEYS.c.role, API_KEYS.c.revoked
                    )
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def revoke_key(self, key_id: int) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(API_KEYS.update().where(API_KEYS.c.id == key_id).values(revoked=True))
        return bool(done.rowcount)

    def has_keys(self) -> bool:
        with self.engine.connect() as conn:
            q = sa.select(sa.func.count()).select_from(API_KEYS).where(~API_KEYS.c.revoked)
            return int(conn.execute(q).scalar_one()) > 0

    def take_lease(self, name: str, owner: str, *, seconds: float, replacing: str | None = None) -> bool:
        """Hold the lease ``name`` for ``seconds`` unless another owner holds it and it has not expired;
        whether ``owner`` holds it now. One process wins on SQLite and PostgreSQL alike: a conditional
        update (free or expired, or already ours), else an insert that the primary key lets only one make.
        ``replacing``: an owner known to be dead, whose lease is taken over whatever its expiry.

        >>> store = EventStore("sqlite://")
        >>> store.take_lease("evolve", "a", seconds=60), store.take_lease("evolve", "b", seconds=60)
        (True, False)
        >>> store.end_lease("evolve", "a"); store.take_lease("evolve", "b", seconds=60)
        True
        """
        now = self._now()
        until = now + timedelta(seconds=seconds)
        free = sa.or_(LEASES.c.until < now, LEASES.c.owner.in_([owner, replacing or owner]))
        with self.engine.begin() as conn:
            if conn.execute(
                LEASES.update().where(LEASES.c.name == name, free).values(owner=owner, until=until)
            ).rowcount:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(LEASES.insert().values(name=name, owner=owner, until=until))
        except sa.exc.IntegrityError:  # another process holds it (or took it first)
            return False
        return True

    def end_lease(self, name: str, owner: str, *, keep_s: float = 0.0) -> None:
        """Give the lease back (``keep_s`` > 0: keep it that many seconds more, so that the others wait)."""
        with self.engine.begin() as conn:
            conn.execute(
                LEASES.update()
                .where(LEASES.c.name == name, LEASES.c.owner == owner)
                .values(until=self._now() + timedelta(seconds=max(keep_s, 0.0)) - timedelta(microseconds=1))
            )

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds the lease ``name`` and until when (``None`` when it is free or expired)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(LEASES.c.owner, LEASES.c.until).where(LEASES.c.name == name)).first()
        if row is None:
            return None
        until = row.until if row.until.tzinfo is not None else row.until.replace(tzinfo=UTC)
        return (str(row.owner), until) if until >= self._now() else None

    def decisions(self, limit: int = 50, *, kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The newest decisions first (optionally only of ``kinds``)."""
        q = sa.select(DECISIONS).order_by(DECISIONS.c.id.desc()).limit(limit)
        if kinds:
            q = q.where(DECISIONS.c.kind.in_(list(kinds)))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [dict(r) for r in rows]
