"""Presentation helpers: number formatting and the rich tables and panels that several commands print."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.panel import Panel
from rich.table import Table

from lamarck.cli._app import console, err_console

__all__ = [
    "explain_table",
    "fmt",
    "leaderboard_table",
    "print_fit",
    "print_plan_notes",
    "print_stream",
    "spec_table",
    "versions_table",
]


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def print_plan_notes(spec: Any) -> None:
    """The planner's notes (ambiguity, LLM fallback) as warnings on stderr, so --json output stays clean."""
    for note in getattr(spec, "notes", []):
        err_console.print(f"[yellow]warning:[/yellow] {note}", highlight=False)


def spec_table(spec: Any) -> Table:
    by = getattr(spec, "planner", "rules")
    title = "Plan" if by == "rules" else f"Plan (planner: {by}; field sources 'llm' come from the LLM)"
    t = Table(title=title, show_lines=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value", style="cyan")
    t.add_column("why")
    values = {
        "target": spec.target,
        "task": spec.task,
        "metric": spec.metric,
        "time_budget_s": f"{spec.time_budget_s:g}",
        "exclude_columns": ", ".join(spec.exclude_columns) or "—",
        "positive_class": spec.positive_class if spec.positive_class is not None else "—",
    }
    if getattr(spec, "max_latency_ms", None) is not None:
        values["max_latency_ms"] = f"{spec.max_latency_ms:g}"
    for key, value in values.items():
        reason = spec.reasons.get(key)
        why = f"[dim]{reason.source}:[/dim] {reason.text}" if reason else ""
        t.add_row(key, str(value), why)
    return t


def print_fit(result: Any) -> None:
    if result.excluded:
        t = Table(title="Columns not used", title_justify="left")
        t.add_column("column", style="bold")
        t.add_column("reason")
        for col, why in result.excluded.items():
            t.add_row(col, why)
        console.print(t)
    if result.quality:
        t = Table(title="Data quality", title_justify="left")
        t.add_column("rule")
        t.add_column("column")
        t.add_column("finding")
        colors = {"error": "red", "warning": "yellow", "info": "dim"}
        for f in result.quality[:15]:
            c = colors.get(f.get("severity", "info"), "")
            t.add_row(f"[{c}]{f['rule']}[/{c}]", str(f.get("column") or "—"), f["message"])
        if len(result.quality) > 15:
            t.add_row("…", "", f"{len(result.quality) - 15} more in the report")
        console.print(t)
    if getattr(result, "llm_features", None):
        t = Table(title="LLM-proposed features", title_justify="left")
        for col in ("feature", "expression", "verdict", "gain", "note"):
            t.add_column(col)
        for f in result.llm_features:
            style = "green" if f.get("status") == "kept" else "dim"
            gain = f.get("delta")
            t.add_row(
                f.get("name", ""),
                f.get("expression", ""),
                f"[{style}]{f.get('status')}[/{style}]",
                "" if gain is None else f"{gain:+.4g}",
                f.get("message", ""),
            )
        console.print(t)
    console.print(leaderboard_table(result.leaderboard, result.metric))
    card = result.scorecard
    lines = [
        f"[bold]{result.metric}[/bold] {fmt(result.score)} ({result.validation})",
        "secondary: " + ", ".join(f"{k} {fmt(v)}" for k, v in card.get("secondary", {}).items()),
    ]
    rob = card.get("robustness")
    if rob is not None:
        lines.append(
            f"robustness (noisy/clean): {fmt(rob if not isinstance(rob, dict) else rob.get('ratio'))}"
        )
    lat = card.get("latency") or {}
    if lat:
        lines.append("latency: " + ", ".join(f"{k} {fmt(v)}" for k, v in lat.items()))
    if card.get("time_to_quality_s") is not None:
        lines.append(
            f"time to quality: {fmt(card['time_to_quality_s'])} s to come within 1 % of the final score "
            f"(search {fmt(card.get('search_seconds'))} s"
            + ("; stopped early, see the notes)" if card.get("stopped_early") else ")")
        )
    if result.quarantined_rows:
        lines.append(
            f"[yellow]{result.quarantined_rows} row(s) quarantined[/yellow] → {result.quarantine_path}"
        )
    lines.extend(f"[dim]{n}[/dim]" for n in result.notes)
    review = getattr(result, "review", None)
    if review:
        lines.append(
            f"LLM review: {review['self_score']}/5 — {review['score_reason']} (full review in the report)"
        )
    version = result.champion_version
    lines.append(
        f"champion: [bold green]version {version}[/bold green] ({result.n_trials} trials, {result.seconds:.1f}s)"
        if version
        else f"not registered ({result.n_trials} trials, {result.seconds:.1f}s)"
    )
    if result.report_path:
        lines.append(f"report: [link=file://{Path(result.report_path).resolve()}]{result.report_path}[/link]")
    console.print(Panel("\n".join(lines), title="Result", expand=False))


def explain_table(result: Any) -> Table:
    """``lamarck fit --explain``: the task's meta-features and the earlier tasks the warm start came from
    (the configurations tried first, in the leaderboard with source ``warm start``)."""
    t = Table(title="Where the search started")
    for col in ("earlier task", "from", "distance", "metric", "when"):
        t.add_column(col)
    warm = getattr(result, "warm_start", None)
    if warm is None:
        t.caption = "warm start off (setting warm_start, --sampler grid or no portfolio)"
    elif not warm["neighbours"]:
        t.caption = "no earlier task of this kind is known: a cold start"
    else:
        for n in warm["neighbours"]:
            t.add_row(n["name"], n["origin"], fmt(n["distance"]), n["metric"], n.get("when") or "")
        t.caption = f"{len(warm['configs'])} configuration(s) tried first"
    meta = getattr(result, "meta_features", None) or {}
    if meta:
        shown = {k: v for k, v in meta.items() if k not in ("task", "seconds")}
        t.caption = (
            (t.caption or "") + "\nmeta-features: " + ", ".join(f"{k} {fmt(v)}" for k, v in shown.items())
        )
    return t


def leaderboard_table(rows: list[dict[str, Any]], metric: str, limit: int = 10) -> Table:
    """The final model, the best ``limit`` trials, then every learner that failed, with its error."""
    t = Table(title="Leaderboard", title_justify="left")
    t.add_column("#", justify="right", no_wrap=True, min_width=2)
    t.add_column("model", no_wrap=True, min_width=13)
    t.add_column(metric, justify="right", no_wrap=True, min_width=10)
    t.add_column("fit s", justify="right", no_wrap=True, min_width=6)
    t.add_column("from", no_wrap=True, min_width=9)
    t.add_column("params", overflow="ellipsis", no_wrap=True, max_width=50)
    ranked = [r for r in rows if r.get("status") != "failed"]
    failed = [r for r in rows if r.get("status") == "failed"]
    for row in ranked[: limit + 1]:
        params = row.get("params") or {}
        text = ", ".join(f"{k}={fmt(v)}" for k, v in params.items())
        style = "bold green" if row["rank"] == 0 else ("yellow" if row.get("status") == "truncated" else "")
        cut = " (cut)" if row.get("status") == "truncated" else ""  # the deadline cut its fits short
        t.add_row(
            "★" if row["rank"] == 0 else str(row["rank"]),
            row["learner"],
            fmt(row["score"]) + cut,
            fmt(row["fit_seconds"]) if row["fit_seconds"] is not None else "",
            row["source"],
            text,
            style=style,
        )
    for row in failed:  # never cut: a learner that failed must not vanish from the table
        t.add_row(
            "✗", row["learner"], "failed", fmt(row["fit_seconds"]), row["source"], row["error"], style="red"
        )
    return t


def versions_table(versions: list[dict[str, Any]]) -> Table:
    t = Table(title="Models", title_justify="left")
    for col in ("version", "aliases", "created", "target", "task", "metric", "cv score", "parent"):
        t.add_column(col)
    for v in versions:
        metric = v["metric"]
        t.add_row(
            v["version"],
            ", ".join(v["aliases"]) or "—",
            v["created_at"],
            str(v["target"]),
            str(v["task"]),
            str(metric),
            fmt(v["metrics"].get(f"cv_{metric}", math.nan)),
            str((v.get("lineage") or {}).get("parent") or "—"),
        )
    return t


def print_stream(result: Any) -> None:
    regression = any("error" in m for m in result.members)
    what = "error" if regression else "accuracy"
    t = Table(title=f"Population (recent {what})", title_justify="left")
    t.add_column("member", overflow="ellipsis", max_width=60)
    t.add_column(what, justify="right")
    t.add_column("labels", justify="right")
    for m in result.members:
        t.add_row(m["name"], fmt(m.get("error", m["score"])), str(m["labels"]))
    console.print(t)
    lines = [
        f"[bold]{result.metric}[/bold] {fmt(result.score)} prequential over {result.events:,} events "
        f"({result.labelled:,} labelled) in {result.seconds:.1f}s ({result.events / max(result.seconds, 1e-9):,.0f}/s)",
        f"replacements {result.replacements}, drifts {result.drifts}, recurring concepts {result.recurrences}",
    ]
    if result.quarantined:
        kinds = ", ".join(f"{k} {v}" for k, v in result.quarantine.items() if v)
        lines.append(f"[yellow]{result.quarantined} event(s) quarantined[/yellow] ({kinds})")
    if result.kafka is not None:
        k = result.kafka
        lag = ", ".join(f"{slot} {n:,}" for slot, n in sorted(k["lag"].items())) or "—"
        lines.append(
            f"Kafka: lag {lag}; {k['published']:,} predictions published, {k['dead_lettered']:,} dead letters, "
            f"{k['waiting_for_label']:,} events waiting for their label"
        )
    if result.interrupted:
        lines.append("[red]interrupted[/red]: state saved; go on with --resume")
    if result.checkpoint:
        lines.append(f"checkpoint: {result.checkpoint}")
    if result.version:
        lines.append(f"registered: [bold green]version {result.version}[/bold green] (alias stream)")
    console.print(Panel("\n".join(lines), title="Stream", expand=False))
