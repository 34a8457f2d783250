"""``lamarck bench --part planner``: does the planner understand what users type?

For every case of the suite, the original instruction and its paraphrases (``bench/planner_paraphrases.yaml``)
are planned on the case's table (the ``heldout*`` paraphrases were never used to tune the rule planner; the first two were seen once the matching by meaning was tuned, the third was written after it); target, task and metric are compared with the case's. The rule planner
always runs; the LLM planner runs when an endpoint is configured (``LAMARCK_LLM_BASE_URL`` and
``LAMARCK_LLM_MODEL``) and is reported as skipped, with the reason, otherwise. Writes ``results.csv``
(one row per sentence and planner) and ``results.md`` (accuracy tables and every miss).

    >>> summarize_planner([{"planner": "rules", "kind": "original", "target_ok": True, "task_ok": True,
    ...                     "metric_ok": False, "all_ok": False}])["rules"]["original"]
    {'n': 1, 'target': 1.0, 'task': 1.0, 'metric': 0.0, 'all': 0.0}
"""

from __future__ import annotations

import csv
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from lamarck.bench._paths import public_suite, repo_file

__all__ = ["FIELDS", "run", "summarize_planner"]

FIELDS = [
    "case",
    "kind",
    "sentence",
    "planner",
    "expected_target",
    "target",
    "expected_task",
    "task",
    "expected_metric",
    "metric",
    "target_ok",
    "task_ok",
    "metric_ok",
    "all_ok",
    "planned_by",
    "seconds",
    "error",
]


def _case_frame(case: Any) -> pd.DataFrame:
    """The case's table as a user would hand it over: features and target, known-leaky columns dropped."""
    from lamarck.bench._suite import _read_source

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = _read_source(case.source)
    if case.target not in frame.columns and "__target__" in frame.columns:
        frame = frame.rename(columns={"__target__": case.target})
    frame = frame.dropna(subset=[case.target]).reset_index(drop=True)
    return frame.drop(columns=[c for c in case.drop if c in frame.columns])


def summarize_planner(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """planner -> kind (original, paraphrase, all) -> n and accuracy of target, task, metric, all three."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for planner in dict.fromkeys(r["planner"] for r in rows):
        mine = [r for r in rows if r["planner"] == planner]
        groups: dict[str, list[dict[str, Any]]] = {
            "original": [],
            "paraphrase": [],
            "heldout": [],
            "heldout2": [],
            "heldout3": [],
            "all": mine,
        }
        for r in mine:
            groups.setdefault(r["kind"], []).append(r)
        out[planner] = {}
        for kind, group in groups.items():
            if not group:
                continue
            n = len(group)
            out[planner][kind] = {
                "n": n,
                **{
                    k: sum(_truth(r[f"{k}_ok"]) for r in group) / n
                    for k in ("target", "task", "metric", "all")
                },
            }
    return out


def _truth(v: Any) -> bool:
    return v is True or str(v).lower() == "true"


def _markdown(rows: list[dict[str, Any]], skipped: dict[str, str], command: str) -> str:
    summary = summarize_planner(rows)
    lines = [
        "# Planner bench: target / task / metric accuracy",
        "",
        f"Command: `{command}`",
        "",
        "| planner | sentences | n | target | task | metric | all three |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for planner, kinds in summary.items():
        for kind in ("original", "paraphrase", "heldout", "heldout2", "heldout3", "all"):
            s = kinds.get(kind)
            if s:
                lines.append(
                    f"| {planner} | {kind} | {s['n']:.0f} | {s['target']:.1%} | {s['task']:.1%} | "
                    f"{s['metric']:.1%} | {s['all']:.1%} |"
                )
    for planner, why in skipped.items():
        lines.append(f"| {planner} | skipped | 0 | — | — | — | {why} |")
    misses = [r for r in rows if not _truth(r["all_ok"])]
    lines += ["", f"## Misses ({len(misses)})", ""]
    if misses:
        lines += [
            "| planner | case | sentence | got (target / task / metric) | expected | error |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in misses:
            got = f"{r['target']} / {r['task']} / {r['metric']}"
            exp = f"{r['expected_target']} / {r['expected_task']} / {r['expected_metric']}"
            lines.append(
                f"| {r['planner']} | {r['case']} | {r['sentence']} | {got} | {exp} | {r['error'][:80]} |"
            )
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def run(args: Any, console: Any) -> None:
    """Plan every sentence with every available planner; write results.csv and results.md."""
    from lamarck.bench._suite import load_suite, pick
    from lamarck.errors import LamarckError
    from lamarck.plan import RulePlanner, make_plan, planner_for
    from lamarck.settings import Settings

    suite_path = args.suite or public_suite()
    para_path = repo_file("bench/planner_paraphrases.yaml")
    paraphrases: dict[str, list[str]] = {}
    heldout: dict[str, list[str]] = {}
    heldout2: dict[str, list[str]] = {}
    heldout3: dict[str, list[str]] = {}
    if para_path is not None:
        raw = yaml.safe_load(para_path.read_text(encoding="utf-8"))
        paraphrases = dict(raw.get("paraphrases") or {})
        heldout = dict(raw.get("heldout") or {})
        heldout2 = dict(raw.get("heldout2") or {})
        heldout3 = dict(raw.get("heldout3") or {})
    output = Path(args.output)
    if output == Path("bench/results/batch"):  # the command's default is the batch folder
        output = Path("bench/results/planner")
    output.mkdir(parents=True, exist_ok=True)
    cases = load_suite(suite_path)
    wanted = set(pick(args.cases, [c.name for c in cases], flag="--cases"))
    cases = [c for c in cases if c.name in wanted]

    settings = Settings.load(".lamarck")
    planners: dict[str, Any] = {"rules": RulePlanner(default_time_budget_s=settings.default_time_budget_s)}
    skipped: dict[str, str] = {}
    if settings.llm_base_url and settings.llm_model:
        planners[f"llm:{settings.llm_model}"] = planner_for(
            settings, llm=True, audit_dir=Path(".lamarck") / "llm"
        )
    else:
        skipped["llm"] = "no LLM endpoint configured (set LAMARCK_LLM_BASE_URL and LAMARCK_LLM_MODEL)"
        console.print(f"llm: skipped — {skipped['llm']}")

    rows: list[dict[str, Any]] = []
    for case in cases:
        frame = _case_frame(case)
        sentences = [
            ("original", case.instruction),
            *(("paraphrase", s) for s in paraphrases.get(case.name, [])),
            *(("heldout", s) for s in heldout.get(case.name, [])),
            *(("heldout2", s) for s in heldout2.get(case.name, [])),
            *(("heldout3", s) for s in heldout3.get(case.name, [])),
        ]
        for kind, sentence in sentences:
            for name, planner in planners.items():
                t0 = time.monotonic()
                row: dict[str, Any] = {
                    "case": case.name,
                    "kind": kind,
                    "sentence": sentence,
                    "planner": name,
                    "expected_target": case.target,
                    "expected_task": case.task,
                    "expected_metric": case.metric,
                    "target": "",
                    "task": "",
                    "metric": "",
                    "planned_by": "",
                    "error": "",
                }
                try:
                    spec = make_plan(frame, sentence, planner=planner)
                    row.update(
                        target=spec.target, task=spec.task, metric=spec.metric, planned_by=spec.planner
                    )
                    if spec.notes:
                        row["error"] = " | ".join(spec.notes)[:300]
                except LamarckError as e:
                    row["error"] = str(e)[:300]
                row["seconds"] = round(time.monotonic() - t0, 3)
                row["target_ok"] = row["target"] == case.target
                row["task_ok"] = row["task"] == case.task
                row["metric_ok"] = row["metric"] == case.metric
                row["all_ok"] = row["target_ok"] and row["task_ok"] and row["metric_ok"]
                rows.append(row)
                mark = "[green]ok[/green]" if row["all_ok"] else "[red]miss[/red]"
                console.print(
                    f"{name:10s} {case.name:28s} {mark} {row['target']}/{row['task']}/{row['metric']}  "
                    f"[dim]{sentence}[/dim]",
                    highlight=False,
                )
    with (output / "results.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    command = "lamarck bench --part planner" + (f" --cases {args.cases}" if args.cases else "")
    text = _markdown(rows, skipped, command)
    (output / "results.md").write_text(text, encoding="utf-8")
    console.print(text.split("## Misses")[0])
