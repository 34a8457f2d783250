"""``lamarck plan``, ``lamarck fit`` and ``lamarck predict``: from a table and a sentence to predictions."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from lamarck.cli._app import (
    ExcludeOpt,
    JsonOpt,
    LLMOpt,
    MetricOpt,
    ProjectOpt,
    QueryOpt,
    TableOpt,
    TargetOpt,
    TaskOpt,
    TimeOpt,
    check_output,
    console,
    dumps,
    err_console,
    open_project,
    read_data,
    write_csv,
)
from lamarck.cli._tables import explain_table, fmt, print_fit, print_plan_notes, spec_table

__all__ = ["fit", "plan", "predict"]


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
    frame = read_data(data, query, table)
    spec = open_project(project, create=True).plan(
        frame,
        sentence,
        target=target,
        metric=metric,
        time_budget_s=time_budget,
        exclude=exclude,
        task=task,
        llm=llm,
    )
    print_plan_notes(spec)
    if as_json:
        print(spec.model_dump_json(indent=2))
        return
    console.print(spec_table(spec))


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
    max_latency_ms: Annotated[
        float | None,
        typer.Option(
            help="Largest time the served model may take per row, in milliseconds (also read from the sentence, "
            "e.g. 'within 5 ms'): the ensemble keeps only members that answer one row within it together.",
            min=0.0,
        ),
    ] = None,
    sampler: Annotated[str, typer.Option(help="Search strategy: tpe, random, grid or evolutionary.")] = "tpe",
    learners: Annotated[
        str | None, typer.Option(help="Comma-separated subset of the zoo, e.g. lightgbm,catboost.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of every random choice (0 to 2**32 - 1).", min=0, max=2**32 - 1)
    ] = None,
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
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also show the task's meta-features and the earlier tasks (your knowledge base, then the "
            "portfolio shipped with Lamarck) whose configurations the search tried first.",
        ),
    ] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Dask scheduler address (e.g. tcp://10.0.0.5:8786): its workers run the trials, as many at "
            "once as they have threads (needs lamarck[cluster]; default: the LAMARCK_CLUSTER setting, empty "
            "runs them here).",
        ),
    ] = None,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Plan, check the data, search models within the budget, register the champion, write a report.

    Example: lamarck fit houses.csv "how much will the house sell for, minimize MAE, in 2 minutes"

    Without labels (zero-shot, needs the neural extra): lamarck fit tickets.csv "sort these tickets into
    billing, bug and feature request" classifies the text column by meaning; labels sent back teach it.
    """
    started_at = time.monotonic()  # the budget is the whole command's: reading and planning count
    from lamarck.data import is_table_pattern

    large = is_table_pattern(data)  # files larger than memory: read on the cluster, never here
    frame = data if large else read_data(data, query, table)
    proj = open_project(project, create=True)
    learner_list = [s.strip() for s in learners.split(",") if s.strip()] if learners else None
    kwargs: dict[str, Any] = dict(
        target=target,
        metric=metric,
        time_budget_s=time_budget,
        exclude=exclude,
        task=task,
        positive_class=positive_class,
        max_latency_ms=max_latency_ms,
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
        started_at=started_at,
        cluster=cluster,
    )
    if as_json or large:
        result = proj.fit(frame, sentence, **kwargs)
        if large and not as_json:
            print_fit(result)
            return
        print_plan_notes(result.spec)
        print(dumps(result.to_dict(), indent=2))
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
        max_latency_ms=max_latency_ms,
        llm=llm,
    )
    print_plan_notes(spec)
    console.print(spec_table(spec))
    result = _fit_with_progress(proj, frame, sentence, spec, {**kwargs, "spec": spec})  # plan once
    print_fit(result)
    if explain:
        console.print(explain_table(result))


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
                best=fmt(best),
                last=f"{record.learner} {record.status} {fmt(record.score)}",
            )

        def on_stage(message: str) -> None:
            progress.update(bar, description=message, completed=min(time.monotonic() - start, budget))

        result = proj.fit(frame, sentence, on_trial=on_trial, on_stage=on_stage, **kwargs)
        progress.update(bar, description="done", completed=budget)
    return result


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
    check_output(output)
    proj = open_project(project, create=False)
    frame = read_data(data, query, table)
    out, notes = proj.predict(frame, model=model, proba=proba)
    for note in notes:
        err_console.print(f"[yellow]warning:[/yellow] {note}")
    if output is None:
        out.to_csv(sys.stdout, index=False)
        return
    write_csv(out, output)
    err_console.print(f"wrote {len(out)} predictions to {output}")
