"""``AutoClassifier`` / ``AutoRegressor`` without ``project=`` work in a temporary folder and remove it."""

import tempfile

import pytest
from sklearn.datasets import load_iris

from lamarck import AutoClassifier


@pytest.mark.slow
def test_fit_leaves_no_temporary_folder(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = AutoClassifier(time_budget_s=2, learners=("linear",)).fit(X, y)
    assert clf.score(X, y) > 0.8  # the model outlives its folder
    assert sorted(p.name for p in scratch.iterdir()) == []
