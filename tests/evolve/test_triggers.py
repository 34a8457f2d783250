"""The triggers on their own: a fixed-rule champion (``FakeModel``) and an in-memory store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lamarck.evolve import EvolutionPolicy, LabelWindow, Triggers
from lamarck.evolve._fakes import FakeModel, FakeStore
from lamarck.evolve._labels import Rows, encode
from lamarck.evolve._triggers import read_triggers, record_signal

CHAMPION = FakeModel(lambda X: X["x"] > 0)
NO_OLD = pd.DataFrame()


def labels(n: int, *, seed: int, noise, loc: float = 0.0) -> Rows:
    """``n`` rows labelled by the champion's rule, each flipped with probability ``noise(i)``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x": rng.normal(loc=loc, size=n)})
    flip = rng.random(n) < np.array([noise(i) for i in range(n)])
    y, _ = encode(pd.Series(np.where((X["x"] > 0) ^ flip, "yes", "no")), CHAMPION.classes_)
    return Rows(X, y, np.ones(n))


def triggers(
    new: Rows, *, store=None, policy=None, old=NO_OLD, reference=None, clock=lambda: 0.0
) -> Triggers:
    return read_triggers(
        policy or EvolutionPolicy(min_new_labels=5000),
        CHAMPION,
        new,
        old,
        reference,
        store=store or FakeStore(),
        clock=clock,
    )


def test_decay_fires_on_a_real_error_rise():
    rising = triggers(labels(1600, seed=1, noise=lambda i: 0.05 if i < 800 else 0.5))
    assert rising.decay and rising.fired == ("decay",) and min(rising.decay_at) >= 800
    assert 0.2 < rising.error < 0.35


def test_decay_does_not_fire_on_steady_or_falling_errors():
    assert not triggers(labels(1600, seed=2, noise=lambda i: 0.1)).decay
    falling = triggers(labels(1600, seed=3, noise=lambda i: 0.5 if i < 800 else 0.05))
    assert not falling.decay and falling.fired == () and falling.hold_reason(EvolutionPolicy()) is not None


def test_enough_new_labels_trigger_on_their_own():
    quiet = labels(600, seed=4, noise=lambda i: 0.0)
    assert triggers(quiet, policy=EvolutionPolicy(min_new_labels=500)).fired == ("labels",)
    none = triggers(quiet, policy=EvolutionPolicy(min_new_labels=601))
    assert none.fired == () and none.hold_reason(EvolutionPolicy(min_new_labels=601)).startswith("no trigger")


def test_drift_against_the_reference_fires_unless_the_traffic_was_already_there():
    reference = labels(2000, seed=5, noise=lambda i: 0.0).X
    shifted = labels(400, seed=6, noise=lambda i: 0.0, loc=3.0)
    fresh = triggers(shifted, reference=reference)
    assert fresh.drifted and fresh.drift is not None and fresh.drift.severity != "none"
    assert fresh.drift_since_last_window is None  # nothing before the cursor to compare with
    # the labels before the cursor came from the same shifted traffic: no change since the last decision
    before = labels(400, seed=7, noise=lambda i: 0.0, loc=3.0).X.assign(label="yes")
    known = triggers(shifted, reference=reference, old=before)
    assert known.drift_since_last_window == "none" and not known.drifted and known.fired == ()
    same = triggers(labels(400, seed=8, noise=lambda i: 0.0), reference=reference)
    assert not same.drifted


def test_a_rejected_challenger_holds_decay_back_for_cooldown_labels():
    policy = EvolutionPolicy(min_new_labels=5000, cooldown_labels=1000, online=True)
    decaying = labels(900, seed=9, noise=lambda i: 0.05 if i < 450 else 0.6)
    store = FakeStore()
    assert triggers(decaying, store=store, policy=policy).held is None  # nothing tried yet
    store.record_decision("reject", "failed the gate")
    held = triggers(decaying, store=store, policy=policy)
    assert held.decay and held.held == "rejected"
    assert "waiting for 1000 new labels" in held.hold_reason(policy)
    # a second reject in a row doubles the wait: 1,200 labels are not enough now, 2,000 are
    store.record_decision("reject", "failed the gate again")
    again = triggers(
        labels(1200, seed=9, noise=lambda i: 0.05 if i < 600 else 0.6), store=store, policy=policy
    )
    assert again.held == "rejected" and again.rejects_in_row == 2 and again.wait_labels == 2000
    assert (
        triggers(
            labels(2100, seed=9, noise=lambda i: 0.05 if i < 1050 else 0.6), store=store, policy=policy
        ).held
        is None
    )
    capped = EvolutionPolicy(min_new_labels=5000, cooldown_labels=1000, cooldown_max_labels=1500, online=True)
    assert triggers(decaying, store=store, policy=capped).wait_labels == 1500
    alone = EvolutionPolicy(min_new_labels=5000, cooldown_labels=1000)  # no layer: the evolver must adapt
    assert triggers(decaying, store=store, policy=alone).wait_labels == 1000
    store.record_decision("promote", "a later challenger won")
    assert triggers(decaying, store=store, policy=policy).held is None  # a promotion ends the streak
    store.record_decision("reject", "failed the gate")
    # cooldown_labels arrived: decay trains again
    more = labels(1200, seed=9, noise=lambda i: 0.05 if i < 600 else 0.6)
    assert triggers(more, store=store, policy=policy).held is None
    # the label count is a trigger of its own: a reject does not hold it back
    counted = EvolutionPolicy(min_new_labels=500, cooldown_labels=1000)
    assert triggers(decaying, store=store, policy=counted).held is None
    # a challenger after the reject: the cooldown is over
    store.record_decision("challenger", "passed")
    assert triggers(decaying, store=store, policy=policy).held is None


def test_cooldown_seconds_after_the_last_challenger():
    policy = EvolutionPolicy(min_new_labels=100, cooldown_s=60)
    store = FakeStore(clock=lambda: 1000.0)
    store.record_decision("challenger", "passed")
    new = labels(200, seed=10, noise=lambda i: 0.0)
    assert triggers(new, store=store, policy=policy, clock=lambda: 1030.0).held == "cooldown"
    assert triggers(new, store=store, policy=policy, clock=lambda: 1061.0).held is None


def test_a_signal_is_recorded_once_per_batch_of_labels():
    store = FakeStore()
    fired = triggers(labels(1600, seed=1, noise=lambda i: 0.05 if i < 800 else 0.5))
    window = LabelWindow(new_labels=1600, cursor=1600, from_cursor=0, unusable_labels=0)
    for _ in range(2):
        record_signal(store, fired, window, {**window.to_dict(), **fired.to_dict()}, "1")
    signals = store.decisions(kinds=("signal",))
    assert len(signals) == 1 and signals[0]["reason"] == "decay on 1600 new labels"
    steady = triggers(labels(300, seed=2, noise=lambda i: 0.1))
    record_signal(store, steady, window, {"cursor": 1900}, "1")  # no signal fired: nothing recorded
    assert len(store.decisions(kinds=("signal",))) == 1


def test_the_triggers_serialise_to_the_recorded_shape():
    out = triggers(labels(400, seed=11, noise=lambda i: 0.1)).to_dict()
    assert list(out) == [
        "error_rate",
        "metric",
        "score_new",
        "decay",
        "decay_at",
        "drift",
        "drifted_columns",
        "drift_detail",
        "prediction_drift",
        "triggers",
    ]
    assert out["drift"] == "unknown" and out["triggers"] == [] and out["prediction_drift"] is None


def _online(new: Rows, served: np.ndarray, *, store=None, reference=None) -> Triggers:
    return read_triggers(
        EvolutionPolicy(online=True, min_new_labels=100, min_test_labels=200),
        CHAMPION,
        new,
        NO_OLD,
        reference,
        store=store or FakeStore(),
        served=served,
    )


def test_online_labels_alone_never_train_and_decay_is_read_on_the_served_answers():
    quiet = labels(1600, seed=20, noise=lambda i: 0.05 if i < 800 else 0.5)  # the champion decays...
    champion_errors = (CHAMPION.predict(quiet.X) != CHAMPION.classes_[quiet.y]).astype(float)
    absorbed = np.where(np.arange(1600) < 800, champion_errors, 0.06)  # ...the layer absorbed it
    t = _online(quiet, absorbed)
    assert "labels" not in t.fired and not t.decay
    assert t.layer_gain is not None and t.layer_gain > 0.1 and t.layer_gain_before == 0.0
    assert t.fired == ("gain",)  # the layer knows much more than the batch model: retrain
    not_absorbed = _online(quiet, champion_errors)
    assert not_absorbed.decay and not_absorbed.fired == ("decay",) and abs(not_absorbed.layer_gain) < 1e-9


def test_online_gain_trains_only_when_it_grew_since_the_last_decision():
    rows = labels(1000, seed=21, noise=lambda i: 0.25)
    champion_errors = (CHAMPION.predict(rows.X) != CHAMPION.classes_[rows.y]).astype(float)
    gain = float(champion_errors.mean())  # the layer served every row right
    for before, fires in ((gain - 0.05, True), (gain - 0.01, False)):
        store = FakeStore()
        store.record_decision("reject", "earlier", {"layer_gain": before})
        t = _online(rows, np.zeros(1000), store=store)
        assert t.layer_gain == pytest.approx(gain) and t.layer_gain_before == pytest.approx(before)
        assert (t.fired == ("gain",)) is fires
    same = _online(rows, champion_errors)  # serving the champion's own answers: no gain, nothing fires
    assert same.fired == () and same.hold_reason(EvolutionPolicy(online=True)).startswith(
        "no trigger: the online layer"
    )


def test_recent_predictions_are_read_only_since_the_last_pass():
    """The memo of the served predictions gives what a full read gives, reading only the new ones."""
    from lamarck.evolve._triggers import _recent_predictions
    from lamarck.store import EventStore

    store = EventStore("sqlite://")

    def log(n: int, version: str = "1") -> None:
        for i in range(n):  # one call each: distinct times
            store.log_predictions([{"x": i}], predictions=["yes"], probas=[[0.4, 0.6]], model_version=version)

    log(30)
    first = _recent_predictions(store, "1", limit=20)
    assert list(first["id"]) == list(store.recent_predictions("1", limit=20)["id"])
    log(12)
    log(3, version="2")  # another version's answers are not this one's
    reads = []
    real = store.recent_predictions

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        reads.append(len(out))
        return out

    store.recent_predictions = counting  # type: ignore[method-assign]
    second = _recent_predictions(store, "1", limit=20)
    store.recent_predictions = real  # type: ignore[method-assign]
    assert list(second["id"]) == list(real("1", limit=20)["id"])
    assert reads == [13]  # the 12 new ones and the newest already held (same time or later)
    assert list(_recent_predictions(store, "2", limit=20)["id"]) == list(real("2", limit=20)["id"])
