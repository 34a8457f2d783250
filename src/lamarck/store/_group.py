"""Group commit: appends from many threads share one transaction, and each call still returns only once
its own rows are committed.

A served prediction is logged before it is answered, and with SQLite's ``synchronous=FULL`` every commit
is an fsync: one commit per request made the log the slowest part of a request under load. Here the
requests in flight hand their rows to one writer thread; it takes every batch waiting, inserts them in
one transaction, commits once and wakes each caller. A caller never returns before its rows are durable,
so after ``kill -9`` every acknowledged row is in the store (rows of requests still waiting were never
acknowledged). With one request at a time nothing changes: one commit each.

If the shared transaction fails, each batch is retried in its own transaction, so one bad batch fails
only its own caller.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine(
    ...     "sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False}
    ... )
    >>> meta = sa.MetaData()
    >>> t = sa.Table("t", meta, sa.Column("x", sa.Integer))
    >>> meta.create_all(engine)
    >>> group = GroupCommit(lambda: engine)
    >>> group.append(t, [{"x": 1}, {"x": 2}])
    >>> group.close()
    >>> with engine.connect() as conn:
    ...     conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
    2
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

__all__ = ["GroupCommit"]

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    table: sa.Table
    records: Sequence[Mapping[str, Any]]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommit:
    """One writer thread that commits the batches waiting together (see the module).

    ``engine``: gives the engine to write with; ``max_rows``: the rows one transaction takes at most (the rest wait for the next one)."""

    def __init__(
        self, engine: Callable[[], sa.Engine], *, max_rows: int = 10_000, idle_s: float = 5.0
    ) -> None:
        self.engine = engine  # called when a transaction starts (a store opens its engine on first use)
        self.max_rows = max_rows
        self.idle_s = idle_s  # the writer stops after this long without work (the next append restarts it)
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: transactions committed and batches they carried (``/metrics`` and the tests read them)
        self.commits = 0
        self.batches = 0

    def append(self, table: sa.Table, records: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``records`` into ``table``; returns once they are committed (raises what the insert
        raised)."""
        if not records:
            return
        batch = _Batch(table, records)
        with self._lock:  # a writer is registered whenever a batch waits (see _run's idle exit)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lamarck-group-commit", daemon=True)
                self._thread.start()
            self._queue.put(batch)
        batch.done.wait()
        if batch.error is not None:
            raise batch.error

    def close(self) -> None:
        """Commit what is waiting, then stop the writer (a later append starts it again)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():  # nothing can be put while this lock is held
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                continue
            if first is None:
                return
            batches, rows, stop = [first], len(first.records), False
            while rows < self.max_rows:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batches.append(more)
                rows += len(more.records)
            self._commit(batches)
            if stop:
                return

    def _commit(self, batches: list[_Batch]) -> None:
        try:
            with self.engine().begin() as conn:
                for b in batches:
                    conn.execute(b.table.insert(), list(b.records))
            self.commits += 1
        except BaseException as e:  # whatever it is, every caller waiting on these rows is woken with it
            if len(batches) == 1:
                batches[0].error = e
            else:  # one bad batch must not fail the others: each on its own
                log.warning("a shared commit of %d batches failed; committing each alone", len(batches))
                for b in batches:
                    self._commit([b])
                return
        self.batches += len(batches)
        for b in batches:
            b.done.set()
