"""The evolution comparison's streams and its backward-transfer arithmetic (the runs are in bench/)."""

import pytest

from lamarck.bench._drifting import CASES, TARGET, agrawal_recurring, sea
from lamarck.bench._evolution import LoopResult, _summary


def test_sea_changes_concept_in_four_blocks():
    case = sea(n=4000)
    assert (
        len(case.frame) == 4000
        and TARGET in case.frame
        and [r for _, r in case.phases] == [0, 1000, 2000, 3000]
    )
    # SEA's label is x0 + x1 > threshold (8, 9, 7, 9.5 for variants 0..3) with 10 % of labels flipped
    for (_, lo), threshold in zip(case.phases, (8, 9, 7, 9.5), strict=True):
        block = case.frame.iloc[lo : lo + 1000]
        rule = ((block["x0"] + block["x1"]) > threshold).astype(int)
        assert (rule == block[TARGET]).mean() == pytest.approx(0.9, abs=0.03)


def test_recurring_segments_are_disjoint_and_probes_held_out():
    case = agrawal_recurring(n=3200)
    (_, a), (_, b), (_, again) = case.phases
    frame = case.frame
    assert (frame["car"].iloc[a:b] <= 10).all() and (frame["car"].iloc[b:again] > 10).all()
    assert (frame["car"].iloc[again:] <= 10).all()
    assert (case.probes["A"]["car"] <= 10).all() and (case.probes["B"]["car"] > 10).all()
    assert set(CASES) >= {"elec2", "sea", "agrawal", "agrawal-recurring"}


def test_backward_transfer_is_probe_after_second_phase_minus_before():
    case = agrawal_recurring(n=3200)
    (_, _), (_, b), (_, again) = case.phases  # 1200, 2400
    rows = [
        {"first_row": 400, "rows": 400, "served": 0.9, "frozen": 0.9, "probe:A": 0.90, "probe:B": 0.5},
        {"first_row": 800, "rows": 400, "served": 0.9, "frozen": 0.9, "probe:A": 0.92, "probe:B": 0.5},
        {"first_row": b, "rows": 400, "served": 0.5, "frozen": 0.5, "probe:A": 0.80, "probe:B": 0.9},
        {"first_row": b + 800, "rows": 400, "served": 0.9, "frozen": 0.5, "probe:A": 0.70, "probe:B": 0.9},
        {"first_row": again, "rows": 400, "served": 0.6, "frozen": 0.9, "probe:A": 0.90, "probe:B": 0.9},
        {"first_row": again + 400, "rows": 200, "served": 0.9, "frozen": 0.9, "probe:A": 0.9, "probe:B": 0.9},
    ]
    result = LoopResult(batches=rows, fit_seconds=2.0, evolve_seconds=3.0)
    out = {r["metric"]: r for r in _summary(case, "loop", result, "served")}
    assert out["backward_transfer_A"]["score"] == pytest.approx(0.70 - 0.92)
    assert out["accuracy_on_A_after_learning_B"]["score"] == pytest.approx(0.70)
    assert out["accuracy_when_A_returns"]["score"] == pytest.approx((0.6 * 400 + 0.9 * 200) / 600, abs=1e-4)
    assert out["accuracy"]["seconds"] == 5.0
    frozen = _summary(case, "frozen", result, "frozen")
    assert [r["metric"] for r in frozen] == ["accuracy", "cpu_seconds", "cpu_after_fit"] and frozen[0][
        "seconds"
    ] == 2.0


@pytest.mark.slow
def test_run_loop_goes_through_the_servers_routes(tmp_path):
    """A short loop through the app's own routes: every row predicted, logged and labelled, probes
    scored after every batch, and a retrain client's new champion served at once."""
    from lamarck import Project
    from lamarck.bench._evolution import InProcessClient, RetrainClient, run_loop
    from lamarck.evolve import EvolutionPolicy

    case = agrawal_recurring(n=1800)
    project = Project(tmp_path / "loop")
    policy = EvolutionPolicy(min_new_labels=400, min_test_labels=150, shadow_labels=0, fresh_search=False)
    result = run_loop(
        project,
        case.frame,
        target=TARGET,
        start=600,
        batch=300,
        evolve_every=300,
        fit_budget_s=3,
        client=InProcessClient(project, policy),
        probes=case.probes,
    )
    assert sum(b["rows"] for b in result.batches) == 1200
    assert project.store.counts()["predictions"] == 1200 == project.store.counts()["feedback"]
    assert all(0 <= b["probe:A"] <= 1 and 0 <= b["probe:B"] <= 1 for b in result.batches)
    assert result.decisions and {d["kind"] for d in result.decisions} <= {
        "reject",
        "promote",
        "challenger",
        "signal",
    }
    retrain = Project(tmp_path / "retrain")
    client = RetrainClient(retrain, case.frame.iloc[:600], target=TARGET, budget_s=2, window=600)
    out = run_loop(
        retrain,
        case.frame.iloc[:1500],  # 3 batches: a refit after the second
        target=TARGET,
        start=600,
        batch=300,
        evolve_every=600,
        fit_budget_s=2,
        client=client,
    )
    versions = [b["version"] for b in out.batches]
    assert versions[0] == "1" and versions[2] == "2"  # the refit after 600 labels serves the next batch
    assert out.online_cpu == 0.0 and client.app.state.server.layer.status() == {"enabled": False}  # bare


def test_stream_system_learns_each_label_after_its_delay():
    """The stream learner alone, at two delays, on a short SEA: every row served once, labels learned."""
    from lamarck.bench._evolution import _run_stream, chunk_of

    case = sea(n=2400)
    quick = _run_stream(case, chunk_of(case, "immediate"), seed=0)
    late = _run_stream(case, chunk_of(case, "week"), seed=0)
    for result in (quick, late):
        assert sum(b["rows"] for b in result.batches) == len(case.frame) - case.start
        assert result.online_cpu > 0 and 0.6 < result.accuracy("served") <= 1.0
    assert chunk_of(case, "week") == case.batch and chunk_of(case, "day") == case.day


def test_the_table_shows_compute_as_a_ratio_of_retrain_all():
    from lamarck.bench._evolution import _markdown

    def rows(system: str, acc: float, after: float, online: float | None = None) -> list[dict]:
        base = {"case": "sea@day", "system": system, "seconds": 1.0, "error": ""}
        out = [
            {**base, "metric": "accuracy", "score": acc},
            {**base, "metric": "cpu_seconds", "score": after + 10},
            {**base, "metric": "cpu_after_fit", "score": after},
        ]
        return out + ([{**base, "metric": "cpu_online", "score": online}] if online is not None else [])

    moves = [
        {"case": "sea@day", "system": "lamarck-loop", "seconds": 1.0, "error": "", "metric": m, "score": v}
        for m, v in (("promotions", 10), ("rollbacks", 1))
    ]
    table = _markdown(rows("lamarck-loop", 0.9, 15.0, 5.0) + moves + rows("retrain-all", 0.8, 30.0))
    assert "| sea@day | lamarck-loop | **0.9000** | 1.0 | 25.0 | 15.0 | 5.0 | 0.50 | 10 (1) |" in table
    assert "| sea@day | retrain-all | 0.8000 | 1.0 | 40.0 | 30.0 |  | 1.00 |  |" in table
