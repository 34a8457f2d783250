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
    data: Annotated[
        str,
        typer.Argument(
            help="File read in order, - for JSON lines on stdin, or kafka://BROKERS/TOPIC[?options] (a consumer "
            "group; options: labels=TOPIC, predictions=TOPIC, dead-letter=TOPIC, and Kafka client settings "
            "such as group.id)."
        ),
    ],
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
    kafka_config: Annotated[
        Path | None,
        typer.Option(
            help="Kafka client properties file (key=value lines: bootstrap, security.protocol, sasl.*): the "
            "place for secrets, which a URL would leak.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    idle_exit: Annotated[
        float | None,
        typer.Option(
            help="Kafka: stop after this many seconds without a message (default: run until stopped).",
            min=0.1,
        ),
    ] = None,
    register: Annotated[bool, typer.Option("--register/--no-register", help="Register the learner.")] = True,
    as_json: JsonOpt = False,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """Learn from a stream, one event at a time: predict each event, then learn its label.

    From Kafka, offsets are committed only after the checkpoint that covers them is on disk: after a crash,
    `--resume` neither loses nor learns twice an event. Lag per partition is shown with the progress.

    Example: lamarck stream elec2.csv "predict class" --label-delay 0 --json
    Example: lamarck stream "kafka://127.0.0.1:9092/prices?group.id=lamarck&predictions=prices-predicted" "predict class"
    Example: lamarck stream "kafka://broker:9092/orders?labels=order-outcomes" "predict fraud" --target fraud
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
        limit=limit, learner=learner, kafka_properties=kafka_config, idle_s=idle_exit,
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
        TextColumn("[magenta]{task.fields[lag]}"),
        TextColumn("[dim]{task.fields[best]}"),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task(
            "planning", total=None, rate="—", metric="", score="—", bad="", best="", lag=""
        )

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
                lag=f"lag {sum(session.lag.values()):,}" if getattr(session, "lag", None) else "",
            )

        return stream_project(proj, data, sentence, on_plan=on_plan, on_progress=on_progress, **kwargs)
