"""Group commit: appends from many threads share commits, each returns once its own rows are durable, and
one bad batch fails only its own caller."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from lamarck.store import EventStore


def _store(tmp_path) -> EventStore:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    assert store.group_commits()
    return store


def test_concurrent_appends_share_commits_and_all_land(tmp_path):
    store = _store(tmp_path)
    start = threading.Barrier(8)

    def work(k: int) -> list[str]:
        start.wait()
        ids = []
        for i in range(40):
            ids += store.log_predictions([{"k": k, "i": i}], predictions=["yes"], model_version="1")
            # visible to another connection as soon as the call returns: committed, not just queued
            assert ids[-1] in EventStore(store.url).predictions_by_id(ids[-1:])
        return ids

    with ThreadPoolExecutor(8) as pool:
        ids = [i for chunk in pool.map(work, range(8)) for i in chunk]
    assert len(set(ids)) == 320 and store.counts()["predictions"] == 320
    group = store.grouped
    assert group is not None and group.batches == 320
    assert group.commits < group.batches  # requests in flight shared transactions


def test_a_bad_batch_fails_only_its_caller(tmp_path):
    store = _store(tmp_path)
    group = store.grouped
    assert group is not None
    from lamarck.store._store import FEEDBACK

    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        start.wait()
        # feedback needs a time (NOT NULL): the caller with k == 3 sends a batch the database refuses
        ts = None if k == 3 else store._now()
        record = {"ts": ts, "prediction_id": f"p{k}", "label": "yes", "weight": 1.0, "source": "test"}
        try:
            group.append(FEEDBACK, [record])
        except sa.exc.IntegrityError as e:
            errors.append(e)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, range(6)))
    assert len(errors) == 1
    assert store.counts()["feedback"] == 5


def test_an_in_memory_store_keeps_one_commit_per_call():
    store = EventStore("sqlite://")  # one database per connection: a writer thread would not see it
    assert not store.group_commits()
    ids = store.log_predictions([{"x": 1}], predictions=["yes"], model_version="1")
    assert list(store.predictions_by_id(ids)) == ids


def test_turning_it_off_commits_what_waits_and_the_writer_restarts_on_demand(tmp_path):
    store = _store(tmp_path)
    store.log_predictions([{"x": 1}], predictions=["yes"], model_version="1")
    assert not store.group_commits(False) and store.grouped is None
    store.log_predictions([{"x": 2}], predictions=["yes"], model_version="1")  # one commit per call again
    assert store.group_commits()
    group = store.grouped
    assert group is not None
    group.idle_s = 0.05
    store.log_predictions([{"x": 3}], predictions=["yes"], model_version="1")
    thread = group._thread
    assert thread is not None
    thread.join(timeout=5)  # idle: the writer stopped by itself
    assert not thread.is_alive()
    store.log_predictions([{"x": 4}], predictions=["yes"], model_version="1")  # and a new one started
    assert store.counts()["predictions"] == 4


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"])
def test_in_memory_urls_are_recognised(url):
    from lamarck.store._store import _in_memory

    assert _in_memory(url)
    assert not _in_memory("sqlite:///events.db") and not _in_memory("postgresql+psycopg://u@h/db")
