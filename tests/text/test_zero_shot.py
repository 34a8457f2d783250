"""Text offline: embeddings from the model inside its wheel, zero-shot and few-shot classification."""

from __future__ import annotations

import numpy as np
import pytest

from lamarck.errors import ConfigError
from lamarck.text import ZeroShotClassifier, available

pytestmark = pytest.mark.skipif(not available(), reason="the neural extra is not installed (make neural)")

TICKETS = {
    "billing": [
        "I was charged twice this month",
        "my invoice shows the wrong amount",
        "please refund my payment",
    ],
    "bug": [
        "the app crashes when I log in",
        "an error appears when saving the file",
        "the page is blank after the update",
    ],
    "feature request": [
        "please add a dark mode",
        "it would be great to export to Excel",
        "could you support two-factor login",
    ],
}


def test_zero_shot_sorts_tickets_by_their_class_names():
    texts = [t for ts in TICKETS.values() for t in ts]
    truth = [c for c, ts in TICKETS.items() for _ in ts]
    clf = ZeroShotClassifier(list(TICKETS))
    assert np.mean(clf.predict(texts) == np.array(truth)) >= 7 / 9
    proba = clf.predict_proba(texts)
    assert proba.shape == (9, 3) and np.allclose(proba.sum(axis=1), 1.0)


def test_few_shot_moves_the_classes_to_the_labels():
    clf = ZeroShotClassifier(["a", "b"])  # names that say nothing: only the labels can teach it
    texts = [
        "the cat sleeps on the sofa",
        "a kitten plays with yarn",
        "stock prices fell sharply",
        "the market rallied",
    ]
    clf.fit(texts, ["a", "a", "b", "b", "zzz"][:4])
    assert list(clf.predict(["my dog chases the cat", "shares dropped on the exchange"])) == ["a", "b"]
    assert clf.labelled_ == {"a": 2, "b": 2}


def test_bad_classes_say_the_fix():
    with pytest.raises(ConfigError, match="at least two"):
        ZeroShotClassifier(["only"])


@pytest.mark.slow
def test_bbc_news_zero_shot_beats_the_majority_and_few_shot_beats_zero_shot():
    from lamarck.bench import bbc_news

    texts, topics = bbc_news()
    rng = np.random.default_rng(0)
    y = np.array(topics)
    classes = sorted(set(topics))
    sample = np.concatenate([rng.choice(np.flatnonzero(y == c), 20, replace=False) for c in classes])
    shots = np.concatenate(
        [rng.choice(np.setdiff1d(np.flatnonzero(y == c), sample), 8, replace=False) for c in classes]
    )
    test_texts = [texts[i] for i in sample]
    zero = ZeroShotClassifier(classes)
    zero_acc = np.mean(zero.predict(test_texts) == y[sample])
    few = ZeroShotClassifier(classes).fit([texts[i] for i in shots], y[shots])
    few_acc = np.mean(few.predict(test_texts) == y[sample])
    assert zero_acc > 0.2 + 0.3  # five topics of about a fifth each
    assert few_acc > zero_acc


def test_a_pickled_encoder_is_the_shared_one_where_it_lands():
    import pickle

    from lamarck.text import TextEncoder, encoder

    assert pickle.loads(pickle.dumps(encoder())) is encoder()
    other = pickle.loads(pickle.dumps(TextEncoder(batch_size=8)))
    assert other is not encoder() and other.batch_size == 8
