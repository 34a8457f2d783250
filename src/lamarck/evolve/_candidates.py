"""The challengers a pass puts before the gate, and the registration of the one that passes.

- the **warm start**: the champion's processor and configuration; boosting members (LightGBM, XGBoost)
  continue from the champion's trees (``init_model``), the others refit its configuration;
- the **scout** (online): the warm start of the champion's heaviest member alone, with one fold model,
  a cheap look at whether a retrained model can come near what is served before paying for the warm start;
- **earlier champions** (``reuse_versions``): the newest versions that served as champion for the same
  target, task, classes and inputs, so a concept that returns brings its model back (a challenger that
  never served is not brought back: it lost its shadow or its gate once already);
- a **fresh search** through the injected ``fresh_fit(frame, budget_s)`` when drift is severe or no other
  candidate passed.

A reused version is registered anew (the same model under a new number) with ``reuse_of`` in its lineage:
the version it came from, carried by :attr:`Candidate.reuse_of`, never parsed back from a label.

    >>> Candidate.reuse("7", model=None).how
    'reuse of v7'
"""

from __future__ import annotations

import copy
import logging
import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lamarck.evolve._ledger import ChampionLedger
from lamarck.evolve._policy import EvolutionPolicy
from lamarck.evolve._reference import PRED_PREFIX, write_reference
from lamarck.evolve._scoring import predict

__all__ = ["Candidate", "FreshFit", "earlier_versions", "fresh_search", "register", "scout", "warm_start"]

log = logging.getLogger(__name__)

FreshFit = Callable[[pd.DataFrame, float], Any]


@dataclass(frozen=True)
class Candidate:
    """A challenger: how it was made, the model, and the version it reuses (for an earlier champion)."""

    how: str
    model: Any
    reuse_of: str | None = None

    @classmethod
    def reuse(cls, version: str, *, model: Any) -> Candidate:
        return cls(f"reuse of v{version}", model, reuse_of=str(version))


def warm_start(policy: EvolutionPolicy, champion: Any, X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> Any:
    """Same processor and configuration; boosting members continue from the champion's trees."""
    from lamarck.search import LEARNERS, FitContext, fit_learner, fit_threads, warm_start_learner

    challenger = copy.copy(champion)
    Xp = champion.processor.transform(X[champion.input_columns])
    n_classes = 0 if champion.classes_ is None else len(champion.classes_)
    # the search's rule: one thread below ``ONE_THREAD_ROWS`` (a second one cost more CPU than it saved;
    # the slow half on Agrawal with immediate labels, CatBoost members: 13.2 CPU s with two, 8.4 with one)
    threads = fit_threads(len(X), FitContext.n_jobs)
    ctx = FitContext(task=champion.task, n_classes=n_classes, seed=policy.seed, n_jobs=threads)
    y_fit = y.astype(int) if champion.classes_ is not None else y
    members = []
    for m in champion.members:
        learner = LEARNERS[m.learner]
        models = []
        for fold_model in m.models[: policy.max_fold_models]:
            try:
                models.append(warm_start_learner(learner, fold_model, Xp, y_fit, ctx, sample_weight=w))
            except NotImplementedError:
                models.append(fit_learner(learner, m.params, Xp, y_fit, ctx))
        members.append(replace(m, models=models))
    challenger.members = members
    challenger.version = None
    return challenger


def scout(policy: EvolutionPolicy, champion: Any, X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> Any:
    """The warm start of the champion's heaviest member alone, with one fold model: what a retrained model
    can reach on these rows, at a fraction of the warm start's cost (one member, one fold)."""
    top = max(champion.members, key=lambda m: m.weight)
    lean = copy.copy(champion)
    lean.members = [replace(top, weight=1.0)]
    return warm_start(replace(policy, max_fold_models=1), lean, X, y, w)


def earlier_versions(
    policy: EvolutionPolicy, registry: Any, ledger: ChampionLedger, champion: Any, champ_version: str
) -> list[Candidate]:
    """The newest earlier champions for the same target and task, as candidates (a challenger that
    never served is not brought back: it lost its shadow or its gate once already)."""
    if policy.reuse_versions <= 0:
        return []
    served = {m.to for m in ledger.moves(limit=10_000) if m.to}  # a fit records its promotion too
    versions = registry.versions()

    def root(info: Any) -> str:  # a reuse is registered anew: the same model under two numbers
        return str((info.lineage or {}).get("reuse_of") or info.version)

    seen = {root(i) for i in versions if i.version == champ_version}
    found: list[Candidate] = []
    for info in versions:
        if len(found) >= policy.reuse_versions:
            break
        tags = info.tags or {}
        if (
            root(info) in seen
            or info.version not in served
            or tags.get("kind") == "stream"
            or tags.get("target", champion.target) != champion.target
            or tags.get("task", champion.task) != champion.task
        ):
            continue
        try:
            model = registry.load(info.version)
        except Exception:  # its files are gone: not a candidate
            log.warning("cannot load version %s as a candidate", info.version, exc_info=True)
            continue
        mine, theirs = getattr(model, "classes_", None), champion.classes_
        same = (mine is None and theirs is None) or (
            mine is not None and theirs is not None and list(mine) == list(theirs)
        )
        if same and list(getattr(model, "input_columns", [])) == list(champion.input_columns):
            seen.add(root(info))
            found.append(Candidate.reuse(root(info), model=model))
    return found


def fresh_search(
    fresh_fit: FreshFit, policy: EvolutionPolicy, champion: Any, X: pd.DataFrame, y: np.ndarray
) -> Candidate:
    """A new model from a full search on the training rows (raw columns plus the decoded target)."""
    frame = X.copy()
    frame[champion.target] = _decoded(champion, y)
    return Candidate("fresh search", fresh_fit(frame, policy.fresh_search_budget_s))


def register(
    registry: Any,
    policy: EvolutionPolicy,
    candidate: Candidate,
    champion: Any,
    champ_version: str,
    *,
    X: pd.DataFrame,
    y: np.ndarray,
    replay: Any,
    result: Any,
    triggers: tuple[str, ...],
    new_labels: int,
    cursor: int,
) -> str:
    """Register the challenger with its training reference and lineage; returns its version.

    The reference is a sample of its training rows plus the replay hold-out with the challenger's own
    predictions (rows it never trained on: the next generation's anti-forgetting baseline).
    ``result`` is the challenger's :class:`~lamarck.evolve.GateResult`.
    """
    model = candidate.model

    def labelled(frame: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
        out = frame.copy()
        out[champion.target] = _decoded(champion, codes)
        return out

    train = labelled(X, y)
    if len(train) > 5000:
        train = train.sample(n=5000, random_state=policy.seed).sort_index()
    held = labelled(replay.X, replay.y)
    if len(held):  # rows the challenger never trained on, with its prediction: the next replay baseline
        pred = predict(model, replay.X).reshape(len(replay.X), -1)
        for j in range(pred.shape[1]):
            held[f"{PRED_PREFIX}{j}"] = pred[:, j]
    ref = pd.concat([train, held], ignore_index=True)
    tmp = Path(tempfile.mkdtemp(prefix="lamarck-ref-"))
    try:
        write_reference(ref, tmp / "reference.parquet")
        info = registry.register(
            model,
            params={
                "learner": model.describe(),
                "warm_start_from": champ_version,
                "how": candidate.how,
            },
            metrics={
                k: float(v)
                for k, v in (
                    ("p_value", result.p_value),
                    ("delta", result.delta),
                    ("forgetting", result.forgetting),
                )
                if isinstance(v, int | float) and math.isfinite(v)
            },
            spec=registry.info(champ_version).spec,
            fingerprint={"n_rows": len(X), "columns": list(X.columns)},
            lineage={
                "parent": champ_version,
                "reason": "evolve: " + ", ".join(triggers),
                "how": candidate.how,
                "new_labels": new_labels,
                "train_rows": len(X),
                "feedback_cursor": cursor,
                "reuse_of": candidate.reuse_of,
            },
            tags={
                "origin": "evolve",
                "task": champion.task,
                "target": champion.target,
                "metric": champion.metric,
            },
            input_example=X.head(5),
            extra_artifacts={"reference.parquet": tmp / "reference.parquet"},
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(info.version)


def _decoded(champion: Any, codes: np.ndarray) -> Any:
    """Encoded labels back to the champion's classes (values for a regression)."""
    if champion.classes_ is None:
        return codes
    return np.asarray(champion.classes_, dtype=object)[codes.astype(int)]
