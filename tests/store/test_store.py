"""The same store tests on SQLite (embedded default) and PostgreSQL (scale-out), for real."""

import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from lamarck.errors import DataError
from lamarck.store import EventStore, create_store_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'events.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    s = EventStore(url)
    yield s
    s.engine.dispose()


def test_predictions_feedback_and_join(store):
    ids = store.log_predictions(
        [{"x": 1.5, "c": "a"}, {"x": 2.0, "c": "b"}],
        predictions=["yes", "no"],
        probas=[[0.2, 0.8], [0.9, 0.1]],
        model_version="3",
    )
    assert (
        store.add_feedback(
            [
                {"prediction_id": ids[1], "label": "yes", "weight": 2.0},
                {"inputs": {"x": 9.0, "c": "z"}, "label": "no"},
            ]
        )
        == 2
    )
    rows = store.labelled()
    first, second = rows[["x", "c", "label", "weight", "model_version", "prediction"]].to_dict("records")
    assert first == {
        "x": 2.0,
        "c": "b",
        "label": "yes",
        "weight": 2.0,
        "model_version": "3",
        "prediction": "no",
    }
    assert (second["x"], second["c"], second["label"]) == (9.0, "z", "no")
    assert pd.isna(second["model_version"]) and pd.isna(
        second["prediction"]
    )  # labelled rows sent without a prediction


def test_quarantine_and_decisions(store):
    assert store.quarantine([{"x": "oops"}], ["x is not a number"], source="predict") == 1
    store.record_decision("promote", "challenger beat champion", {"p_value": 0.01, "n": 250})
    assert store.counts()["quarantine"] == 1
    assert store.decisions()[0]["figures"] == {"p_value": 0.01, "n": 250}


def test_feedback_without_label_is_refused_and_nothing_written(store):
    with pytest.raises(DataError, match="label"):
        store.add_feedback([{"prediction_id": "p1", "label": 1}, {"prediction_id": "p2"}])
    assert store.counts()["feedback"] == 0


def test_concurrent_writers_lose_nothing(store):
    store.counts()  # create tables first

    def write(k: int) -> None:
        for i in range(25):
            store.add_feedback([{"inputs": {"k": k, "i": i}, "label": i % 2}])

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert store.counts()["feedback"] == 100


def test_wal_mode_on_sqlite(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'e.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_bad_url_is_a_clear_error():
    with pytest.raises(DataError, match="store URL"):
        create_store_engine("nosuchdialect://x")


def test_quarantined_feedback_ids_are_read_back_by_source(store):
    store.quarantine(
        [{"x": 1, "feedback_id": 3}, {"x": 2, "feedback_id": 7}, {"x": 3}], ["a", "b", "c"], source="evolve"
    )
    store.quarantine([{"x": 4, "feedback_id": 9}], ["d"], source="api")
    assert store.quarantined_feedback_ids(source="evolve") == {3, 7}
    assert store.quarantined_feedback_ids(source="api") == {9}
    assert store.quarantined_feedback_ids(source="cli") == set()


def test_labelled_reads_a_range_of_feedback_ids_and_the_newest_rows(store):
    store.add_feedback([{"inputs": {"x": float(i)}, "label": str(i)} for i in range(10)])
    ids = store.labelled()["feedback_id"].tolist()
    assert store.labelled(upto_id=ids[3])["x"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert store.labelled(upto_id=ids[6], last=2)["x"].tolist() == [5.0, 6.0]  # in arrival order
    assert store.labelled(after_id=ids[7], last=5)["x"].tolist() == [8.0, 9.0]
    assert store.labelled(after_id=ids[2], first=2)["x"].tolist() == [3.0, 4.0]  # the oldest after a cursor


def test_feedback_is_counted_after_a_cursor_without_reading_it(store):
    store.add_feedback([{"inputs": {"x": 1.0}, "label": "a"}] * 5)
    store.add_feedback([{"inputs": {"x": 1.0}, "label": "a", "source": "stream"}] * 3)
    first = int(store.labelled()["feedback_id"].min())
    assert store.count_feedback() == 8 and store.count_feedback(exclude_source="stream") == 5
    assert store.count_feedback(after_id=first, exclude_source="stream") == 4


def test_prediction_ids_sort_by_time_and_json_goes_through_orjson(tmp_path):
    import uuid

    from lamarck.store import EventStore

    store = EventStore(f"sqlite:///{tmp_path / 'e.db'}")
    first = store.log_predictions([{"a": 1.5, "b": "x"}], predictions=["yes"], model_version="1")
    second = store.log_predictions([{"a": 2**70 + 1, "b": None}], predictions=["no"], model_version="1")
    assert uuid.UUID(first[0]).version == 7 and first[0] < second[0]
    found = store.predictions_by_id([*first, *second])
    assert found[first[0]]["inputs"] == {"a": 1.5, "b": "x"}
    assert found[second[0]]["inputs"] == {"a": 2**70 + 1, "b": None}  # beyond 64 bits: the stdlib, both ways


def test_numbers_logged_as_predictions_read_back(tmp_path):
    from lamarck.store import EventStore

    store = EventStore(f"sqlite:///{tmp_path / 'e.db'}")
    ids = store.log_predictions(
        [{"a": 1}, {"a": 2}], predictions=[1, 2.5], probas=[[0.1, 0.9], [0.5, 0.5]], model_version="1"
    )  # SQLite stores a bare JSON number as a number, not as text
    found = store.predictions_by_id(ids)
    assert [found[i]["prediction"] for i in ids] == [1, 2.5]
    assert store.add_feedback([{"prediction_id": ids[0], "label": 1}]) == 1
