"""The MLP learner (the neural extra): it learns, keeps its weights through a pickle, obeys the deadline,
ensembles and serves like every learner, and a fit without PyTorch says how to install it."""

from __future__ import annotations

import pickle
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from lamarck import Project
from lamarck.errors import ConfigError
from lamarck.search import _neural

pytestmark = pytest.mark.skipif(
    not _neural.available(), reason="PyTorch is not installed (make neural installs it)"
)


def _split(X, y):  # type: ignore[no-untyped-def]
    X = StandardScaler().fit_transform(X)
    idx = np.random.default_rng(0).permutation(len(X))
    cut = int(0.8 * len(X))
    return X[idx[:cut]], y[idx[:cut]], X[idx[cut:]], y[idx[cut:]]


def test_it_learns_classes_and_numbers_and_pickles_its_weights():
    Xtr, ytr, Xva, yva = _split(*load_breast_cancer(return_X_y=True))
    mlp = _neural.TorchMLP(task="binary", n_classes=2, seed=0).fit(Xtr, ytr, Xva, yva)
    assert roc_auc_score(yva, mlp.predict_proba(Xva)[:, 1]) > 0.97
    again = pickle.loads(pickle.dumps(mlp))
    np.testing.assert_array_equal(again.predict_proba(Xva), mlp.predict_proba(Xva))
    Xtr, ytr, Xva, yva = _split(*load_diabetes(return_X_y=True))
    reg = _neural.TorchMLP(task="regression", n_classes=0, seed=0, lr=3e-3).fit(Xtr, ytr, Xva, yva)
    assert r2_score(yva, reg.predict(Xva)) > 0.3


def test_it_stops_at_the_deadline():
    X, y = load_breast_cancer(return_X_y=True)
    X = np.tile(StandardScaler().fit_transform(X), (40, 1))  # 22,760 rows: many batches per epoch
    y = np.tile(y, 40)
    t0 = time.monotonic()
    mlp = _neural.TorchMLP(task="binary", n_classes=2, patience=10_000, deadline=t0 + 1.5).fit(X, y)
    assert time.monotonic() - t0 < 1.5 + 1.0 and mlp.epochs_ < 200


@pytest.mark.slow
def test_a_fit_with_the_mlp_serves_it(tmp_path):
    from fastapi.testclient import TestClient

    from lamarck.serve import create_app

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = X.assign(target=y.map({0: "malignant", 1: "benign"}))
    project = Project(tmp_path / "p")
    t0 = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = project.fit(frame, "predict target", time_budget_s=15, learners=["mlp"], report=False)
    assert time.monotonic() - t0 < 15 + 10  # the budget, and registering
    assert result.score > 0.97 and {e["learner"] for e in result.leaderboard} >= {"mlp"}
    rows = frame.drop(columns=["target"]).head(5)
    model = project.load_model("champion")
    want = model.predict_proba(rows)
    # the bare champion: its online layer, warmed on the training rows, may already serve a combination
    app = create_app(project, online_layer=False)
    answer = TestClient(app).post("/v1/predict", json={"rows": rows.to_dict("records")}).json()
    got = np.array([[p[c] for c in model.classes_] for p in answer["probabilities"]])
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_without_pytorch_a_fit_that_asks_for_it_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr("lamarck.search._search.neural_available", lambda: False)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with pytest.raises(ConfigError, match="make neural"):
        Project(tmp_path / "p").fit(
            X.assign(t=y), "predict t", time_budget_s=5, learners=["mlp"], report=False
        )
