"""Step ``register``: the model goes into the registry with its training reference, then the champion
ledger records the decision and moves the alias (see :class:`lamarck.evolve.ChampionLedger`)."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lamarck._fit._types import Assembled, Evaluation, FitOptions, Prepared

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = ["reference", "register"]


def register(
    project: Project,
    prepared: Prepared,
    result: Any,
    assembled: Assembled,
    evaluation: Evaluation,
    options: FitOptions,
) -> str:
    """Register the model, make it the champion through the ledger; returns its version.

    The training reference is written to a temporary folder that is removed whatever happens.
    """
    from lamarck.data import fingerprint
    from lamarck.evolve import write_reference

    spec, seed, model = prepared.spec, prepared.seed, assembled.model
    clean, X = prepared.clean, prepared.X
    previous = project.registry.alias_version("champion")
    ref = reference(clean[[*prepared.features, spec.target]], result, seed)
    with tempfile.TemporaryDirectory(prefix="lamarck-ref-", ignore_cleanup_errors=True) as tmp:
        path = write_reference(ref, Path(tmp) / "reference.parquet")  # the training reference: drift, replay
        info = project.registry.register(
            model,
            params={
                "learner": model.describe(),
                "sampler": options.sampler,
                "seed": seed,
                "validation": result.validation.describe(),
                **_flat_spec(spec),
            },
            metrics={
                f"cv_{spec.metric}": result.best_score,
                **_numeric(evaluation.scorecard.get("secondary", {})),
            },
            spec=spec.model_dump(mode="json"),
            fingerprint=fingerprint(X),
            lineage={"parent": previous, "reason": "fit", "data": prepared.dataset_name, "rows": len(clean)},
            tags={"task": spec.task, "target": spec.target, "metric": spec.metric},
            input_example=X.head(5),
            extra_artifacts={"reference.parquet": path},
        )
    version = str(info.version)
    model.version = version
    project.ledger.move(
        "promote",
        version,
        reason="new fit",
        figures={
            "origin": "fit",
            "feedback_cursor": project.store.max_feedback_id(),
            f"cv_{spec.metric}": result.best_score,
        },
    )
    return version


def reference(frame: pd.DataFrame, result: Any, seed: int, size: int = 5000) -> pd.DataFrame:
    """A sample of the training rows with their out-of-fold predictions (``__p0..``, honest, so the
    evolution gate can tell forgetting from the optimism of a model scored on its own training rows)."""
    from lamarck.evolve import PRED_PREFIX

    oof = np.full((len(frame), result.oof.shape[1] if result.oof.ndim == 2 else 1), np.nan)
    oof[result.oof_rows] = result.oof[result.oof_rows].reshape(len(result.oof_rows), -1)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), size=min(len(frame), size), replace=False))
    out = frame.iloc[rows].copy()
    for j in range(oof.shape[1]):
        out[f"{PRED_PREFIX}{j}"] = oof[rows, j]
    return out


def _flat_spec(spec: Any) -> dict[str, Any]:
    return {
        "target": spec.target,
        "task": spec.task,
        "metric": spec.metric,
        "time_budget_s": spec.time_budget_s,
        "exclude_columns": json.dumps(spec.exclude_columns),
        "positive_class": spec.positive_class,
    }


def _numeric(d: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in d.items() if isinstance(v, int | float) and math.isfinite(float(v))}
