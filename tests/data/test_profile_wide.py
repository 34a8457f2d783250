"""Profiling number columns together gives what profiling them one by one gave (the oracle below is
that code) and stays fast on a table of thousands of columns."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from lamarck.data import profile


def _column_by_column(frame: pd.DataFrame) -> list[tuple[str, int, float, list[str]]]:
    out = []
    for name in frame.columns:
        col = frame[name]
        n_unique = int(col.nunique(dropna=True))
        missing = float(col.isna().mean()) if len(frame) else 0.0
        examples = [str(v)[:40] for v in col.dropna().unique()[:3]]
        out.append((str(name), n_unique, missing, examples))
    return out


@pytest.mark.parametrize("n", [0, 1, 25, 400])
def test_number_columns_profile_as_column_by_column(n):
    rng = np.random.default_rng(n)
    frame = pd.DataFrame(
        {
            "f": rng.normal(size=n),
            "f_missing": np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 4, n).astype(float)),
            "all_missing": np.full(n, np.nan),
            "ints": rng.integers(0, 3, n),
            "id": np.arange(n),
            "f32": rng.normal(size=n).astype(np.float32),
            "zeros": np.where(rng.random(n) < 0.5, 0.0, -0.0),
            "same": np.ones(n),
            "late": np.r_[np.zeros(max(n - 1, 0)), np.ones(min(n, 1)) * 7.0],
            "text": rng.choice(["a", "b"], n),
            "flag": rng.random(n) < 0.5,
        }
    )
    got = [(c.name, c.n_unique, c.missing_rate, c.examples) for c in profile(frame).columns]
    assert got == _column_by_column(frame)


def test_a_wide_table_profiles_in_well_under_a_second():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 2000)), columns=[f"x{i}" for i in range(2000)])
    t0 = time.perf_counter()
    prof = profile(frame)
    assert time.perf_counter() - t0 < 1.0
    assert {c.kind for c in prof.columns} == {"numeric"}


def _text_kind_one_by_one(sample: pd.Series) -> str:
    """The kind of a column of text as profiling found it column by column (the code before the block path)."""
    import warnings

    values = sample.dropna().astype(str)
    if len(values) == 0:
        return "categorical"
    if values.str.len().mean() >= 6 and values.str.contains(r"\d").mean() > 0.9:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(values, errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.9:
            return "datetime"
    n_unique = values.nunique()
    if values.str.len().mean() > 30 and values.str.count(" ").mean() >= 4 and n_unique > 0.5 * len(values):
        return "text"
    return "categorical"


def text_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["kato", "lumi", "nesa", "pori", "suva", "tade", "rike", "vola"])
    sentence = [" ".join(rng.choice(words, rng.integers(5, 12))) for _ in range(n)]
    frame = pd.DataFrame(
        {
            "text": sentence,
            "text_missing": [s if rng.random() < 0.7 else None for s in sentence],
            "short": rng.choice(["a", "b", "c d"], n),
            "dates": pd.date_range("2021-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
            "not_dates": [f"{w}{i}x" for i, w in enumerate(rng.choice(words, n))],
            "mixed": np.array([1, "1", 2.5, None, "z"] * (n // 5) + [None] * (n % 5), dtype=object),
            "all_missing": np.array([None] * n, dtype=object),
            "ids": [f"u{i:05d}" for i in range(n)],
            "long_ids": [f"user-{i:05d}-" + "x" * 40 for i in range(n)],
            "number": rng.normal(size=n),
        }
    )
    frame["as_string"] = frame["text"].astype("string")
    return frame


@pytest.mark.parametrize("n", [0, 1, 25, 400])
def test_text_columns_profile_as_column_by_column(n):
    """Columns of text profiled all at once give what profiling them one by one gave."""
    frame = text_frame(n)
    got = [(c.name, c.n_unique, c.missing_rate, c.examples, c.kind, c.role) for c in profile(frame).columns]
    expected = []
    for name, n_unique, missing, examples in _column_by_column(frame):
        col = frame[name]
        kind = "numeric" if pd.api.types.is_numeric_dtype(col) else _text_kind_one_by_one(col)
        expected.append((name, n_unique, missing, examples, kind))
    assert [g[:5] for g in got] == expected
    roles = {g[0]: g[5] for g in got}
    if n == 400:
        assert roles["ids"] == "id" and roles["long_ids"] == "feature"  # identifiers are short
        assert {name: kind for name, *_, kind in expected}["dates"] == "datetime"


def wide_text(n_rows: int = 300, n_columns: int = 2000, seed: int = 0) -> pd.DataFrame:
    """``n_columns`` columns of sentences of 6-14 made-up words."""
    rng = np.random.default_rng(seed)
    words = np.array(
        [a + b + c for a in ("ka", "lo", "mi", "ne") for b in ("su", "ta", "ri") for c in ("po", "ve")]
    )
    picked = words[rng.integers(0, len(words), size=(n_rows * n_columns, 14))]
    lengths = rng.integers(6, 15, size=n_rows * n_columns)
    sentences = [" ".join(row[:k]) for row, k in zip(picked, lengths, strict=True)]
    values = np.array(sentences, dtype=object).reshape(n_rows, n_columns)
    return pd.DataFrame(values, columns=[f"t{j}" for j in range(n_columns)])


def test_a_wide_table_of_text_profiles_in_seconds():
    frame = wide_text()
    t0 = time.perf_counter()
    prof = profile(frame)
    assert time.perf_counter() - t0 < 5.0  # 2,000 columns one by one took about 7 s
    assert {c.kind for c in prof.columns} == {"text"}
