"""A reason that cites a flag cites one that ``lamarck fit`` has (``--positive-class`` was cited, missing)."""

import json

import numpy as np
import pandas as pd
import pytest
import typer

from lamarck import Project
from lamarck.cli import app, main


def _table(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {"x": x, "noise": rng.normal(size=n), "y": np.where(x + 0.3 * rng.normal(size=n) > 0, "yes", "no")}
    )


def _fit_options() -> set[str]:
    fit = typer.main.get_command(app).commands["fit"]  # type: ignore[attr-defined]
    return {opt for param in fit.params for opt in param.opts}


def test_every_flag_cited_by_a_reason_is_an_option_of_fit(tmp_path):
    spec = Project(tmp_path / "p").plan(
        _table(),
        "",
        llm=False,
        target="y",
        task="binary",
        metric="roc_auc",
        time_budget_s=5,
        exclude=["noise"],
        positive_class="no",
    )
    cited = {r.text.split()[0] for r in spec.reasons.values() if r.source == "flag"}
    assert "--positive-class" in cited
    assert cited <= _fit_options()


@pytest.mark.slow
def test_fit_positive_class_flag(tmp_path, capsys):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    args = ["fit", str(path), "--target", "y", "--positive-class", "no", "--time", "3"]
    args += ["--learners", "linear", "--no-report", "--json", "--no-llm", "--project", str(tmp_path / "p")]
    assert main(args) == 0
    spec = json.loads(capsys.readouterr().out)["spec"]
    assert spec["positive_class"] == "no"
    assert spec["reasons"]["positive_class"] == {"source": "flag", "text": "--positive-class no"}
