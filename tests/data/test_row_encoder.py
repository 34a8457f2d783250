"""RowEncoder: a row of JSON values encodes as FeatureProcessor.transform encodes a frame of that row."""

import math

import numpy as np
import pandas as pd
import pytest

from lamarck.data import FeatureProcessor, RowEncoder


def _train(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "count": rng.integers(0, 9, size=n),
            "city": rng.choice(["paris", "lima", "oslo", "1", "2.5"], size=n).astype(object),
            "flag": rng.choice([True, False], size=n),
            "code": rng.choice([1, 2, 3], size=n),  # numbers, but planned as a category
            "note": rng.choice(["short", "a longer note", "x" * 40], size=n).astype(object),
        }
    )
    frame.loc[::7, "num"] = np.nan
    frame.loc[::11, "city"] = None
    return frame


def _processor() -> FeatureProcessor:
    kinds = {"num": "numeric", "count": "numeric", "city": "categorical", "flag": "boolean", "code": "categorical",
             "note": "text"}  # fmt: skip
    # no TF-IDF columns (max_text_columns=0): the note enters as its length, which the encoder handles
    return FeatureProcessor(kinds=kinds, max_categories=4, max_text_columns=0).fit(_train())


ROWS = [
    {"num": 1.5, "count": 3, "city": "paris", "flag": True, "code": 2, "note": "hello"},
    {"num": None, "count": None, "city": None, "flag": None, "code": None, "note": None},
    {"num": float("nan"), "count": "7", "city": "unseen", "flag": False, "code": 2.0, "note": 12345},
    {"num": "2.5e3", "count": "seven", "city": 1, "flag": "True", "code": "3", "note": ""},
    {"num": True, "count": 2**70, "city": 2.5, "flag": 1, "code": [1, 2], "note": ["a", "b"]},
    {"city": "lima"},  # absent keys: missing
]


def _expected(processor: FeatureProcessor, row: dict) -> np.ndarray:
    frame = pd.DataFrame.from_records([row])
    features = processor.transform(frame)
    out = np.empty(features.shape)
    for j, c in enumerate(features.columns):
        col = features[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            out[:, j] = codes
        else:
            out[:, j] = col.to_numpy(dtype=np.float64)
    return out[0]


@pytest.mark.parametrize("i", range(len(ROWS)))
def test_each_row_encodes_as_a_frame_of_that_row(i: int) -> None:
    processor = _processor()
    encoder = RowEncoder.of(processor)
    assert encoder is not None and encoder.names == list(processor.feature_names_out_)
    got = encoder.encode([ROWS[i]])[0]
    np.testing.assert_array_equal(got, _expected(processor, ROWS[i]))


def test_many_rows_at_once_are_the_rows_one_by_one() -> None:
    encoder = RowEncoder.of(_processor())
    assert encoder is not None
    together = encoder.encode(ROWS)
    apart = np.vstack([encoder.encode([r]) for r in ROWS])
    np.testing.assert_array_equal(together, apart)
    assert together.shape == (len(ROWS), 6) and math.isnan(together[1, 0])


def test_other_level_and_category_codes() -> None:
    processor = _processor()
    encoder = RowEncoder.of(processor)
    assert encoder is not None
    city = encoder.names.index("city")
    levels = processor.categories_["city"]
    assert "__other__" in levels  # 5 levels, max_categories=4
    row = encoder.encode([{"city": "never-seen"}])[0]
    assert row[city] == levels.index("__other__")


def test_processors_the_encoder_cannot_read_take_the_frame_path() -> None:
    frame = _train()
    frame["when"] = pd.date_range("2024-01-01", periods=len(frame), freq="D").astype(str)
    dated = FeatureProcessor(kinds={"when": "datetime", "num": "numeric"}, columns=["when", "num"]).fit(frame)
    assert RowEncoder.of(dated) is None
    texts = pd.DataFrame({"t": [f"word{i % 7} other{i % 3} thing" for i in range(60)]})
    tfidf = FeatureProcessor(kinds={"t": "text"}).fit(texts)
    assert tfidf.text_ and RowEncoder.of(tfidf) is None
