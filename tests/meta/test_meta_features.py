"""Meta-features of small frames: the figures, and a bound on the time whatever the table."""

import math
import time

import numpy as np
import pandas as pd

from lamarck.meta import DISTANCE_FEATURES, MetaFeatures, describe_task


def test_classification_figures():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": rng.choice(["u", "v", "w"], 300),
            "t": ["some longer free text"] * 300,
        }
    )
    X.loc[X.index[:30], "a"] = np.nan
    y = np.r_[np.zeros(240, int), np.ones(60, int)]
    m = describe_task(X, y, task="binary", kinds={"a": "numeric", "b": "categorical", "t": "text"})
    assert (m.n_rows, m.n_columns, m.n_numeric, m.n_categorical, m.n_text, m.n_other) == (300, 3, 1, 1, 1, 0)
    assert m.missing_share == 30 / 900
    assert m.n_classes == 2 and m.class_min_share == 0.2
    assert 0.7 < m.class_entropy < 0.73  # -(0.8 ln 0.8 + 0.2 ln 0.2) / ln 2
    assert m.target_skew == 0.0 and m.target_is_count == 0.0
    assert 0 <= m.landmark_linear <= 1 and 0 <= m.landmark_stump <= 1


def test_regression_shape_of_a_count_target():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=500)})
    y = rng.poisson(np.exp(0.8 * X["x"].to_numpy()))
    m = describe_task(X, y, task="regression")
    assert m.n_classes == 0 and m.n_numeric == 1
    assert m.target_is_count == 1.0
    assert math.isclose(m.target_zero_share, float((y == 0).mean()))
    assert m.target_skew > 0.5
    assert m.landmark_linear > 0.2  # x explains part of the counts
    assert -1 <= m.landmark_stump <= 1


def test_landmarkers_are_nan_when_there_is_too_little_to_split():
    X = pd.DataFrame({"x": range(10)})
    m = describe_task(X, np.r_[np.zeros(5, int), np.ones(5, int)], task="binary")
    assert math.isnan(m.landmark_linear) and math.isnan(m.landmark_stump)
    assert np.isnan(m.vector()).sum() == 2  # a distance treats them as the mean


def test_round_trip_through_a_dict_and_the_distance_vector():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=100)})
    m = describe_task(X, (X["a"] > 0).astype(int).to_numpy(), task="binary")
    assert MetaFeatures.from_dict(m.to_dict()) == m
    v = m.vector()
    assert v.shape == (len(DISTANCE_FEATURES),)
    assert v[DISTANCE_FEATURES.index("n_rows")] == np.log1p(100)


def test_bounded_time_on_a_large_wide_table():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(200_000, 120)), columns=[f"c{i}" for i in range(120)])
    X["cat"] = rng.choice(list("abcdefgh"), len(X))
    y = rng.integers(0, 3, len(X))
    t0 = time.perf_counter()
    m = describe_task(X, y, task="multiclass")
    assert time.perf_counter() - t0 < 1.5  # well under a second unloaded; this machine may be busy
    assert m.n_columns == 121 and m.n_classes == 3
