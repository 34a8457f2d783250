"""Retention by distillation: old rows where the traffic has left teach the champion's answers (soft labels)
instead of, or beside, their own labels; the rows where the traffic is now keep their labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lamarck.errors import ConfigError
from lamarck.evolve import EvolutionPolicy
from lamarck.evolve._fakes import FakeModel
from lamarck.evolve._labels import Rows
from lamarck.evolve._split import distill, split


def test_soft_labels_are_one_weighted_copy_per_likely_class():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    rows = Rows(X, np.array([2, 0, 1]), np.array([1.0, 2.0, 1.0]))
    answers = np.array([[0.2, 0.795, 0.005], [0.9, 0.05, 0.05], [0.0, 1.0, 0.0]])
    out = distill(rows, answers, np.array([True, False, True]), classes=3, keep_labels=False)
    by_row = pd.DataFrame({"a": out.X["a"], "y": out.y, "w": out.w}).groupby("a")
    first = by_row.get_group(1.0).set_index("y")["w"]
    assert sorted(first.index) == [0, 1]  # the class under 1 % is dropped, the rest renormalised
    assert first.sum() == pytest.approx(1.0) and first[1] == pytest.approx(0.795 / 0.995)
    assert by_row.get_group(2.0)[["y", "w"]].values.tolist() == [[0, 2.0]]  # not masked: its label
    assert by_row.get_group(3.0)[["y", "w"]].values.tolist() == [[1, 1.0]]
    both = distill(rows, answers, np.array([True, False, True]), classes=3, keep_labels=True)
    assert both.w.sum() == pytest.approx(rows.w.sum())  # half on the label, half on the answers
    assert ((both.X["a"] == 1.0) & (both.y == 2)).sum() == 1


def test_regression_learns_the_champion_s_value():
    rows = Rows(pd.DataFrame({"a": [1.0, 2.0]}), np.array([10.0, 20.0]), np.ones(2))
    out = distill(rows, np.array([12.0, 30.0]), np.array([True, False]), classes=None, keep_labels=False)
    assert out.y.tolist() == [12.0, 20.0]
    half = distill(rows, np.array([12.0, 30.0]), np.array([True, False]), classes=None, keep_labels=True)
    assert half.y.tolist() == [11.0, 20.0]


def test_split_distils_only_where_the_traffic_has_left():
    rng = np.random.default_rng(0)
    champion = FakeModel(lambda X: X["x"] > 0)
    old = pd.DataFrame({"x": rng.normal(-3, 0.5, 400)})  # an old region, far from today's traffic
    old_rows = old.assign(label=np.where(old["x"] > -3, "yes", "no"))
    new_x = pd.DataFrame({"x": rng.normal(3, 0.5, 600)})
    new = Rows(new_x, (new_x["x"] > 3).astype(int).to_numpy(), np.ones(600))
    replay = split(EvolutionPolicy(seed=0), champion, new, old_rows, None, n_test=200)
    soft = split(EvolutionPolicy(seed=0, retention="distill"), champion, new, old_rows, None, n_test=200)
    old_part = soft.train.X["x"] < 0
    # the champion says "no" at 0.9 on the old region: each old row there becomes two weighted copies (a
    # stray old row that today's traffic covers keeps its label)
    n_old = (replay.train.X["x"] < 0).sum()
    assert 1.95 * n_old <= old_part.sum() <= 2 * n_old
    assert soft.train.w[old_part.to_numpy()].sum() == pytest.approx(
        replay.train.w[(replay.train.X["x"] < 0).to_numpy()].sum()
    )
    new_part = ~old_part.to_numpy()
    assert soft.train.y[new_part].tolist() == replay.train.y[(replay.train.X["x"] >= 0).to_numpy()].tolist()
    with pytest.raises(ConfigError, match="retention"):
        EvolutionPolicy(retention="forget")


def test_the_density_ratio_fits_with_one_openmp_thread(monkeypatch):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_info

    from lamarck.evolve._drift import coverage

    threads = []
    real = HistGradientBoostingClassifier.fit

    def fit(self, *a, **k):
        threads.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp")
        return real(self, *a, **k)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", fit)
    rng = np.random.default_rng(0)
    old = pd.DataFrame({"a": rng.normal(size=400), "b": rng.choice(["x", "y"], 400)})
    new = pd.DataFrame({"a": rng.normal(1.0, size=300), "b": rng.choice(["x", "y"], 300)})
    ratio = coverage(old, new, max_rows=300)
    assert ratio.shape == (400,) and np.all(ratio > 0)
    assert threads and set(threads) == {1}
