"""Safe column names: every learner of the zoo accepts them, whatever the user's names were."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from lamarck.data import FeatureProcessor
from lamarck.data._names import MAX_NAME_LENGTH, safe_names

HOSTILE = [
    'a "quoted"',
    "b{json:[1]}",
    "c,comma",
    "d:colon",
    "température",
    "a_quoted",  # what 'a "quoted"' sanitises to: taken, so that one gets a suffix
    "a:quoted",
    "score",
    "prediction",
    "x<y>",
    "名前",
    "",
    "  ",
    "x" * 5000,
    "tab\tnew\nline",
]


def test_safe_names_are_safe_unique_and_keep_safe_names():
    out = safe_names(HOSTILE)
    assert len(out) == len(HOSTILE)
    assert len(set(out)) == len(out)
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", n) and len(n) <= MAX_NAME_LENGTH for n in out), out
    assert out[HOSTILE.index("a_quoted")] == "a_quoted"
    assert out[HOSTILE.index("score")] == "score"
    assert out[HOSTILE.index("prediction")] == "prediction"
    assert out[HOSTILE.index("température")] == "temperature"
    assert safe_names(HOSTILE) == out  # deterministic


def test_duplicates_and_non_strings_get_unique_names():
    assert safe_names(["x", "x", "x_2"]) == ["x", "x_3", "x_2"]
    assert safe_names([0, "0", 1.5]) == ["0_2", "0", "1_5"]


def test_processor_outputs_safe_names_and_maps_them_back():
    rng = np.random.default_rng(0)
    n = 30
    frame = pd.DataFrame(
        {
            'a "quoted"': rng.normal(size=n),
            "b{json:[1]}": rng.choice(["u", "v"], n),
            "when:utc": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
            "a_quoted": rng.normal(size=n),
        }
    )
    fp = FeatureProcessor(
        kinds={
            'a "quoted"': "numeric",
            "b{json:[1]}": "categorical",
            "when:utc": "datetime",
            "a_quoted": "numeric",
        }
    ).fit(frame)
    out = fp.transform(frame)
    assert list(out.columns) == fp.feature_names_out_
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", c) for c in out.columns), list(out.columns)
    assert set(fp.origins_) == set(out.columns)
    assert set(fp.origins_.values()) == set(frame.columns)
    assert fp.origins_["a_quoted"] == "a_quoted"
    assert fp.origins_["a_quoted_2"] == 'a "quoted"'
    assert out["a_quoted_2"].tolist() == frame['a "quoted"'].tolist()


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost", "random_forest", "linear", "knn"])
def test_every_learner_takes_the_processed_frame_of_hostile_names(name):
    from lamarck.search import LEARNERS, FitContext

    rng = np.random.default_rng(1)
    n = 120
    frame = pd.DataFrame({c: rng.normal(size=n) for c in HOSTILE[:-3]})
    frame["cat,{x}"] = rng.choice(["u", "v", "w"], n)
    y = (frame.iloc[:, 0] > 0).astype(int).to_numpy()
    X = FeatureProcessor().fit(frame).transform(frame)
    learner = LEARNERS[name]
    params = {**learner.portfolio("binary")[0]}
    model = learner.fit(params, X, y, FitContext(task="binary", n_classes=2, n_jobs=1))
    assert model.predict_proba(X).shape == (n, 2)
