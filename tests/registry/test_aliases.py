"""An evolve pass reads the aliases once (``Registry.pinned_aliases``), and a version already loaded by its
number is not looked up again: on elec2 these lookups were a third of a pass that trained nothing."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from lamarck import Project


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = np.where(frame["a"] > frame["b"], "yes", "no")
    project = Project(tmp_path_factory.mktemp("aliases") / "p")
    project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False, seed=0)
    return project.registry


def _counting(registry, monkeypatch) -> list[int]:
    """Counts the reads of the aliases from the tracking store."""
    calls: list[int] = []
    read = registry._read_aliases

    def counted():
        calls.append(1)
        return read()

    monkeypatch.setattr(registry, "_read_aliases", counted)
    return calls


def test_pinned_aliases_are_read_once_and_follow_this_threads_moves(registry, monkeypatch):
    calls = _counting(registry, monkeypatch)
    assert registry.alias_version("champion") == "1"
    assert registry.alias_version("champion") == "1"
    assert len(calls) == 2  # outside a block every read goes to the tracking store
    calls.clear()
    seen_elsewhere = []
    with registry.pinned_aliases():
        assert registry.alias_version("champion") == "1"
        assert registry.alias_version("challenger") is None
        with registry.pinned_aliases():  # nested: the outer copy stands
            assert registry.aliases() == {"champion": "1"}
        assert len(calls) == 1
        registry.set_alias("challenger", "1")
        assert registry.alias_version("challenger") == "1"  # this thread's own move, without a read
        other = threading.Thread(target=lambda: seen_elsewhere.append(registry.aliases()))
        other.start()
        other.join()
        registry.delete_alias("challenger")
        assert registry.alias_version("challenger") is None
        assert len(calls) == 2  # the one read, and the other thread's own
    assert seen_elsewhere == [{"champion": "1", "challenger": "1"}]  # it read the store, which moved
    assert registry.aliases() == {"champion": "1"}  # after the block, the store again
    assert len(calls) == 3


def test_a_version_loaded_by_number_is_not_looked_up_again(registry, monkeypatch):
    first = registry.load("1")
    looked_up = []
    info = registry.info
    monkeypatch.setattr(registry, "info", lambda ref: looked_up.append(ref) or info(ref))
    assert registry.load("1") is first
    assert looked_up == []
    assert registry.load("champion") is first  # an alias is still resolved: it may have moved
    assert looked_up == ["champion"]
