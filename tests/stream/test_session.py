"""StreamSession: the running metrics of a stream."""

import pytest
from river.datasets import synth
from sklearn.metrics import f1_score

from lamarck.stream import EventSchema, StreamLearner, StreamSession


def test_macro_f1_counts_an_event_predicted_before_any_label_as_a_miss():
    """With a label delay of 100 the first 101 predictions are ``None``; each is a miss for its class,
    not a third class whose F1 of 0 would take a third off the figure for ever."""
    schema = EventSchema(target="y", features=(("0", "numeric"), ("1", "numeric"), ("2", "numeric")))
    learner = StreamLearner(population=2, hybrid=False, label_delay=100, seed=0)
    session = StreamSession.start("sea", schema, {"metric": "f1_macro", "task": "binary"}, learner)
    truth, answers = [], []
    for x, y in synth.SEA(seed=0).take(800):
        answer = learner.process_one(x, y)
        session.score(y, answer)
        truth.append(str(y))
        answers.append(str(answer))
    assert answers.count("None") == 101
    expected = f1_score(truth, answers, labels=["False", "True"], average="macro")
    assert session.metric.get() == pytest.approx(expected, abs=1e-12)
    assert expected > 0.7
