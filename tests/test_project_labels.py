"""``Project.suggest_labels`` reads the store and ranks with ``lamarck.evaluate.uncertainty``: same output
as the maths that used to live in the facade (kept here as the oracle)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lamarck import Project
from lamarck.errors import ConfigError
from lamarck.evaluate import uncertainty


def _oracle(P: np.ndarray, strategy: str) -> np.ndarray:
    P = np.clip(np.asarray(P, dtype=float), 1e-12, 1.0)
    if strategy == "entropy":
        return -(P * np.log(P)).sum(axis=1) / np.log(max(P.shape[1], 2))
    top = np.sort(P, axis=1)
    return 1.0 - (top[:, -1] - top[:, -2])


@pytest.mark.parametrize("strategy", ["entropy", "margin"])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_uncertainty_is_the_old_formula(strategy, k):
    P = np.random.default_rng(k).dirichlet(np.ones(k), size=50)
    P[0] = 0.0
    P[0, 0] = 1.0  # a certain row (log of 0 is clipped)
    assert np.array_equal(uncertainty(P, strategy=strategy), _oracle(P, strategy))


def test_unknown_strategy_says_the_fix():
    with pytest.raises(ConfigError, match="entropy, margin"):
        uncertainty([[0.5, 0.5]], strategy="random")  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", ["entropy", "margin"])
def test_suggest_labels_ranks_the_unlabelled_predictions(tmp_path, strategy):
    project = Project(tmp_path / "p")
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=30)
    rows = [{"a": float(i), "b": "u" if i % 2 else "v"} for i in range(30)]
    ids = project.store.log_predictions(
        rows, predictions=list(P.argmax(axis=1)), model_version="1", probas=P.tolist()
    )
    project.store.add_feedback([{"prediction_id": ids[0], "label": 1}])  # labelled: not suggested
    got = project.suggest_labels(10, strategy=strategy)

    pending = project.store.unlabelled_predictions()
    want = pd.DataFrame(
        {
            "prediction_id": pending["id"].to_numpy(),
            "score": _oracle(np.array(list(pending["proba"])), strategy),
            "prediction": pending["prediction"].to_numpy(),
            "confidence": [max(p) for p in pending["proba"]],  # the answer's probability
            "model_version": pending["model_version"].to_numpy(),
        }
    )
    want = pd.concat([want, pd.DataFrame.from_records(list(pending["inputs"]))], axis=1)
    want = want.sort_values("score", ascending=False, kind="stable").head(10).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert ids[0] not in set(got["prediction_id"]) and list(got.columns[:5]) == [
        "prediction_id",
        "score",
        "prediction",
        "confidence",
        "model_version",
    ]


def test_suggest_labels_without_predictions_is_empty(tmp_path):
    assert Project(tmp_path / "p").suggest_labels().empty
