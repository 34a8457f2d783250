"""The ``lamarck`` command line: one thin command per use case, presentation only.

Every command calls :class:`lamarck.Project`; a :class:`lamarck.errors.LamarckError` is printed as one
paragraph (never a traceback) and the command exits non-zero.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lamarck.errors import LamarckError

__all__ = ["app", "main"]

app = typer.Typer(
    name="lamarck",
    help=(
        "Lamarck: from a table and one sentence to a registered model, a report and predictions.\n\n"
        'Example: lamarck fit houses.csv "how much will the house sell for, minimize MAE, in 2 minutes"'
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

ProjectOpt = Annotated[
    Path,
    typer.Option(
        "--project", "-p", help="Project folder (settings, registry, reports).", envvar="LAMARCK_PROJECT"
    ),
]
TargetOpt = Annotated[
    str | None, typer.Option("--target", help="Column to predict (overrides the sentence).")
]
MetricOpt = Annotated[
    str | None, typer.Option("--metric", help="Metric to optimise, e.g. roc_auc, rmse, f1.")
]
TimeOpt = Annotated[
    float | None, typer.Option("--time", help="Time budget in seconds (overrides the sentence).")
]
ExcludeOpt = Annotated[
    list[str] | None, typer.Option("--exclude", help="Column never used as a feature (repeatable).")
]
TaskOpt = Annotated[str | None, typer.Option("--task", help="binary, multiclass or regression.")]
QueryOpt = Annotated[str | None, typer.Option("--query", help="SQL query when DATA is a database URL.")]
TableOpt = Annotated[str | None, typer.Option("--table", help="Table name when DATA is a database URL.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
LLMOpt = Annotated[
    bool | None,
    typer.Option(
        "--llm/--no-llm",
        help="Plan with the LLM endpoint (LAMARCK_LLM_BASE_URL) or forbid it; default: the LLM when one is "
        "configured, else the offline rule planner. An unreachable endpoint falls back to the rules.",
    ),
]


def _project(path: Path) -> Any:
    from lamarck.project import Project

    return Project(path)


def _read(data: str, query: str | None, table: str | None) -> Any:
    from lamarck.data import read_table

    return read_table(data, query=query, table=table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return str(value)


# ---------------------------------------------------------------------------------------------- plan


@app.command()
def plan(
    data: Annotated[str, typer.Argument(help="CSV, Parquet, JSON lines, Excel file, or a SQLAlchemy URL.")],
    sentence: Annotated[str, typer.Argument(help="What to predict, in plain words.")] = "",
    target: TargetOpt = None,
    metric: MetricOpt = None,
    time_budget: TimeOpt = None,
    exclude: ExcludeOpt = None,
    task: TaskOpt = None,
    query: QueryOpt = None,
    table: TableOpt = None,
    as_json: JsonOpt = False,
    llm: LLMOpt = None,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Show the plan (target, task, metric, budget, exclusions, and why) without training.

    Example: lamarck plan loans.csv "predict whether a loan is denied, optimize F1, in 2 minutes"
    """
    frame = _read(data, query, table)
    spec = _project(project).plan(
        frame,
        sentence,
        target=target,
        metric=metric,
        time_budget_s=time_budget,
        exclude=exclude,
        task=task,
        llm=llm,
    )
    _print_plan_notes(spec)
    if as_json:
        print(spec.model_dump_json(indent=2))
        return
    console.print(_spec_table(spec))


def _print_plan_notes(spec: Any) -> None:
    """The planner's notes (ambiguity, LLM fallback) as warnings on stderr, so --json output stays clean."""
    for note in getattr(spec, "notes", []):
        err_console.print(f"[yellow]warning:[/yellow] {note}", highlight=False)


def _spec_table(spec: Any) -> Table:
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
    for key, value in values.items():
        reason = spec.reasons.get(key)
        why = f"[dim]{reason.source}:[/dim] {reason.text}" if reason else ""
        t.add_row(key, str(value), why)
    return t


# ---------------------------------------------------------------------------------------------- fit


@app.command()
def fit(
    data: Annotated[str, typer.Argument(help="CSV, Parquet, JSON lines, Excel file, or a SQLAlchemy URL.")],
    sentence: Annotated[str, typer.Argument(help="What to predict, in plain words.")] = "",
    target: TargetOpt = None,
    metric: MetricOpt = None,
    time_budget: TimeOpt = None,
    exclude: ExcludeOpt = None,
    task: TaskOpt = None,
    positive_class: Annotated[
        str | None, typer.Option(help="Binary tasks: the class that counts as positive (for AUC, F1...).")
    ] = None,
    sampler: Annotated[str, typer.Option(help="Search strategy: tpe, random, grid or evolutionary.")] = "tpe",
    learners: Annotated[
        str | None, typer.Option(help="Comma-separated subset of the zoo, e.g. lightgbm,catboost.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of every random choice.")] = None,
    query: QueryOpt = None,
    table: TableOpt = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the HTML report.")] = True,
    as_json: JsonOpt = False,
    llm: LLMOpt = None,
    llm_features: Annotated[
        bool,
        typer.Option(
            "--llm-features",
            help="Let the LLM propose derived features; each is kept only if cross-validation improves by more "
            "than the fold noise (listed in the report, kept ones saved in the model).",
        ),
    ] = False,
    llm_review: Annotated[
        bool,
        typer.Option(
            "--llm-review",
            help="Let the LLM review the scorecard and data findings in the report (changes nothing).",
        ),
    ] = False,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Plan, check the data, search models within the budget, register the champion, write a report.

    Example: lamarck fit houses.csv "how much will the house sell for, minimize MAE, in 2 minutes"
    """
    frame = _read(data, query, table)
    proj = _project(project)
    learner_list = [s.strip() for s in learners.split(",") if s.strip()] if learners else None
    kwargs = dict(
        target=target,
        metric=metric,
        time_budget_s=time_budget,
        exclude=exclude,
        task=task,
        positive_class=positive_class,
        sampler=sampler,
        learners=learner_list,
        seed=seed,
        report=report,
        llm=llm,
        llm_features=llm_features,
        llm_review=llm_review,
        dataset_name=data.split("@")[-1].split("?")[0]
        if "://" in data
        else Path(data).name,  # no credentials
    )
    if as_json:
        result = proj.fit(frame, sentence, **kwargs)
        _print_plan_notes(result.spec)
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
    spec = proj.plan(
        frame,
        sentence,
        target=target,
        metric=metric,
        time_budget_s=time_budget,
        exclude=exclude,
        task=task,
        positive_class=positive_class,
        llm=llm,
    )
    _print_plan_notes(spec)
    console.print(_spec_table(spec))
    result = _fit_with_progress(proj, frame, sentence, spec, {**kwargs, "spec": spec})  # plan once
    _print_fit(result)


def _fit_with_progress(proj: Any, frame: Any, sentence: str, spec: Any, kwargs: dict[str, Any]) -> Any:
    budget = spec.time_budget_s
    start = time.monotonic()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[trials]} trials"),
        TextColumn("best {task.fields[metric]} [green]{task.fields[best]}"),
        TextColumn("[dim]{task.fields[last]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task("starting", total=budget, trials=0, best="—", metric=spec.metric, last="")
        counter = {"n": 0}

        def on_trial(record: Any, best: float, elapsed: float) -> None:
            counter["n"] += 1
            progress.update(
                bar,
                completed=min(time.monotonic() - start, budget),
                trials=counter["n"],
                best=_fmt(best),
                last=f"{record.learner} {record.status} {_fmt(record.score)}",
            )

        def on_stage(message: str) -> None:
            progress.update(bar, description=message, completed=min(time.monotonic() - start, budget))

        result = proj.fit(frame, sentence, on_trial=on_trial, on_stage=on_stage, **kwargs)
        progress.update(bar, description="done", completed=budget)
    return result


def _print_fit(result: Any) -> None:
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
    console.print(_leaderboard_table(result.leaderboard, result.metric))
    card = result.scorecard
    lines = [
        f"[bold]{result.metric}[/bold] {_fmt(result.score)} ({result.validation})",
        "secondary: " + ", ".join(f"{k} {_fmt(v)}" for k, v in card.get("secondary", {}).items()),
    ]
    rob = card.get("robustness")
    if rob is not None:
        lines.append(
            f"robustness (noisy/clean): {_fmt(rob if not isinstance(rob, dict) else rob.get('ratio'))}"
        )
    lat = card.get("latency") or {}
    if lat:
        lines.append("latency: " + ", ".join(f"{k} {_fmt(v)}" for k, v in lat.items()))
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


def _leaderboard_table(rows: list[dict[str, Any]], metric: str, limit: int = 10) -> Table:
    t = Table(title="Leaderboard", title_justify="left")
    t.add_column("#", justify="right", no_wrap=True, min_width=2)
    t.add_column("model", no_wrap=True, min_width=13)
    t.add_column(metric, justify="right", no_wrap=True, min_width=10)
    t.add_column("fit s", justify="right", no_wrap=True, min_width=6)
    t.add_column("from", no_wrap=True, min_width=9)
    t.add_column("params", overflow="ellipsis", no_wrap=True, max_width=50)
    for row in rows[: limit + 1]:
        params = row.get("params") or {}
        text = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())
        style = "bold green" if row["rank"] == 0 else ""
        t.add_row(
            "★" if row["rank"] == 0 else str(row["rank"]),
            row["learner"],
            _fmt(row["score"]),
            _fmt(row["fit_seconds"]) if row["fit_seconds"] is not None else "",
            row["source"],
            text,
            style=style,
        )
    return t


# ---------------------------------------------------------------------------------------------- predict


@app.command()
def predict(
    data: Annotated[str, typer.Argument(help="Rows to predict: a file or a SQLAlchemy URL.")],
    model: Annotated[str, typer.Option("--model", help="Version number or alias.")] = "champion",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file to write.")] = None,
    proba: Annotated[bool, typer.Option("--proba", help="Add one proba_<class> column per class.")] = False,
    query: QueryOpt = None,
    table: TableOpt = None,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Predict rows with the champion (or any version): a CSV with a `prediction` column.

    Example: lamarck predict new_houses.csv --output predictions.csv
    """
    frame = _read(data, query, table)
    out, notes = _project(project).predict(frame, model=model, proba=proba)
    for note in notes:
        err_console.print(f"[yellow]warning:[/yellow] {note}")
    if output is None:
        out.to_csv(sys.stdout, index=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(output, index=False)
    err_console.print(f"wrote {len(out)} predictions to {output}")


# ---------------------------------------------------------------------------------------------- status


@app.command()
def status(as_json: JsonOpt = False, project: ProjectOpt = Path(".lamarck")) -> None:
    """Show the project: its champion and its versions."""
    info = _project(project).status()
    if as_json:
        print(json.dumps(info, indent=2, default=str))
        return
    champ = info["champion"]
    if champ is None:
        console.print(f'project {info["project"]}: no model yet. Run `lamarck fit DATA "SENTENCE"`.')
        return
    metric = champ["metric"]
    cv = champ["metrics"].get(f"cv_{metric}")
    console.print(
        Panel(
            f"project {info['project']}\nchampion: version {champ['version']} — {champ['task']} on "
            f"[bold]{champ['target']}[/bold], {metric} {_fmt(cv)}\n{len(info['versions'])} version(s)",
            title="Status",
            expand=False,
        )
    )
    console.print(_versions_table(info["versions"]))


@app.command()
def models(as_json: JsonOpt = False, project: ProjectOpt = Path(".lamarck")) -> None:
    """List registered versions with their aliases and scores."""
    info = _project(project).status()
    if as_json:
        print(json.dumps(info["versions"], indent=2, default=str))
        return
    console.print(_versions_table(info["versions"]))


def _versions_table(versions: list[dict[str, Any]]) -> Table:
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
            _fmt(v["metrics"].get(f"cv_{metric}", math.nan)),
            str((v.get("lineage") or {}).get("parent") or "—"),
        )
    return t


# ---------------------------------------------------------------------------------------------- serve


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (others than localhost need API keys).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    auto_evolve: Annotated[
        bool,
        typer.Option(
            "--auto-evolve", help="Run the evolution policy in the background (as `lamarck evolve`)."
        ),
    ] = False,
    evolve_every: Annotated[
        float, typer.Option(help="Seconds between evolution passes with --auto-evolve.")
    ] = 60.0,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Serve the champion over HTTP: /v1/predict, /v1/feedback, /v1/status, /v1/models, /v1/evolve,
    /v1/suggest-labels, /metrics, /docs. A challenger in the shadow answers every row too (logged only).

    Without API keys (`lamarck keys create --role admin`) the server listens on localhost only.

    Example: lamarck serve --port 8000 --auto-evolve   (then open http://127.0.0.1:8000/docs)
    """
    import uvicorn

    from lamarck.serve import bind_host, create_app

    proj = _project(project)
    mode = "keys" if proj.store.has_keys() else "open"
    if bind_host(host, mode=mode) != host:
        err_console.print(
            f"[yellow]no API keys configured: listening on 127.0.0.1 instead of {host}[/yellow] "
            "(create one with `lamarck keys create --role admin`, then serve on any address)."
        )
        host = bind_host(host, mode=mode)
    auth = "API keys required" if mode == "keys" else "no API keys (localhost only)"
    evolving = f", auto-evolve every {evolve_every:g}s" if auto_evolve else ""
    console.print(
        f"Lamarck serving project {project} on http://{host}:{port} ({auth}{evolving}; docs at /docs)"
    )
    app_ = create_app(proj, auto_evolve=auto_evolve, evolve_every_s=evolve_every, auth_mode=mode)
    uvicorn.run(app_, host=host, port=port, log_level="warning")


# ---------------------------------------------------------------------------------------------- evolve


@app.command()
def evolve(
    as_json: JsonOpt = False,
    min_new_labels: Annotated[int, typer.Option(help="New labels that trigger training on their own.")] = 500,
    min_test_labels: Annotated[int, typer.Option(help="Recent labels the gate holds out (at least).")] = 200,
    shadow_labels: Annotated[
        int,
        typer.Option(help="Labelled shadow predictions needed before promotion (0: promote at the gate)."),
    ] = 200,
    fresh_search_budget: Annotated[
        float, typer.Option(help="Seconds for a fresh search when one runs.")
    ] = 30.0,
    max_forgetting: Annotated[
        float,
        typer.Option(
            help="Most a challenger may lose on the replay hold-out of older data (0.01: 1 point). Raise it "
            "only for data whose old concepts never return (see bench/results, evolution)."
        ),
    ] = 0.01,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """One pass of the evolution policy (run it from cron, or use `serve --auto-evolve`).

    In order: finish an interrupted alias move; roll back a promotion that went wrong; promote or retire
    a challenger in the shadow; or, on decay, drift or enough new labels, train a challenger warm-started
    from the champion on the memory pool (old concepts replayed beside the new labels) and gate it: a
    one-sided test on held-out recent labels (p < 0.05, >= 200 labels) and at most 1 point lost on a
    replay hold-out of older data. Every decision is recorded; `lamarck history` shows them.

    Example: lamarck evolve --json
    """
    from lamarck.evolve import EvolutionPolicy

    policy = EvolutionPolicy(
        min_new_labels=min_new_labels,
        min_test_labels=min_test_labels,
        shadow_labels=shadow_labels,
        fresh_search_budget_s=fresh_search_budget,
        max_forgetting=max_forgetting,
    )
    with console.status("evolving: reading labels, checking drift, training and gating a challenger..."):
        decision = _project(project).evolve(policy)
    if as_json:
        print(json.dumps(decision.to_dict(), default=str))
        return
    colour = {"promote": "green", "rollback": "red", "reject": "yellow", "retire": "yellow"}.get(
        decision.kind, "cyan"
    )
    console.print(Panel(decision.reason, title=f"[{colour}]{decision.kind}[/{colour}]", expand=False))
    figures = decision.figures
    table = Table(show_header=False, box=None)
    for key in (
        "triggers",
        "new_labels",
        "error_rate",
        "mae",
        "drift",
        "drifted_columns",
        "test_labels",
        "train_rows",
        "replay_test_rows",
        "p_value",
        "delta",
        "forgetting",
        "shadow_labels",
        "cursor",
    ):
        if key in figures and figures[key] not in (None, [], {}):
            table.add_row(
                key,
                _fmt(figures[key])
                if not isinstance(figures[key], list)
                else ", ".join(map(str, figures[key])),
            )
    for c in figures.get("candidates", []):
        table.add_row(
            f"candidate: {c['how']}",
            f"delta {c['delta']:+.4f}, p {c['p_value']:.3g}, forgetting {c['forgetting']:+.2%} -> {c['why']}",
        )
    if table.row_count:
        console.print(table)


@app.command()
def history(
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="Show at most this many of the newest decisions.")] = 50,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """The lineage of every version (parent, why it was made) and every decision with its reason.

    Example: lamarck history
    """
    info = _project(project).history()
    if as_json:
        print(json.dumps(info, default=str))
        return
    t = Table(title="Versions (lineage)")
    for col in ("version", "aliases", "parent", "made by", "created"):
        t.add_column(col)
    for v in info["versions"]:
        lineage = v.get("lineage") or {}
        t.add_row(
            str(v["version"]),
            ", ".join(v["aliases"]) or "—",
            str(lineage.get("parent") or "—"),
            str(lineage.get("reason") or "—"),
            v["created_at"],
        )
    console.print(t)
    d = Table(title="Decisions (oldest first)")
    for col in ("when", "kind", "reason"):
        d.add_column(col)
    colours = {
        "promote": "green",
        "rollback": "red",
        "reject": "yellow",
        "retire": "yellow",
        "signal": "magenta",
    }
    for row in info["decisions"][-limit:]:
        c = colours.get(row["kind"], "cyan")
        d.add_row(row["ts"].replace("T", " ")[:19], f"[{c}]{row['kind']}[/{c}]", row["reason"])
    console.print(d)


@app.command("suggest-labels")
def suggest_labels(
    n: Annotated[int, typer.Argument(help="How many predictions to suggest.")] = 20,
    strategy: Annotated[
        str, typer.Option(help="entropy (most uncertain overall) or margin (closest call).")
    ] = "entropy",
    output: Annotated[Path | None, typer.Option(help="Write the suggestions to this CSV file.")] = None,
    as_json: JsonOpt = False,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """The logged, unlabelled predictions whose labels would help the model most (active learning).

    Label them and send them back with `lamarck feedback FILE --label-column COL --id-column prediction_id`.

    Example: lamarck suggest-labels 10 --output to_label.csv
    """
    table = _project(project).suggest_labels(n, strategy=strategy)
    if output is not None:
        table.to_csv(output, index=False)
    if as_json:
        print(table.to_json(orient="records"))
        return
    if table.empty:
        console.print("no unlabelled predictions with probabilities are logged yet")
        return
    t = Table(title=f"{len(table)} prediction(s) to label ({strategy})")
    shown = list(table.columns[:8])
    for col in shown:
        t.add_column(col)
    for row in table[shown].itertuples(index=False):
        t.add_row(*[_fmt(v) for v in row])
    console.print(t)
    if output is not None:
        console.print(f"written to {output}")


keys_app = typer.Typer(
    help="API keys of the server, each with a role: predict, feedback or admin.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="predict, feedback or admin.")],
    name: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "",
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Create an API key; it is shown once (only its hash is stored).

    Example: lamarck keys create --role feedback --name labelling-team
    """
    key = _project(project).store.create_key(role, name=name)
    console.print(f"created a {role!r} key (shown once, store it now):")
    print(key)


@keys_app.command("list")
def keys_list(project: ProjectOpt = Path(".lamarck")) -> None:
    """List API keys (never the keys themselves)."""
    t = Table()
    for col in ("id", "name", "role", "created", "revoked"):
        t.add_column(col)
    for k in _project(project).store.api_keys():
        t.add_row(str(k["id"]), k["name"], k["role"], str(k["ts"])[:19], "yes" if k["revoked"] else "no")
    console.print(t)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="Id from `lamarck keys list`.")],
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Revoke an API key by its id."""
    from lamarck.errors import ConfigError

    if not _project(project).store.revoke_key(key_id):
        raise ConfigError(f"no API key with id {key_id}. Fix: see `lamarck keys list`.")
    console.print(f"revoked key {key_id}")


@app.command()
def feedback(
    data: Annotated[str, typer.Argument(help="File of labelled rows (or prediction ids with labels).")],
    label_column: Annotated[str, typer.Option("--label-column", help="Column that holds each row's label.")],
    id_column: Annotated[
        str | None,
        typer.Option("--id-column", help="Column of prediction ids (labels for logged predictions)."),
    ] = None,
    weight: Annotated[float, typer.Option(help="Weight of these labels in training.")] = 1.0,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Store labelled feedback from a file; each label is written durably before the command reports it.

    Rows without a usable label (empty, or no label column) are quarantined with their reason, by the same
    rule as the API (Project.add_feedback).

    Example: lamarck feedback labels.csv --label-column churned
    """
    frame = _read(data, None, None)
    proj = _project(project)
    if id_column:
        items = [
            {"prediction_id": r.get(id_column), "weight": weight}
            | ({"label": r[label_column]} if label_column in r else {})
            for r in frame.to_dict("records")
        ]
        result = proj.add_feedback(items=items, source="cli")
    else:
        result = proj.add_feedback(rows=frame, label_column=label_column, weight=weight, source="cli")
    n_bad = len(result.quarantined)
    console.print(
        f"stored {result.accepted} label(s)"
        + (
            f"; {n_bad} row(s) without a usable label quarantined ({result.quarantined[0][1]})"
            if n_bad
            else ""
        )
    )


# ---------------------------------------------------------------------------------------------- stream


@app.command()
def stream(
    data: Annotated[str, typer.Argument(help="File read in order, or - for JSON lines on stdin.")],
    sentence: Annotated[str, typer.Argument(help="What to predict, in plain words.")] = "",
    target: TargetOpt = None,
    metric: MetricOpt = None,
    exclude: ExcludeOpt = None,
    task: TaskOpt = None,
    label_delay: Annotated[int, typer.Option(help="Labels arrive N events after their event.")] = 0,
    checkpoint_every: Annotated[int, typer.Option(help="Save the state every N events.")] = 10000,
    resume: Annotated[bool, typer.Option("--resume", help="Go on from the last checkpoint.")] = False,
    name: Annotated[str | None, typer.Option(help="Stream name (default: file name or stdin).")] = None,
    population: Annotated[int, typer.Option(help="Online learners that evolve together.")] = 4,
    replace_every: Annotated[int, typer.Option(help="Replace the worst member every N labels.")] = 500,
    combine: Annotated[str, typer.Option(help="vote (weighted by recent accuracy) or best.")] = "vote",
    hybrid: Annotated[bool, typer.Option("--hybrid/--no-hybrid", help="Background LightGBM member.")] = True,
    head: Annotated[int, typer.Option(help="Events read first to plan target, task and metric.")] = 1000,
    limit: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    register: Annotated[bool, typer.Option("--register/--no-register", help="Register the learner.")] = True,
    as_json: JsonOpt = False,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Learn from a stream, one event at a time: predict each event, then learn its label.

    Example: lamarck stream elec2.csv "predict class" --label-delay 0 --json
    Example: kafka-console-consumer --topic events | lamarck stream - "predict churn"
    """
    from lamarck.stream import StreamLearner, stream_project

    learner = StreamLearner(
        population=population,
        replace_every=replace_every,
        combine=combine,  # type: ignore[arg-type]
        hybrid=hybrid,
        label_delay=label_delay,
        seed=seed,
    )
    kwargs: dict[str, Any] = dict(
        name=name, target=target, metric=metric, exclude=exclude, task=task, head=head,
        label_delay=label_delay, checkpoint_every=checkpoint_every, resume=resume, register=register,
        limit=limit, learner=learner,
    )  # fmt: skip
    proj = _project(project)
    if as_json:
        result = stream_project(proj, data, sentence, **kwargs)
        print(json.dumps(result.to_dict(), default=str))
        if result.interrupted:
            raise typer.Exit(130)
        return
    result = _stream_with_progress(proj, data, sentence, kwargs)
    _print_stream(result)
    if result.interrupted:
        raise typer.Exit(130)


def _stream_with_progress(proj: Any, data: str, sentence: str, kwargs: dict[str, Any]) -> Any:
    from lamarck.stream import stream_project

    with Progress(
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.completed:,.0f} events"),
        TextColumn("[cyan]{task.fields[rate]}/s"),
        TextColumn("{task.fields[metric]} [green]{task.fields[score]}"),
        TextColumn("[yellow]{task.fields[bad]}"),
        TextColumn("[dim]{task.fields[best]}"),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task("planning", total=None, rate="—", metric="", score="—", bad="", best="")

        def on_plan(spec: dict[str, Any]) -> None:
            progress.update(bar, description=f"streaming {spec['target']}", metric=spec["metric"])

        def on_progress(session: Any) -> None:
            bad = sum(session.quarantine.values())
            members = session.learner.describe()
            progress.update(
                bar,
                completed=session.events,
                rate=f"{session.events / max(session.seconds, 1e-9):,.0f}",
                score=_fmt(float(session.metric.get())),
                bad=f"{bad} quarantined" if bad else "",
                best=f"best {members[0]['name']}" if members else "",
            )

        return stream_project(proj, data, sentence, on_plan=on_plan, on_progress=on_progress, **kwargs)


def _print_stream(result: Any) -> None:
    regression = any("error" in m for m in result.members)
    what = "error" if regression else "accuracy"
    t = Table(title=f"Population (recent {what})", title_justify="left")
    t.add_column("member", overflow="ellipsis", max_width=60)
    t.add_column(what, justify="right")
    t.add_column("labels", justify="right")
    for m in result.members:
        t.add_row(m["name"], _fmt(m.get("error", m["score"])), str(m["labels"]))
    console.print(t)
    lines = [
        f"[bold]{result.metric}[/bold] {_fmt(result.score)} prequential over {result.events:,} events "
        f"({result.labelled:,} labelled) in {result.seconds:.1f}s ({result.events / max(result.seconds, 1e-9):,.0f}/s)",
        f"replacements {result.replacements}, drifts {result.drifts}, recurring concepts {result.recurrences}",
    ]
    if result.quarantined:
        kinds = ", ".join(f"{k} {v}" for k, v in result.quarantine.items() if v)
        lines.append(f"[yellow]{result.quarantined} event(s) quarantined[/yellow] ({kinds})")
    if result.interrupted:
        lines.append("[red]interrupted[/red]: state saved; go on with --resume")
    if result.checkpoint:
        lines.append(f"checkpoint: {result.checkpoint}")
    if result.version:
        lines.append(f"registered: [bold green]version {result.version}[/bold green] (alias stream)")
    console.print(Panel("\n".join(lines), title="Stream", expand=False))


# ---------------------------------------------------------------------------------------------- bench


def _bench_args_type() -> Any:
    from lamarck.bench import BenchArgs

    return BenchArgs


@app.command()
def bench(
    suite: Annotated[
        Path | None,
        typer.Option(help="Suite YAML (public suite schema); default: the shared folder's public suite."),
    ] = None,
    output: Annotated[Path, typer.Option(help="Folder for results.csv and results.md.")] = Path(
        "bench/results/batch"
    ),
    against: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated peers. Batch: histgb (default), flaml, autogluon, search-tpe, "
            "search-random, search-grid, search-evolutionary. "
            "--part evolution: retrain-all, retrain-recent (default both)."
        ),
    ] = None,
    cases: Annotated[str | None, typer.Option(help="Comma-separated subset of case names.")] = None,
    budget: Annotated[float, typer.Option(help="Wall-clock budget per case and system, seconds.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the split and of every system.")] = 0,
    part: Annotated[
        str,
        typer.Option(
            help="Which comparison: batch (AutoML peers), or another registered part "
            "(see lamarck.bench.PARTS: e.g. stream, planner, evolution, serving)."
        ),
    ] = "batch",
    install_peers: Annotated[
        bool,
        typer.Option(
            "--install-peers",
            help="Create or update the environments of the peers in --against (default flaml,autogluon) "
            "in LAMARCK_PEERS_DIR (default ~/.cache/lamarck/peers), then exit.",
        ),
    ] = False,
) -> None:
    """Lamarck against its peers on a suite of real data, one row per case and system (resumable).

    Example: lamarck bench --budget 60 --output bench/results/batch-60s
    """
    from lamarck.bench import PARTS, PEERS
    from lamarck.bench import install_peers as install

    if install_peers:
        names = [s.strip() for s in (against or ",".join(PEERS)).split(",") if s.strip() in PEERS]
        for python in install(names, log=console.print):
            console.print(f"ready: {python}")
        return
    if part not in PARTS:
        from lamarck.errors import ConfigError

        raise ConfigError(f"unknown bench part {part!r}. Fix: --part with one of {sorted(PARTS)}.")
    PARTS[part](
        _bench_args_type()(
            suite=suite, output=output, against=against or "", cases=cases, budget=budget, seed=seed
        ),
        console,
    )


# ---------------------------------------------------------------------------------------------- entry


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, print user errors as one paragraph, return the exit code."""
    logging.basicConfig(
        level=os.environ.get("LAMARCK_LOG_LEVEL", "WARNING"), format="%(levelname)s %(message)s"
    )
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="lamarck", standalone_mode=False)
    except LamarckError as e:
        err_console.print(
            Panel(str(e), title=f"[red]{type(e).__name__}[/red]", expand=False, border_style="red")
        )
        return e.exit_code
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
