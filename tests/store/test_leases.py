"""The store's leases: one holder at a time across threads and processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from lamarck.store import EventStore


def _race(store: EventStore, n: int = 8) -> list[str]:
    """``n`` threads (each its own connection) try to take the same lease at once; the winners."""
    won: list[str] = []
    start = threading.Barrier(n)

    def take(k: int) -> None:
        start.wait()
        if store.take_lease("evolve", f"owner-{k}", seconds=60):
            won.append(f"owner-{k}")

    threads = [threading.Thread(target=take, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_holder_at_a_time_until_it_ends_or_expires(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'events.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = EventStore(url)
    won = _race(store)
    assert len(won) == 1, won
    holder = store.lease_holder("evolve")
    assert holder is not None and holder[0] == won[0]
    assert store.take_lease("evolve", won[0], seconds=60)  # the holder renews it
    store.end_lease("evolve", won[0])
    assert store.lease_holder("evolve") is None
    assert store.take_lease("evolve", "late", seconds=0.2)
    assert not store.take_lease("evolve", "other", seconds=60)
    time.sleep(0.3)  # expired: a holder killed in its pass does not block the others for ever
    assert store.take_lease("evolve", "other", seconds=60)
    store.end_lease("evolve", "other", keep_s=30)  # kept after the pass: the others still wait
    assert not store.take_lease("evolve", "third", seconds=60)
