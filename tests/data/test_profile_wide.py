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
