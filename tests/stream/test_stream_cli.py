"""``lamarck stream`` end to end: JSON summary, quarantine of each bad input, stdin, resume, registry."""

import csv
import io
import json
import re

import pytest
from river.datasets import synth

from lamarck.cli import main
from lamarck.project import Project

KEYS = {
    "events", "metric", "score", "accuracy", "seconds", "events_per_s", "labelled", "quarantined",
    "quarantine", "replacements", "drifts", "recurrences", "members", "interrupted", "checkpoint", "version",
}  # fmt: skip


def rows(n: int, seed: int = 0):
    for x, y in synth.SEA(variant=1, noise=0.05, seed=seed).take(n):
        yield {"a": round(x[0], 4), "b": round(x[1], 4), "c": round(x[2], 4), "label": "yes" if y else "no"}


@pytest.fixture()
def sea_csv(tmp_path):
    path = tmp_path / "sea.csv"
    good = list(rows(1500))
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "label"])
        for i, r in enumerate(good):
            w.writerow(r.values())
            if i == 700:
                fh.write("1.0,2.0,3.0,yes,surplus\n")  # unparsable: one field too many
                w.writerow(["", 1.0, 2.0, "no"])  # missing feature
                w.writerow(["abc", 1.0, 2.0, "no"])  # non-numeric
                w.writerow([1.0, 1.0, 2.0, "maybe"])  # unseen label
    return path


def run_json(argv, capsys):
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_json_summary_and_quarantine_of_each_bad_input(sea_csv, tmp_path, capsys):
    project = tmp_path / "proj"
    code, out = run_json(
        ["stream", str(sea_csv), "predict the label", "--no-register", "--head", "500", "-p", str(project)],
        capsys,
    )
    assert code == 0
    assert set(out) == KEYS
    assert out["events"] == 1500 and out["metric"] == "accuracy" and out["labelled"] == 1500
    assert out["quarantine"] == {"unparsable": 1, "missing feature": 1, "non-numeric": 1, "unseen label": 1}
    assert out["quarantined"] == 4 and out["score"] > 0.8
    stored = Project(project).store
    assert stored.counts()["quarantine"] == 4
    reasons = [r["reason"] for r in stored.quarantined()]
    assert any("'abc'" in r for r in reasons) and any("'maybe'" in r for r in reasons)


def test_stdin_json_lines_with_label_delay(tmp_path, capsys, monkeypatch):
    lines = [json.dumps(r) for r in rows(1200, seed=1)]
    lines.insert(600, "{not json")
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out = run_json(
        ["stream", "-", "predict label", "--label-delay", "100", "--no-register", "--no-hybrid",
         "-p", str(tmp_path / "p")],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert out["events"] == 1200 and out["quarantine"]["unparsable"] == 1
    assert out["score"] > 0.75


@pytest.mark.slow
def test_resume_goes_on_where_it_stopped(sea_csv, tmp_path, capsys):
    project = str(tmp_path / "proj")
    base = ["stream", str(sea_csv), "predict label", "--no-register", "--head", "500", "-p", project]
    _, whole = run_json([*base, "--name", "whole"], capsys)
    _, part = run_json([*base, "--name", "parts", "--limit", "800", "--checkpoint-every", "100"], capsys)
    assert part["events"] + part["quarantined"] == 800
    _, rest = run_json([*base, "--name", "parts", "--resume"], capsys)
    assert rest["events"] == whole["events"] and rest["quarantined"] == whole["quarantined"]
    assert rest["score"] == whole["score"]  # same state, same predictions


@pytest.mark.slow
def test_registered_learner_loads_and_predicts(sea_csv, tmp_path, capsys):
    project = tmp_path / "proj"
    code, out = run_json(
        ["stream", str(sea_csv), "predict label", "--limit", "1000", "--no-hybrid", "-p", str(project)],
        capsys,
    )
    assert code == 0 and out["version"] == "1"
    proj = Project(project)
    assert proj.registry.alias_version("stream") == "1"
    [move] = proj.ledger.moves("stream")  # recorded by the champion ledger, then made
    assert (move.kind, move.to, move.previous) == ("promote", "1", None)
    assert proj.ledger.moves() == []  # a stream registration is not a champion decision
    model = proj.registry.load("stream")
    import pandas as pd

    pred = model.predict(pd.DataFrame([{"a": 9.0, "b": 9.0, "c": 1.0}, {"a": 0.1, "b": 0.2, "c": 1.0}]))
    assert list(pred) == ["yes", "no"]
    assert model.input_schema == {"a": "numeric", "b": "numeric", "c": "numeric"}


def test_user_errors_exit_non_zero_with_the_fix(sea_csv, tmp_path, capsys):
    code = main(["stream", str(sea_csv), "predict label", "--metric", "rmse", "-p", str(tmp_path / "p")])
    assert code != 0
    err = capsys.readouterr().err
    assert "rmse" in err and "Fix" in err and "Traceback" not in err
    code = main(["stream", str(tmp_path / "nope.csv"), "predict label", "-p", str(tmp_path / "p")])
    err = re.sub(r"[│\s]+", " ", capsys.readouterr().err)  # the error panel wraps long paths
    assert code != 0 and "does not exist" in err


@pytest.mark.slow
def test_numeric_target_streams_as_a_regression(tmp_path, capsys):
    path = tmp_path / "friedman.csv"
    events = list(synth.Friedman(seed=7).take(1200))
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f"x{i}" for i in range(10)] + ["price"])
        for i, (x, y) in enumerate(events):
            w.writerow([round(v, 4) for v in x.values()] + [round(y, 3)])
            if i == 600:
                w.writerow([0.5] * 10 + ["high"])  # a label that is not a number
    project = tmp_path / "proj"
    code, out = run_json(
        ["stream", str(path), "predict price, minimize mean absolute error", "--no-hybrid",
         "--population", "2", "--replace-every", "300", "-p", str(project)],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert out["metric"] == "mae" and out["accuracy"] is None and out["events"] == 1200
    assert out["quarantine"]["non-numeric"] == 1
    mean = sum(y for _, y in events) / len(events)
    baseline = sum(abs(y - mean) for _, y in events) / len(events)  # even knowing the mean in advance
    assert out["score"] < 0.75 * baseline
    assert all("error" in m for m in out["members"])
    model = Project(project).registry.load("stream")
    import pandas as pd

    pred = model.predict(pd.DataFrame([dict(zip([f"x{i}" for i in range(10)], x.values(), strict=True))
                                       for x, _ in events[:3]]))  # fmt: skip
    assert pred.dtype == float and model.task == "regression"


def test_macro_f1_in_the_sentence_is_the_streams_metric(sea_csv, tmp_path, capsys):
    """The planner names macro F1 ``f1_macro`` (the batch metric table's name); the stream scores it."""
    code, out = run_json(
        ["stream", str(sea_csv), "predict the label, optimize macro F1", "--no-register", "--no-hybrid",
         "--head", "500", "-p", str(tmp_path / "proj")],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert out["metric"] == "f1_macro" and 0.8 < out["score"] < 1.0
    assert out["score"] != out["accuracy"]  # scored as macro F1, not as accuracy


def test_every_streaming_metric_has_its_batch_name():
    from lamarck.evaluate import METRICS
    from lamarck.stream import STREAM_METRICS

    assert set(STREAM_METRICS) <= set(METRICS)


@pytest.mark.parametrize("bad", ["../../x", "a/b", "..", ".", "", "a\\b", "x" * 101])
def test_a_stream_name_that_could_leave_the_project_is_refused(bad, sea_csv, tmp_path, capsys):
    project = tmp_path / "proj"
    argv = ["stream", str(sea_csv), "predict label", "--name", bad, "--project", str(project), "--json"]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "ConfigError" in err and "Traceback" not in err
    assert "stream name" in " ".join(err.split()), err
    assert not (tmp_path / "x").exists() and not (project / "streams").exists()


def test_a_categorical_text_column_is_one_hot_encoded_not_a_traceback(tmp_path, capsys):
    """River's scaler met the string 'red' and the run died (issue 20): strings are now one-hot encoded
    for the members that need numbers, and the colour carries the signal."""
    rng = __import__("random").Random(0)
    path = tmp_path / "cat.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["color", "size", "label"])
        for _ in range(1200):
            color, size = rng.choice(["red", "green", "blue"]), round(rng.random(), 3)
            w.writerow([color, size, "yes" if (color == "red") ^ (size > 0.8) else "no"])
    argv = ["stream", str(path), "predict label", "--project", str(tmp_path / "p"), "--no-hybrid"]
    code, out = run_json(argv, capsys)
    assert code == 0 and out["events"] == 1200 and out["quarantined"] == 0
    assert out["score"] > 0.8  # majority class alone is about 0.6
    assert "Traceback" not in capsys.readouterr().err
    proj = Project(tmp_path / "p")
    frame = __import__("pandas").DataFrame({"color": ["red", "blue"], "size": [0.1, 0.1]})
    predictions, _ = proj.predict(frame, model="stream")
    assert list(predictions["prediction"]) == ["yes", "no"]
