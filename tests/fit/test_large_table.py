"""A table given as a glob of Parquet files, read as a Dask dataframe and trained on a LocalCluster of two
worker processes: sampled fit, LightGBM's Dask estimator on every row, the better one on a held-out part
registered as the champion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lamarck import Project
from lamarck.errors import ConfigError

distributed = pytest.importorskip(
    "distributed", reason="the cluster extra (lamarck[cluster]) is not installed"
)


def _parts(folder, n_parts: int = 4, rows: int = 4000) -> str:
    rng = np.random.default_rng(0)
    for k in range(n_parts):
        f = pd.DataFrame(
            {"a": rng.normal(size=rows), "b": rng.normal(size=rows), "c": rng.choice(list("xyz"), rows)}
        )
        f["y"] = np.where(f["a"] + f["b"] * (f["c"] == "x") + 0.5 * rng.normal(size=rows) > 0, "yes", "no")
        f.to_parquet(folder / f"part-{k}.parquet")
    return str(folder / "part-*.parquet")


def _fit_on(cluster, tmp_path, source: str, learner: str, seconds: int):
    """A project fitted on ``source`` through the cluster, searching ``learner`` alone."""
    with distributed.Client(cluster) as client:
        project = Project(tmp_path / "p")
        result = project.fit(
            source,
            f"predict y, in {seconds} seconds",
            cluster=client,
            report=False,
            seed=0,
            learners=[learner],
        )
    return project, result


@pytest.mark.slow
def test_a_glob_of_parquet_files_trains_on_the_cluster_and_serves_like_any_model(tmp_path, cluster):
    source = _parts(tmp_path)
    with distributed.Client(cluster) as client:
        project = Project(tmp_path / "p")
        result = project.fit(source, "predict y, in 10 seconds", cluster=client, report=False, seed=0)
    note = result.notes[-1]
    assert note.startswith("large table") and "training rows on the cluster" in note, note
    n_train = int(note.split(": ")[1].split(" training rows")[0].replace(",", ""))
    assert 13_000 < n_train < 15_500  # a tenth of the 16,000 rows held out
    assert result.champion_version == "1" and result.score > 0.85
    rows = pd.read_parquet(tmp_path / "part-0.parquet").head(20)
    predicted, _ = project.predict(rows.drop(columns=["y"]))
    assert (predicted["prediction"] == rows["y"]).mean() > 0.7  # the registered champion answers


def test_a_glob_without_a_cluster_is_a_clear_error(tmp_path):
    source = _parts(tmp_path, n_parts=1, rows=50)
    with pytest.raises(ConfigError, match="--cluster"):
        Project(tmp_path / "p").fit(source, "predict y")


@pytest.mark.slow
def test_xgboost_trains_on_every_row_with_its_own_dask_estimator(tmp_path, cluster):
    import re

    import xgboost as xgb

    project, result = _fit_on(cluster, tmp_path, _parts(tmp_path, n_parts=3, rows=3000), "xgboost", 10)
    note = result.notes[-1]
    # the fit names XGBoost alone: it alone trains on every row, and answers the held-out rows through the
    # zoo's predict path
    scores = dict(re.findall(r"(LightGBM|XGBoost) on every row roc_auc (\d\.\d+)", note))
    assert set(scores) == {"XGBoost"} and float(scores["XGBoost"]) > 0.85, note
    champion = project.load_model("champion")
    if "XGBoost model of every row" in note:
        assert len(champion.members) == 1 and isinstance(champion.members[0].models[0], xgb.XGBClassifier)
    rows = pd.read_parquet(tmp_path / "part-0.parquet").head(50)
    predicted, _ = project.predict(rows.drop(columns=["y"]))
    assert (predicted["prediction"] == rows["y"]).mean() > 0.7


@pytest.mark.slow
def test_a_model_of_every_row_that_fails_leaves_the_sampled_fit(tmp_path, cluster, monkeypatch):
    # seen with 12 M rows on workers capped at 1.3 GiB: a worker restarted, XGBoost's allreduce failed
    import lightgbm as lgb

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("Ring Allreduce failed.\nmore lines")

    monkeypatch.setattr(lgb.DaskLGBMClassifier, "fit", out_of_memory)
    _, result = _fit_on(cluster, tmp_path, _parts(tmp_path, n_parts=2, rows=2000), "lightgbm", 8)
    note = result.notes[-1]
    assert "LightGBM on every row failed (RuntimeError: Ring Allreduce failed.)" in note, note
    assert note.endswith("the champion is the sampled fit") and result.champion_version == "1"
