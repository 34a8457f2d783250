"""Step ``features``: the feature processor, with the LLM's derived features when asked and worth it."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lamarck._fit._text import TextChoice, choose_text_encoding
from lamarck._fit._types import FitOptions, Prepared, Processed
from lamarck.plan import TaskSpec

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = ["process_features"]

log = logging.getLogger(__name__)


def process_features(project: Project, prepared: Prepared, options: FitOptions, t_start: float) -> Processed:
    """Fit the feature processor on the clean rows; text columns as TF-IDF or sentence embeddings (chosen
    out of fold, ``_text.py``); ``llm_features`` first asks the LLM for derived ones."""
    from lamarck.data import FeatureProcessor

    seed = prepared.seed
    X = prepared.X
    processor: Any = FeatureProcessor(columns=prepared.features, kinds=prepared.kinds, seed=seed)
    if any(prepared.kinds.get(c) == "text" for c in X.columns):
        options.stage("choosing the text features")
    spec = prepared.spec
    text = choose_text_encoding(
        X,
        prepared.y,
        kinds=prepared.kinds,
        task=spec.task,
        metric=spec.metric,
        setting=project.settings.text_encoding,
        budget_s=spec.time_budget_s,
        t_start=t_start,
        seed=seed,
        max_text_columns=processor.max_text_columns,
    )
    processor.set_params(text_encoding=text.encoding, text_encoder=text.encoder)
    trials: list[dict[str, Any]] = []
    if options.llm_features:
        options.stage("LLM feature proposals")
        processor, trials = _llm_features(
            project, X, prepared.y, spec, prepared.kinds, seed, t_start, text=text
        )
    frame = processor.fit_transform(X)
    if text.encoder is not None:  # the sample's remembered embeddings stay out of the saved model
        _inner(processor).set_params(text_encoder=text.saved_encoder)
    notes = [text.note] if text.note else []
    return Processed(processor=processor, X=frame, llm_features=trials, notes=notes)


def _inner(processor: Any) -> Any:
    """The ``FeatureProcessor`` of ``processor`` (itself, or the one behind the derived features)."""
    return processor.processor if hasattr(processor, "derived") else processor


def _llm_features(
    project: Project,
    X: pd.DataFrame,
    y: np.ndarray,
    spec: TaskSpec,
    kinds: dict[str, str],
    seed: int,
    t_start: float,
    *,
    text: TextChoice,
) -> tuple[Any, list[dict[str, Any]]]:
    """Ask the LLM for derived features, keep those that beat the fold noise; the processor that adds them."""
    from lamarck.data import DerivedFeatures, FeatureProcessor, WithDerivedFeatures
    from lamarck.errors import LLMUnavailableError
    from lamarck.plan import compact_profile, configured_client, propose_features
    from lamarck.search import fit_threads, select_features

    settings = project.settings
    client = configured_client(settings, flag="--llm-features")
    encoding = {"text_encoding": text.encoding, "text_encoder": text.encoder}
    base = FeatureProcessor(columns=list(X.columns), kinds=kinds, seed=seed, **encoding)
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
            **encoding,
        ),
    )
    return processor, records
