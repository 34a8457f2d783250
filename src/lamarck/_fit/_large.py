"""A table larger than one process's memory, on a Dask cluster: ``Project.fit("data/*.parquet", ...,
cluster=...)`` (a glob of Parquet or CSV files, read as a Dask dataframe).

1. A held-out tenth of the rows is split off (``random_split``, seeded); from the rest a sample of at most
   :data:`SAMPLE_ROWS` rows is brought to this process.
2. The sample goes through the whole fit (plan, data checks, features, the search with its trials on the
   cluster, the ensemble), unregistered: the *sampled single-machine fit*.
3. The search's best LightGBM configuration (its tree count from the fold models' early stopping) trains
   on every training row with LightGBM's own Dask estimator, and so does XGBoost's best with XGBoost's
   when its trials completed in the sampled search (XGBoost may grow to :data:`EXTRA_TREES` times the
   sample's tree count, early stopping on :data:`VALID_SHARE` of the training rows: more rows hold more
   trees, and the sample's count underfit them); the sample's processor is applied to each partition
   on the workers: no process holds the table, each worker holds its partitions' features.
4. The models answer a sample of the held-out rows (at most :data:`HOLDOUT_ROWS`); the best one by the
   metric is registered and becomes the champion, and a note gives every score (and why a model of every
   row is missing when its training failed). Predictions, feedback and evolution then work on it as on any
   model.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lamarck._fit._types import FitOptions, FitResult
from lamarck.errors import ConfigError, DataError

if TYPE_CHECKING:
    from lamarck.project import Project

__all__ = ["HOLDOUT_ROWS", "SAMPLE_ROWS", "fit_large"]

log = logging.getLogger(__name__)

#: rows of the training part brought to this process for the sampled fit, and of the held-out part scored
SAMPLE_ROWS = 50_000
HOLDOUT_ROWS = 200_000
HOLDOUT_SHARE = 0.1
#: XGBoost on every row: the share of the training rows its early stopping watches, and how many times the
#: sample's tree count it may grow to
VALID_SHARE = 0.02
EXTRA_TREES = 4


def _read(source: str) -> Any:
    import dask.dataframe as dd

    lower = source.lower()
    try:
        if lower.endswith((".parquet", ".pq")):
            return dd.read_parquet(source)
        if lower.endswith((".csv", ".csv.gz")):
            return dd.read_csv(source, blocksize="64MB", assume_missing=True)
    except (OSError, ValueError) as e:
        raise DataError(
            f"cannot read {source!r} as a Dask dataframe: {e}. Fix: check the pattern and files."
        ) from e
    raise ConfigError(
        f"{source!r}: a table larger than memory is read from Parquet or CSV files. Fix: a pattern ending in "
        ".parquet or .csv, e.g. data/part-*.parquet."
    )


def fit_large(project: Project, source: str, options: FitOptions) -> FitResult:
    """Fit the table of the files ``source`` names on the cluster of ``options`` (see the module)."""
    import dask

    from lamarck._fit._pipeline import run_fit
    from lamarck.evaluate import signed
    from lamarck.search import dask_client

    cluster = options.cluster or project.settings.cluster
    if not cluster:
        raise ConfigError(
            f"{source!r} names several files: such a table is read and trained on a Dask cluster. Fix: pass "
            "--cluster ADDRESS (or the cluster setting), or a single file."
        )
    seed = project.settings.seed if options.seed is None else options.seed
    client, owned = dask_client(cluster)
    try:
        table = _read(source)
        train, held = table.random_split([1 - HOLDOUT_SHARE, HOLDOUT_SHARE], random_state=seed)
        n_train, n_held = (
            int(n) for n in dask.compute(train.shape[0], held.shape[0])
        )  # one pass over the files
        sample = train.sample(frac=min(1.0, SAMPLE_ROWS / max(n_train, 1)), random_state=seed).compute()
        small = run_fit(
            project,
            sample.reset_index(drop=True),
            dataclasses.replace(options, register=False, cluster=client),
        )
        model, spec = small.model, small.spec
        holdout = held.sample(frac=min(1.0, HOLDOUT_ROWS / max(n_held, 1)), random_state=seed).compute()
        holdout = holdout[holdout[spec.target].notna()]
        target = sample[spec.target].dropna()
        sample_y = target.to_numpy(dtype=float) if spec.task == "regression" else np.zeros(1)
        every_row, failed = {}, []
        for learner in (b for b in BOOSTERS if options.learners is None or b in options.learners):
            config = _best_config(model, small, learner)
            if config is None:
                continue
            try:
                every_row[learner] = _on_every_row(
                    client, train, model, small, seed, learner, config, sample_y
                )
            except Exception as e:  # a worker out of memory, a lost worker: the sampled fit still stands
                lines = str(e).strip().splitlines()
                why = lines[0][:200] if lines else ""
                log.warning("%s on every row failed", learner, exc_info=True)
                failed.append(f"{_NAMES[learner]} on every row failed ({type(e).__name__}: {why})")
        # the models of every row first: on a tie they win
        candidates = {**every_row, "sample": model}
        scores = {name: _score(m, holdout, spec) for name, m in candidates.items()}
        chosen = max(candidates, key=lambda name: signed(spec.metric, scores[name]))
        winner = candidates[chosen]
        version = (
            _register(project, winner, sample, spec, scores[chosen], source, n_train, seed)
            if options.register
            else None
        )
        fulls = (
            ", ".join(
                [*(f"{_NAMES[k]} on every row {spec.metric} {scores[k]:.4f}" for k in every_row), *failed]
            )
            or "no booster among the fit's learners"
        )
        which = "sampled fit" if chosen == "sample" else f"{_NAMES[chosen]} model of every row"
        note = (
            f"large table {source}: {n_train:,} training rows on the cluster, {len(holdout):,} held-out rows "
            f"scored; {fulls}, the fit of a {len(sample):,}-row sample {scores['sample']:.4f}; the champion "
            f"is the {which}"
        )
        return dataclasses.replace(
            small, champion_version=version, score=scores[chosen], notes=[*small.notes, note], model=winner
        )
    finally:
        if owned:
            client.close()


def _class_index(model: Any) -> dict[str, int]:
    """Each class of ``model`` as text -> its probability column (labels are matched as text)."""
    return {str(c): i for i, c in enumerate(model.classes_)}


#: the boosters trained on every row with their own Dask estimators (LightGBM always; XGBoost when its
#: trials completed in the sampled search), among the fit's learners when it names them
BOOSTERS = ("lightgbm", "xgboost")
_NAMES = {"lightgbm": "LightGBM", "xgboost": "XGBoost"}


def _trees(learner: str, fold_model: Any) -> int:
    """The tree count a fold model kept (its early stopping's choice)."""
    if learner == "xgboost":
        best = getattr(fold_model, "best_iteration", None)
        return int(best) + 1 if best is not None else int(getattr(fold_model, "n_estimators", 0) or 0)
    return int(getattr(fold_model, "best_iteration_", 0) or getattr(fold_model, "n_estimators_", 0) or 0)


def _best_config(model: Any, result: FitResult, learner: str) -> tuple[dict[str, Any], int] | None:
    """The best complete trial's configuration of ``learner`` and the tree count its fold models stopped
    at (median); ``None`` without such a trial (LightGBM then trains its defaults with 300 trees)."""
    rows = [
        r for r in result.leaderboard
        if r.get("learner") == learner and r.get("status") == "complete" and r.get("source") != "final"
    ]  # fmt: skip
    if not rows and learner != "lightgbm":
        return None
    params = dict(rows[0]["params"]) if rows else {}
    trees = [
        _trees(learner, m) for member in model.members if member.learner == learner for m in member.models
    ]
    return params, int(np.median([t for t in trees if t > 0])) if any(trees) else 300


def _on_every_row(
    client: Any, train: Any, model: Any, result: FitResult, seed: int, learner: str,
    config: tuple[dict[str, Any], int], sample_y: np.ndarray,
) -> Any:  # fmt: skip
    """The sample's model with one member: ``learner`` (LightGBM or XGBoost) trained on every training row by
    its own Dask estimator."""
    from lamarck.search import LEARNERS, FitContext, Member

    spec = result.spec
    columns = list(model.input_columns)
    frame = train[[*columns, spec.target]].dropna(subset=[spec.target])
    classification = spec.task != "regression"
    if classification:
        frame = frame[frame[spec.target].astype(str).isin(list(_class_index(model)))]
    processor = model.processor
    meta = processor.transform(frame[columns].head(2, npartitions=-1)).iloc[:0]
    params, trees = config
    n_classes = len(model.classes_) if classification else 0
    ctx = FitContext(task=spec.task, n_classes=n_classes, seed=seed, n_jobs=1)
    booster: Any = LEARNERS[learner]  # LightGBM's and XGBoost's learners give their estimators' arguments
    kwargs = booster.estimator_params(params, ctx, sample_y)
    kwargs.update(n_estimators=max(trees, 50), n_jobs=1)

    def xy(part: Any) -> tuple[Any, Any]:
        target = part[spec.target]
        labels = (
            target.astype(str).map(index, meta=(spec.target, "int64"))
            if classification
            else target.astype(float)
        )
        return part[columns].map_partitions(processor.transform, meta=meta), labels

    index = _class_index(model) if classification else {}
    if learner == "xgboost":
        # the sample's tree count underfits every row (more rows hold more trees): up to EXTRA_TREES times
        # as many, early stopping on a share of the training rows held out for it
        fit_part, valid_part = frame.random_split([1 - VALID_SHARE, VALID_SHARE], random_state=seed)
        X, y = xy(fit_part)
        kwargs.update(
            n_estimators=max(trees, 50) * EXTRA_TREES, early_stopping_rounds=max(20, min(trees, 200) // 4)
        )
        fitted = _xgboost(client, kwargs, X, y, classification, params, valid=xy(valid_part))
    else:
        X, y = xy(frame)
        fitted = _lightgbm(client, kwargs, X, y, classification, params)
    member = Member(learner=learner, params=params, models=[fitted], weight=1.0, trial=-1, score=math.nan)
    big = copy.copy(model)
    big.members, big.rule, big.version = [member], None, None
    return big


def _lightgbm(client: Any, kwargs: dict[str, Any], X: Any, y: Any, classification: bool, params: dict) -> Any:
    import lightgbm as lgb

    if kwargs.get("objective") == "balanced":  # Lamarck's name for class weights, not a LightGBM objective
        del kwargs["objective"]
        kwargs["class_weight"] = "balanced"
    estimator = (lgb.DaskLGBMClassifier if classification else lgb.DaskLGBMRegressor)(client=client, **kwargs)
    estimator.fit(X, y)
    return estimator.to_local()


def _xgboost(
    client: Any, kwargs: dict[str, Any], X: Any, y: Any, classification: bool, params: dict,
    valid: tuple[Any, Any] | None = None,
) -> Any:  # fmt: skip
    """XGBoost's Dask estimator on every row (early stopping on ``valid``, when given); returned as the
    local estimator the zoo's fold models are (through its saved model, which keeps the scikit-learn
    attributes and the best iteration)."""
    import tempfile
    from pathlib import Path

    import xgboost as xgb
    from xgboost import dask as dxgb

    weight = None
    if classification and params.get("objective") == "balanced":  # as the zoo: class weights as row weights
        counts = y.value_counts().compute()  # one pass; len(y) of a Dask series would be a second one
        total = int(counts.sum())
        table = {int(c): total / (len(counts) * int(n)) for c, n in counts.items()}
        weight = y.map(table, meta=(y.name, "float64"))
    cls = dxgb.DaskXGBClassifier if classification else dxgb.DaskXGBRegressor
    estimator = cls(**kwargs)
    estimator.client = client
    estimator.fit(X, y, sample_weight=weight, eval_set=[valid] if valid is not None else None, verbose=False)
    local = (xgb.XGBClassifier if classification else xgb.XGBRegressor)()
    with tempfile.TemporaryDirectory(prefix="lamarck-xgb-") as tmp:
        path = Path(tmp) / "model.ubj"
        estimator.save_model(path)
        local.load_model(path)
    local.set_params(n_jobs=1, enable_categorical=True)
    return local


def _score(model: Any, holdout: pd.DataFrame, spec: Any) -> float:
    from lamarck.evaluate import score

    X = holdout[list(model.input_columns)]
    truth = holdout[spec.target]
    if spec.task == "regression":
        return float(score(spec.metric, truth.to_numpy(dtype=float), model.predict(X)))
    index = _class_index(model)
    known = truth.astype(str).isin(list(index)).to_numpy()
    y = truth.astype(str)[known].map(index).to_numpy()
    return float(score(spec.metric, y, model.predict_proba(X[known])))


def _register(
    project: Project, model: Any, sample: pd.DataFrame, spec: Any, holdout_score: float, source: str,
    n_train: int, seed: int,
) -> str:  # fmt: skip
    """Register the winner and make it the champion through the ledger."""
    from lamarck.data import fingerprint

    previous = project.registry.alias_version("champion")
    X = sample[list(model.input_columns)]
    info = project.registry.register(
        model,
        params={"learner": model.describe(), "seed": seed, "source": source},
        metrics={f"holdout_{spec.metric}": holdout_score},
        spec=spec.model_dump(mode="json"),
        fingerprint=fingerprint(X),
        lineage={"parent": previous, "reason": "fit (large table)", "data": source, "rows": n_train},
        tags={"task": spec.task, "target": spec.target, "metric": spec.metric},
        input_example=X.head(5),
    )
    version = str(info.version)
    model.version = version
    project.ledger.move("promote", version, reason="new fit (large table)", figures={"origin": "fit"})
    return version
