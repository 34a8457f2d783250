"""The MLP's warm start (issue 19): it starts from the previous weights, leaves the previous model as it
was, obeys the deadline and the sample weights, and its retention terms (EWC, distillation) keep what the
previous network knew; ``widen`` grows the hidden layers keeping the function."""

from __future__ import annotations

import dataclasses
import pickle
import time

import numpy as np
import pandas as pd
import pytest

from lamarck.errors import ConfigError
from lamarck.search import LEARNERS, FitContext, _neural, warm_start_learner

pytestmark = pytest.mark.skipif(
    not _neural.available(), reason="PyTorch is not installed (make neural installs it)"
)

PARAMS = {"width": 16, "depth": 2, "dropout": 0.0, "lr": 1e-2, "weight_decay": 1e-4, "batch_size": 64}
CTX = FitContext(task="binary", n_classes=2, seed=0, n_jobs=1)


def _rows(n: int, seed: int, region: float) -> pd.DataFrame:
    """Rows whose column ``r`` places them in a region (negative: the old one, positive: the new one)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "r"])
    frame["r"] = region + 0.3 * rng.normal(size=n)
    return frame


def _old_rule(X: pd.DataFrame) -> np.ndarray:
    return (X["a"] + X["b"] > 0).to_numpy(dtype=int)


def _new_rule(X: pd.DataFrame) -> np.ndarray:
    return (X["a"] - X["b"] > 0).to_numpy(dtype=int)


@pytest.fixture(scope="module")
def previous():  # type: ignore[no-untyped-def]
    """An MLP fitted on the old region's rule (both regions' ``r`` in its preprocessing's range)."""
    X = pd.concat([_rows(400, 0, -1.0), _rows(30, 1, 1.0)], ignore_index=True)
    return LEARNERS["mlp"].fit({**PARAMS}, X, _old_rule(X), CTX)


def _learner(**options):  # type: ignore[no-untyped-def]
    return _neural.MLPLearner(fine_tuning=_neural.FineTuning(**options))


def _net(model):  # type: ignore[no-untyped-def]
    return model.pipeline[-1]


def test_zero_epochs_or_a_past_deadline_give_the_previous_answers(previous):  # type: ignore[no-untyped-def]
    X = _rows(300, 2, 1.0)
    want = previous.predict_proba(X)
    same = _learner(max_epochs=0).warm_start(previous, X, _new_rule(X), CTX)
    np.testing.assert_allclose(same.predict_proba(X), want, atol=1e-6)
    past = dataclasses.replace(CTX, deadline=time.monotonic() - 1.0)
    t0 = time.monotonic()
    late = _learner(retention="ewc+distill").warm_start(previous, X, _new_rule(X), past)
    assert time.monotonic() - t0 < 1.0 and _net(late).fine_tune_epochs_ == 0
    np.testing.assert_allclose(late.predict_proba(X), want, atol=1e-6)
    # one small step moves the answers only a little: it starts from the previous weights
    near = _learner(retention="none", max_epochs=1, lr_scale=1e-3).warm_start(previous, X, _new_rule(X), CTX)
    assert np.abs(near.predict_proba(X) - want).max() < 0.02


def test_it_learns_the_new_rows_and_leaves_the_previous_model_as_it_was(previous):  # type: ignore[no-untyped-def]
    X = _rows(600, 3, 1.0)
    before = previous.predict_proba(X)
    weights = {k: v.clone() for k, v in _net(previous).net_.state_dict().items()}
    tuned = warm_start_learner(_learner(retention="none"), previous, X, _new_rule(X), CTX)
    assert np.mean(tuned.predict(X) == _new_rule(X)) > np.mean(previous.predict(X) == _new_rule(X)) + 0.2
    np.testing.assert_array_equal(previous.predict_proba(X), before)
    for k, v in _net(previous).net_.state_dict().items():
        assert bool((v == weights[k]).all()), k
    # the preprocessing is the previous one, as fitted (not refitted on the new rows)
    assert tuned.pipeline[:-1] is not previous.pipeline[:-1]
    np.testing.assert_array_equal(tuned.pipeline[:-1].transform(X), previous.pipeline[:-1].transform(X))
    again = pickle.loads(pickle.dumps(tuned))
    np.testing.assert_array_equal(again.predict_proba(X), tuned.predict_proba(X))


def test_it_honours_sample_weights(previous):  # type: ignore[no-untyped-def]
    X = _rows(600, 4, 1.0)
    y = _new_rule(X)
    wrong = np.arange(len(X)) % 2 == 0
    noisy = np.where(wrong, 1 - y, y)  # half the labels flipped
    learner = _learner(retention="none")
    ignored = learner.warm_start(previous, X, noisy, CTX, sample_weight=np.where(wrong, 0.0, 1.0))
    counted = learner.warm_start(previous, X, noisy, CTX, sample_weight=np.ones(len(X)))
    assert np.mean(ignored.predict(X) == y) > np.mean(counted.predict(X) == y) + 0.1


def test_ewc_keeps_the_weights_closer_to_the_previous_ones(previous):  # type: ignore[no-untyped-def]
    """Closer in the metric EWC defines: the squared distance to θ* weighted by the previous network's
    Fisher information (Adam moves the weights the old rule does not need as far as ever)."""
    torch = pytest.importorskip("torch")
    X = _rows(600, 5, 1.0)
    est = _net(previous)
    star = {k: v.detach() for k, v in est.net_.named_parameters()}
    inputs = torch.from_numpy(np.asarray(previous.pipeline[:-1].transform(X), dtype=np.float32))
    fisher = _neural._fisher_diagonal(est.net_, inputs, task="binary", n_classes=2)

    def moved(model) -> float:  # type: ignore[no-untyped-def]
        params = _net(model).net_.named_parameters()
        return sum(float((fisher[k] * (p.detach() - star[k]) ** 2).sum()) for k, p in params)

    # in the previous network's weights (no growth: a widened network has other weights)
    plain = _learner(retention="none", grow=False).warm_start(previous, X, _new_rule(X), CTX)
    ewc = _learner(retention="ewc", ewc_strength=100.0, grow=False).warm_start(previous, X, _new_rule(X), CTX)
    assert _net(ewc).ewc_lambda_ > 0
    assert moved(ewc) < 0.5 * moved(plain)


@pytest.mark.parametrize("anchor", ["rows", "pseudo"])
def test_distillation_keeps_the_old_regions_answers(previous, anchor):  # type: ignore[no-untyped-def]
    new, old = _rows(600, 6, 1.0), _rows(400, 7, -1.0)
    want = previous.predict_proba(old)[:, 1]
    plain = _learner(retention="none").warm_start(previous, new, _new_rule(new), CTX)
    kept = _learner(retention="distill", distill_weight=1.0, anchor=anchor).warm_start(
        previous, new, _new_rule(new), CTX
    )
    drift_plain = np.abs(plain.predict_proba(old)[:, 1] - want).mean()
    drift_kept = np.abs(kept.predict_proba(old)[:, 1] - want).mean()
    assert drift_kept < 0.7 * drift_plain


def test_the_fisher_diagonal_is_the_expected_squared_score():
    torch = pytest.importorskip("torch")
    est = _neural.TorchMLP(task="binary", n_classes=2, width=4, depth=1, seed=0)
    torch.manual_seed(0)
    net = est._network(3).eval()
    X = torch.randn(7, 3)
    got = _neural._fisher_diagonal(net, X, task="binary", n_classes=2)
    want = {k: torch.zeros_like(v) for k, v in net.named_parameters()}
    for x in X:  # the oracle: E_{y ~ p}[(d log p(y|x) / dθ)²], one row and one label at a time
        p = float(torch.sigmoid(net(x[None])[0, 0]).detach())
        for label, prob in ((1.0, p), (0.0, 1 - p)):
            net.zero_grad()
            z = net(x[None])[0, 0]
            log_p = torch.nn.functional.logsigmoid(z if label else -z)
            log_p.backward()
            for k, v in net.named_parameters():
                want[k] += prob * v.grad**2 / len(X)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-4, atol=1e-7)


def test_widen_keeps_the_function_and_pickles(previous):  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    est = _net(previous)
    x = torch.randn(50, est.n_in_)
    wide = _neural.widen(est.net_, 48)
    assert [m.out_features for m in wide if isinstance(m, torch.nn.Linear)] == [48, 48, 1]
    with torch.no_grad():
        torch.testing.assert_close(wide(x), est.net_(x), rtol=0, atol=1e-5)
    grown = est.widened(32)
    again = pickle.loads(pickle.dumps(grown))
    np.testing.assert_allclose(again.predict_proba(x.numpy()), est.predict_proba(x.numpy()), atol=1e-5)
    with pytest.raises(ConfigError, match="multiple of the width 16"):
        _neural.widen(est.net_, 20)


def test_fine_tuning_options_are_checked():
    with pytest.raises(ConfigError, match="retention='l2'"):
        _neural.FineTuning(retention="l2")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="temperature > 0"):
        _neural.FineTuning(temperature=0.0)
    assert LEARNERS["mlp"].fine_tuning == _neural.FineTuning()  # type: ignore[attr-defined]


def _ring(X: pd.DataFrame) -> np.ndarray:
    return (X["a"] ** 2 + X["b"] ** 2 < 1.4).to_numpy(dtype=int)


def test_a_network_too_small_for_the_new_rows_grows_and_one_large_enough_does_not():  # type: ignore[no-untyped-def]
    """The capacity gate: two hidden units cannot draw a ring; the copy widened to four (the same function
    to start with) fits the new rows' held-out tenth better and replaces it, and learns the ring better
    than the network kept at its size. Capped by ``max_width``, it stays as it was."""
    X = pd.concat([_rows(400, 0, -1.0), _rows(30, 1, 1.0)], ignore_index=True)
    small = {**PARAMS, "width": 2, "depth": 1, "lr": 3e-2}
    old = LEARNERS["mlp"].fit(small, X, _old_rule(X), CTX)
    new = _rows(1500, 6, 1.0)
    grown = _learner(retention="none", max_epochs=60, lr_scale=2.0).warm_start(old, new, _ring(new), CTX)
    kept = _learner(retention="none", max_epochs=60, lr_scale=2.0, grow=False).warm_start(
        old, new, _ring(new), CTX
    )
    capped = _learner(retention="none", max_epochs=60, lr_scale=2.0, max_width=3).warm_start(
        old, new, _ring(new), CTX
    )
    assert _net(grown).width == 4 and _net(grown).grew_from_ == 2
    assert _net(kept).width == 2 and _net(kept).grew_from_ is None
    assert _net(capped).width == 2
    test = _rows(1000, 7, 1.0)
    assert np.mean(grown.predict(test) == _ring(test)) > np.mean(kept.predict(test) == _ring(test)) + 0.03
