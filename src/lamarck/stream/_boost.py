"""The hybrid member: a gradient-boosted model (LightGBM) retrained in the background on the memory pool.

Every ``every`` labels it starts training on the pool (reservoir + recent window, recency-decayed
weights) in a thread, while the stream goes on; the new booster is installed ``lag`` labels later (the
thread is joined then if it has not finished), so a run with the same seed gives the same result
whatever the machine's speed. While it warms up (fewer than ``every`` labels) it refits each time the
pool has doubled (``min_rows``, twice that, four times, ...) and installs after a tenth of the labels
(small fits take milliseconds), so that a short stream does not wait ``every + lag`` labels for it.
Predictions go through LightGBM's single-row C entry point (no per-call set-up). Until its first booster exists it abstains (``predict_proba_one`` is
empty) and the combiner gives it no weight. With ``regression`` it fits a LightGBM regressor and
answers ``predict_one`` (``None`` until its first booster).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> member = BoostedMember(every=200, lag=20, min_rows=100, seed=0)
    >>> for i in range(400):
    ...     x = {"a": float(rng.normal()), "b": float(rng.normal())}
    ...     member.learn_one(x, "pos" if x["a"] + x["b"] > 0 else "neg")
    >>> p = member.predict_proba_one({"a": 2.0, "b": 1.0})
    >>> max(p, key=p.get), member.n_fits_  # installed: the fits at 100 (warm-up) and 200
    ('pos', 2)
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from lamarck.stream._context import is_number
from lamarck.stream._memory import MemoryPool

__all__ = ["BoostedMember"]

log = logging.getLogger(__name__)


class BoostedMember:
    """LightGBM on the recent past, refreshed every ``every`` labels from a background thread."""

    def __init__(
        self,
        *,
        every: int = 1000,
        lag: int = 200,
        min_rows: int = 50,
        recent_size: int = 3000,
        reservoir_size: int = 1000,
        half_life: float = 3000.0,
        n_estimators: int = 50,
        learning_rate: float = 0.15,
        num_leaves: int = 15,
        max_bin: int = 63,
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
        self.max_bin = max_bin
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

    def _raw(self, x: Mapping[str, Any]) -> np.ndarray:
        """The booster's output for one row: probabilities per class (one for binary) or the value."""
        fast = getattr(self, "_fast", None)
        if fast is None or fast.booster is not self.booster_:
            fast = self._fast = _SingleRow(self.booster_, len(self.features_))
        get = x.get
        return fast.predict([get(f) for f in self.features_])

    def predict_proba_one(self, x: Mapping[str, Any]) -> dict[Any, float]:
        if self.booster_ is None:
            return {}
        p = self._raw(x)
        if len(self.classes_) == 2:
            return {self.classes_[0]: float(1 - p[0]), self.classes_[1]: float(p[0])}
        return {c: float(v) for c, v in zip(self.classes_, p, strict=True)}

    def predict_one(self, x: Mapping[str, Any]) -> float | None:
        """The predicted value (regression), ``None`` until the first booster is installed."""
        if self.booster_ is None:
            return None
        return float(self._raw(x)[0])

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
        self.pool_.add({k: v for k, v in x.items() if type(v) in _PLAIN or is_number(v)}, label=y)
        self.n_labels_ += 1
        if self._due is not None and self.n_labels_ >= self._due:
            self._install()
        if self._due is None and _fit_due(self.n_labels_, self.min_rows, self.every):
            self._start()

    def _start(self) -> None:
        assert self.pool_ is not None
        frame = self.pool_.training_frame(label_column="_label_", weight_column="_weight_")
        regression = getattr(self, "regression", False)
        classes = [] if regression else sorted(frame["_label_"].unique(), key=str)
        if not regression and len(classes) < 2:
            return
        features = sorted((c for c in frame.columns if c not in ("_label_", "_weight_")), key=str)
        if not features:  # events without a feature (only free text, which the layer does not pass on)
            return
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
            "max_bin": getattr(self, "max_bin", 255),  # a member pickled before it existed used the default
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

            t0 = time.thread_time()
            try:
                result["booster"] = lgb.train(params, lgb.Dataset(X, y, weight=w), self.n_estimators)
            except Exception:  # a failed refresh keeps the previous booster
                log.warning("background LightGBM refresh failed", exc_info=True)
            finally:  # one refresh at a time (the next joins this thread first)
                self.train_cpu_s_ = getattr(self, "train_cpu_s_", 0.0) + time.thread_time() - t0

        self._thread = threading.Thread(target=train, name="lamarck-boost", daemon=True)
        self._thread.start()
        warming = self.n_labels_ < self.every
        self._due = self.n_labels_ + (min(self.lag, max(1, self.n_labels_ // 10)) if warming else self.lag)

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
        state.pop("_fast", None)  # a C handle, rebuilt on the first prediction
        return state


def _fit_due(n: int, min_rows: int, every: int) -> bool:
    """Whether the ``n``-th label starts a fit: every ``every`` labels, and while ``n < every`` each time
    the pool has doubled since ``min_rows`` (``min_rows``, ``2 min_rows``, ``4 min_rows``, ...)."""
    if n < min_rows:
        return False
    if n >= every:
        return n % every == 0
    k, rest = divmod(n, min_rows)
    return rest == 0 and k & (k - 1) == 0


class _SingleRow:
    """One booster's single-row predictor: LightGBM's ``PredictForMatSingleRowFast`` C entry point,
    set up once per booster (``Booster.predict`` spends most of its time on set-up for one row); falls
    back to ``Booster.predict`` if that entry point is unavailable. It reuses one input and one output
    buffer, so one thread at a time, like the learner that owns it (``lamarck serve`` holds a lock)."""

    def __init__(self, booster: Any, n_features: int) -> None:
        self.booster = booster
        self.n_features = n_features
        self._config = ctypes.c_void_p()
        self._lib: Any = None
        try:
            from lightgbm.basic import _LIB, _c_str, _safe_call

            n_classes = booster.num_model_per_iteration()
            _safe_call(
                _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                    booster._handle, ctypes.c_int(0), ctypes.c_int(0), ctypes.c_int(-1),
                    ctypes.c_int(1), ctypes.c_int32(n_features), _c_str("num_threads=1"),
                    ctypes.byref(self._config),
                )
            )  # fmt: skip
            self._lib, self._check = _LIB, _safe_call
            self._row = np.zeros(n_features, dtype=np.float64)
            self._out = np.zeros(n_classes, dtype=np.float64)
            self._n = ctypes.c_int64(0)
            self._row_ptr = self._row.ctypes.data_as(ctypes.c_void_p)
            self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        except Exception:  # another LightGBM build: the slower public path
            log.debug("LightGBM single-row prediction unavailable", exc_info=True)
            self._lib = None

    def predict(self, row: list[Any]) -> np.ndarray:
        """The output for one row of numbers; ``None`` (a feature the event lacks) and anything that is not
        a number (a text value, a bool) are missing, as the booster was trained."""
        if not all(type(v) in _PLAIN for v in row):
            row = [_number(v) for v in row]
        if self._lib is None:
            return np.atleast_1d(self.booster.predict(np.array([row], dtype=float), num_threads=1)[0])
        self._row[:] = row
        self._check(
            self._lib.LGBM_BoosterPredictForMatSingleRowFast(
                self._config, self._row_ptr, ctypes.byref(self._n), self._out_ptr
            )
        )
        return self._out.copy()

    def __del__(self) -> None:
        if self._lib is not None and self._config:
            self._lib.LGBM_FastConfigFree(self._config)


#: the types of the common numbers, taken as they are without :func:`is_number`'s checks
_PLAIN = frozenset({float, int})


def _number(v: Any) -> float:
    return float(v) if is_number(v) else float("nan")
