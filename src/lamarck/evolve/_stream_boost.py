"""The hybrid member: a gradient-boosted model (LightGBM) retrained in the background on the memory pool.

Every ``every`` labels it starts training on the pool (reservoir + recent window, recency-decayed
weights) in a thread, while the stream goes on; the new booster is installed ``lag`` labels later (the
thread is joined then if it has not finished), so a run with the same seed gives the same result
whatever the machine's speed. Until its first booster exists it abstains (``predict_proba_one`` is
empty) and the combiner gives it no weight. With ``regression`` it fits a LightGBM regressor and
answers ``predict_one`` (``None`` until its first booster).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> member = BoostedMember(every=200, lag=20, min_rows=100, seed=0)
    >>> for i in range(400):
    ...     x = {"a": float(rng.normal()), "b": float(rng.normal())}
    ...     member.learn_one(x, "pos" if x["a"] + x["b"] > 0 else "neg")
    >>> p = member.predict_proba_one({"a": 2.0, "b": 1.0})
    >>> max(p, key=p.get), member.n_fits_
    ('pos', 2)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from lamarck.evolve._memory import MemoryPool

__all__ = ["BoostedMember"]

log = logging.getLogger(__name__)


class BoostedMember:
    """LightGBM on the recent past, refreshed every ``every`` labels from a background thread."""

    def __init__(
        self,
        *,
        every: int = 1000,
        lag: int = 200,
        min_rows: int = 300,
        recent_size: int = 3000,
        reservoir_size: int = 1000,
        half_life: float = 3000.0,
        n_estimators: int = 100,
        learning_rate: float = 0.08,
        num_leaves: int = 31,
        regression: bool = False,
        seed: int = 0,
    ) -> None:
        self.every = every
        self.lag = lag
        self.min_rows = min_rows
        self.recent_size = recent_size
        self.reservoir_size = reservoir_size
        self.half_life = half_life
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.regression = regression
        self.seed = seed
        self.pool_: MemoryPool | None = None
        self.booster_: Any = None
        self.features_: list[str] = []
        self.classes_: list[Any] = []
        self.n_labels_ = 0
        self.n_fits_ = 0
        self._due: int | None = None
        self._thread: threading.Thread | None = None
        self._result: dict[str, Any] = {}

    # ------------------------------------------------------------------ predict

    def predict_proba_one(self, x: Mapping[str, Any]) -> dict[Any, float]:
        if self.booster_ is None:
            return {}
        row = np.array([[_number(x.get(f)) for f in self.features_]], dtype=float)
        p = self.booster_.predict(row, num_threads=1)[0]
        if len(self.classes_) == 2:
            return {self.classes_[0]: float(1 - p), self.classes_[1]: float(p)}
        return {c: float(v) for c, v in zip(self.classes_, p, strict=True)}

    def predict_one(self, x: Mapping[str, Any]) -> float | None:
        """The predicted value (regression), ``None`` until the first booster is installed."""
        if self.booster_ is None:
            return None
        row = np.array([[_number(x.get(f)) for f in self.features_]], dtype=float)
        return float(self.booster_.predict(row, num_threads=1)[0])

    # ------------------------------------------------------------------ learn

    def learn_one(self, x: Mapping[str, Any], y: Any) -> None:
        if self.pool_ is None:
            self.pool_ = MemoryPool(
                reservoir_size=self.reservoir_size,
                recent_size=self.recent_size,
                hard_size=0,
                half_life=self.half_life,
                seed=self.seed,
            )
        self.pool_.add({k: v for k, v in x.items() if _is_number(v)}, label=y)
        self.n_labels_ += 1
        if self._due is not None and self.n_labels_ >= self._due:
            self._install()
        if (self._due is None and self.n_labels_ >= self.min_rows and self.n_labels_ % self.every == 0) or (
            self._due is None and self.booster_ is None and self.n_labels_ == self.min_rows
        ):
            self._start()

    def _start(self) -> None:
        assert self.pool_ is not None
        frame = self.pool_.training_frame(label_column="_label_", weight_column="_weight_")
        regression = getattr(self, "regression", False)
        classes = [] if regression else sorted(frame["_label_"].unique(), key=str)
        if not regression and len(classes) < 2:
            return
        features = sorted((c for c in frame.columns if c not in ("_label_", "_weight_")), key=str)
        X = frame[features].to_numpy(dtype=float)
        if regression:
            y = frame["_label_"].to_numpy(dtype=float)
        else:
            index = {c: i for i, c in enumerate(classes)}
            y = frame["_label_"].map(index).to_numpy()
        w = frame["_weight_"].to_numpy(dtype=float)
        objective = "regression" if regression else "binary" if len(classes) == 2 else "multiclass"
        params = {
            "objective": objective,
            "num_class": 1 if len(classes) <= 2 else len(classes),
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": 10,
            "feature_fraction": 0.9,
            "num_threads": 1,
            "seed": self.seed + self.n_fits_,
            "deterministic": True,
            "verbose": -1,
        }
        result = self._result = {"features": features, "classes": classes}

        def train() -> None:
            import lightgbm as lgb

            try:
                result["booster"] = lgb.train(params, lgb.Dataset(X, y, weight=w), self.n_estimators)
            except Exception:  # a failed refresh keeps the previous booster
                log.warning("background LightGBM refresh failed", exc_info=True)

        self._thread = threading.Thread(target=train, name="lamarck-boost", daemon=True)
        self._thread.start()
        self._due = self.n_labels_ + self.lag

    def _install(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if "booster" in self._result:
            self.booster_ = self._result["booster"]
            self.features_ = self._result["features"]
            self.classes_ = self._result["classes"]
            self.n_fits_ += 1
        self._result = {}
        self._due = None

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        if self._thread is not None:  # finish the pending fit; it is still installed at ``_due``
            self._thread.join()
        state = self.__dict__.copy()
        state["_thread"] = None
        return state


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool)


def _number(v: Any) -> float:
    return float(v) if _is_number(v) else float("nan")
