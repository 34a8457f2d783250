"""The portfolio shipped with the package: tasks of a meta-training corpus of real datasets, each with its
meta-features and the best configurations a short search found (built by ``lamarck meta build``; its
datasets are listed in ``portfolio_build.log`` beside it).

    >>> p = load_portfolio()
    >>> p.format, len(p.tasks) > 0
    (1, True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lamarck.errors import DataError
from lamarck.meta._features import MetaFeatures
from lamarck.meta._knowledge import Config, KnownTask

__all__ = ["BUILD_LOG", "FORMAT", "PORTFOLIO_FILE", "Portfolio", "load_portfolio", "portfolio_dict"]

PORTFOLIO_FILE = "portfolio.json"
BUILD_LOG = "portfolio_build.log"
#: the layout of the file; a reader refuses another one rather than guess
FORMAT = 1


@dataclass(frozen=True)
class Portfolio:
    """The shipped portfolio: its version (the build date), how it was built, and its tasks."""

    format: int
    version: str
    built_with: dict[str, Any]
    tasks: tuple[KnownTask, ...]


def load_portfolio(path: str | Path | None = None) -> Portfolio:
    """The portfolio at ``path`` (default: the one shipped in this package)."""
    if path is None:
        text = resources.files("lamarck.meta").joinpath(PORTFOLIO_FILE).read_text(encoding="utf-8")
        where = f"lamarck/meta/{PORTFOLIO_FILE}"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    raw = json.loads(text)
    if raw.get("format") != FORMAT:
        raise DataError(
            f"portfolio {where} has format {raw.get('format')!r}, this Lamarck reads format {FORMAT}. "
            "Fix: rebuild it with `lamarck meta build`."
        )
    tasks = tuple(
        KnownTask(
            name=t["name"],
            origin="portfolio",
            task=t["task"],
            metric=t["metric"],
            meta=MetaFeatures.from_dict(t["meta"]),
            configs=tuple(Config(c["learner"], dict(c["params"]), float(c["score"])) for c in t["configs"]),
        )
        for t in raw["tasks"]
    )
    return Portfolio(
        format=FORMAT, version=str(raw.get("version", "")), built_with=raw.get("built_with", {}), tasks=tasks
    )


def portfolio_dict(version: str, built_with: Mapping[str, Any], tasks: list[KnownTask]) -> dict[str, Any]:
    """The JSON form of a portfolio (what :func:`load_portfolio` reads); figures rounded to keep it small."""

    def small(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, dict):
            return {k: small(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [small(x) for x in v]
        return v

    return {
        "format": FORMAT,
        "version": version,
        "built_with": dict(built_with),
        "tasks": [
            {
                "name": t.name,
                "task": t.task,
                "metric": t.metric,
                "meta": small({k: v for k, v in t.meta.to_dict().items() if k != "seconds"}),
                "configs": [
                    {"learner": c.learner, "params": small(c.params), "score": small(c.score)}
                    for c in t.configs
                ],
            }
            for t in tasks
        ],
    }
