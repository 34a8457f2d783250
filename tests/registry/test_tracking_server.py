"""The team path: the registry on an MLflow tracking server with a PostgreSQL backend and the artifacts it
serves, the event store on PostgreSQL, shared by two projects (two machines) that see one champion."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamarck import Project
from lamarck.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def tracking_server(postgres_url, free_port, tmp_path):
    """``mlflow server`` on 127.0.0.1 with its backend in a fresh PostgreSQL schema and its own artifact
    folder, served to clients (they need no shared disk); started, waited for and stopped as the serving
    bench does (``lamarck.bench.server``)."""
    from lamarck.bench import server

    mlflow = Path(sys.executable).parent / "mlflow"
    cmd = [
        str(mlflow), "server", "--backend-store-uri", postgres_url, "--serve-artifacts",
        "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1",
        "--port", str(free_port), "--workers", "1",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{free_port}"
    with server(cmd, f"{url}/health", log_path=tmp_path / "mlflow.log", start_timeout_s=90):
        yield url


def test_two_projects_share_one_champion_through_the_server_and_postgresql(
    tracking_server, postgres_url, tmp_path
):
    settings = Settings(registry_uri=tracking_server, store_url=postgres_url)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = np.where(frame["a"] > frame["b"], "yes", "no")
    here = Project(tmp_path / "machine-a", settings=settings)
    here.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False, seed=0)
    there = Project(tmp_path / "machine-b", settings=settings)  # nothing of machine-a's folder is read
    assert there.registry.alias_version("champion") == "1"
    predicted, _ = there.predict(frame.drop(columns=["y"]).head(20))
    assert (predicted["prediction"] == frame["y"].head(20)).mean() > 0.8
    here.fit(frame, "predict y, in 3 seconds", learners=["lightgbm"], report=False, seed=1)
    champion = here.registry.alias_version("champion")
    other = "1" if champion == "2" else "2"
    there.promote(other)
    assert here.registry.alias_version("champion") == other  # the move is seen by the other machine
    ids = here.store.log_predictions([{"a": 0.0, "b": 1.0}], predictions=["no"], model_version=other)
    there.store.add_feedback([{"prediction_id": ids[0], "label": "no"}])
    assert len(here.store.labelled()) == 1  # one store for both
