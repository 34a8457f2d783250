import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes

import lamarck
from lamarck import AutoClassifier, AutoRegressor


def test_public_surface():
    assert set(lamarck.__all__) == {
        "AutoClassifier",
        "AutoRegressor",
        "LamarckError",
        "Project",
        "StreamLearner",
        "TaskSpec",
        "__version__",
    }


@pytest.mark.slow
def test_sklearn_conventions():
    est = AutoRegressor(time_budget_s=3, learners=("lightgbm",), seed=1)
    assert clone(est).get_params() == est.get_params()
    assert est.set_params(time_budget_s=4).time_budget_s == 4
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    est.fit(X, y)
    assert est.score(X, y) > 0.3
    clf = AutoClassifier(time_budget_s=3, learners=("linear",)).fit(
        X, (y > y.median()).map({True: "hi", False: "lo"})
    )
    assert set(clf.classes_) == {"hi", "lo"}
    assert np.allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert set(clf.predict(X.head())) <= {"hi", "lo"}
