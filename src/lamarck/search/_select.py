"""Keep a proposed feature only when it helps: paired cross-validation over the same folds (CAAFE-style).

Each candidate (a :class:`~lamarck.data.FeatureDef`) is parsed by the feature language, added to the
features kept so far, and scored with one fixed LightGBM configuration over the *same* folds as the
current set. It is kept when the mean per-fold gain (metric turned so that higher is better) exceeds the
fold noise, the standard deviation of the per-fold gains. Candidates are tried in order, so a kept
feature joins the baseline of the next one.

    >>> import numpy as np, pandas as pd
    >>> from lamarck.data import FeatureDef
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.uniform(1, 2, 400), "b": rng.uniform(1, 2, 400)})
    >>> y = (X.a / X.b > 1).to_numpy(dtype=int)
    >>> kept, trials = select_features(X, y, task="binary", metric="accuracy",
    ...                                candidates=[FeatureDef(name="a_over_b", expression="a / b")])
    >>> [t.status for t in trials], [f.name for f in kept]
    (['kept'], ['a_over_b'])
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from lamarck.errors import FeatureError
from lamarck.evaluate import score, signed
from lamarck.search._learners import LEARNERS, FitContext
from lamarck.search._search import predict_matrix
from lamarck.search._validation import choose_scheme

__all__ = ["FeatureTrial", "select_features"]

log = logging.getLogger(__name__)


class FeatureTrial(BaseModel):
    """The verdict on one proposed feature: kept, rejected (no gain above the noise) or invalid."""

    name: str
    expression: str
    reason: str = ""
    status: Literal["kept", "rejected", "invalid"]
    delta: float | None = None
    noise: float | None = None
    fold_deltas: list[float] = []
    message: str = ""


def _fold_scores(
    X: pd.DataFrame,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    task: str,
    metric: str,
    kinds: Mapping[str, str],
    seed: int,
    n_jobs: int,
) -> np.ndarray:
    from lamarck.data import FeatureProcessor

    Xp = FeatureProcessor(columns=list(X.columns), kinds=dict(kinds), seed=seed).fit_transform(X)
    learner = LEARNERS["lightgbm"]
    params = {**learner.portfolio(task)[0], "n_estimators": 200}
    n_classes = 0 if task == "regression" else int(np.max(y)) + 1
    ctx = FitContext(task=task, n_classes=n_classes, seed=seed, n_jobs=n_jobs)
    out = []
    for tr, va in folds:
        model = learner.fit(params, Xp.iloc[tr], y[tr], ctx)
        pred = predict_matrix(model, Xp.iloc[va], task, n_classes)
        out.append(signed(metric, score(metric, y[va], pred)))
    return np.asarray(out, dtype=float)


def select_features(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    metric: str,
    candidates: Sequence[Any],
    kinds: Mapping[str, str] | None = None,
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    deadline: float = math.inf,
) -> tuple[list[Any], list[FeatureTrial]]:
    """The candidates worth keeping (in order) and a :class:`FeatureTrial` for every candidate.

    ``candidates`` are :class:`~lamarck.data.FeatureDef` or dicts with ``name``, ``expression``, ``reason``.
    ``y`` is encoded (class indices or values). ``deadline`` is a ``time.monotonic()`` value.
    """
    from lamarck.data import DerivedFeatures, FeatureDef, parse_feature

    base_cols = [str(c) for c in X.columns]
    kinds = dict(kinds or {})
    if not kinds:
        from lamarck.data import profile

        kinds = {c.name: c.kind for c in profile(X).columns}
    folds = folds or choose_scheme(n_rows=len(X), task=task).split(y, seed=seed)
    trials: list[FeatureTrial] = []
    valid: list[FeatureDef] = []
    seen = set(base_cols)
    for raw in candidates:
        data = raw.model_dump() if isinstance(raw, BaseModel) else dict(raw)
        name, expression = str(data.get("name", "")), str(data.get("expression", ""))
        reason = str(data.get("reason", ""))
        try:
            f = FeatureDef(name=name, expression=expression, reason=reason)
            if f.name in seen:
                raise FeatureError(f"name {f.name!r} is already taken by a column or an earlier proposal")
            parse_feature(f.expression, base_cols)
            values = DerivedFeatures(features=[f]).fit_transform(X)[f.name]
            if values.nunique(dropna=True) <= 1:
                raise FeatureError("it is constant (or missing) on every row")
        except (ValidationError, FeatureError) as e:
            msg = (
                str(e).splitlines()[0]
                if isinstance(e, FeatureError)
                else f"bad name or expression: {e.errors()[0]['msg']}"
            )
            trials.append(
                FeatureTrial(name=name, expression=expression, reason=reason, status="invalid", message=msg)
            )
            continue
        seen.add(f.name)
        valid.append(f)
    kept: list[Any] = []
    if not valid:
        return kept, trials
    common: dict[str, Any] = {"task": task, "metric": metric, "seed": seed, "n_jobs": n_jobs}
    current = X
    current_kinds = dict(kinds)
    base = _fold_scores(current, y, folds, kinds=current_kinds, **common)
    for f in valid:
        if time.monotonic() > deadline:
            trials.append(
                FeatureTrial(
                    name=f.name,
                    expression=f.expression,
                    reason=f.reason,
                    status="rejected",
                    message="not evaluated: the time for feature selection ran out",
                )
            )
            continue
        tried = DerivedFeatures(features=[*kept, f]).fit_transform(X)
        tried_kinds = {**current_kinds, f.name: "numeric"}
        scores = _fold_scores(tried, y, folds, kinds=tried_kinds, **common)
        deltas = scores - base
        delta = float(deltas.mean())
        noise = float(deltas.std(ddof=1)) if len(deltas) > 1 else abs(delta)
        keep = delta > 0 and delta > noise
        trials.append(
            FeatureTrial(
                name=f.name,
                expression=f.expression,
                reason=f.reason,
                status="kept" if keep else "rejected",
                delta=delta,
                noise=noise,
                fold_deltas=[float(d) for d in deltas],
                message=(
                    f"mean gain {delta:+.4g} > fold noise {noise:.4g}"
                    if keep
                    else f"mean gain {delta:+.4g} not above fold noise {noise:.4g}"
                ),
            )
        )
        log.info("feature %s = %s: %s", f.name, f.expression, trials[-1].message)
        if keep:
            kept.append(f)
            current, current_kinds, base = tried, tried_kinds, scores
    return kept, trials
