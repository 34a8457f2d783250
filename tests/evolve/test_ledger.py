"""The champion ledger: record the decision, then move the alias; reconcile a half-done move; rollback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from lamarck import Project
from lamarck.errors import ModelNotFoundError
from lamarck.evolve import ChampionLedger
from lamarck.evolve._fakes import FakeRegistry, FakeStore


def _ledger(versions=("1", "2", "3"), lineage=None):
    return ChampionLedger(FakeRegistry(set(versions), lineage), FakeStore())


class _Killed(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def test_every_move_is_recorded_before_the_alias_moves():
    ledger = _ledger()
    order = []
    record, point = ledger.store.record_decision, ledger.registry.set_alias
    ledger.store.record_decision = lambda *a, **k: (order.append("record"), record(*a, **k))[1]
    ledger.registry.set_alias = lambda *a, **k: (order.append("move"), point(*a, **k))[1]
    assert ledger.move("promote", "1", reason="fit") is None
    assert ledger.move("promote", "2", reason="better", figures={"p_value": 0.01}) == "1"
    assert order == ["record", "move", "record", "move"]
    last = ledger.last_move()
    assert (last.kind, last.previous, last.to, last.figures["p_value"]) == ("promote", "1", "2", 0.01)


def test_an_unknown_version_records_nothing():
    ledger = _ledger()
    with pytest.raises(ModelNotFoundError):
        ledger.move("promote", "99", reason="typo")
    assert ledger.store.rows == [] and ledger.registry.alias == {}


def test_a_champion_move_ends_the_challengers_shadow_and_other_aliases_do_not():
    ledger = _ledger()
    ledger.move("promote", "1", reason="fit")
    ledger.registry.set_alias("challenger", "3")
    ledger.move("promote", "2", reason="stream", alias="stream")
    assert ledger.registry.alias == {"champion": "1", "challenger": "3", "stream": "2"}
    ledger.move("promote", "2", reason="by hand")
    assert "challenger" not in ledger.registry.alias


def test_other_aliases_never_look_like_champion_decisions():
    ledger = _ledger()
    ledger.move("promote", "1", reason="fit")
    ledger.move("promote", "3", reason="stream", alias="stream")
    assert [m.to for m in ledger.moves()] == ["1"]
    assert [(m.alias, m.to) for m in ledger.moves("stream")] == [("stream", "3")]
    assert [r["kind"] for r in ledger.store.rows] == ["promote", "alias"]


def test_rollback_goes_to_what_the_promotion_replaced_then_to_the_parent():
    ledger = _ledger(lineage={"3": {"parent": "1"}})
    ledger.move("promote", "1", reason="fit")
    ledger.move("promote", "2", reason="better")
    assert ledger.rollback(reason="oops") == "1"
    assert ledger.registry.alias["champion"] == "1"
    assert ledger.last_move().kind == "rollback"
    fresh = _ledger(lineage={"3": {"parent": "1"}})
    fresh.registry.set_alias("champion", "3")  # set outside the ledger: the lineage names the parent
    assert fresh.rollback_target() == "1"


def test_rollback_with_nowhere_to_go_is_a_clear_error():
    ledger = _ledger()
    ledger.move("promote", "1", reason="fit")
    with pytest.raises(ModelNotFoundError, match="no earlier version"):
        ledger.rollback(reason="oops")


@pytest.mark.parametrize("alias", ["champion", "stream"])
def test_a_kill_between_record_and_move_is_finished_by_reconcile(alias):
    ledger = _ledger()
    ledger.move("promote", "1", reason="fit", alias=alias)

    def die(*_a, **_k):
        raise _Killed

    ledger.registry.set_alias = die
    with pytest.raises(_Killed):
        ledger.move("promote", "2", reason="better", alias=alias)
    ledger.registry = FakeRegistry({"1", "2", "3"})  # a new process: same registry state
    ledger.registry.alias = {alias: "1"}
    resumed = ledger.reconcile(alias)
    assert (resumed.previous, resumed.to) == ("1", "2")
    assert ledger.registry.alias[alias] == "2"
    assert ledger.reconcile(alias) is None  # nothing left to finish
    assert ledger.store.rows[-1]["kind"] == "resume"


@pytest.mark.slow
def test_sigkill_between_record_and_move_on_the_real_registry(tmp_path):
    """A real process is killed right after the decision is committed; the next pass finishes the move."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = np.where(frame["a"] + frame["b"] + rng.normal(size=300) > 0, "yes", "no")
    project = Project(tmp_path / "p")
    for _ in range(2):
        project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False)
    assert project.registry.alias_version("champion") == "2"
    script = textwrap.dedent(
        f"""
        import os, signal
        from lamarck import Project
        project = Project({str(project.path)!r})
        ledger = project.ledger
        def die(*_a, **_k):
            os.kill(os.getpid(), signal.SIGKILL)
        ledger.registry.set_alias = die
        ledger.move("promote", "1", reason="killed in between")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ}, timeout=120)
    assert done.returncode == -signal.SIGKILL
    fresh = Project(project.path)
    assert fresh.registry.alias_version("champion") == "2"  # recorded, not moved
    assert fresh.store.decisions(limit=1)[0]["figures"]["to"] == "1"
    decision = fresh.evolve()
    assert decision.kind == "resume" and fresh.registry.alias_version("champion") == "1"
