"""The feature language (parser whitelist, evaluator), selection by paired CV, and LLM features in a fit."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

from lamarck.data import (
    DerivedFeatures,
    FeatureDef,
    FeatureProcessor,
    WithDerivedFeatures,
    evaluate_feature,
    parse_feature,
)
from lamarck.errors import FeatureError
from lamarck.project import Project
from lamarck.search import select_features
from lamarck.settings import Settings

COLS = ["a", "b", "c", "d", "city", "opened", "closed", "Loan Amount"]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    return pd.DataFrame(
        {
            "a": rng.uniform(1, 2, n),
            "b": rng.uniform(1, 2, n),
            "c": rng.normal(size=n),
            "d": rng.normal(size=n),
            "city": rng.choice(["x", "y", "z"], n),
            "opened": pd.date_range("2020-01-01", periods=n, freq="D").astype(str),
            "closed": pd.date_range("2020-03-01", periods=n, freq="D").astype(str),
            "Loan Amount": rng.integers(1, 100, n).astype(float),
        }
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("__import__('os').system('touch /tmp/lamarck-pwned')", "attribute access"),
        ("__import__('os')", "'__import__' is not allowed"),
        ("a.__class__", "attribute access"),
        ("10 ** 10 ** 10", "exponent"),
        ("a ** 50", "exponent"),
        ("(lambda: 1)()", "lambda"),
        ("[x for x in a]", "comprehensions"),
        ("a[0]", "indexing"),
        ("open('secrets.txt')", "'open' is not allowed"),
        ("eval('1+1')", "'eval' is not allowed"),
        ("getattr(a, 'real')", "'getattr' is not allowed"),
        ("a if b else c", "IfExp"),
        ("log(a, base=2)", "keyword"),
        ("target_column * 2", "not a column"),
        ("_secret + 1", "'_'"),
        ("1e300 * a", "outside"),
        ("a +", "does not parse"),
        ("1 + 2", "uses no column"),
        ("a < b < c", "chained"),
        ("group_mean(a, b + 1)", "must be a column"),
        ("a" + "+a" * 45, "parts"),
        ("a" + " + a" * 100, "longer than"),
    ],
)
def test_parser_refuses_what_is_not_in_the_language(text, words, tmp_path):
    with pytest.raises(FeatureError, match="not in the feature language") as e:
        parse_feature(text, COLS)
    assert words in str(e.value)
    assert not (tmp_path / "lamarck-pwned").exists()


def test_malicious_text_is_never_executed(frame, monkeypatch):
    import builtins

    def trap(*_a, **_k):  # would fire if anything ever called eval/exec/__import__ on the text
        raise AssertionError("executed!")

    monkeypatch.setattr(builtins, "eval", trap)
    monkeypatch.setattr(builtins, "exec", trap)
    expr = parse_feature('ratio(a, b) + col("Loan Amount") / 10', COLS)
    assert evaluate_feature(expr, frame).notna().all()


def test_evaluator_semantics(frame):
    f = frame.head(4).copy()
    f.loc[0, "b"] = 0.0
    f.loc[1, "a"] = -1.0
    out = evaluate_feature(parse_feature("a / b", COLS), f)
    assert np.isnan(out.iloc[0]) and out.iloc[2] == pytest.approx(f.a.iloc[2] / f.b.iloc[2])
    assert np.isnan(evaluate_feature(parse_feature("log(a)", COLS), f).iloc[1])
    assert evaluate_feature(parse_feature("a ** 2", COLS), f).iloc[2] == pytest.approx(f.a.iloc[2] ** 2)
    assert (
        evaluate_feature(parse_feature("city == 'x'", COLS), f).tolist()
        == (f.city == "x").astype(float).tolist()
    )
    both = evaluate_feature(parse_feature("(c > 0) and not (d > 0)", COLS), f)
    assert both.tolist() == ((f.c > 0) & ~(f.d > 0)).astype(float).tolist()
    assert evaluate_feature(parse_feature("month(opened)", COLS), f).tolist() == [1.0] * 4
    assert evaluate_feature(parse_feature("days_between(closed, opened)", COLS), f).tolist() == [60.0] * 4
    assert evaluate_feature(parse_feature("if_else(c > 0, 1, -1)", COLS), f).abs().tolist() == [1.0] * 4
    assert evaluate_feature(parse_feature("max(a, 1.5)", COLS), f).min() >= 1.5


def test_group_statistics_are_learned_once_and_stored(frame):
    derived = DerivedFeatures(
        features=[
            FeatureDef(name="a_vs_city", expression="a - group_mean(a, city)"),
            FeatureDef(name="city_n", expression="group_count(city)"),
        ]
    ).fit(frame)
    new = pd.DataFrame(
        {"a": [1.5, 1.5], "city": ["x", "never-seen"], **{c: [0, 0] for c in COLS if c not in "a city"}}
    )
    out = pickle.loads(pickle.dumps(derived)).transform(new)
    assert out["a_vs_city"].iloc[0] == pytest.approx(1.5 - frame.loc[frame.city == "x", "a"].mean())
    assert out["city_n"].tolist() == [float((frame.city == "x").sum()), 0.0]
    assert np.isfinite(out["a_vs_city"].iloc[1])  # an unseen group gets the median of the group means


def test_useful_feature_kept_useless_rejected_bad_ones_invalid(frame):
    y = (frame.a / frame.b > 1).to_numpy(dtype=int)
    kept, trials = select_features(
        frame[["a", "b", "c", "d"]],
        y,
        task="binary",
        metric="accuracy",
        candidates=[
            {"name": "a_over_b", "expression": "ratio(a, b)", "reason": "relative size"},
            {"name": "noise_mix", "expression": "c - d", "reason": "contrast"},
            {"name": "pwn", "expression": "__import__('os')", "reason": "!"},
            {"name": "bad name!", "expression": "a + b"},
            {"name": "a", "expression": "a * 2"},
        ],
    )
    by = {t.name: t for t in trials}
    assert [f.name for f in kept] == ["a_over_b"]
    assert by["a_over_b"].status == "kept" and by["a_over_b"].delta > by["a_over_b"].noise > 0
    assert by["noise_mix"].status == "rejected" and by["noise_mix"].delta <= max(by["noise_mix"].noise, 0)
    assert by["pwn"].status == "invalid" and "not allowed" in by["pwn"].message
    assert by["bad name!"].status == "invalid" and by["a"].status == "invalid"
    assert len(by["a_over_b"].fold_deltas) == 5


def test_processor_with_derived_features_pickles_and_predicts(frame):
    derived = DerivedFeatures(features=[FeatureDef(name="r", expression="a / b")])
    proc = WithDerivedFeatures(
        derived=derived,
        processor=FeatureProcessor(
            columns=["a", "b", "r"], kinds={"a": "numeric", "b": "numeric", "r": "numeric"}
        ),
    ).fit(frame[["a", "b"]])
    again = pickle.loads(pickle.dumps(proc))
    out = again.transform(frame[["a", "b"]].head(3))
    assert list(out.columns) == ["a", "b", "r"] and out["r"].tolist() == pytest.approx(
        (frame.a / frame.b).head(3).tolist()
    )


@pytest.mark.slow
def test_fit_with_llm_features_and_review(llm_stub, frame, tmp_path):
    data = frame[["a", "b", "c", "d", "city"]].copy()
    data["label"] = np.where(data.a / data.b > 1, "up", "down")
    proposals = {
        "features": [
            {"name": "a_over_b", "expression": "a / b", "reason": "ratio"},
            {"name": "noise_mix", "expression": "c - d", "reason": "contrast"},
            {"name": "leak", "expression": "label == 'up'", "reason": "uses the target"},
            {"name": "pwn", "expression": "__import__('os').getcwd()", "reason": "!"},
        ]
    }
    review = {
        "summary": "Strong separation; the ratio feature carries the signal.",
        "watch": ["drift in a or b"],
        "leakage": [],
        "more_data": ["more rows near a = b"],
        "self_score": 4,
        "score_reason": "stable folds, simple signal",
    }
    llm_stub.answers(json.dumps(proposals), json.dumps(review))
    settings = Settings(
        project_dir=tmp_path, llm_base_url=llm_stub.base_url, llm_model="stub", llm_api_key="k-123"
    )
    project = Project(tmp_path, settings=settings)
    result = project.fit(
        data,
        "predict the label, maximize accuracy",
        llm=False,
        llm_features=True,
        llm_review=True,
        time_budget_s=6,
        learners=["lightgbm"],
        register=False,
    )
    status = {f["name"]: f["status"] for f in result.llm_features}
    assert status == {"a_over_b": "kept", "noise_mix": "rejected", "leak": "invalid", "pwn": "invalid"}, [
        (f["name"], f["message"]) for f in result.llm_features
    ]
    assert status == {"a_over_b": "kept", "noise_mix": "rejected", "leak": "invalid", "pwn": "invalid"}
    model = pickle.loads(pickle.dumps(result.model))
    assert "a_over_b" in model.feature_names
    pred = model.predict(data.drop(columns="label").head(50))
    assert (pred == data.label.head(50).to_numpy()).mean() > 0.9
    html = result.report_path.read_text()
    assert "LLM-proposed features" in html and "a_over_b" in html and "rejected" in html
    assert "Self-reflection score: 4 / 5" in html and "stable folds" in html
    assert result.review["self_score"] == 4
    assert len(llm_stub.requests) == 2
    assert "label" not in json.dumps(llm_stub.requests[0]["messages"][1]["content"]).split("not available")[1]
    assert sorted(p.name.split("-")[-1] for p in (tmp_path / "llm").glob("*.jsonl")) == [
        "features.jsonl",
        "review.jsonl",
    ]


def test_a_small_gain_within_the_fold_noise_is_rejected():
    rng = np.random.default_rng(1)
    n = 300
    X = pd.DataFrame({k: rng.normal(size=n) for k in "abcd"})
    y = (X.a + rng.normal(size=n)).to_numpy()
    _, trials = select_features(
        X, y, task="regression", metric="rmse", candidates=[{"name": "noise", "expression": "c + d"}]
    )
    t = trials[0]
    assert 0 < t.delta < t.noise and t.status == "rejected"  # a positive mean gain is not enough
