"""``lamarck bench --part planner`` on two cases: the rule planner, and an LLM planner against the stub."""

from __future__ import annotations

import csv
import json

from rich.console import Console

from lamarck.bench import PARTS, BenchArgs


def test_planner_bench_rules_and_llm(shared_dir, llm_stub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the LLM audit goes to ./.lamarck/llm
    monkeypatch.setenv("LAMARCK_LLM_BASE_URL", llm_stub.base_url)
    monkeypatch.setenv("LAMARCK_LLM_MODEL", "stub")
    # the stub always names childHeight: right for galton, wrong (not a column) for windsor → rules fallback
    llm_stub.answers(
        json.dumps(
            {
                "target": "childHeight",
                "task": "regression",
                "metric": "r2",
                "time_budget_s": None,
                "exclude_columns": [],
                "positive_class": None,
            }
        )
    )
    out = tmp_path / "planner"
    args = BenchArgs(
        suite=shared_dir / "bench" / "public_suite.yaml",
        output=out,
        cases="galton_child_height,windsor_house_price",
    )
    PARTS["planner"](args, Console(file=open(tmp_path / "log.txt", "w")))  # noqa: SIM115
    rows = list(csv.DictReader((out / "results.csv").open()))
    rules = [r for r in rows if r["planner"] == "rules"]
    llm = [r for r in rows if r["planner"] == "llm:stub"]
    assert len(rules) == len(llm) > 2 and {r["kind"] for r in rules} >= {"original", "paraphrase"}
    galton = [r for r in llm if r["case"] == "galton_child_height"]
    assert all(r["all_ok"] == "True" and r["planned_by"] == "llm" for r in galton)
    windsor = [r for r in llm if r["case"] == "windsor_house_price"]
    assert all(r["planned_by"] == "rules" and "used the rule planner" in r["error"] for r in windsor)
    md = (out / "results.md").read_text()
    assert "| rules | original | 2 |" in md and "llm:stub" in md
