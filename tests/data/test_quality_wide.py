"""The data checks on wide tables: the leakage screen and the one-pass outlier count find what the
column-by-column code they replace found (the oracles below are that code, kept here as the reference)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from lamarck.data import check_quality, profile
from lamarck.data._quality import _leaky


def _leaky_reference(frame: pd.DataFrame, prof, target: str, task: str, seed: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The leakage check as it was: every column through cross_val_score."""
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    sample = frame.sample(n=min(len(frame), 5000), random_state=seed)
    y = sample[target]
    if len(sample) < 30:
        return []
    if task == "regression":
        y = pd.to_numeric(y, errors="coerce")
        model, scoring, bar = DecisionTreeRegressor(max_depth=8, random_state=seed), "r2", 0.99
    else:
        y = y.astype(str)
        if y.value_counts().min() < 3:
            return []
        model, scoring, bar = (
            DecisionTreeClassifier(max_depth=8, random_state=seed),
            "balanced_accuracy",
            0.99,
        )
    out = []
    for c in prof.columns:
        if c.role != "feature" or c.kind == "text":
            continue
        col = sample[c.name]
        x = pd.to_numeric(col, errors="coerce") if c.kind == "numeric" else col.astype("category").cat.codes
        column = x.fillna(-1e9).to_numpy().reshape(-1, 1)
        try:
            s = cross_val_score(model, column, y, cv=3, scoring=scoring).mean()
        except ValueError:
            continue
        if s >= bar:
            out.append(c.name)
    return out


def _outliers_reference(clean: pd.DataFrame, prof) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """The 3σ count as it was: pandas, column by column."""
    out = []
    for c in prof.columns:
        if c.kind == "numeric" and c.role == "feature":
            x = pd.to_numeric(clean[c.name], errors="coerce")
            sd = x.std()
            if sd and np.isfinite(sd):
                n_out = int(((x - x.mean()).abs() > 3 * sd).sum())
                if n_out:
                    out.append((c.name, n_out))
    return out


def _classification(n: int, seed: int, classes: list[str], p: list[float] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, n, p=p)
    code = pd.Series(y).map({c: i for i, c in enumerate(classes)}).to_numpy()
    x = rng.uniform(0, 3, n)
    frame = pd.DataFrame(
        {
            "honest": rng.normal(size=n) + 0.5 * code,
            "leak_monotone": code + 0.05 * rng.normal(size=n),
            "leak_category": pd.Series(y).map({c: f"cat{i}" for i, c in enumerate(classes)}),
            "nearly": np.where(rng.random(n) < 0.93, code, rng.integers(0, len(classes), n))
            + 0.01 * rng.normal(size=n),
            "leak_missing": np.where(code == 0, np.nan, rng.normal(size=n) + 5),
            "noise_category": rng.choice(list("abcde"), n),
        }
    )
    if len(classes) == 2:  # a step function of x that is not monotone: class by x's half-period
        frame["leak_periodic"] = x
        y = np.where((x % 1) > 0.5, classes[1], classes[0])
        frame["leak_monotone"] = (y == classes[1]) + 0.05 * rng.normal(size=n)
        frame["leak_category"] = np.where(y == classes[1], "p", "q")
        frame["leak_missing"] = np.where(y == classes[0], np.nan, rng.normal(size=n) + 5)
        frame["honest"] = rng.normal(size=n) + 0.5 * (y == classes[1])
    # columns near the tree's bar: the leaky one with a share of its rows' codes swapped
    code = pd.Series(y).map({c: i for i, c in enumerate(sorted(set(y)))}).to_numpy()
    for share in (0.003, 0.01, 0.02, 0.04):
        flip = rng.random(n) < share
        frame[f"border_{share}"] = np.where(flip, rng.integers(0, len(classes), n), code) + 0.01 * rng.normal(
            size=n
        )
    frame["y"] = y
    return frame


def _regression(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3, n)
    frame = pd.DataFrame(
        {
            "leak_smooth": x,
            "honest": x + rng.normal(scale=1.0, size=n),
            "leak_category": rng.choice(["a", "b", "c", "d"], n),
            "noise": rng.normal(size=n),
            "nearly": x + rng.normal(scale=0.15, size=n),
        }
    )
    for sd in (0.3, 0.7, 1.0, 1.5):  # R² of about 0.998, 0.99, 0.98, 0.96 for the tree
        frame[f"border_{sd}"] = np.sin(2 * x) * 10 + rng.normal(scale=sd, size=n)
    frame["y"] = np.sin(2 * x) * 10 + frame["leak_category"].map({"a": 0, "b": 0, "c": 0, "d": 0})
    frame2 = frame.assign(y=frame["leak_category"].map({"a": 1.0, "b": 5.0, "c": -3.0, "d": 9.0}))
    return pd.concat([frame, frame2.add_suffix("_2")], axis=1)


CASES = [
    ("binary", _classification(300, 0, ["no", "yes"])),
    ("binary", _classification(40, 1, ["no", "yes"])),
    ("binary", _classification(2000, 2, ["no", "yes"], p=[0.9, 0.1])),
    ("multiclass", _classification(600, 3, ["a", "b", "c"])),
    ("regression", _regression(400, 4).drop(columns=["y_2"])),
    ("regression", _regression(400, 5).drop(columns=["y"]).rename(columns={"y_2": "y"})),
]


@pytest.mark.parametrize(("task", "frame"), CASES)
def test_the_screen_finds_what_the_tree_on_every_column_finds(task, frame):
    prof = profile(frame, target="y")
    reference = _leaky_reference(frame, prof, "y", task, seed=0)
    assert _leaky(frame, prof, "y", task, seed=0) == reference
    assert _leaky(frame, prof, "y", task, seed=0, screen=False) == reference
    assert any(name.startswith("leak") for name in reference), reference


@pytest.mark.parametrize("seed", range(4))
def test_outliers_are_counted_as_column_by_column(seed):
    rng = np.random.default_rng(seed)
    n = 500
    frame = pd.DataFrame(rng.standard_t(df=3, size=(n, 30)), columns=[f"x{i}" for i in range(30)])
    frame.iloc[rng.integers(0, n, 40), rng.integers(0, 30, 40)] = np.nan
    frame["ints"] = rng.integers(0, 5, n)
    frame["one_value"] = 1.0
    frame["text_numbers"] = rng.normal(size=n).round(3).astype(str)
    frame.loc[::50, "text_numbers"] = "n/a"
    frame.loc[3, "ints"] = 1000
    frame["y"] = rng.choice(["a", "b"], n)
    prof = profile(frame, target="y")
    report = check_quality(frame, target="y", task="binary", profile=prof)
    found = [(f.column, f.figures["count"]) for f in report.findings if f.rule == "outliers_3sigma"]
    assert found == _outliers_reference(report.clean, prof)
    assert ("ints", 1) in found


def test_the_screen_scores_a_wide_table_in_well_under_a_second():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 2000)), columns=[f"x{i}" for i in range(2000)])
    frame["y"] = np.where(frame["x0"] + frame["x1"] > 0, "yes", "no")
    prof = profile(frame, target="y")
    t0 = time.perf_counter()
    assert _leaky(frame, prof, "y", "binary", seed=0) == []
    assert time.perf_counter() - t0 < 2.0  # every column through the tree took about 60 s
