"""The fit, step by step: prepare → features → search → assemble → evaluate → register → report.

Each step is a function of the typed outputs of the steps before it (see :mod:`lamarck._fit._types`);
:func:`run_fit` only orders them, keeps the clock and tells the caller which step runs.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamarck._fit._evaluate import evaluate, finding_dict
from lamarck._fit._features import process_features
from lamarck._fit._meta import learn, remember
from lamarck._fit._model import assemble, search
from lamarck._fit._prepare import plan, prepare
from lamarck._fit._register import register
from lamarck._fit._report import write_report
from lamarck._fit._types import FitOptions, FitResult, ReportInputs
from lamarck._fit._zero_shot import zero_shot_fit

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = ["run_fit"]

log = logging.getLogger(__name__)


def run_fit(project: Project, data: Any, options: FitOptions) -> FitResult:
    """Fit ``data`` in ``project`` with ``options``; see :meth:`lamarck.project.Project.fit`."""
    t_start = time.monotonic() if options.started_at is None else options.started_at
    seed = project.settings.seed if options.seed is None else options.seed
    options = dataclasses.replace(options, seed=seed)
    zero, data, options = _zero_shot(project, data, options, t_start)
    if zero is not None:  # a zero-shot fit searches nothing: no registry to warm meanwhile
        return zero
    warm = None
    if options.register:  # open the registry (import MLflow, create its tables) while the search runs
        warm = threading.Thread(target=_warm_registry, args=(project,), daemon=True)
        warm.start()

    prepared = prepare(project, data, options, seed)
    processed = process_features(project, prepared, options, t_start)
    learned = learn(project, prepared, options)
    first = [*(options.warm_configs or ()), *(learned.first or ())] or None
    result = search(project, prepared, processed, options, t_start, first=first)
    if options.warm_configs:
        sources = sorted({source for _, _, source in options.warm_configs})
        result.notes.append(
            f"warm start: {len(options.warm_configs)} configuration(s) of {', '.join(sources)} tried first"
        )
    if learned.warm is not None:
        result.notes.append(learned.warm.note())
    assembled = assemble(prepared, processed, result)
    options.stage("evaluating")
    evaluation = evaluate(project, prepared, processed, result, assembled, options)
    remember(project, prepared, learned, result)

    version = None
    if options.register:
        options.stage("registering the champion")
        if warm is not None:
            warm.join()
        version = register(project, prepared, result, assembled, evaluation, options)
    report_path = None
    if options.report:
        options.stage("writing report")
        inputs = ReportInputs(prepared, result, assembled, evaluation, processed.llm_features, version)
        report_path = write_report(project.path / "reports", inputs)
        if version is not None:
            project.registry.log_artifact(version, report_path)
    return FitResult(
        spec=prepared.spec,
        leaderboard=assembled.leaderboard,
        champion_version=version,
        score=result.best_score,
        metric=prepared.spec.metric,
        scorecard=evaluation.scorecard,
        validation=result.validation.describe(),
        report_path=report_path,
        quality=[finding_dict(f) for f in prepared.quality.findings],
        quarantined_rows=len(prepared.quality.quarantine),
        quarantine_path=prepared.quarantine_path,
        excluded=prepared.excluded,
        seconds=time.monotonic() - t_start,
        n_trials=len(result.trials),
        notes=assembled.notes,
        llm_features=processed.llm_features,
        review=evaluation.review,
        meta_features=learned.meta.to_dict() if learned.meta is not None else None,
        warm_start=learned.warm.to_dict() if learned.warm is not None else None,
        model=assembled.model,
    )


def _zero_shot(
    project: Project, data: Any, options: FitOptions, t_start: float
) -> tuple[FitResult | None, Any, FitOptions]:
    """The zero-shot fit when the plan is one (the sentence names classes that no column holds); else
    ``None`` and the data (read once here when it had to be planned, with its plan in the options)."""
    from lamarck.text import named_classes

    spec = options.spec
    if spec is None and (options.target is not None or named_classes(options.sentence) is None):
        return None, data, options
    if spec is not None and not spec.zero_shot_classes:
        return None, data, options
    import pandas as pd

    from lamarck.data import named_columns

    options.stage("reading data")
    if options.dataset_name is None:
        name = "DataFrame" if isinstance(data, pd.DataFrame) else Path(str(data)).name
        options = dataclasses.replace(options, dataset_name=name)
    frame = named_columns(data) if isinstance(data, pd.DataFrame) else project._read(data)
    if spec is None:
        spec = plan(project, frame, options)
        options = dataclasses.replace(options, spec=spec)
    if not spec.zero_shot_classes:
        return None, frame, options
    return zero_shot_fit(project, frame, spec, options, t_start), frame, options


def _warm_registry(project: Project) -> None:
    try:
        project.registry.aliases()
    except Exception:  # the real call reports the error
        log.debug("warming the registry failed", exc_info=True)
