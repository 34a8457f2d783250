"""The scorecard's noisy copy of a table: drawing a run of number columns at once gives exactly what
drawing column by column gave (the oracle below is that code)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lamarck.evaluate._scorecard import _noisy


def _noisy_reference(X: pd.DataFrame, noise: float, rng: np.random.Generator) -> pd.DataFrame:
    Xn = X.copy()
    for c in X.columns:
        col = X[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            sd = float(np.nanstd(col.to_numpy(dtype=float)))
            Xn[c] = col.to_numpy(dtype=float) + rng.normal(scale=noise * sd if sd > 0 else 0.0, size=len(col))
        else:
            values = col.dropna().unique()
            if len(values) > 1:
                swap = rng.random(len(col)) < noise
                new = col.astype(object).to_numpy().copy()
                new[swap] = rng.choice(values, size=int(swap.sum()))
                Xn[c] = (
                    pd.Series(new, index=col.index).astype(col.dtype)
                    if isinstance(col.dtype, pd.CategoricalDtype)
                    else new
                )
    return Xn


def test_runs_of_number_columns_draw_what_column_by_column_drew():
    rng = np.random.default_rng(0)
    n = 60
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 9, n),
            "const": 2.0,
            "cat": pd.Categorical(rng.choice(["u", "v", "w"], n)),
            "c": rng.normal(size=n),
            "flag": rng.random(n) > 0.5,
            "text": rng.choice(["p", "q"], n).astype(object),
            "strings": rng.choice(["r", "s", "t"], n),
            "nullable": pd.array(rng.integers(0, 5, n), dtype="Int64"),
            "d": np.where(rng.random(n) > 0.8, np.nan, rng.normal(size=n)),
            "e": rng.normal(size=n).astype(np.float32),
        },
        index=pd.RangeIndex(100, 100 + n),
    )
    got = _noisy(X, 0.1, np.random.default_rng(7))
    want = _noisy_reference(X, 0.1, np.random.default_rng(7))
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert _noisy(X.iloc[:, :0], 0.1, np.random.default_rng(7)).shape == (n, 0)
    wide = pd.DataFrame(rng.normal(size=(40, 500)), columns=[f"x{i}" for i in range(500)])
    pd.testing.assert_frame_equal(
        _noisy(wide, 0.1, np.random.default_rng(1)),
        _noisy_reference(wide, 0.1, np.random.default_rng(1)),
        check_exact=True,
    )
