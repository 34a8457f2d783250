"""``lamarck stream``: learn from a stream, one event at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, TextColumn

from lamarck.cli._app import (
    ExcludeOpt,
    JsonOpt,
    MetricOpt,
    ProjectOpt,
    TargetOpt,
    TaskOpt,
    console,
    dumps,
    open_project,
)
from lamarck.cli._tables import fmt, print_stream

__all__ = ["stream"]


def stream(
    data: Annotated[str, typer.Argument(help="File read in order, or - for JSON lines on stdin.")],
    sentence: Annotated[str, typer.Argument(help="What to predict, in plain words.")] = "",
    target: TargetOpt = None,
    metric: MetricOpt = None,
    exclude: ExcludeOpt = None,
    task: TaskOpt = None,
    label_delay: Annotated[int, typer.Option(help="Labels arrive N events after their event.")] = 0,
    checkpoint_every: Annotated[
        int, typer.Option(help="Save the state every N events (0: only at the end).", min=0)
    ] = 10000,
    resume: Annotated[bool, typer.Option("--resume", help="Go on from the last checkpoint.")] = False,
    name: Annotated[str | None, typer.Option(help="Stream name (default: file name or stdin).")] = None,
    population: Annotated[int, typer.Option(help="Online learners that evolve together.")] = 4,
    replace_every: Annotated[int, typer.Option(help="Replace the worst member every N labels.")] = 500,
    combine: Annotated[str, typer.Option(help="vote (weighted by recent accuracy) or best.")] = "vote",
    hybrid: Annotated[bool, typer.Option("--hybrid/--no-hybrid", help="Background LightGBM member.")] = True,
    head: Annotated[
        int, typer.Option(help="Events read first to plan target, task and metric.", min=1)
    ] = 1000,
    limit: Annotated[int | None, typer.Option(help="Stop after this many events.", min=1)] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.", min=0, max=2**32 - 1)] = 0,
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
    proj = open_project(project, create=True)
    if as_json:
        result = stream_project(proj, data, sentence, **kwargs)
        print(dumps(result.to_dict()))
        if result.interrupted:
            raise typer.Exit(130)
        return
    result = _stream_with_progress(proj, data, sentence, kwargs)
    print_stream(result)
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
                score=fmt(float(session.metric.get())),
                bad=f"{bad} quarantined" if bad else "",
                best=f"best {members[0]['name']}" if members else "",
            )

        return stream_project(proj, data, sentence, on_plan=on_plan, on_progress=on_progress, **kwargs)
