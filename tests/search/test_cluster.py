"""Trials on a real Dask cluster: a LocalCluster of two worker processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from lamarck.errors import ConfigError
from lamarck.search import AutoSearch

distributed = pytest.importorskip(
    "distributed", reason="the cluster extra (lamarck[cluster]) is not installed"
)

pytestmark = pytest.mark.slow


def _table(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    y = ((X["a"] + X["b"] * X["c"] + 0.3 * rng.normal(size=n)) > 0).astype(int).to_numpy()
    return X, y


def test_trials_run_on_the_workers_and_the_search_keeps_the_study_and_the_ensemble(cluster):
    X, y = _table()
    with distributed.Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
        result = AutoSearch(
            task="binary", metric="roc_auc", time_budget_s=8, cluster=client, learners=["lightgbm", "linear"]
        ).fit(X, y)
    note = next(n for n in result.notes if "Dask cluster" in n)
    assert "2 worker(s), 2 at a time" in note
    finished = int(note.split("; ")[1].split()[0])
    assert finished >= 3 and sum(t.status == "complete" for t in result.trials) >= 3
    assert os.getpid() not in worker_pids  # the fits ran in other processes
    assert result.best_score > 0.85
    member = result.members[0]
    proba = member.models[0].predict_proba(X.head(5))  # fold models came back from the workers
    assert proba.shape == (5, 2)


def test_a_worker_killed_mid_search_loses_only_its_trial(cluster):
    X, y = _table(3000, seed=1)
    with distributed.Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed: list[int] = []

        def kill_one() -> None:
            time.sleep(3.0)
            os.kill(pids[0], signal.SIGKILL)  # the nanny starts a new worker process
            killed.append(pids[0])

        killer = threading.Thread(target=kill_one)
        killer.start()
        result = AutoSearch(task="binary", metric="roc_auc", time_budget_s=12, cluster=client).fit(X, y)
        killer.join()
    assert killed
    assert sum(t.status == "complete" for t in result.trials) >= 3
    assert result.best_score > 0.85 and result.members


def test_an_address_where_no_scheduler_answers_is_a_clear_error(free_port):
    X, y = _table(300)
    with pytest.raises(ConfigError, match="no Dask scheduler answers"):
        AutoSearch(
            task="binary", metric="roc_auc", time_budget_s=3, cluster=f"tcp://127.0.0.1:{free_port}"
        ).fit(X, y)


def test_lamarck_fit_cluster_sends_the_trials_to_the_scheduler(cluster, tmp_path):
    from typer.testing import CliRunner

    from lamarck.cli import app

    X, y = _table(800, seed=2)
    path = tmp_path / "t.csv"
    X.assign(label=y).to_csv(path, index=False)
    result = CliRunner().invoke(
        app,
        [
            "fit", str(path), "predict label", "--time", "8", "--no-report", "--json",
            "--cluster", cluster.scheduler_address, "--project", str(tmp_path / "p"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "trials ran on a Dask cluster: 2 worker(s)" in result.output


def test_fold_models_go_through_shared_storage_and_only_the_kept_ones_come_back(cluster, tmp_path):
    X, y = _table(800, seed=3)
    shared = tmp_path / "shared"
    with distributed.Client(cluster) as client:
        result = AutoSearch(
            task="binary", metric="roc_auc", time_budget_s=6, cluster=client, learners=["lightgbm", "linear"],
            cluster_artifacts=str(shared),
        ).fit(X, y)  # fmt: skip
    assert result.members and all(m.models for m in result.members)  # read back from the shared folder
    assert result.members[0].models[0].predict_proba(X.head(3)).shape == (3, 2)
    assert shared.exists() and not any(shared.iterdir())  # the search's folder removed once read


def test_a_table_lost_on_the_cluster_is_sent_again(cluster, monkeypatch):
    """The scattered table vanishes mid-search (as when the worker holding its only copy dies) and the
    trials waiting on it are cancelled: each counts as failed, the table is sent again, the search goes on."""
    X, y = _table(3000, seed=3)
    sent: list = []
    scatter = distributed.Client.scatter

    def recording(self, data, *args, **kwargs):
        futures = scatter(self, data, *args, **kwargs)
        sent.append(futures)
        return futures

    monkeypatch.setattr(distributed.Client, "scatter", recording)
    with distributed.Client(cluster) as client:

        def lose_the_table() -> None:
            time.sleep(3.0)
            client.cancel(list(sent[0]), force=True)  # its dependents are cancelled with it

        loser = threading.Thread(target=lose_the_table)
        loser.start()
        result = AutoSearch(task="binary", metric="roc_auc", time_budget_s=10, cluster=client).fit(X, y)
        loser.join()
    assert len(sent) >= 2  # sent again
    assert sum(t.status == "complete" for t in result.trials) >= 3
    assert result.best_score > 0.85 and result.members


def test_trials_on_the_workers_stop_after_a_fold_below_the_top_quarter(cluster):
    X, y = _table(1200, seed=2)
    with distributed.Client(cluster) as client:
        result = AutoSearch(
            task="binary", metric="roc_auc", time_budget_s=10, cluster=client, learners=["knn", "linear"],
            sampler="random", seed=0,
        ).fit(X, y)  # fmt: skip
    n_folds = max(len(t.fold_scores) for t in result.trials if t.status == "complete")
    stopped = [t for t in result.trials if t.status == "pruned" and 0 < len(t.fold_scores) < n_folds]
    assert stopped, [(t.status, len(t.fold_scores)) for t in result.trials]
    assert sum(t.status == "complete" for t in result.trials) >= 6  # pruning starts after six completed
