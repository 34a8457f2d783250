"""The model zoo. Each learner owns its search space, its known-good configurations and its cost.

Why one file of ~850 lines: the zoo is a table of small classes that share one contract and its helpers
(category codes, deadline callbacks); one place shows every learner side by side.

A learner turns the feature frame made by :class:`lamarck.data.FeatureProcessor` (numeric columns and
``category`` columns) into a fitted estimator. Adding a model means adding one class here and listing it
in :data:`LEARNERS`::

    >>> sorted(n for n, learner in LEARNERS.items() if learner.searchable)
    ['catboost', 'extra_trees', 'knn', 'lightgbm', 'linear', 'mlp', 'random_forest', 'xgboost']
    >>> LEARNERS["lightgbm"].supports("regression")
    True

Every learner takes a ``deadline`` (a ``time.monotonic()`` value): boosting stops adding trees and forests
stop adding estimators when it passes, so one slow trial cannot blow the time budget.
"""

from __future__ import annotations

import math
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import optuna
import pandas as pd

__all__ = ["LEARNERS", "FitContext", "FoldData", "Learner", "register"]


@dataclass(frozen=True)
class FoldData:
    """The table a search's folds are cut from and one fold's rows in it (``X`` / ``X_val`` of ``fit`` are
    ``X.iloc[train]`` / ``X.iloc[valid]``). A learner may prepare the table once for every fold and trial
    instead of once per fit, in ``cache`` (one dict per search): LightGBM bins it once, as ``lightgbm.cv``
    does."""

    X: pd.DataFrame
    y: np.ndarray
    train: np.ndarray
    valid: np.ndarray
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class FitContext:
    """What a learner needs to know besides the data: task, classes, seed, threads, the deadline and,
    in a search, the fold (:class:`FoldData`)."""

    task: str
    n_classes: int
    seed: int = 0
    n_jobs: int = 2
    deadline: float = math.inf
    class_weight: dict[int, float] | None = field(default=None)
    fold: FoldData | None = field(default=None, compare=False, repr=False)

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    def time_left(self) -> float:
        return self.deadline - time.monotonic()


class Learner(ABC):
    """One model family. Subclasses set ``name``, ``tasks`` and ``cost`` and implement four methods.

    Contract:
    - ``search_space(trial, n_rows)`` suggests this learner's parameters on an Optuna trial, names
      prefixed with the learner's name, and returns them without the prefix;
    - ``portfolio(task)`` lists known-good configurations, tried before any sampling;
    - ``grid(task)`` lists a small grid for grid search;
    - ``fit(params, X, y, ctx, X_val, y_val)`` returns a fitted estimator with ``predict`` and (for
      classification) ``predict_proba`` giving an (n, K) matrix over encoded classes ``0..K-1``; in a
      search ``ctx.fold`` also gives the whole table and the fold's rows (to prepare the table once);
    - ``cost`` is the relative cost per row x feature against LightGBM (1.0); ``max_rows`` bounds where it
      is worth trying at all;
    - ``baseline(task)`` is a cheap configuration that completes even on a busy machine (few trees), tried
      before everything else; None when the learner has none;
    - ``stops_at_deadline`` says that ``fit`` ends early once ``ctx.deadline`` passes (a fit that returns
      after its deadline was cut short); learners that always fit to the end say False;
    - ``objectives`` names the native training objectives besides the default that ``fit`` trains when
      ``params["objective"]`` asks for one (``l1``, ``huber``, ``poisson``; see
      :mod:`lamarck.search._objective`); ``balanced`` means honouring ``ctx.class_weight`` (encoded class
      → weight) in a classification fit.
    """

    name: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]] = ("binary", "multiclass", "regression")
    objectives: ClassVar[tuple[str, ...]] = ()
    cost: ClassVar[float] = 1.0
    max_rows: ClassVar[int] = 10**9
    stops_at_deadline: ClassVar[bool] = True
    #: in the default search (a fit that names no learners); an optional one is asked for by name
    default: ClassVar[bool] = True
    #: has a search space (a fresh search may try its configuration); False for one made without a search
    searchable: ClassVar[bool] = True

    @classmethod
    def supports(cls, task: str) -> bool:
        return task in cls.tasks

    def baseline(self, task: str) -> dict[str, Any] | None:
        """A cheap configuration that always completes (see the contract), or None."""
        return None

    @abstractmethod
    def search_space(self, trial: optuna.Trial, task: str, n_rows: int) -> dict[str, Any]: ...

    @abstractmethod
    def portfolio(self, task: str) -> list[dict[str, Any]]: ...

    def grid(self, task: str) -> list[dict[str, Any]]:
        return self.portfolio(task)

    @abstractmethod
    def fit(
        self,
        params: dict[str, Any],
        X: pd.DataFrame,
        y: np.ndarray,
        ctx: FitContext,
        X_val: pd.DataFrame | None = None,
        y_val: np.ndarray | None = None,
    ) -> Any: ...

    def warm_start(
        self,
        previous: Any,
        X: pd.DataFrame,
        y: np.ndarray,
        ctx: FitContext,
        *,
        sample_weight: np.ndarray | None = None,
    ) -> Any:
        """Continue from a fitted estimator (raise NotImplementedError to have the caller refit)."""
        raise NotImplementedError(f"{self.name} has no warm start")

    def _p(self, trial: optuna.Trial, kind: str, key: str, *args: Any, **kwargs: Any) -> Any:
        suggest = getattr(trial, f"suggest_{kind}")
        return suggest(f"{self.name}.{key}", *args, **kwargs)


def _category_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]


def _codes(X: pd.DataFrame) -> np.ndarray:
    """Numeric matrix with categories as integer codes (missing → NaN)."""
    out = np.empty(X.shape, dtype=np.float32)
    dtypes = list(X.dtypes)
    # columns of numbers are converted at once (a wide table has thousands), the others one by one
    numbers = [j for j, t in enumerate(dtypes) if isinstance(t, np.dtype) and t.kind in "biuf"]
    if numbers:
        out[:, numbers] = X.iloc[:, numbers].to_numpy(dtype=np.float32)
    done = set(numbers)
    for j, t in enumerate(dtypes):
        if j in done:
            continue
        col = X.iloc[:, j]
        if isinstance(t, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype(np.float32)
            codes[codes < 0] = np.nan
            out[:, j] = codes
        else:
            out[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
    return out


def huber_delta(y: np.ndarray) -> float:
    """The Huber loss's threshold for a target: its median absolute deviation (a robust scale), so that
    residuals beyond a typical distance count linearly.

    >>> huber_delta(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    1.0
    """
    v = np.asarray(y, dtype=float)
    mad = float(np.median(np.abs(v - np.median(v)))) if len(v) else 0.0
    return mad if mad > 0 else max(float(np.std(v)), 1e-6)


def sample_weights(y: np.ndarray, class_weight: dict[int, float] | None) -> np.ndarray | None:
    """Per-row weights from ``ctx.class_weight`` (None without class weights)."""
    if not class_weight:
        return None
    table = np.array([class_weight.get(c, 1.0) for c in range(int(np.max(y)) + 1)])
    return np.asarray(table[np.asarray(y, dtype=int)], dtype=float)


# --------------------------------------------------------------------------------------------- LightGBM


class _BinnedLightGBM:
    """A LightGBM booster trained on bins shared by the folds of a search (``lightgbm.train`` on subsets
    of one binned ``Dataset``), with what Lamarck reads of a scikit-learn LightGBM model: ``predict``,
    ``predict_proba`` over the encoded classes ``0..K-1``, ``feature_importances_`` (splits), ``booster_``,
    ``classes_``, ``n_jobs`` and the training ``params_`` (for a warm start)."""

    def __init__(
        self, booster: Any, *, task: str, n_classes: int, params: dict[str, Any], n_jobs: int
    ) -> None:
        self.booster_ = booster
        self.task = task
        self.n_classes = n_classes
        self.params_ = params
        self.n_jobs = n_jobs
        self.classes_ = np.arange(n_classes) if task != "regression" else None

    def raw(self, X: Any, **kwargs: Any) -> np.ndarray:
        """The booster's output on a frame or matrix (the best iteration when early stopping found one)."""
        return np.asarray(self.booster_.predict(X, **kwargs))

    def as_proba(self, out: np.ndarray) -> np.ndarray:
        """A binary booster's probabilities of the positive class as the (n, 2) matrix; others unchanged."""
        return np.vstack((1.0 - out, out)).transpose() if out.ndim == 1 else out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.as_proba(self.raw(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        out = self.raw(X)
        return out if self.task == "regression" else np.asarray(self.as_proba(out).argmax(axis=1))

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.asarray(self.booster_.feature_importance(importance_type="split"))


class LightGBMLearner(Learner):
    name = "lightgbm"
    cost = 1.0
    objectives = ("l1", "huber", "poisson", "balanced")
    #: from this many columns or values (rows x columns) on, a search bins the whole table once and every
    #: fold trains on its rows of those bins (binning 2,000 columns took about 0.8 s per fold, more than
    #: the first trees); a smaller table is binned per fold, on the fold's own training rows, as before
    bin_once_columns: ClassVar[int] = 100
    bin_once_values: ClassVar[int] = 1_000_000

    def search_space(self, trial: optuna.Trial, task: str, n_rows: int) -> dict[str, Any]:
        return {
            "learning_rate": self._p(trial, "float", "learning_rate", 0.01, 0.3, log=True),
            "num_leaves": self._p(trial, "int", "num_leaves", 4, 256, log=True),
            "min_child_samples": self._p(trial, "int", "min_child_samples", 2, 100, log=True),
            "feature_fraction": self._p(trial, "float", "feature_fraction", 0.4, 1.0),
            "bagging_fraction": self._p(trial, "float", "bagging_fraction", 0.5, 1.0),
            "lambda_l2": self._p(trial, "float", "lambda_l2", 1e-3, 10.0, log=True),
            "min_data_per_group": self._p(trial, "int", "min_data_per_group", 5, 100, log=True),
            "cat_smooth": self._p(trial, "float", "cat_smooth", 1.0, 50.0, log=True),
        }

    def portfolio(self, task: str) -> list[dict[str, Any]]:
        return [
            {
                "learning_rate": 0.05,
                "num_leaves": 31,
                "min_child_samples": 20,
                "feature_fraction": 0.9,
                "bagging_fraction": 1.0,
                "lambda_l2": 0.001,
                "min_data_per_group": 100,
                "cat_smooth": 10.0,
            },
            {
                "learning_rate": 0.03,
                "num_leaves": 128,
                "min_child_samples": 5,
                "feature_fraction": 0.9,
                "bagging_fraction": 0.9,
                "lambda_l2": 1.0,
                "min_data_per_group": 20,
                "cat_smooth": 10.0,
            },
            {
                "learning_rate": 0.05,
                "num_leaves": 8,
                "min_child_samples": 40,
                "feature_fraction": 0.7,
                "bagging_fraction": 0.8,
                "lambda_l2": 5.0,
                "min_data_per_group": 50,
                "cat_smooth": 20.0,
            },
        ]

    def baseline(self, task: str) -> dict[str, Any]:
        """scikit-learn's HistGradientBoosting defaults in LightGBM's terms (learning rate 0.1, 31 leaves,
        20 rows per leaf, no sampling) with at most 200 trees: a few times cheaper than the portfolio's
        first configuration (up to 3,000 trees at 0.05), so that it completes on a busy machine."""
        return {
            "learning_rate": 0.1,
            "num_leaves": 31,
            "min_child_samples": 20,
            "feature_fraction": 1.0,
            "bagging_fraction": 1.0,
            "lambda_l2": 0.001,
            "min_data_per_group": 100,
            "cat_smooth": 10.0,
            "n_estimators": 200,
        }

    def grid(self, task: str) -> list[dict[str, Any]]:
        base = self.portfolio(task)[0]
        return [
            {**base, "learning_rate": lr, "num_leaves": nl, "min_child_samples": mcs}
            for lr in (0.02, 0.1)
            for nl in (8, 31, 128)
            for mcs in (5, 30)
        ]

    def estimator_params(self, params: dict[str, Any], ctx: FitContext, y: np.ndarray) -> dict[str, Any]:
        """The keyword arguments of ``lightgbm.LGBMClassifier`` / ``LGBMRegressor`` (or their Dask
        estimators) for a configuration of this search space."""
        p = {
            "n_estimators": 3000,
            "random_state": ctx.seed,
            "n_jobs": ctx.n_jobs,
            "verbose": -1,
            "subsample_freq": 1 if params.get("bagging_fraction", 1.0) < 1.0 else 0,
            "max_bin": 255,
            **{k: v for k, v in params.items() if k != "bagging_fraction"},
            "subsample": params.get("bagging_fraction", 1.0),
        }
        p["colsample_bytree"] = p.pop("feature_fraction", 1.0)
        p["reg_lambda"] = p.pop("lambda_l2", 0.0)
        if ctx.task == "multiclass":
            p["objective"] = "multiclass"
        elif p.get("objective") == "huber":
            p["alpha"] = huber_delta(y)
        if ctx.is_classification and ctx.class_weight:
            p["class_weight"] = dict(ctx.class_weight)
        return p

    def fit(self, params, X, y, ctx, X_val=None, y_val=None):
        import lightgbm as lgb

        est_cls = lgb.LGBMClassifier if ctx.is_classification else lgb.LGBMRegressor
        p = self.estimator_params(params, ctx, y)
        # LightGBM otherwise times row-wise against column-wise histograms on each fit and keeps the
        # faster: on a busy machine that choice flips, and so do the trees (same seed, other scores)
        n_rows, n_cols = X.shape
        p["force_row_wise" if n_rows > 50_000 and n_cols < 64 else "force_col_wise"] = True
        fold = ctx.fold
        wide = fold is not None and (
            fold.X.shape[1] >= self.bin_once_columns or fold.X.size >= self.bin_once_values
        )
        if fold is not None and wide and X_val is not None:
            return self._fit_on_shared_bins(p, fold, ctx)
        callbacks: list[Any] = [_stop_at(ctx.deadline)]
        fit_kwargs: dict[str, Any] = {}
        if X_val is not None and y_val is not None:
            callbacks.append(lgb.early_stopping(50, verbose=False))
            fit_kwargs["eval_set"] = [(X_val, y_val)]
        else:
            p["n_estimators"] = int(params.get("n_estimators", 300))
        est = est_cls(**p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y, callbacks=callbacks, **fit_kwargs)
        return est

    def _fit_on_shared_bins(self, p: dict[str, Any], fold: FoldData, ctx: FitContext) -> _BinnedLightGBM:
        """``p`` (the scikit-learn estimator's parameters) trained with early stopping on the fold's rows of
        the table binned once per search (``fold.cache``)."""
        import lightgbm as lgb

        full = fold.cache.get("lightgbm")
        if full is None:
            # the bins do not depend on a trial's parameters; no pre-filter, so that any trial's
            # min_child_samples can train on them
            binning = {"max_bin": p["max_bin"], "feature_pre_filter": False, "seed": ctx.seed, "verbose": -1}
            full = lgb.Dataset(fold.X, label=fold.y, params={**binning, "num_threads": ctx.n_jobs})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                full.construct()
            fold.cache["lightgbm"] = full
        train_params = {k: v for k, v in p.items() if k not in ("n_estimators", "class_weight")}
        if ctx.task == "multiclass":
            train_params["num_class"] = ctx.n_classes
        elif ctx.is_classification:
            train_params["objective"] = "binary"
        else:
            train_params["objective"] = p.get("objective", "regression")
        train_set = full.subset(fold.train.tolist())
        valid_set = full.subset(fold.valid.tolist())
        # the bins are shared; a transformed target (other labels) or class weights are set on the fold's
        # subsets once they are made
        weights = sample_weights(fold.y[fold.train], ctx.class_weight) if ctx.is_classification else None
        relabel = not np.array_equal(np.asarray(full.get_label()), np.asarray(fold.y, dtype=np.float32))
        if weights is not None or relabel:
            train_set.construct()
            valid_set.construct()
            if relabel:
                train_set.set_label(fold.y[fold.train])
                valid_set.set_label(fold.y[fold.valid])
            if weights is not None:
                train_set.set_weight(weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            booster = lgb.train(
                train_params,
                train_set,
                num_boost_round=int(p["n_estimators"]),
                valid_sets=[valid_set],
                callbacks=[_stop_at(ctx.deadline), lgb.early_stopping(50, verbose=False)],
            )
        booster.free_dataset()
        return _BinnedLightGBM(
            booster, task=ctx.task, n_classes=ctx.n_classes, params=train_params, n_jobs=ctx.n_jobs
        )

    def warm_start(self, previous, X, y, ctx, *, sample_weight=None):
        if isinstance(previous, _BinnedLightGBM):
            return self._warm_start_binned(previous, X, y, sample_weight)
        params = dict(previous.get_params())
        params["n_estimators"] = max(50, int(0.3 * max(previous.n_estimators_, 1)))
        est = type(previous)(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y, sample_weight=sample_weight, init_model=previous.booster_)
        return est

    @staticmethod
    def _warm_start_binned(
        previous: _BinnedLightGBM, X: pd.DataFrame, y: np.ndarray, sample_weight: np.ndarray | None
    ) -> _BinnedLightGBM:
        import lightgbm as lgb

        rounds = max(50, int(0.3 * max(previous.booster_.current_iteration(), 1)))
        data = lgb.Dataset(X, label=y, weight=sample_weight, params={"verbose": -1})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            booster = lgb.train(previous.params_, data, num_boost_round=rounds, init_model=previous.booster_)
        booster.free_dataset()
        return _BinnedLightGBM(
            booster,
            task=previous.task,
            n_classes=previous.n_classes,
            params=previous.params_,
            n_jobs=previous.n_jobs,
        )


def _stop_at(deadline: float) -> Callable[[Any], None]:
    """A LightGBM callback that ends the training (keeping the trees so far) once ``deadline`` passes."""

    def stop_at_deadline(env: Any) -> None:
        if time.monotonic() > deadline:
            import lightgbm as lgb

            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

    return stop_at_deadline


# --------------------------------------------------------------------------------------------- XGBoost


class XGBoostLearner(Learner):
    name = "xgboost"
    cost = 1.5
    objectives = ("l1", "huber", "poisson", "balanced")
    native: ClassVar[dict[str, str]] = {
        "l1": "reg:absoluteerror",
        "huber": "reg:pseudohubererror",
        "poisson": "count:poisson",
    }

    def search_space(self, trial: optuna.Trial, task: str, n_rows: int) -> dict[str, Any]:
        return {
            "learning_rate": self._p(trial, "float", "learning_rate", 0.01, 0.3, log=True),
            "max_depth": self._p(trial, "int", "max_depth", 2, 10),
            "min_child_weight": self._p(trial, "float", "min_child_weight", 0.5, 20.0, log=True),
            "subsample": self._p(trial, "float", "subsample", 0.5, 1.0),
            "colsample_bytree": self._p(trial, "float", "colsample_bytree", 0.4, 1.0),
            "reg_lambda": self._p(trial, "float", "reg_lambda", 1e-3, 10.0, log=True),
        }

    def portfolio(self, task: str) -> list[dict[str, Any]]:
        return [
            {
                "learning_rate": 0.05,
                "max_depth": 6,
                "min_child_weight": 1.0,
                "subsample": 0.8,
                "colsample_bytree": 0.8,
                "reg_lambda": 1.0,
            },
        ]

    def grid(self, task: str) -> list[dict[str, Any]]:
        base = self.portfolio(task)[0]
        return [{**base, "learning_rate": lr, "max_depth": d} for lr in (0.03, 0.1) for d in (3, 6, 9)]

    def estimator_params(self, params: dict[str, Any], ctx: FitContext, y: np.ndarray) -> dict[str, Any]:
        """The keyword arguments of ``xgboost.XGBClassifier`` / ``XGBRegressor`` (or their Dask estimators)
        for a configuration of this search space; class weights (``balanced``) are the caller's sample
        weights."""
        p: dict[str, Any] = {
            "n_estimators": 3000,
            "tree_method": "hist",
            "enable_categorical": True,
            "max_cat_to_onehot": 8,
            "random_state": ctx.seed,
            "n_jobs": ctx.n_jobs,
            "verbosity": 0,
            **params,
        }
        objective = p.pop("objective", None)
        if objective is not None and not ctx.is_classification:
            p["objective"] = self.native[objective]
            if objective == "huber":
                p["huber_slope"] = huber_delta(y)
        return p

    def fit(self, params, X, y, ctx, X_val=None, y_val=None):
        import xgboost as xgb

        deadline = ctx.deadline

        class StopAtDeadline(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                return time.monotonic() > deadline

        est_cls = xgb.XGBClassifier if ctx.is_classification else xgb.XGBRegressor
        p = self.estimator_params(params, ctx, y)
        callbacks: list[Any] = [StopAtDeadline()]
        fit_kwargs: dict[str, Any] = {"verbose": False}
        if ctx.is_classification and ctx.class_weight:
            fit_kwargs["sample_weight"] = sample_weights(y, ctx.class_weight)
        if X_val is not None and y_val is not None:
            p["early_stopping_rounds"] = 50
            fit_kwargs["eval_set"] = [(X_val, y_val)]
        else:
            p["n_estimators"] = int(params.get("n_estimators", 300))
        est = est_cls(callbacks=callbacks, **p)
        est.fit(X, y, **fit_kwargs)
        est.set_params(callbacks=None)  # keep the fitted model picklable and free of the deadline
        return est

    def warm_start(self, previous, X, y, ctx, *, sample_weight=None):
        params = {
            k: v for k, v in previous.get_params().items() if k not in ("early_stopping_rounds", "callbacks")
        }
        best = getattr(previous, "best_iteration", None)
        params["n_estimators"] = max(50, int(0.3 * ((best or params.get("n_estimators") or 100) + 1)))
        est = type(previous)(**params)
        est.fit(X, y, sample_weight=sample_weight, xgb_model=previous.get_booster(), verbose=False)
        return est


# --------------------------------------------------------------------------------------------- CatBoost


class _CatBoostModel:
    """CatBoost with its own encoding of categories (strings, missing as a level)."""

    def __init__(self, est: Any, cat_columns: list[str]) -> None:
        self.est = est
        self.cat_columns = cat_columns

    @staticmethod
    def prepare(X: pd.DataFrame, cat_columns: list[str]) -> pd.DataFrame:
        if not cat_columns:
            return X
        X = X.copy()
        for c in cat_columns:
            X[c] = X[c].astype(object).where(X[c].notna(), "__nan__").astype(str)
        return X

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_prepared(self.prepare(X, self.cat_columns))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_proba_prepared(self.prepare(X, self.cat_columns))

    def predict_prepared(self, X: pd.DataFrame) -> np.ndarray:
        """``predict`` on a frame already made by ``prepare`` (shared by fold models)."""
        out = self.est.predict(X)
        return np.asarray(out).reshape(len(X), -1)[:, 0] if np.ndim(out) > 1 else np.asarray(out)

    def predict_proba_prepared(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.est.predict_proba(X))

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.asarray(self.est.get_feature_importance())


class CatBoostLearner(Learner):
    name = "catboost"
    cost = 4.0
    objectives = ("l1", "huber", "poisson", "balanced")

    def search_space(self, trial: optuna.Trial, task: str, n_rows: int) -> dict[str, Any]:
        return {
            "learning_rate": self._p(trial, "float", "learning_rate", 0.02, 0.3, log=True),
            "depth": self._p(trial, "int", "depth", 3, 8),
            "l2_leaf_reg": self._p(trial, "float", "l2_leaf_reg", 0.5, 20.0, log=True),
            "random_strength": self._p(trial, "float", "random_strength", 0.1, 5.0, log=True),
        }

    def portfolio(self, task: str) -> list[dict[str, Any]]:
        return [{"learning_rate": 0.08, "depth": 6, "l2_leaf_reg": 3.0, "random_strength": 1.0}]

    def grid(self, task: str) -> list[dict[str, Any]]:
        base = self.portfolio(task)[0]
        return [{**base, "learning_rate": lr, "depth": d} for lr in (0.05, 0.15) for d in (4, 6, 8)]

    def fit(self, params, X, y, ctx, X_val=None, y_val=None):
        import catboost as cb

        deadline = ctx.deadline

        class StopAtDeadline:
            def after_iteration(self, info: Any) -> bool:
                return time.monotonic() < deadline

        cats = _category_columns(X)
        est_cls = cb.CatBoostClassifier if ctx.is_classification else cb.CatBoostRegressor
        p: dict[str, Any] = {
            "iterations": 3000,
            "random_seed": ctx.seed,
            "thread_count": ctx.n_jobs,
            "verbose": False,
            "allow_writing_files": False,
            "cat_features": cats,
            **params,
        }
        objective = p.pop("objective", None)
        if ctx.task == "multiclass":
            p["loss_function"] = "MultiClass"
        elif objective is not None and not ctx.is_classification:
            p["loss_function"] = {
                "l1": "MAE",
                "huber": f"Huber:delta={huber_delta(y):.6g}",
                "poisson": "Poisson",
            }[objective]
        if ctx.is_classification and ctx.class_weight:
            p["class_weights"] = [ctx.class_weight.get(c, 1.0) for c in range(ctx.n_classes)]
        fit_kwargs: dict[str, Any] = {"callbacks": [StopAtDeadline()]}
        if X_val is not None and y_val is not None:
            p["early_stopping_rounds"] = 50
            fit_kwargs["eval_set"] = (_CatBoostModel.prepare(X_val, cats), y_val)
        else:
            p["iterations"] = int(params.get("iterations", 500))
        est = est_cls(**p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(_CatBoostModel.prepare(X, cats), y, **fit_kwargs)
        return _CatBoostModel(est, cats)

    def warm_start(self, previous, X, y, ctx, *, sample_weight=None):
        """The same configuration refitted on ``X`` with the trees early stopping chose for the fold model
        (a fit without a validation set would grow 500). Not a continuation: CatBoost continues a model
        at its learning rate, which on a changed concept added little (a flipped target: 150 more trees
        left the accuracy at 0.45, a refit reached 0.999)."""
        est = previous.est
        params = dict(est.get_params())
        params.pop("early_stopping_rounds", None)
        params.update(
            iterations=max(50, int(est.tree_count_ or 0)), thread_count=ctx.n_jobs, random_seed=ctx.seed
        )
        fresh = type(est)(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh.fit(_CatBoostModel.prepare(X, previous.cat_columns), y, sample_weight=sample_weight)
        return _CatBoostModel(fresh, previous.cat_columns)


# --------------------------------------------------------------------------------------------- forests


class _ForestModel:
    """A scikit-learn forest on integer-coded categories with missing values filled."""

    def __init__(self, est: Any, fill: np.ndarray) -> None:
        self.est = est
        self.fill = fill

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        return self.fill_missing(_codes(X))

    def fill_missing(self, M: np.ndarray) -> np.ndarray:
        """Fill the NaN of a ``_codes`` matrix in place with this model's medians; returns it."""
        rows, cols = np.where(np.isnan(M))
        M[rows, cols] = self.fill[cols]
        return M

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.est.predict(self._matrix(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.est.predict_proba(self._matrix(X)))

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.asarray(self.est.feature_importances_)


class _ForestLearner(Learner):
    cost = 3.0
    max_rows = 2_000_000
    objectives = ("balanced",)
    extra: ClassVar[bool]

    def search_space(self, trial: optuna.Trial, task: str, n_rows: int) -> dict[str, Any]:
        return {
            "max_features": self._p(trial, "float", "max_features", 0.2, 1.0),
            "min_samples_leaf": self._p(trial, "int", "min_samples_leaf", 1, 20, log=True),
            "criterion": self._p(
                trial,
                "categorical",
                "criterion",
                ["gini", "entropy"] if task != "regression" else ["squared_error"],
            ),
        }

    def portfolio(self, task: str) -> list[dict[str, Any]]:
        crit = "gini" if task != "regression" else "squared_error"
        return [
            {
                "max_features": 0.5 if task == "regression" else 0.3,
                "min_samples_leaf": 1 if self.extra else 2,
                "criterion": crit,
            }
        ]

    def grid(self, task: str) -> list[dict[str, Any]]:
        crit = "gini" if task != "regression" else "squared_error"
        return [
            {"max_features": mf, "min_samples_leaf": msl, "criterion": crit}
            for mf in (0.3, 0.7)
            for msl in (1, 5)
        ]

    def fit(self, params, X, y, ctx, X_val=None, y_val=None):
        from sklearn import ensemble

        name = ("ExtraTrees" if self.extra else "RandomForest") + (
            "Classifier" if ctx.is_classification else "Regressor"
        )
        M = _codes(X)
        fill = np.nanmedian(np.where(np.isnan(M), np.nan, M), axis=0) if len(M) else np.zeros(M.shape[1])
        fill = np.where(np.isnan(fill), 0.0, fill).astype(np.float32)
        rows, cols = np.where(np.isnan(M))
        M[rows, cols] = fill[cols]
        n_total = int(params.get("n_estimators", 200))
        weighted = (
            {"class_weight": dict(ctx.class_weight)} if ctx.is_classification and ctx.class_weight else {}
        )
        est = getattr(ensemble, name)(
            **weighted,
            n_estimators=0,
            warm_start=True,
            random_state=ctx.seed,
            n_jobs=ctx.n_jobs,
            max_features=params["max_features"],
            min_samples_leaf=params["min_samples_leaf"],
            criterion=params["criterion"],
            max_samples=min(1.0, 200_000 / max(len(M), 1)) if not self.extra else None,
        )
        step = 50
        while est.n_estimators < n_total:
            est.set_params(n_estimators=min(n_total, est.n_estimators + step))
            est.fit(M, y)
            if time.monotonic() > ctx.deadline:
                break
        est.set_params(warm_start=False, n_jobs=1)  # one thread predicts small batches far faster
        return _ForestModel(est, fill)


class RandomForestLearner(_ForestLearner):
    name = "random_forest"
    extra = False


class ExtraTreesLearner(_ForestLearner):
    name = "extra_trees"
    extra = True


# --------------------------------------------------------------------------------------------- linear, knn


class _DenseModel:
    """One-hot + scaling in front of a scikit-learn estimator that needs dense, complete inputs."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(X))


def _dense_pipeline(X: pd.DataFrame, estimator: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler

    cats = _category_columns(X)
    nums = [c for c in X.columns if c not in cats]
    transformers: list[Any] = []
    if nums:
        transformers.append(
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    QuantileTransformer(
                        n_quantiles=min(200, max(len(X), 10)),
                        output_distribution="normal",
                        subsample=100_000,
                        random_state=0,
                    ),
                    StandardScaler(),
                ),
                nums,
            )
        )
    if cats:
        transformers.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="__nan__", keep_empty_features=True),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=5,
                        max_categories=30,
                        sparse_output=False,
                    ),
                ),
                cats,
            )
        )
    pre = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return make_pipeline(_ToObject(cats), pre, estimator)


class _ToObject:
    """Turn category columns into plain objects so the imputer and encoder accept them."""

    def __init__(self, cats: list[str]) -> None:
        self.cats = cats

    def fit(self, X: pd.DataFrame, y: Any = None) -> _ToObject:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not self.cats:
            return X
        X = X.copy()
        for c in self.cats:
            X[c] = X[c].astype(object).where(X[c].notna(), np.nan)
        return X

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.transform(X)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"cats": self.cats}

    def set_params(self, **params: Any) -> _ToObject:
        self.cats = params.get("cats", self.cats)
        return self


class LinearLearner(Learner):
    name = "linear"
    cost = 0.5
    objectives = ("balanced",)
    stops_at_deadline = False

    def baseline(self, task: str) -> dict[str, Any]:
        return self.portfolio(task)[0]

    def search_space(self, trial: optuna.Trial, task: str, n_rows: int) -> dict[str, Any]:
        return {"C": self._p(trial, "float", "C", 1e-3, 100.0, log=True)}

    def portfolio(self, task: str) -> list[dict[str, Any]]:
        return [{"C": 1.0}]

    def grid(self, task: str) -> list[dict[str, Any]]:
        return [{"C": c} for c in (0.01, 0.1, 1.0, 10.0)]

    def fit(self, params, X, y, ctx, X_val=None, y_val=None):
        from sklearn.linear_model import LogisticRegression, Ridge

        if ctx.is_classification:
            weights = dict(ctx.class_weight) if ctx.class_weight else None
            est: Any = LogisticRegression(C=params["C"], max_iter=300, class_weight=weights)
        else:
            est = Ridge(alpha=1.0 / params["C"], random_state=ctx.seed)
        pipe = _dense_pipeline(X, est)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe.fit(X, y)
        return _DenseModel(pipe)


class KNNLearner(Learner):
    name = "knn"
    cost = 2.0
    max_rows = 100_000
    stops_at_deadline = False

    def search_space(self, trial: optuna.Trial, task: str, n_rows: int) -> dict[str, Any]:
        return {
            "n_neighbors": self._p(trial, "int", "n_neighbors", 3, 100, log=True),
            "weights": self._p(trial, "categorical", "weights", ["uniform", "distance"]),
        }

    def portfolio(self, task: str) -> list[dict[str, Any]]:
        return [{"n_neighbors": 15, "weights": "distance"}]

    def grid(self, task: str) -> list[dict[str, Any]]:
        return [{"n_neighbors": k, "weights": w} for k in (5, 15, 50) for w in ("uniform", "distance")]

    def fit(self, params, X, y, ctx, X_val=None, y_val=None):
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        k = min(int(params["n_neighbors"]), max(1, len(X) - 1))
        cls = KNeighborsClassifier if ctx.is_classification else KNeighborsRegressor
        pipe = _dense_pipeline(X, cls(n_neighbors=k, weights=params["weights"], n_jobs=1))
        pipe.fit(X, y)
        return _DenseModel(pipe)


LEARNERS: dict[str, Learner] = {
    learner.name: learner
    for learner in (
        LightGBMLearner(),
        XGBoostLearner(),
        CatBoostLearner(),
        ExtraTreesLearner(),
        RandomForestLearner(),
        LinearLearner(),
        KNNLearner(),
    )
}


def register(learner: Learner) -> None:
    """Add a learner to the zoo (the optional ones register themselves when their module is imported)."""
    LEARNERS[learner.name] = learner
