"""The champion's online layer as served: it learns every acknowledged label, serves the combination only
once it is significantly better, keeps snapshots for late labels, survives a restart without losing or
repeating a label, and starts or restores deliberately when the champion changes."""

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import lamarck.serve._layer as served_layer
from lamarck import Project
from lamarck.serve import create_app


def _concept(n: int, seed: int, flipped: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    up = frame["a"] + 0.5 * frame["b"] > 0
    frame["y"] = np.where(up != flipped, "up", "down")
    return frame


@pytest.fixture
def project(tmp_path):
    project = Project(tmp_path / "p")
    project.fit(_concept(400, 0, False), "predict y, in 4 seconds", learners=["linear"], report=False)
    return project


def _serve(client: TestClient, frame: pd.DataFrame, *, batch: int) -> list[str]:
    """Predict ``frame`` in batches, each batch's labels sent after it (by prediction id); the answers."""
    served: list[str] = []
    for lo in range(0, len(frame), batch):
        part = frame.iloc[lo : lo + batch]
        body = client.post("/v1/predict", json={"rows": part.drop(columns=["y"]).to_dict("records")}).json()
        served += body["predictions"]
        items = [
            {"prediction_id": i, "label": y} for i, y in zip(body["prediction_ids"], part["y"], strict=True)
        ]
        assert client.post("/v1/feedback", json={"items": items}).status_code == 200
    return served


def test_layer_learns_a_changed_concept_and_serves_it_once_significant(project):
    client = TestClient(create_app(project))
    stream = _concept(900, 1, True)  # the concept flipped: the champion is now wrong on almost every row
    served = np.array(_serve(client, stream, batch=10))
    truth = stream["y"].to_numpy()
    champion = project.load_model("champion").predict(stream.drop(columns=["y"]))
    assert (champion == truth).mean() < 0.2
    assert (served[-300:] == truth[-300:]).mean() > 0.8  # the layer learned the flipped concept
    layer = client.get("/v1/status").json()["layer"]
    assert layer["serving"] == "combined" and layer["p_value"] < 0.05
    assert layer["labels_learned"] == 900 and layer["learned_without_snapshot"] == 0
    assert layer["champion_version"] == "1" and layer["feedback_cursor"] == project.store.max_feedback_id()


def test_layer_keeps_serving_the_champion_while_it_is_not_better(project):
    client = TestClient(create_app(project))
    stream = _concept(400, 2, False)  # the champion's own concept: nothing to correct
    served = _serve(client, stream, batch=20)
    champion = project.load_model("champion").predict(stream.drop(columns=["y"]))
    layer = client.get("/v1/status").json()["layer"]
    assert layer["serving"] == "champion"
    assert list(champion) == served


def test_disabled_layer_serves_the_bare_champion(project):
    client = TestClient(create_app(project, online_layer=False))
    stream = _concept(200, 3, True)
    served = _serve(client, stream, batch=50)
    assert served == list(project.load_model("champion").predict(stream.drop(columns=["y"])))
    assert client.get("/v1/status").json()["layer"] == {"enabled": False}


def test_a_restart_learns_every_acknowledged_label_once(project):
    app = create_app(project)
    app.state.server.layer.checkpoint_every = 100
    client = TestClient(app)  # no lifespan: the process "dies" without its shutdown save
    _serve(client, _concept(330, 4, True), batch=30)
    saved = app.state.server.layer.state_
    assert saved is not None and saved.checkpoints >= 2
    # labels stored by another process (the CLI) while no server runs are learned too
    project.add_feedback(rows=_concept(20, 5, True).to_dict("records"), label_column="y", source="cli")
    again = create_app(project)
    figures = TestClient(again).post("/v1/predict", json={"rows": [{"a": 0.1, "b": 0.2}]})
    assert figures.status_code == 200
    layer = again.state.server.layer.status()
    assert layer["started"] == "restored"
    assert layer["labels_learned"] == 350  # 330 served labels and 20 from the CLI: none lost, none twice
    assert layer["feedback_cursor"] == project.store.max_feedback_id()
    restored = [d for d in project.store.decisions(kinds=("layer",)) if d["figures"]["how"] == "restored"]
    assert restored and restored[0]["figures"]["version"] == "1"


def test_promotion_and_rollback_carry_the_members_over(project, monkeypatch):
    app = create_app(project)
    client = TestClient(app)
    _serve(client, _concept(200, 6, True), batch=50)
    project.fit(_concept(400, 7, True), "predict y, in 4 seconds", learners=["linear"], report=False)
    app.state.invalidate_aliases()
    _serve(client, _concept(50, 8, True), batch=50)
    layer = client.get("/v1/status").json()["layer"]
    assert layer["champion_version"] == "2" and layer["started"] == "carried"
    assert layer["labels_learned"] == 250  # v1's layer learned 200, its members went on with 50 more
    assert layer["base_models_served"] == 2 and layer["recent_labels"] == 50  # the guard restarted
    assert client.post("/v1/models/1/promote").status_code == 200  # the operator goes back to v1
    _serve(client, _concept(10, 9, True), batch=10)
    layer = client.get("/v1/status").json()["layer"]
    assert layer["champion_version"] == "1" and layer["started"] == "carried"
    assert layer["labels_learned"] == 200 + 50 + 10 and layer["base_models_served"] == 3
    kinds = [d["figures"]["how"] for d in project.store.decisions(kinds=("layer",))]
    assert kinds[:3] == ["carried", "carried", "fresh"]  # newest first
    # a restart finds the checkpoint that learned the most: v1's own, saved at shutdown
    app.state.server.layer.shutdown()
    cursors = {
        p.parent.name: json.loads(p.read_text()) for p in (project.path / "layers").glob("*/cursor.json")
    }
    assert set(cursors) == {"1", "2"} and cursors["1"]["cursor"] > cursors["2"]["cursor"]
    opened: list[object] = []
    real = served_layer.load_state
    monkeypatch.setattr(served_layer, "load_state", lambda path: opened.append(path) or real(path))
    again = create_app(project)
    assert TestClient(again).post("/v1/predict", json={"rows": [{"a": 0.1, "b": 0.2}]}).status_code == 200
    assert again.state.server.layer.status()["started"] == "restored"
    assert again.state.server.layer.status()["labels_learned"] == 260
    assert len(opened) == 1  # the cursors beside the checkpoints chose it: only that one was unpickled
