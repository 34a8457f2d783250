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
