"""OnlineLayer: labels learned with the snapshot of their row, the guard, regression."""

import numpy as np
import pytest

from lamarck.errors import ConfigError
from lamarck.stream import OnlineLayer, StreamLearner


def _small(regression: bool = False) -> StreamLearner:
    return StreamLearner(population=2, hybrid=False, regression=regression, seed=0)


def test_a_late_label_is_learned_with_the_context_of_its_answer():
    layer = OnlineLayer(n_classes=2, learner=_small())
    base = np.array([[0.5, 0.5]])
    _, first = layer.answer([{"a": 1.0}], base)
    _, second = layer.answer([{"a": 2.0}], base)  # answered before the first label arrived
    layer.remember(["p1", "p2"], [first[0], second[0]])
    layer.learn(1, key="p1")
    layer.learn(0, key="p2")
    assert not any(k.startswith("_last") for k in second[0].z)  # no label had arrived when it was answered
    _, third = layer.answer([{"a": 3.0}], base)
    assert third[0].z["_last=0"] == 1.0  # the newest label that has arrived by now
    assert layer.figures()["learned_without_snapshot"] == 0 and not layer.pending_


def test_an_unknown_key_is_learned_from_the_row_and_the_base_output():
    layer = OnlineLayer(n_classes=2, learner=_small())
    layer.learn(1, key="never-answered", row={"a": 1.0}, base=np.array([0.2, 0.8]))
    assert layer.figures()["learned_without_snapshot"] == 1 and layer.n_learned_ == 1


def test_the_guard_serves_the_base_model_until_the_layer_is_significantly_better_and_back():
    rng = np.random.default_rng(1)
    layer = OnlineLayer(n_classes=2, learner=_small(), window=200)
    right_base = np.array([[0.9, 0.1]])  # the base model says class 0
    served_right = []
    for t in range(1500):
        x = {"a": float(rng.normal())}
        y = int(x["a"] > 0) if t < 1000 else 0  # first a concept the base model misses, then its own
        served, seen = layer.answer([x], right_base)
        served_right.append(int(served[0].argmax()) == y)
        layer.learn(y, seen=seen[0])
        if t == 999:
            assert layer.serving_combined and layer.p_value_ < 0.05
    assert np.mean(served_right[700:1000]) > 0.85
    # the base model is right on every row now; a combination that is no better is not served
    assert np.mean(served_right[-200:]) > 0.95


def test_regression_corrects_a_biased_base_model():
    rng = np.random.default_rng(2)
    layer = OnlineLayer(n_classes=None, learner=_small(regression=True))
    errors = []
    for _ in range(1500):
        x = {"a": float(rng.normal())}
        y = 3.0 * x["a"] + 5.0
        served, seen = layer.answer([x], np.array([3.0 * x["a"]]))  # off by 5 everywhere
        errors.append(abs(float(served[0]) - y))
        layer.learn(y, seen=seen[0])
    assert layer.serving_combined
    assert np.allclose(errors[:5], 5.0)  # the base model is served until the layer has shown better
    assert np.mean(errors[-300:]) < 1.0


def test_rebase_keeps_what_the_members_learned_and_restarts_the_guard():
    rng = np.random.default_rng(3)
    # eager: every answer asks the members, so the combination's answers can be read while the base serves
    layer = OnlineLayer(n_classes=2, learner=_small(), window=200, lazy=False)
    wrong = np.array([[0.9, 0.1]])  # the first base model always says class 0
    for _ in range(1000):
        x = {"a": float(rng.normal())}
        _, seen = layer.answer([x], wrong)
        layer.learn(int(x["a"] > 0), seen=seen[0])
    assert layer.serving_combined
    _, late = layer.answer([{"a": 1.0}], wrong)
    layer.remember(["late"], late)  # answered under the old base model; its label comes after the rebase
    half = np.array([[0.5, 0.5]])  # the new base model: a coin; its honest outputs were right on 60 %
    layer.rebase([{"a": 0.0}] * 10, np.repeat([[0.4, 0.6]], 10, axis=0), [1] * 6 + [0] * 4)
    figures = layer.figures()
    assert not layer.serving_combined and figures["recent_labels"] == 0 and figures["base_models_served"] == 2
    base_member = next(m for m in layer.learner.members_ if m.name == "base")
    assert base_member.score == 0.6 and base_member.n == 10
    layer.learn(1, key="late")  # teaches the members, scores neither the guard nor the base member
    assert layer.figures()["recent_labels"] == 0 and base_member.n == 10
    right = []
    for _ in range(300):  # the members' concept still holds: the combination wins again quickly
        x = {"a": float(rng.normal())}
        _, seen = layer.answer([x], half)
        right.append(seen[0].combined and max(seen[0].combined, key=seen[0].combined.get) == int(x["a"] > 0))
        layer.learn(int(x["a"] > 0), seen=seen[0])
    assert np.mean(right[:50]) > 0.85 and layer.serving_combined


def test_members_that_saw_the_base_outputs_cannot_be_rebased():
    layer = OnlineLayer(n_classes=2, learner=_small(), base_features=True)
    assert not layer.can_rebase
    with pytest.raises(ConfigError, match="base_features"):
        layer.rebase()


def test_rebase_seeds_the_guard_with_the_shadow_answers():
    layer = OnlineLayer(n_classes=2, learner=_small(), window=100)
    layer.answer([{"a": 1.0}], np.array([[0.5, 0.5]]))
    served_better = [(0.0, 0.0)] * 200 + [(1.0, 0.0)] * 20  # the new model erred where the served one did not
    layer.rebase(guard=served_better)
    assert layer.serving_combined and layer.figures()["recent_labels"] == 100 and layer.better_ == 20
    layer.rebase(guard=[(0.0, 1.0)] * 20)  # the new model was the better one: it serves bare
    assert not layer.serving_combined and layer.worse_ == 20


def test_delayed_labels_score_the_guard_on_the_combination_as_it_is_now():
    rng = np.random.default_rng(4)
    layer = OnlineLayer(n_classes=2, learner=_small(), window=300)
    for week in range(4):  # a week of answers, then their labels; the concept flips in the last week
        rows = [{"a": float(rng.normal())} for _ in range(300)]
        base = [np.array([[0.1, 0.9]] if x["a"] > 0 else [[0.9, 0.1]]) for x in rows]  # knows "a > 0"
        seen = [layer.answer([x], b)[1][0] for x, b in zip(rows, base, strict=True)]
        for x, s in zip(rows, seen, strict=True):
            layer.learn(int((x["a"] > 0) != (week == 3)), seen=s)
        if week < 3:
            assert not layer.serving_combined
    # every answer of the last week was the base model's (wrong); the combination learned the flip as the
    # labels came in, and the guard measured it on each label before learning it: it serves next week
    assert layer.serving_combined and layer.better_ > 30


def test_a_serving_combination_keeps_serving_through_ties_until_the_base_model_is_ahead():
    for sticky in (True, False):
        layer = OnlineLayer(n_classes=2, learner=_small(), window=50, sticky=sticky)
        for _ in range(20):
            layer._pair(1.0, 0.0)  # the combination right where the base model erred
        assert layer.serving_combined
        for _ in range(50):
            layer._pair(0.0, 0.0)  # both right: the wins leave the window
        assert layer.better_ == 0 and layer.serving_combined == sticky
        layer._pair(0.0, 1.0)  # the base model ahead: back to it
        assert not layer.serving_combined


@pytest.mark.parametrize("regression", [False, True])
def test_a_reanswer_asks_only_the_members_whose_vote_weighs_and_answers_as_all_of_them(regression):
    from river.datasets import synth

    learner = StreamLearner(population=4, hybrid=False, regression=regression, seed=0)
    stream = synth.Friedman(seed=0) if regression else synth.SEA(seed=0)
    for x, y in stream.take(1500):
        learner.learn_one(x, y)
    asked: list[str] = []
    for m in learner.members_:
        m.predict = (lambda predict, name: lambda x, z: asked.append(name) or predict(x, z))(
            m.predict, m.name
        )
    weights = [
        learner._weight_exponent(m.score, max(m.score for m in learner.members_)) for m in learner.members_
    ]
    assert min(weights) < -14  # some member weighs nothing: the cut has something to skip
    for x, _ in stream.take(50):
        pending = learner.predict_pending(x)[1]
        asked.clear()
        full = learner._combine([(m, m.predict(pending.x, pending.z)) for m in learner.members_])
        n_all = len(asked)
        asked.clear()
        now = learner.reanswer(pending)
        assert 0 < len(asked) < n_all
        if regression:
            assert now == pytest.approx(full, rel=1e-5)
        else:
            assert now.keys() == full.keys() and all(abs(now[k] - full[k]) < 1e-5 for k in full)


def test_free_text_is_not_a_category_the_members_see():
    layer = OnlineLayer(
        n_classes=2, learner=StreamLearner(population=2, hybrid=True, hybrid_every=100, seed=0)
    )
    rng = np.random.default_rng(3)
    for t in range(400):
        note = f"ticket {t}: " + " ".join(rng.choice(["printer", "invoice", "login", "refund"], 12))
        _, seen = layer.answer([{"note": note, "code": "A" if t % 2 else "B"}], np.array([[0.5, 0.5]]))
        assert "note" not in seen[0].x and seen[0].x["code"] in ("A", "B")  # a short value stays a category
        layer.learn(t % 2, seen=seen[0])


def _drifting(n: int, seed: int) -> list[tuple[dict[str, float], int]]:
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n):
        x = {"a": float(rng.normal()), "b": float(rng.normal())}
        rows.append((x, int(x["a"] > 0) if t < n // 2 else int(x["b"] > 0)))
    return rows


def test_lazy_answers_learn_as_eager_ones_with_immediate_labels():
    lazy, eager = (OnlineLayer(n_classes=2, learner=_small(), lazy=flag) for flag in (True, False))
    base = np.array([[0.7, 0.3]])
    served = {True: [], False: []}
    for x, y in _drifting(1200, seed=4):
        for layer in (lazy, eager):
            out, seen = layer.answer([x], base)
            served[layer.lazy].append(out[0].tolist())
            if layer.lazy and not layer.serving_combined:
                assert seen[0].members is None  # no member was asked
            layer.learn(y, seen=seen[0])
    assert served[True] == served[False]  # the same answers, the same guard, the same members
    assert lazy.figures() == eager.figures() | {"cpu_seconds": lazy.figures()["cpu_seconds"]}
    assert lazy.serving_combined


def test_a_lazy_row_whose_label_comes_late_is_answered_by_the_members_of_then():
    layer = OnlineLayer(n_classes=2, learner=_small())
    base = np.array([[0.5, 0.5]])
    _, first = layer.answer([{"a": 1.0}], base)  # the base serves bare: nothing asked
    layer.remember(["p1"], first)
    for x, y in _drifting(200, seed=5)[:100]:
        _, seen = layer.answer([x], base)
        layer.learn(y, seen=seen[0])
    assert first[0].members is None and not any(k.startswith("_last") for k in first[0].z)
    layer.rebase()  # a promotion in between: the lazy snapshot stays, without the old base output
    layer.learn(1, key="p1")  # the members answer it now (before learning it), with its context of then
    assert layer.n_learned_ == 101 and not layer.pending_
