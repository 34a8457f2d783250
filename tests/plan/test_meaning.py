"""The rule planner when no word of the sentence names a column: the labels it lists, then meaning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lamarck.text
from lamarck.errors import PlanError
from lamarck.plan import RulePlanner

needs_text = pytest.mark.skipif(not lamarck.text.available(), reason="the neural extra is not installed")


def _loans(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "debt_ratio": rng.uniform(0, 1, n),
            "selfemployed": rng.choice(["yes", "no"], n),
            "deny": rng.choice(["yes", "no"], n),
        }
    )


@needs_text
def test_a_column_named_by_meaning_only():
    spec = RulePlanner().plan(_loans(), "will the bank refuse this loan? AUC")
    assert spec.target == "deny" and spec.metric == "roc_auc"
    assert "by meaning" in spec.reasons["target"].text


def test_without_the_extra_no_guess_is_made(monkeypatch):
    monkeypatch.setattr(lamarck.text, "available", lambda: False)
    with pytest.raises(PlanError, match="cannot tell which column"):
        RulePlanner().plan(_loans(), "will the bank refuse this loan? AUC")


def test_the_labels_a_sentence_lists_name_their_column():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, 120),
            "income": rng.normal(40, 8, 120),
            "vote": rng.choice(["bush", "clinton", "perot"], 120),
        }
    )
    spec = RulePlanner().plan(frame, "1992 election: bush, clinton or perot? log loss")
    assert spec.target == "vote" and spec.task == "multiclass" and spec.metric == "log_loss"
    assert "labels" in spec.reasons["target"].text


@needs_text
def test_words_that_match_two_columns_are_told_apart_by_meaning():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "parentHeight": rng.normal(68, 2, 100),
            "childHeight": rng.normal(67, 3, 100),
            "family": rng.integers(1, 50, 100),
        }
    )
    spec = RulePlanner().plan(frame, "predict the height of the offspring, r2")
    assert spec.target == "childHeight", spec.reasons["target"].text
