"""Steps ``search`` (the time left after the overhead reserve goes to :class:`lamarck.search.AutoSearch`)
and ``assemble`` (the final model from the search's members, and the leaderboard)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from lamarck._fit._types import Assembled, FitOptions, Prepared, Processed

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = [
    "FIXED_OVERHEAD_S",
    "MIN_SEARCH_SHARE",
    "OVERHEAD_SHARE",
    "assemble",
    "processor_notes",
    "search",
    "search_budget",
]

#: seconds kept aside from the budget for evaluation, the report and registration
FIXED_OVERHEAD_S = 6.0
OVERHEAD_SHARE = 0.06
#: the search has at least this share of the budget (and 1 s), even when the steps before it ran late:
#: a quarter made a short fit overrun its budget whenever reading, checking or a loaded machine took longer
MIN_SEARCH_SHARE = 0.1


def search_budget(time_budget_s: float, elapsed_s: float) -> float:
    """Seconds the search may use: the budget less what was spent and the reserve, at least a tenth
    (and 1 s).

    >>> search_budget(60, elapsed_s=2.0)
    48.4
    >>> search_budget(30, elapsed_s=25.0)
    3.0
    >>> search_budget(8, elapsed_s=1.0)
    1.0
    """
    reserve = FIXED_OVERHEAD_S + OVERHEAD_SHARE * time_budget_s
    return max(time_budget_s - elapsed_s - reserve, MIN_SEARCH_SHARE * time_budget_s, 1.0)


def search(
    project: Project,
    prepared: Prepared,
    processed: Processed,
    options: FitOptions,
    t_start: float,
    *,
    first: list[tuple[str, dict[str, Any], str]] | None = None,
) -> Any:
    """The :class:`lamarck.search.SearchResult` of the search over the processed rows; ``first``: the
    configurations tried before the portfolio (the warm start)."""
    from lamarck.search import AutoSearch, EarlyStop, latency_probe

    spec = prepared.spec
    budget = search_budget(spec.time_budget_s, time.monotonic() - t_start)
    options.stage(f"searching ({budget:.0f}s)")
    return AutoSearch(
        task=spec.task,
        metric=spec.metric,
        time_budget_s=budget,
        sampler=options.sampler,
        seed=prepared.seed,
        n_jobs=project.settings.n_jobs,
        learners=options.learners,
        portfolio=options.portfolio,
        on_trial=options.on_trial,
        storage=project.settings.optuna_storage or None,
        cluster=options.cluster or project.settings.cluster or None,
        cluster_artifacts=project.settings.cluster_artifacts,
        first=first,
        early_stop=EarlyStop() if project.settings.early_stop else None,
        latency_ms=spec.max_latency_ms,
        latency_of=None
        if spec.max_latency_ms is None
        else latency_probe(processed.processor, processed.X, spec.task, _n_classes(prepared)),
    ).fit(processed.X, prepared.y)


def _n_classes(prepared: Prepared) -> int:
    return 0 if prepared.spec.task == "regression" or prepared.classes is None else len(prepared.classes)


def assemble(prepared: Prepared, processed: Processed, result: Any) -> Assembled:
    """The final model (the search's members behind the processor) and the leaderboard, model first."""
    from lamarck.search import LamarckModel

    spec = prepared.spec
    X = prepared.X
    model = LamarckModel(
        task=spec.task,
        target=spec.target,
        metric=spec.metric,
        input_schema={c: str(X[c].dtype) for c in prepared.features},
        processor=processed.processor,
        members=result.members,
        classes_=prepared.classes,
        feature_names=list(processed.X.columns),
        rule=result.rule,
    )
    trials = [
        {
            "rank": i + 1,
            "trial": t.number,
            "learner": t.learner,
            "score": t.score,
            "metric": spec.metric,
            "fit_seconds": round(t.seconds, 3),
            "source": t.source,
            "params": t.params,
            "status": t.status,
            "error": t.error,
        }
        for i, t in enumerate(result.leaderboard)
    ]
    final = {
        "rank": 0,
        "trial": None,
        "learner": "ensemble" if len(result.members) > 1 else result.members[0].learner,
        "score": result.best_score,
        "metric": spec.metric,
        "fit_seconds": None,
        "source": "final",
        "params": {
            "members": model.describe(),
            **({"decision": result.rule.describe()} if result.rule else {}),
        },
        "status": "complete",
        "error": "",
    }
    return Assembled(
        model=model,
        leaderboard=[final, *trials, *failed_rows(result.failures, spec.metric)],
        notes=[*spec.notes, *processor_notes(processed.processor), *processed.notes, *result.notes],
    )


def processor_notes(processor: Any) -> list[str]:
    """What the feature processor chose to say (e.g. text columns beyond its TF-IDF limit); older pickled
    processors have no notes."""
    return list(getattr(processor, "notes_", None) or [])


def failed_rows(failures: list[Any], metric: str) -> list[dict[str, Any]]:
    """One leaderboard row per learner that raised an error (its first failed trial, the error and how
    many trials failed), after the ranked rows: a learner that fails is listed, not dropped."""
    rows = []
    for name in dict.fromkeys(t.learner for t in failures):
        mine = [t for t in failures if t.learner == name]
        first = mine[0]
        rows.append(
            {
                "rank": None,
                "trial": first.number,
                "learner": name,
                "score": None,
                "metric": metric,
                "fit_seconds": round(sum(t.seconds for t in mine), 3),
                "source": first.source,
                "params": first.params,
                "status": "failed",
                "error": first.error if len(mine) == 1 else f"{first.error} ({len(mine)} trials failed)",
            }
        )
    return rows
