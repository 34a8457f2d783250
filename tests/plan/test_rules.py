from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamarck.bench import load_case, load_suite
from lamarck.errors import BudgetError, PlanError
from lamarck.plan import (
    RulePlanner,
    TaskSpec,
    make_plan,
    parse_budget,
    parse_exclusions,
    parse_metric,
    verify,
)
from lamarck.plan._rules import asked_metric, check_metric_words, closest_metrics


@pytest.fixture
def loans() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "loan_id": np.arange(n),
            "Age": rng.integers(20, 70, n),
            "income": rng.normal(50, 10, n),
            "sex": rng.choice(["m", "f"], n),
            "Loan Status": rng.choice(["denied", "approved"], n),
            "sale_price": rng.normal(200, 30, n),
            "species": rng.choice(["a", "b", "c"], n),
        }
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("in 2 minutes", 120),
        ("under 30 seconds", 30),
        ("within 1 hour", 3600),
        ("5 min", 300),
        ("90s", 90),
        ("a minute", 60),
        ("half a minute", 30),
    ],
)
def test_budget_phrases(text, seconds):
    assert parse_budget(text)[0] == seconds


@pytest.mark.parametrize(
    ("text", "metric"),
    [
        ("optimize F1", "f1"),
        ("best AUC", "roc_auc"),
        ("minimize RMSE", "rmse"),
        ("lowest MAE", "mae"),
        ("maximize accuracy", "accuracy"),
        ("log loss", "log_loss"),
        ("well calibrated probabilities", "log_loss"),
        ("optimize R2", "r2"),
        ("macro F1", "f1_macro"),
        ("PR AUC", "average_precision"),
        ("balanced accuracy", "balanced_accuracy"),
        ("mean absolute error", "mae"),
    ],
)
def test_metric_phrases(text, metric):
    assert parse_metric(text)[0] == metric


def test_sentences_on_a_table(loans):
    spec = RulePlanner().plan(
        loans, "predict whether a loan is denied, optimize F1, in 2 minutes, ignore the id column"
    )
    assert (spec.target, spec.task, spec.metric, spec.time_budget_s) == ("Loan Status", "binary", "f1", 120)
    assert spec.positive_class == "denied"
    assert spec.exclude_columns == ["loan_id"]
    assert spec.reasons["metric"].source == "sentence"
    house = RulePlanner().plan(loans, "how much will the house sell for? don't use age")
    assert (house.target, house.task, house.metric) == ("sale_price", "regression", "rmse")
    assert house.exclude_columns == ["Age"]
    assert house.reasons["metric"].source == "default"
    assert RulePlanner().plan(loans, "classify the species").task == "multiclass"


def test_exclusions_of_several_columns(loans):
    found = [c for c, _ in parse_exclusions("predict income; do not use age or sex", list(loans.columns))]
    assert found == ["Age", "sex"]


def test_unknown_target_lists_closest_columns(loans):
    with pytest.raises(PlanError, match="Closest columns"):
        make_plan(loans, "predict the weather", target="wheather")


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"metric": "rmse"}, PlanError, "does not fit"),
        ({"metric": "bogus"}, PlanError, "unknown metric"),
        ({"time_budget_s": 0}, BudgetError, "positive"),
        ({"time_budget_s": -5}, BudgetError, "positive"),
        ({"exclude_columns": ["nope"]}, PlanError, "not in the data"),
        ({"target": "nope"}, PlanError, "not in the data"),
    ],
)
def test_verify_errors(loans, change, error, words):
    spec = TaskSpec(target="Loan Status", task="binary", metric="roc_auc", time_budget_s=10)
    with pytest.raises(error, match=words):
        verify(spec.model_copy(update=change), loans)


def test_one_class_target_is_refused(loans):
    loans["const"] = "x"
    with pytest.raises(PlanError, match="one value"):
        make_plan(loans, "", target="const")


def test_flags_override_the_sentence(loans):
    spec = make_plan(loans, "predict whether a loan is denied", target="income", time_budget_s=5)
    assert (spec.target, spec.task, spec.metric, spec.time_budget_s) == ("income", "regression", "rmse", 5)
    assert spec.reasons["target"].source == "flag"
    assert TaskSpec.model_validate_json(spec.model_dump_json()) == spec


def test_public_suite_sentences(shared_dir):
    wrong = []
    for case in load_suite(shared_dir / "bench" / "public_suite.yaml"):
        X, y = load_case(case)
        frame = X.assign(**{case.target: y})
        spec = make_plan(frame, case.instruction)
        got = (spec.target, spec.task, spec.metric)
        if got != (case.target, case.task, case.metric) or (
            case.positive_class and spec.positive_class != case.positive_class
        ):
            wrong.append((case.name, got, spec.positive_class))
    assert not wrong


@pytest.mark.parametrize(
    ("sentence", "words", "closest"),
    [
        ("predict churn, optimize AUCC", "AUCC", ["roc_auc", "average_precision"]),
        ("predict churn, optimise banana score", "banana score", []),
        ("predict churn, maximize recall in 2 minutes", "recall", []),
        ("predict the price, minimise the MSE, ignore the id", "MSE", ["rmse", "mae"]),
        ("predict churn; metric: brier", "brier", []),
        ("predict churn, metric aucc", "aucc", ["roc_auc", "average_precision"]),
        ("predict churn, rank by precision", "precision", ["average_precision"]),
        ("predict churn, optimize for speed", "speed", []),
    ],
)
def test_a_sentence_that_asks_for_an_unknown_metric_is_refused(loans, sentence, words, closest):
    assert asked_metric(sentence) == words
    assert closest_metrics(words) == closest
    with pytest.raises(PlanError) as err:
        check_metric_words(sentence)
    message = str(err.value)
    assert f"the metric {words!r}, which is not a known metric" in message  # the rule and the value
    assert ("closest: " + ", ".join(closest)) in message if closest else "no known metric is close" in message
    assert "roc_auc, rmse" not in message and "log_loss, mae, mape, r2, rmse, roc_auc" in message  # all known
    assert "Fix:" in message and "--metric NAME" in message
    with pytest.raises(PlanError, match="not a known metric"):
        RulePlanner().plan(loans, sentence.replace("churn", "whether a loan is denied"))


@pytest.mark.parametrize(
    "sentence",
    [
        "predict whether a loan is denied, optimize F1",
        "predict whether a loan is denied, optimize average_precision",  # a metric by its own name
        "predict whether a loan is denied and optimize",  # asks for nothing in particular
        "predict whether a loan is denied, optimize it",
        "predict whether a loan is denied, maximize performance",
        "predict the metric tons of income",  # "metric" inside a phrase asks for no metric
        "predict whether a loan is denied by age",  # a bare "by" is not "rank by"
        "phishing or legit website? area under roc",
    ],
)
def test_sentences_that_ask_for_no_unknown_metric(sentence):
    assert asked_metric(sentence) is None
    check_metric_words(sentence)


def test_the_metric_flag_or_the_target_flag_and_an_unknown_metric_word(loans):
    spec = make_plan(loans, "predict whether a loan is denied, optimize AUCC", metric="f1")
    assert (spec.metric, spec.reasons["metric"].source) == ("f1", "flag")  # the flag makes the word moot
    assert RulePlanner().plan(loans, "predict the loan status, optimize AUCC", metric="f1").target
    with pytest.raises(PlanError, match="'AUCC', which is not a known metric"):
        make_plan(loans, "optimize AUCC", target="Loan Status")  # the planner's fallback does not hide it
    assert make_plan(loans, "optimize AUCC", target="Loan Status", metric="f1").metric == "f1"


def test_no_public_suite_sentence_asks_for_an_unknown_metric(shared_dir):
    import yaml

    sentences = [case.instruction for case in load_suite(shared_dir / "bench" / "public_suite.yaml")]
    paraphrases = Path(__file__).parents[2] / "bench" / "planner_paraphrases.yaml"
    raw = yaml.safe_load(paraphrases.read_text(encoding="utf-8"))
    for group in ("paraphrases", "heldout"):
        sentences += [s for ss in (raw.get(group) or {}).values() for s in ss]
    assert len(sentences) > 90
    assert [s for s in sentences if asked_metric(s) is not None] == []
