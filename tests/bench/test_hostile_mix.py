"""Storage under a bounded hostile mix (issue 20): 2,000 requests through the app (valid predicts, NaN,
oversized and deep rows, broken JSON, labels for unknown ids, outside the classes, null, twice in one
request, NaN weights) leave the event store with exactly the accepted rows, plus one quarantine row per
refused row or label, once; evolution passes afterwards quarantine nothing again."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lamarck.bench._hostile import KINDS, db_bytes, hostile_project, run_mix
from lamarck.evolve import EvolutionPolicy
from lamarck.serve import create_app


@pytest.mark.slow  # about a minute: every accepted write is committed (SQLite synchronous=FULL)
def test_the_store_grows_only_with_accepted_rows(tmp_path):
    project = hostile_project(tmp_path / "p")
    policy = EvolutionPolicy(min_new_labels=10**9, fresh_search=False)  # passes that never train
    client = TestClient(create_app(project, policy=policy), raise_server_exceptions=False)
    before, size_before = project.store.counts(), db_bytes(project)
    result = run_mix(client, 2000, seed=1)
    assert result.unexpected == []
    assert set(result.requests) == {k.name for k in KINDS}  # every kind was sent
    after = project.store.counts()
    gained = {table: after[table] - before[table] for table in before}
    assert gained == {
        "predictions": result.expected["predictions"],
        "feedback": result.expected["feedback"],
        "quarantine": result.expected["quarantine"],
        "decisions": 1,  # the champion's online layer started once (a decision of kind "layer")
        "shadow": 0,
    }
    assert [d["kind"] for d in project.store.decisions(limit=5)] == ["layer", "promote"]  # and the fit's
    for _ in range(3):  # a pass never quarantines again what the door quarantined once
        assert client.post("/v1/evolve").status_code == 200
    again = project.store.counts()
    assert again["quarantine"] == after["quarantine"] and again["feedback"] == after["feedback"]
    # a few kilobytes per accepted row at most (inputs, prediction and probabilities as JSON, indexes)
    assert (db_bytes(project) - size_before) / result.accepted < 4000
