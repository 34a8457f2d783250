"""The typer app, the entry point and what every command shares: options, consoles, the project.

The entry point prints a :class:`lamarck.errors.LamarckError` as one paragraph (never a traceback) and
returns its exit code; commands are registered on :data:`app` by :mod:`lamarck.cli`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from lamarck.errors import LamarckError

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = [
    "ExcludeOpt",
    "JsonOpt",
    "LLMOpt",
    "MetricOpt",
    "ProjectOpt",
    "QueryOpt",
    "TableOpt",
    "TargetOpt",
    "TaskOpt",
    "TimeOpt",
    "app",
    "check_output",
    "console",
    "dumps",
    "err_console",
    "main",
    "open_project",
    "read_data",
    "write_csv",
]

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


def open_project(path: Path, *, create: bool) -> Project:
    """The project at ``path`` (imported on first use, so ``lamarck --help`` starts fast); a ConfigError
    when ``path`` is something other than a folder (a project is a folder).

    ``create``: the command may make the project (fit, stream, feedback, serve, keys create); otherwise
    (status, models, history, predict, evolve, suggest-labels, keys list / revoke) the folder must exist
    and nothing is made on disk: a :class:`lamarck.errors.ProjectNotFoundError` says so.

    >>> open_project(Path("/dev/null"), create=True)
    Traceback (most recent call last):
    ...
    lamarck.errors.ConfigError: --project '/dev/null' is not a folder: a project is a folder (made on first use). Fix: --project with a new or an existing project folder, e.g. --project .lamarck.
    >>> open_project(Path("/no/such/project"), create=False)
    Traceback (most recent call last):
    ...
    lamarck.errors.ProjectNotFoundError: no project at '/no/such/project': the folder does not exist (a command that only reads a project never makes one). Fix: pass the folder of an existing project with --project, or make one first with `lamarck fit DATA "SENTENCE" --project /no/such/project`.
    """
    if path.exists() and not path.is_dir():
        from lamarck.errors import ConfigError

        raise ConfigError(
            f"--project '{path}' is not a folder: a project is a folder (made on first use). "
            "Fix: --project with a new or an existing project folder, e.g. --project .lamarck."
        )
    from lamarck.project import Project

    return Project(path) if create else Project.existing(path)


def read_data(data: str, query: str | None, table: str | None) -> Any:
    """The table named by a command's DATA argument (a file or a SQLAlchemy URL); ``--query`` and
    ``--table`` belong to a URL, and a ConfigError says so when DATA is a file.

    >>> read_data("rows.csv", None, "t")
    Traceback (most recent call last):
    ...
    lamarck.errors.ConfigError: --table applies to a database URL, and DATA 'rows.csv' is a file. Fix: drop --table, or pass a URL such as sqlite:///data.db.
    """
    if (query is not None or table is not None) and "://" not in data:
        from lamarck.errors import ConfigError

        flag = "--query" if query is not None else "--table"
        raise ConfigError(
            f"{flag} applies to a database URL, and DATA {data[:200]!r} is a file. "
            f"Fix: drop {flag}, or pass a URL such as sqlite:///data.db."
        )
    from lamarck.data import read_table

    return read_table(data, query=query, table=table)


def check_output(path: Path | None) -> Path | None:
    """``path`` when its folder exists (``--output`` never creates folders); else a ConfigError.

    >>> check_output(None) is None
    True
    >>> check_output(Path("/no/such/folder/x.csv"))
    Traceback (most recent call last):
    ...
    lamarck.errors.ConfigError: --output folder '/no/such/folder' does not exist (for '/no/such/folder/x.csv'). Fix: create it first (mkdir -p /no/such/folder) or pick an existing folder.
    """
    if path is None:
        return None
    folder = path.parent
    if not folder.is_dir():
        from lamarck.errors import ConfigError

        what = "is not a folder" if folder.exists() else "does not exist"
        raise ConfigError(
            f"--output folder '{folder}' {what} (for '{path}'). "
            f"Fix: create it first (mkdir -p {folder}) or pick an existing folder."
        )
    if path.is_dir():
        from lamarck.errors import ConfigError

        raise ConfigError(f"--output '{path}' is a folder, not a file. Fix: --output {path / 'out.csv'}.")
    return path


def write_csv(frame: Any, path: Path) -> None:
    """``frame`` written to ``path`` (``--output``); a ConfigError naming the file when the system refuses
    (no permission, a full disk, a read-only file system).

    >>> import pandas as pd
    >>> write_csv(pd.DataFrame({"a": [1]}), Path("/proc/no-such-file.csv"))
    Traceback (most recent call last):
    ...
    lamarck.errors.ConfigError: cannot write --output '/proc/no-such-file.csv' (FileNotFoundError: No such file or directory). Fix: pick a file in a folder you can write to, on a disk with free space.
    """
    try:
        frame.to_csv(path, index=False)
    except OSError as e:
        from lamarck.errors import ConfigError

        raise ConfigError(
            f"cannot write --output '{path}' ({type(e).__name__}: {e.strerror or e}). "
            "Fix: pick a file in a folder you can write to, on a disk with free space."
        ) from None


def dumps(value: Any, *, indent: int | None = None) -> str:
    """``value`` as strict JSON for ``--json``: NaN and infinities (which ``json`` would write as the
    non-JSON ``NaN``/``Infinity``) become ``null``; other objects their ``str``.

    >>> dumps({"a": float("nan"), "b": [1.5, float("inf")]})
    '{"a": null, "b": [1.5, null]}'
    """
    import json
    import math

    def finite(v: Any) -> Any:
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [finite(x) for x in v]
        return v

    return json.dumps(finite(value), indent=indent, default=str, allow_nan=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, print user errors as one paragraph, return the exit code.

    typer (0.29) vendors its own click, so its usage errors, ``typer.Exit`` and ``typer.Abort`` are not
    the ``click`` package's classes: the command runs in click's standalone mode, which prints a usage
    error (exit 2), turns Ctrl-C into exit 130 and ``typer.Exit(n)`` into exit ``n``, all by
    ``SystemExit``, whose code is returned here. A :class:`LamarckError` passes through standalone mode
    untouched and is printed as one panel, never a traceback.
    """
    logging.basicConfig(
        level=os.environ.get("LAMARCK_LOG_LEVEL", "WARNING"), format="%(levelname)s %(message)s"
    )
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="lamarck", standalone_mode=True)
    except LamarckError as e:
        err_console.print(  # the message as written: "[lamarck]" in it is text, not rich markup
            Panel(Text(str(e)), title=f"[red]{type(e).__name__}[/red]", expand=False, border_style="red")
        )
        return e.exit_code
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0
