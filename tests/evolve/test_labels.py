"""Labelled rows: each unusable feedback row is quarantined once, however many passes read it."""

from __future__ import annotations

import pytest

from lamarck.evolve._fakes import FakeModel, FakeStore
from lamarck.evolve._labels import batch_labels, labelled
from lamarck.store import EventStore

CHAMPION = FakeModel(lambda X: X["x"] > 0)


def _feedback(n_good: int, bad_labels: list[str]) -> list[dict]:
    good = [{"inputs": {"x": float(i)}, "label": "yes" if i % 2 else "no"} for i in range(n_good)]
    bad = [{"inputs": {"x": 1.0}, "label": label} for label in bad_labels]
    bad.append({"inputs": {"other": 1.0}, "label": "yes"})  # none of the model's columns
    return good + bad


def _pass(store) -> int:
    """What an evolve pass does while the cursor stays put: read every label, keep the usable ones."""
    return len(labelled(CHAMPION, batch_labels(store), quarantine_to=store).X)


@pytest.mark.parametrize("passes", [2, 5])
def test_n_passes_over_the_same_bad_labels_quarantine_them_once(tmp_path, passes):
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.add_feedback(_feedback(20, [f"maybe{i}" for i in range(16)]))
    assert _pass(store) == 20
    once = store.counts()["quarantine"]
    assert once == 17
    for _ in range(passes - 1):
        assert _pass(store) == 20
    assert store.counts()["quarantine"] == once
    reasons = [r["reason"] for r in store.quarantined(limit=100, source="evolve")]
    assert sum("not a class the model knows" in why for why in reasons) == 16
    assert sum("none of the model's columns" in why for why in reasons) == 1
    # a new bad label is quarantined by the next pass, once, and the old ones are not again
    store.add_feedback([{"inputs": {"x": 2.0}, "label": "perhaps"}])
    _pass(store)
    _pass(store)
    assert store.counts()["quarantine"] == once + 1
    assert sorted(store.quarantined_feedback_ids(source="evolve")) == list(range(21, 39))


def test_the_in_memory_store_follows_the_same_rule():
    store = FakeStore()
    store.add_feedback([{"x": 1.0, "label": "yes"}, {"x": 1.0, "label": "maybe"}])
    for _ in range(3):
        assert len(labelled(CHAMPION, store.labelled(), quarantine_to=store).X) == 1
    assert [why for _, why in store.quarantined] == [
        "label 'maybe' is not a class the model knows (['no', 'yes'])"
    ]


def test_the_trigger_window_reads_only_the_rows_since_the_last_pass_and_matches_a_full_read():
    from lamarck.evolve._evolver import _trigger_window

    store = FakeStore()
    store.add_feedback([{"x": float(i), "label": "yes"} for i in range(300)])
    first = _trigger_window(store, 0, 250)
    assert first["x"].tolist() == [float(i) for i in range(50, 300)]
    store.add_feedback([{"x": float(i), "label": "no"} for i in range(300, 420)])
    reads: list[dict] = []
    real = store.labelled
    store.labelled = lambda **kw: reads.append(kw) or real(**kw)  # type: ignore[method-assign]
    again = _trigger_window(store, 0, 250)
    full = real(after_id=0, last=250)
    assert again["feedback_id"].tolist() == full["feedback_id"].tolist()
    assert reads[0]["after_id"] == 300 - 200  # the newest id it had seen, less the overlap
    # a new cursor (a training decision) starts the window again
    assert _trigger_window(store, 400, 250)["x"].tolist() == [float(i) for i in range(400, 420)]


def test_the_window_before_the_cursor_is_read_once_per_cursor():
    from lamarck.evolve._evolver import _window_before

    store = FakeStore()
    store.add_feedback([{"x": float(i), "label": "yes"} for i in range(500)])
    reads: list[dict] = []
    real = store.labelled
    store.labelled = lambda **kw: reads.append(kw) or real(**kw)  # type: ignore[method-assign]
    first = _window_before(store, 400, 300)
    assert first["feedback_id"].tolist() == real(upto_id=400, last=300)["feedback_id"].tolist()
    store.add_feedback([{"x": 1.0, "label": "no"}])  # after the cursor: not in the window
    assert _window_before(store, 400, 200)["feedback_id"].tolist() == first["feedback_id"].tolist()[-200:]
    assert len(reads) == 1  # a smaller window of the same cursor is the tail of the one held
    assert len(_window_before(store, 400, 350)) == 350 and len(reads) == 2  # a larger one is read
    assert _window_before(store, 450, 100)["feedback_id"].max() == 450 and len(reads) == 3  # a new cursor
