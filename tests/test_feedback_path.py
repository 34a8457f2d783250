"""One feedback path: ``Project.add_feedback`` decides which labels are usable, for the CLI and the API."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from lamarck import Project
from lamarck.errors import ConfigError, DataError, LamarckError
from lamarck.project import FeedbackResult


def _quarantine(project: Project) -> list[tuple[str, str]]:
    with project.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT source, reason FROM quarantine ORDER BY id"))]


def _bad_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "b": ["u", "v", "u", "w", "v", "u"],
            "y": ["yes", None, np.nan, "", " ", "no"],
        }
    )


def test_rows_with_empty_labels_are_quarantined_and_the_rest_stored(tmp_path):
    project = Project(tmp_path / "p")
    result = project.add_feedback(rows=_bad_rows(), label_column="y", source="test")
    assert isinstance(result, FeedbackResult)
    assert result.accepted == 2
    assert [i for i, _ in result.quarantined] == [1, 2, 3, 4]
    assert all("label 'y' is empty" in why for _, why in result.quarantined)
    assert project.store.counts()["feedback"] == 2
    assert _quarantine(project) == [("test", why) for _, why in result.quarantined]
    labelled = project.store.labelled()
    assert sorted(labelled["label"]) == ["no", "yes"]
    assert result.to_dict() == {
        "accepted": 2,
        "quarantined": [{"index": i, "reason": why} for i, why in result.quarantined],
    }


def test_rows_as_dicts_missing_the_label_column_are_quarantined_not_refused(tmp_path):
    project = Project(tmp_path / "p")
    rows = [{"a": 1, "y": "yes"}, {"a": 2}, {"y": "no"}]
    result = project.add_feedback(rows=rows, label_column="y")
    assert result.accepted == 1
    assert result.quarantined == [
        (1, "label column 'y' is missing"),
        (2, "the row has no input besides its label 'y'"),
    ]
    assert [s for s, _ in _quarantine(project)] == ["api", "api"]


def test_items_follow_the_same_rule(tmp_path):
    project = Project(tmp_path / "p")
    ids = project.store.log_predictions([{"a": 1}] * 3, predictions=["yes"] * 3, model_version="1")
    items = [
        {"prediction_id": ids[0], "label": "yes"},
        {"prediction_id": ids[1], "label": None},
        {"prediction_id": ids[2], "label": "no", "weight": 0},
        {"prediction_id": ids[2], "label": "no", "weight": math.inf},
        {"prediction_id": "", "label": "no"},
        {"prediction_id": ids[2]},
        {"prediction_id": ids[2], "label": "no", "weight": 2.5},
    ]
    result = project.add_feedback(items=items)
    assert result.accepted == 2
    reasons = dict(result.quarantined)
    assert list(reasons) == [1, 2, 3, 4, 5]
    assert reasons[1] == "label is empty (None)"
    assert reasons[2] == "weight 0 is not a finite number > 0"
    assert "weight inf" in reasons[3] and "prediction_id" in reasons[4] and reasons[5] == "no 'label'"
    assert sorted(project.store.labelled()["weight"]) == [1.0, 2.5]


@pytest.mark.parametrize("weight", [0.0, -1.0, math.nan, math.inf, True])
def test_a_bad_weight_option_is_refused_before_anything_is_stored(tmp_path, weight):
    project = Project(tmp_path / "p")
    for kwargs in ({"rows": [{"a": 1, "y": "yes"}], "label_column": "y"}, {"items": [{"label": "yes"}]}):
        with pytest.raises(ConfigError) as err:
            project.add_feedback(**kwargs, weight=weight)
        assert isinstance(err.value, LamarckError) and isinstance(err.value, ValueError)
        message = str(err.value)
        assert "weight" in message and repr(weight) in message and "finite number > 0" in message
        assert "Fix:" in message
    counts = project.store.counts()
    assert (counts["feedback"], counts["quarantine"]) == (0, 0)


@pytest.mark.parametrize("by_id", [False, True])
@pytest.mark.parametrize("weight", ["-1", "nan", "0"])
def test_cli_refuses_a_bad_weight_without_a_traceback(tmp_path, capsys, weight, by_id):
    from lamarck.cli import main

    frame = pd.DataFrame({"a": [1, 2], "y": ["yes", "no"], "id": ["p1", "p2"]})
    frame.to_csv(tmp_path / "labels.csv", index=False)
    project = tmp_path / "p"
    args = ["feedback", str(tmp_path / "labels.csv"), "--label-column", "y", "--project", str(project)]
    args += ["--id-column", "id"] if by_id else []
    code = main([*args, "--weight", weight])
    printed = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in printed.out + printed.err
    assert "weight" in printed.out + printed.err and "Fix:" in printed.out + printed.err
    counts = Project(project).store.counts()
    assert (counts["feedback"], counts["quarantine"]) == (0, 0)


def test_nothing_usable_raises_after_quarantining_everything(tmp_path):
    project = Project(tmp_path / "p")
    rows = pd.DataFrame({"a": [1, 2, 3], "label": ["x", "y", "z"]})
    with pytest.raises(DataError) as err:
        project.add_feedback(rows=rows, label_column="churned")
    message = str(err.value)
    assert "label column 'churned' is missing" in message  # the rule, for the rows
    assert "'<absent>'" in message  # a sample of the values
    assert "Fix: put each row's label in column 'churned'" in message and "'label'" in message
    assert "nothing is lost" in message
    assert project.store.counts()["quarantine"] == 3 and project.store.counts()["feedback"] == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"items": [{"prediction_id": "x", "label": 1}], "rows": [{"a": 1, "y": 1}], "label_column": "y"},
        {"rows": [{"a": 1, "y": 1}]},
    ],
)
def test_one_form_at_a_time(tmp_path, kwargs):
    with pytest.raises(ConfigError, match="Fix:"):
        Project(tmp_path / "p").add_feedback(**kwargs)


def test_cli_and_python_api_agree_on_the_same_bad_rows(tmp_path, capsys):
    from lamarck.cli import main

    rows = _bad_rows()
    rows.to_csv(tmp_path / "labels.csv", index=False)
    cli_project, api_project = tmp_path / "cli", tmp_path / "api"
    assert (
        main(["feedback", str(tmp_path / "labels.csv"), "--label-column", "y", "--project", str(cli_project)])
        == 0
    )
    out = capsys.readouterr().out
    assert "stored 2 label(s); 4 row(s) without a usable label quarantined" in out
    result = Project(api_project).add_feedback(rows=pd.read_csv(tmp_path / "labels.csv"), label_column="y")
    cli, api = Project(cli_project), Project(api_project)
    assert cli.store.counts() == api.store.counts()
    assert (result.accepted, len(result.quarantined)) == (2, 4)
    assert [why for _, why in _quarantine(cli)] == [why for _, why in _quarantine(api)]
    assert {s for s, _ in _quarantine(cli)} == {"cli"}


def test_cli_labels_for_prediction_ids_and_a_file_without_the_label_column(tmp_path, capsys):
    from lamarck.cli import main

    project = Project(tmp_path / "p")
    ids = project.store.log_predictions([{"a": 1}] * 2, predictions=["yes"] * 2, model_version="1")
    pd.DataFrame({"id": [ids[0], ids[1], None], "y": ["no", None, "yes"]}).to_csv(
        tmp_path / "ids.csv", index=False
    )
    args = ["--label-column", "y", "--id-column", "id", "--project", str(project.path)]
    assert main(["feedback", str(tmp_path / "ids.csv"), *args]) == 0
    assert "stored 1 label(s); 2 row(s)" in capsys.readouterr().out
    assert list(project.store.labelled()["prediction_id"]) == [ids[0]]
    pd.DataFrame({"a": [1, 2]}).to_csv(tmp_path / "nolabel.csv", index=False)
    code = main(
        ["feedback", str(tmp_path / "nolabel.csv"), "--label-column", "y", "--project", str(project.path)]
    )
    assert code != 0
    printed = capsys.readouterr()
    assert "label column 'y' is missing" in printed.out + printed.err and "Fix:" in printed.out + printed.err
    assert project.store.counts()["quarantine"] == 2 + 2


def test_unknown_prediction_ids_are_quarantined_at_the_door(tmp_path):
    project = Project(tmp_path / "p")
    ids = project.store.log_predictions([{"a": 1}], predictions=["yes"], model_version="1")
    items = [{"prediction_id": "nope", "label": "yes"}, {"prediction_id": ids[0], "label": "no"}]
    result = project.add_feedback(items=items)
    assert result.accepted == 1
    assert result.quarantined == [(0, "prediction_id 'nope' is unknown: no logged prediction has it")]
    assert list(project.store.labelled()["prediction_id"]) == [ids[0]]
    with pytest.raises(DataError, match="unknown"):
        project.add_feedback(items=[{"prediction_id": "gone", "label": "yes"}])
    assert project.store.counts()["quarantine"] == 2


def test_a_prediction_labelled_twice_in_one_request_keeps_its_first_usable_label(tmp_path):
    project = Project(tmp_path / "p")
    ids = project.store.log_predictions([{"a": 1}] * 2, predictions=["yes"] * 2, model_version="1")
    items = [
        {"prediction_id": ids[0], "label": None},  # unusable: the next one is the first usable label
        {"prediction_id": ids[0], "label": "yes"},
        {"prediction_id": ids[1], "label": "no"},
        {"prediction_id": ids[0], "label": "no"},
        {"prediction_id": ids[1], "label": "yes"},
    ]
    result = project.add_feedback(items=items)
    assert result.accepted == 2
    reasons = dict(result.quarantined)
    assert list(reasons) == [0, 3, 4]
    assert (
        reasons[3]
        == f"prediction_id {ids[0]!r} is labelled twice in this request: the first label (#1) is kept"
    )
    assert "(#2) is kept" in reasons[4]
    stored = project.store.labelled()
    assert dict(zip(stored["prediction_id"], stored["label"], strict=True)) == {ids[0]: "yes", ids[1]: "no"}


@pytest.mark.parametrize("label", [{"a": 1}, [1, 2], ("x",)])
def test_a_label_that_is_not_a_single_value_is_quarantined(tmp_path, label):
    project = Project(tmp_path / "p")
    result = project.add_feedback(rows=[{"a": 1, "y": label}, {"a": 2, "y": "no"}], label_column="y")
    assert result.accepted == 1
    assert result.quarantined == [(0, f"label {label!r} is not a single value (a {type(label).__name__})")]


def test_labels_the_champion_cannot_learn_from_are_quarantined(tmp_path):
    from lamarck._feedback import add_feedback

    store = Project(tmp_path / "p").store
    rows = [{"a": i, "y": y} for i, y in enumerate(["yes", "maybe", 1.0, "1", 2])]
    result = add_feedback(store, rows=rows, label_column="y", task="binary", classes=np.array(["yes", 1]))
    assert result.accepted == 3  # 1.0 is the class 1 (a JSON round trip), as evolve reads it
    assert [i for i, _ in result.quarantined] == [1, 4]
    assert result.quarantined[0][1] == "label 'maybe' is not one of the champion's classes ['1', 'yes']"
    numbers = [{"a": i, "y": y} for i, y in enumerate([1.5, "2.5", "high", math.inf, True, 3])]
    result = add_feedback(store, rows=numbers, label_column="y", task="regression", classes=None)
    assert result.accepted == 3
    assert [i for i, _ in result.quarantined] == [2, 3, 4]
    assert all("is not a finite number" in why for _, why in result.quarantined)


@pytest.mark.slow
def test_project_checks_labels_against_its_champion(tmp_path):
    project = Project(tmp_path / "p")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = np.where(frame["a"] > 0, "yes", "no")
    project.fit(frame, target="y", time_budget_s=2, learners=["lightgbm"], report=False)
    rows = [{"a": 0.1, "b": 0.2, "y": "yes"}, {"a": 0.1, "b": 0.2, "y": "maybe"}]
    result = project.add_feedback(rows=rows, label_column="y")
    assert result.accepted == 1
    assert result.quarantined == [(1, "label 'maybe' is not one of the champion's classes ['no', 'yes']")]
