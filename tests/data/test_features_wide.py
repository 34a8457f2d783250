"""Feature processing on wide tables: category levels, category codes and the leakage check's codes come
from one pass over all the values and give what the column-by-column pandas code gave (the oracles
below are that code); text columns beyond ``max_text_columns`` enter as their length and are noted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lamarck.data import FeatureProcessor
from lamarck.data._features import _value_counts
from lamarck.data._quality import _category_codes


def mixed_labels(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    levels = np.array(["a", "b", "c", "d", "e", "f", "__other__"], dtype=object)
    frame = pd.DataFrame(
        {
            "ties": rng.choice(levels[:6], n),  # counts often equal: the order of ties must not change
            "missing": np.where(rng.random(n) < 0.3, None, rng.choice(levels[:3], n)),
            "as_str": pd.Series(rng.choice(levels[:4], n), dtype="str"),
            "numbers": np.array(rng.choice([1, 2, 2.5], n), dtype=object),
            "mixed": np.array(rng.choice(np.array([1, "1", "x"], dtype=object), n), dtype=object),
            "flag": rng.random(n) < 0.5,
            "category": pd.Categorical(rng.choice(["u", "v", None], n)),
            "many": [f"level{i % 37}" for i in range(n)],
        }
    )
    return frame


@pytest.mark.parametrize("n", [1, 30, 500])
def test_levels_are_value_counts(n):
    frame = mixed_labels(n, seed=n)
    for c in frame.columns:
        expected = frame[c].dropna().astype(str).value_counts()
        got = _value_counts(frame[c])
        assert got.index.tolist() == expected.index.tolist(), c
        assert got.tolist() == expected.tolist(), c


@pytest.mark.parametrize("n", [1, 30, 500])
def test_category_columns_transform_as_column_by_column(n):
    """Codes from the matrix of objects are the codes the per-column lookup gave (unseen → __other__ or
    missing, missing → missing)."""
    train = mixed_labels(n, seed=n)
    kinds = {c: ("boolean" if c == "flag" else "categorical") for c in train.columns}
    fp = FeatureProcessor(kinds=kinds, max_categories=4).fit(train)
    new = mixed_labels(max(n, 3), seed=n + 1)
    new.loc[new.index[0], "ties"] = "never seen"
    out = fp.transform(new)
    for c in train.columns:
        cats = fp.categories_[c]
        lookup = {v: i for i, v in enumerate(cats)}
        unseen = lookup.get("__other__", -1)
        codes = [lookup.get(str(v), unseen) if pd.notna(v) else -1 for v in new[c].to_numpy(dtype=object)]
        assert out[c].cat.codes.tolist() == codes, c


@pytest.mark.parametrize("n", [0, 1, 30, 500])
def test_leakage_codes_are_category_codes(n):
    frame = mixed_labels(n, seed=n)
    for c in frame.columns:
        expected = frame[c].astype("category").cat.codes.to_numpy(dtype=np.float64)
        got = _category_codes(frame[c].to_numpy(dtype=object), frame[c])
        assert got.tolist() == expected.tolist(), c


def test_text_beyond_the_limit_enters_as_its_length():
    rng = np.random.default_rng(0)
    words = np.array(["kato", "lumi", "nesa", "pori", "suva", "tade"])
    frame = pd.DataFrame({f"t{j}": [" ".join(rng.choice(words, 8)) for _ in range(40)] for j in range(5)})
    frame.loc[3, "t4"] = None
    fp = FeatureProcessor(kinds={c: "text" for c in frame.columns}, max_text_columns=2, text_components=3)
    out = fp.fit_transform(frame)
    assert [n for n in out.columns if n.startswith(("t0", "t1"))] == [
        f"t{j}__svd{k}" for j in (0, 1) for k in range(3)
    ]
    assert [n for n in out.columns if n.startswith(("t2", "t3", "t4"))] == [
        "t2__chars",
        "t3__chars",
        "t4__chars",
    ]
    assert out["t2__chars"].tolist() == frame["t2"].str.len().tolist()
    assert np.isnan(out["t4__chars"].iloc[3])
    assert fp.origins_["t3__chars"] == "t3"
    assert fp.notes_ == [
        "5 text columns: TF-IDF + SVD on the first 2 ('t0' … 't1'); the other 3 enter as their length in "
        "characters only (max_text_columns)"
    ]
    # a row missing a column still gets its features (missing)
    assert np.isnan(fp.transform(frame.drop(columns=["t3"]))["t3__chars"]).all()
