"""Concurrent predicts and feedback: every answer arrives, every row is logged once, as it was sent."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lamarck import Project
from lamarck.serve import create_app


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v"], n)})
    frame["y"] = np.where(frame["a"] + (frame["b"] == "u") > 0.4, "yes", "no")
    project = Project(tmp_path_factory.mktemp("concurrent"))
    project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False)
    return project, TestClient(create_app(project)), frame.drop(columns=["y"])


@pytest.mark.slow
def test_concurrent_predicts_and_feedback_all_land_in_the_store(served):
    project, client, X = served
    rows = X.head(40).to_dict("records")
    before = project.store.counts()

    def work(k: int) -> list[str]:
        ids = []
        for row in rows[k * 5 : (k + 1) * 5]:
            r = client.post("/v1/predict", json={"rows": [row]})
            assert r.status_code == 200, r.text
            ids += r.json()["prediction_ids"]
        fb = client.post("/v1/feedback", json={"items": [{"prediction_id": i, "label": "yes"} for i in ids]})
        assert fb.json() == {"accepted": 5}
        return ids

    with ThreadPoolExecutor(8) as pool:
        ids = [i for chunk in pool.map(work, range(8)) for i in chunk]
    after = project.store.counts()
    assert len(set(ids)) == 40
    assert after["predictions"] - before["predictions"] == 40
    assert after["feedback"] - before["feedback"] == 40
    logged = project.store.predictions_by_id(ids)
    assert sorted(logged) == sorted(ids)


@pytest.mark.slow
def test_logged_inputs_are_the_rows_as_sent_and_quarantined_rows_are_left_out(served):
    project, client, _ = served
    good = {"a": 0.25, "b": "u", "note": "extra columns are kept in the log"}
    missing_b = {"a": 1.0}
    body = client.post("/v1/predict", json={"rows": [good, missing_b, {"a": None, "b": "v"}]}).json()
    assert [q["index"] for q in body["quarantined"]] == [1]
    assert len(body["prediction_ids"]) == 2
    logged = project.store.predictions_by_id(body["prediction_ids"])
    inputs = [logged[i]["inputs"] for i in body["prediction_ids"]]
    assert inputs == [good, {"a": None, "b": "v"}]
    probas = [logged[i]["proba"] for i in body["prediction_ids"]]
    assert probas == [[p["no"], p["yes"]] for p in body["probabilities"]]
