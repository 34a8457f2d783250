"""Candidates: earlier champions carry the version they reuse as a field, and the lineage records it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lamarck.evolve import Candidate, ChampionLedger, EvolutionPolicy
from lamarck.evolve._candidates import earlier_versions, register
from lamarck.evolve._fakes import FakeModel, FakeRegistry, FakeStore
from lamarck.evolve._gate import GateResult
from lamarck.evolve._split import Replay


def served(*versions: str) -> tuple[FakeRegistry, ChampionLedger]:
    """A registry whose versions each served as champion, in order (the last one serves now)."""
    models = {v: FakeModel(lambda X: X["x"] > 0) for v in versions}
    registry = FakeRegistry(set(versions), models=models)
    ledger = ChampionLedger(registry, FakeStore())
    for v in versions:
        ledger.move("promote", v, reason="served")
    return registry, ledger


def reg(registry: FakeRegistry, candidate: Candidate) -> str:
    X = pd.DataFrame({"x": [0.5, -0.5, 1.5]})
    y = np.array([1, 0, 1])
    result = GateResult(
        how=candidate.how, p_value=0.01, delta=0.2, test="mcnemar", score_champion=0.7, score_challenger=0.9,
        passed=True, why="passed",
    )  # fmt: skip
    return register(
        registry, EvolutionPolicy(), candidate, registry.load("2"), "2",
        X=X, y=y, replay=Replay(X.iloc[:0], y[:0], np.zeros((0, 2)), np.zeros(0, dtype=bool)),
        result=result, triggers=("labels",), new_labels=3, cursor=7,
    )  # fmt: skip


def test_an_earlier_champion_is_offered_with_the_version_it_reuses():
    registry, ledger = served("1", "2")
    found = earlier_versions(EvolutionPolicy(), registry, ledger, registry.load("2"), "2")
    assert [(c.how, c.reuse_of) for c in found] == [("reuse of v1", "1")]
    assert (
        earlier_versions(EvolutionPolicy(reuse_versions=0), registry, ledger, registry.load("2"), "2") == []
    )


def test_reuse_of_is_written_to_the_lineage_from_the_candidate():
    registry, ledger = served("1", "2")
    (reuse,) = earlier_versions(EvolutionPolicy(), registry, ledger, registry.load("2"), "2")
    # the label is presentation only: the lineage comes from the field
    renamed = Candidate("the model of an older concept", reuse.model, reuse_of=reuse.reuse_of)
    version = reg(registry, renamed)
    lineage = registry.info(version).lineage
    assert lineage["reuse_of"] == "1" and lineage["how"] == "the model of an older concept"
    assert (
        lineage["parent"] == "2" and lineage["feedback_cursor"] == 7 and lineage["reason"] == "evolve: labels"
    )
    assert registry.registered[-1]["metrics"] == {"p_value": 0.01, "delta": 0.2, "forgetting": 0.0}
    warm = reg(registry, Candidate("warm start", FakeModel(lambda X: X["x"] > 0)))
    assert registry.info(warm).lineage["reuse_of"] is None


def test_a_reused_version_is_not_offered_again_while_its_copy_serves():
    registry, ledger = served("1", "2")
    (reuse,) = earlier_versions(EvolutionPolicy(), registry, ledger, registry.load("2"), "2")
    copy = reg(registry, reuse)  # v3: v1's model registered anew
    ledger.move("promote", copy, reason="reuse won")
    offered = earlier_versions(EvolutionPolicy(), registry, ledger, registry.load(copy), copy)
    assert [(c.how, c.reuse_of) for c in offered] == [("reuse of v2", "2")]


def test_a_warm_start_on_a_small_pool_fits_with_one_thread(monkeypatch):
    # the search's rule (one thread below ONE_THREAD_ROWS): a second thread cost more CPU than it saved
    from dataclasses import dataclass, field
    from types import SimpleNamespace

    import lamarck.search as search
    from lamarck.evolve._candidates import warm_start

    @dataclass
    class FoldMember:
        learner: str = "lightgbm"
        params: dict = field(default_factory=dict)
        models: list = field(default_factory=lambda: ["fold 1", "fold 2"])

    threads = []

    def warm(learner, model, X, y, ctx, sample_weight=None):
        threads.append(ctx.n_jobs)
        return model

    monkeypatch.setattr(search, "warm_start_learner", warm)
    champion = SimpleNamespace(
        processor=SimpleNamespace(transform=lambda X: X), input_columns=["x"], classes_=np.array(["a", "b"]),
        task="binary", members=[FoldMember()], version="1",
    )  # fmt: skip
    X = pd.DataFrame({"x": np.arange(600.0)})
    challenger = warm_start(EvolutionPolicy(), champion, X, np.arange(600) % 2, np.ones(600))
    assert threads == [1, 1] and challenger.members[0].models == ["fold 1", "fold 2"]
    big = pd.DataFrame({"x": np.arange(60_000.0)})
    warm_start(EvolutionPolicy(), champion, big, np.arange(60_000) % 2, np.ones(60_000))
    assert threads[2:] == [2, 2]
