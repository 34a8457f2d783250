"""Flags are checked against their allowed values before anything reads them (issue 20)."""

import math

import pandas as pd
import pytest

from lamarck.errors import BudgetError, ConfigError
from lamarck.plan import TaskSpec
from lamarck.plan._verify import MAX_TIME_BUDGET_S, apply_overrides, make_plan, verify

FRAME = pd.DataFrame({"x": range(40), "y": [i % 2 for i in range(40)]})
SPEC = TaskSpec(target="y", task="binary", metric="roc_auc", time_budget_s=60)


def test_an_unknown_task_is_a_config_error_listing_the_tasks():
    with pytest.raises(ConfigError, match="binary, multiclass, regression"):
        apply_overrides(SPEC, FRAME, task="banana")
    with pytest.raises(ConfigError, match="'banana'"):
        make_plan(FRAME, "predict y", task="banana")


@pytest.mark.parametrize("budget", [0, -3, 0.5, math.nan, math.inf, 1e12, MAX_TIME_BUDGET_S + 1])
def test_a_budget_outside_one_second_to_seven_days_is_refused(budget):
    with pytest.raises(ConfigError, match="7 days") as info:
        make_plan(FRAME, "predict y", time_budget_s=budget)
    assert isinstance(info.value, BudgetError)
    with pytest.raises(BudgetError, match="from 1 to 604800"):
        verify(SPEC.model_copy(update={"time_budget_s": budget}), FRAME)


@pytest.mark.parametrize("budget", [1, 60, MAX_TIME_BUDGET_S])
def test_budgets_inside_the_range_pass(budget):
    assert make_plan(FRAME, "predict y", time_budget_s=budget).time_budget_s == budget


def test_a_target_flag_keeps_the_sentence_s_metric_budget_and_exclusions():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 10, "b": [0, 1] * 20, "y": [0, 1, 1, 0] * 10})
    spec = make_plan(frame, "optimize f1 in 2 minutes, ignore b", target="y")
    assert (spec.target, spec.metric, spec.time_budget_s, spec.exclude_columns) == ("y", "f1", 120, ["b"])
    assert spec.reasons["target"].source == "flag"
