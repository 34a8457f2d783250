"""Step ``features``: the feature processor, with the LLM's derived features when asked and worth it."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lamarck._fit._types import FitOptions, Prepared, Processed
from lamarck.plan import TaskSpec

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = ["process_features"]

log = logging.getLogger(__name__)


def process_features(project: Project, prepared: Prepared, options: FitOptions, t_start: float) -> Processed:
    """Fit the feature processor on the clean rows; ``llm_features`` first asks the LLM for derived ones."""
    from lamarck.data import FeatureProcessor

    seed = prepared.seed
    X = prepared.X
    processor: Any = FeatureProcessor(columns=prepared.features, kinds=prepared.kinds, seed=seed)
    trials: list[dict[str, Any]] = []
    if options.llm_features:
        options.stage("LLM feature proposals")
        processor, trials = _llm_features(
            project, X, prepared.y, prepared.spec, prepared.kinds, seed, t_start
        )
    return Processed(processor=processor, X=processor.fit_transform(X), llm_features=trials)


def _llm_features(
    project: Project,
    X: pd.DataFrame,
    y: np.ndarray,
    spec: TaskSpec,
    kinds: dict[str, str],
    seed: int,
    t_start: float,
) -> tuple[Any, list[dict[str, Any]]]:
    """Ask the LLM for derived features, keep those that beat the fold noise; the processor that adds them."""
    from lamarck.data import DerivedFeatures, FeatureProcessor, WithDerivedFeatures
    from lamarck.errors import LLMUnavailableError
    from lamarck.plan import compact_profile, configured_client, propose_features
    from lamarck.search import fit_threads, select_features

    settings = project.settings
    client = configured_client(settings, flag="--llm-features")
    base = FeatureProcessor(columns=list(X.columns), kinds=kinds, seed=seed)
    try:
        proposals = propose_features(
            client,
            profile=compact_profile(X, redact_examples=settings.llm_redact_examples),
            spec=spec,
            timeout_s=settings.llm_timeout_s,
            audit_dir=project.path / "llm",
        )
    except LLMUnavailableError as e:
        log.warning("no LLM feature proposals: %s", e)
        return base, [
            {"name": "—", "expression": "", "status": "invalid", "message": f"LLM unavailable: {e}"}
        ]
    # feature selection may use up to a quarter of the budget (the search gets what is left)
    kept, trials = select_features(
        X,
        y,
        task=spec.task,
        metric=spec.metric,
        candidates=proposals,
        kinds=kinds,
        seed=seed,
        n_jobs=fit_threads(len(X), settings.n_jobs),  # one thread on small data, as the search
        deadline=time.monotonic() + 0.25 * spec.time_budget_s,
    )
    records = [t.model_dump() for t in trials]
    if not kept:
        return base, records
    processor = WithDerivedFeatures(
        derived=DerivedFeatures(features=kept),
        processor=FeatureProcessor(
            columns=[*X.columns, *(f.name for f in kept)],
            kinds={**kinds, **{f.name: "numeric" for f in kept}},
            seed=seed,
        ),
    )
    return processor, records
