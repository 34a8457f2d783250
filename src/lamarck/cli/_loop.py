"""The loop after the fit: ``status``, ``models``, ``evolve``, ``history``, ``suggest-labels``, ``feedback``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from lamarck.cli._app import (
    JsonOpt,
    ProjectOpt,
    check_output,
    console,
    dumps,
    open_project,
    read_data,
    write_csv,
)
from lamarck.cli._tables import fmt, versions_table

if TYPE_CHECKING:
    from lamarck.evolve import Decision, EvolutionPolicy

__all__ = [
    "POLICY_FLAGS",
    "evolution_policy",
    "evolve",
    "feedback",
    "history",
    "models",
    "status",
    "suggest_labels",
]


#: ``lamarck evolve``'s flags and the :class:`lamarck.evolve.EvolutionPolicy` field each one sets. A flag
#: defaults to ``None``: only the flags given override the policy's own defaults, which the help shows.
POLICY_FLAGS = {
    "min_new_labels": "min_new_labels",
    "min_test_labels": "min_test_labels",
    "shadow_labels": "shadow_labels",
    "fresh_search_budget": "fresh_search_budget_s",
    "max_forgetting": "max_forgetting",
}
#: the policy's defaults as the help shows them; importing :mod:`lamarck.evolve` would slow every
#: ``lamarck`` command down by seconds, so they are written here and a test checks them against the policy
_SHOWN_DEFAULTS = {
    "min_new_labels": "500",
    "min_test_labels": "200",
    "shadow_labels": "200",
    "fresh_search_budget": "30.0",
    "max_forgetting": "0.01",
}


def _shown(flag: str) -> str:
    return _SHOWN_DEFAULTS[flag]


def evolution_policy(*, seed: int, **flags: float | None) -> EvolutionPolicy:
    """The policy of one ``lamarck evolve``: the project's seed, the flags given, the policy's defaults.

    >>> evolution_policy(seed=0, min_new_labels=None, max_forgetting=0.05).max_forgetting
    0.05
    """
    from lamarck.evolve import EvolutionPolicy

    given = {POLICY_FLAGS[flag]: value for flag, value in flags.items() if value is not None}
    return EvolutionPolicy(seed=seed, **given)  # type: ignore[arg-type]


def status(as_json: JsonOpt = False, project: ProjectOpt = Path(".lamarck")) -> None:
    """Show the project: its champion and its versions."""
    info = open_project(project, create=False).status()
    if as_json:
        print(dumps(info, indent=2))
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
            f"[bold]{champ['target']}[/bold], {metric} {fmt(cv)}\n{len(info['versions'])} version(s)",
            title="Status",
            expand=False,
        )
    )
    console.print(versions_table(info["versions"]))


def models(as_json: JsonOpt = False, project: ProjectOpt = Path(".lamarck")) -> None:
    """List registered versions with their aliases and scores."""
    info = open_project(project, create=False).status()
    if as_json:
        print(dumps(info["versions"], indent=2))
        return
    console.print(versions_table(info["versions"]))


def evolve(
    as_json: JsonOpt = False,
    min_new_labels: Annotated[
        int | None,
        typer.Option(
            help="New labels that trigger training on their own.", show_default=_shown("min_new_labels")
        ),
    ] = None,
    min_test_labels: Annotated[
        int | None,
        typer.Option(
            help="Recent labels the gate holds out (at least).", show_default=_shown("min_test_labels")
        ),
    ] = None,
    shadow_labels: Annotated[
        int | None,
        typer.Option(
            help="Labelled shadow predictions needed before promotion (0: promote at the gate).",
            show_default=_shown("shadow_labels"),
        ),
    ] = None,
    fresh_search_budget: Annotated[
        float | None,
        typer.Option(
            help="Seconds for a fresh search when one runs.", show_default=_shown("fresh_search_budget")
        ),
    ] = None,
    max_forgetting: Annotated[
        float | None,
        typer.Option(
            help="Most a challenger may lose on the replay hold-out of older data (0.01: 1 point). Raise it "
            "only for data whose old concepts never return (see bench/results, evolution).",
            show_default=_shown("max_forgetting"),
        ),
    ] = None,
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
    proj = open_project(project, create=False)
    policy = evolution_policy(
        seed=proj.settings.seed,
        min_new_labels=min_new_labels,
        min_test_labels=min_test_labels,
        shadow_labels=shadow_labels,
        fresh_search_budget=fresh_search_budget,
        max_forgetting=max_forgetting,
    )
    with console.status("evolving: reading labels, checking drift, training and gating a challenger..."):
        decision: Decision = proj.evolve(policy)
    if as_json:
        print(dumps(decision.to_dict()))
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
                fmt(figures[key])
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


def history(
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="Show at most this many of the newest decisions.", min=1)] = 50,
    project: ProjectOpt = Path(".lamarck"),
) -> None:
    """The lineage of every version (parent, why it was made) and every decision with its reason.

    Example: lamarck history
    """
    info = open_project(project, create=False).history()
    if as_json:
        print(dumps(info))
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
    check_output(output)
    table = open_project(project, create=False).suggest_labels(n, strategy=strategy)
    if output is not None:
        write_csv(table, output)
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
        t.add_row(*[fmt(v) for v in row])
    console.print(t)
    if output is not None:
        console.print(f"written to {output}")


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
    frame = read_data(data, None, None)
    proj = open_project(project, create=True)
    if id_column:
        items = [
            {"prediction_id": r.get(id_column)} | ({"label": r[label_column]} if label_column in r else {})
            for r in frame.to_dict("records")
        ]
        result = proj.add_feedback(items=items, weight=weight, source="cli")  # the one weight rule
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
