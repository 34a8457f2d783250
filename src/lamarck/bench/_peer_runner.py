"""Run one peer AutoML system on one split, inside the peer's own virtual environment.

    ~/.cache/lamarck/peers/flaml/bin/python src/lamarck/bench/_peer_runner.py flaml WORKDIR

(:mod:`lamarck.bench._peers` makes those environments; the script ships inside the package so that an
installed Lamarck can run its peers.)

WORKDIR holds ``train.parquet``, ``test.parquet`` (features only) and ``config.json`` (target, task,
metric, budget, seed). The script writes ``pred.parquet`` (one column per class with probabilities, or a
``prediction`` column for regression) and ``timing.json``. It imports nothing of Lamarck: peers pin their
own pandas and scikit-learn.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

FLAML_METRICS = {
    "roc_auc": "roc_auc",
    "accuracy": "accuracy",
    "log_loss": "log_loss",
    "rmse": "rmse",
    "mae": "mae",
    "r2": "r2",
    "f1": "f1",
    "f1_macro": "macro_f1",
    "average_precision": "ap",
    "balanced_accuracy": "accuracy",
    "mape": "mape",
}
AG_METRICS = {
    "roc_auc": "roc_auc",
    "accuracy": "accuracy",
    "log_loss": "log_loss",
    "rmse": "root_mean_squared_error",
    "mae": "mean_absolute_error",
    "r2": "r2",
    "f1": "f1",
    "f1_macro": "f1_macro",
    "average_precision": "average_precision",
    "balanced_accuracy": "balanced_accuracy",
    "mape": "mean_absolute_percentage_error",
}


def run_flaml(train: pd.DataFrame, test: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    from flaml import AutoML

    y = train.pop(cfg["target"])
    metric = FLAML_METRICS[cfg["metric"]]
    if cfg["task"] == "multiclass" and metric == "roc_auc":
        metric = "roc_auc_ovr"
    automl = AutoML()
    automl.fit(
        train,
        y,
        task="regression" if cfg["task"] == "regression" else "classification",
        time_budget=cfg["budget"],
        metric=metric,
        seed=cfg["seed"],
        verbose=0,
    )
    if cfg["task"] == "regression":
        return pd.DataFrame({"prediction": automl.predict(test)})
    return pd.DataFrame(automl.predict_proba(test), columns=[str(c) for c in automl.classes_])


def run_autogluon(train: pd.DataFrame, test: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    from autogluon.tabular import TabularPredictor

    with tempfile.TemporaryDirectory() as tmp:
        predictor = TabularPredictor(
            label=cfg["target"],
            eval_metric=AG_METRICS[cfg["metric"]],
            path=tmp,
            verbosity=0,
            problem_type=cfg["task"],
        ).fit(train, time_limit=cfg["budget"], presets="medium_quality")
        if cfg["task"] == "regression":
            return pd.DataFrame({"prediction": predictor.predict(test).to_numpy()})
        proba = predictor.predict_proba(test)
        proba.columns = [str(c) for c in proba.columns]
        return proba.reset_index(drop=True)


PEERS = {"flaml": run_flaml, "autogluon": run_autogluon}


def main(peer: str, workdir: str) -> None:
    work = Path(workdir)
    cfg = json.loads((work / "config.json").read_text())
    train = pd.read_parquet(work / "train.parquet")
    test = pd.read_parquet(work / "test.parquet")
    if cfg["task"] != "regression":
        train[cfg["target"]] = train[cfg["target"]].astype(str)
    t0 = time.monotonic()
    pred = PEERS[peer](train, test, cfg)
    seconds = time.monotonic() - t0
    pred.to_parquet(work / "pred.parquet")
    (work / "timing.json").write_text(json.dumps({"seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
