"""Drift and decay: feature drift against the training reference (PSI and KS per column, unseen
categories, missing-rate jumps, share of 3σ values; PSI net of its sampling noise) and performance decay with ADWIN on the error stream.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    >>> cur = pd.DataFrame({"x": rng.normal(1.0, size=500), "c": rng.choice(["a", "b", "z"], 500)})
    >>> report = feature_drift(ref, cur)
    >>> report.column("x").severity, report.column("c").unseen_share > 0.2
    ('severe', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from lamarck.stream import DecayDetector  # the ADWIN detector lives with the stream learner

__all__ = ["ColumnDrift", "DecayDetector", "DriftReport", "feature_drift", "psi"]

Severity = Literal["none", "moderate", "severe"]
PSI_MODERATE, PSI_SEVERE = 0.1, 0.2


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index between two share vectors over the same bins."""
    e = np.clip(np.asarray(expected, dtype=float), eps, None)
    a = np.clip(np.asarray(actual, dtype=float), eps, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str
    psi: float
    ks_statistic: float | None
    ks_p_value: float | None
    unseen_share: float
    missing_jump: float
    outlier_share: float
    severity: Severity

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    columns: tuple[ColumnDrift, ...]
    n_reference: int
    n_current: int

    def column(self, name: str) -> ColumnDrift:
        return next(c for c in self.columns if c.column == name)

    @property
    def severity(self) -> Severity:
        levels = [c.severity for c in self.columns]
        return "severe" if "severe" in levels else "moderate" if "moderate" in levels else "none"

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.severity != "none"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "drifted": self.drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "columns": [c.to_dict() for c in self.columns],
        }


def _excess(value: float, bins: int, n_ref: int, n_cur: int) -> float:
    """PSI above what sampling noise alone gives: under no drift its expectation is about
    (bins - 1) x (1/n_ref + 1/n_cur), which on 100 rows over 10 bins is already 0.09."""
    return max(0.0, value - (bins - 1) * (1.0 / max(n_ref, 1) + 1.0 / max(n_cur, 1)))


#: the effective sample size (n m / (n + m)) from which the KS test uses its asymptotic distribution
KS_ASYMPTOTIC_N = 200


def _numeric(ref: pd.Series, cur: pd.Series, name: str) -> ColumnDrift:
    r = pd.to_numeric(ref, errors="coerce").dropna().to_numpy(dtype=float)
    c = pd.to_numeric(cur, errors="coerce").dropna().to_numpy(dtype=float)
    if len(r) < 2 or len(c) < 2:
        return ColumnDrift(name, "numeric", 0.0, None, None, 0.0, 0.0, 0.0, "none")
    edges = np.unique(np.quantile(r, np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    value = psi(np.histogram(r, edges)[0], np.histogram(c, edges)[0]) if len(edges) > 2 else 0.0
    value = _excess(value, len(edges) - 1, len(r), len(c))
    # the exact two-sample distribution costs ~17 ms a column at a few thousand rows (and a pass tests every
    # column); from an effective sample of 200 on, the asymptotic one agrees with it to the third decimal
    effective = len(r) * len(c) / (len(r) + len(c))
    ks = stats.ks_2samp(r, c, method="asymp" if effective >= KS_ASYMPTOTIC_N else "auto")
    mu, sd = r.mean(), r.std()
    outliers = float(np.mean(np.abs(c - mu) > 3 * sd)) if sd > 0 else 0.0
    return ColumnDrift(
        name, "numeric", value, float(ks.statistic), float(ks.pvalue), 0.0, 0.0, outliers, "none"
    )


def _categorical(ref: pd.Series, cur: pd.Series, name: str) -> ColumnDrift:
    r = ref.dropna().astype(str)
    c = cur.dropna().astype(str)
    levels = sorted(set(r) | set(c))
    value = (
        psi(
            r.value_counts().reindex(levels, fill_value=0).to_numpy(),
            c.value_counts().reindex(levels, fill_value=0).to_numpy(),
        )
        if len(c)
        else 0.0
    )
    value = _excess(value, len(levels), len(r), len(c))
    unseen = float((~c.isin(set(r))).mean()) if len(c) else 0.0
    return ColumnDrift(name, "categorical", value, None, None, unseen, 0.0, 0.0, "none")


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, *, columns: list[str] | None = None
) -> DriftReport:
    """Drift of every column of ``current`` against ``reference``."""
    out = []
    for name in columns or [c for c in reference.columns if c in current.columns]:
        ref, cur = reference[name], current[name]
        numeric = pd.api.types.is_numeric_dtype(ref) and not pd.api.types.is_bool_dtype(ref)
        d = _numeric(ref, cur, name) if numeric else _categorical(ref, cur, name)
        jump = float(cur.isna().mean() - ref.isna().mean()) if len(cur) else 0.0
        severe = d.psi > PSI_SEVERE or d.unseen_share > 0.05 or jump > 0.05 or d.outlier_share > 0.05
        moderate = d.psi > PSI_MODERATE or (
            d.ks_p_value is not None
            and d.ks_statistic is not None  # both are set (numeric columns) or both None
            and d.ks_p_value < 1e-3
            and d.ks_statistic > 0.1
        )
        severity: Severity = "severe" if severe else "moderate" if moderate else "none"
        out.append(
            ColumnDrift(
                d.column,
                d.kind,
                round(d.psi, 6),
                d.ks_statistic,
                d.ks_p_value,
                d.unseen_share,
                round(jump, 6),
                d.outlier_share,
                severity,
            )
        )
    return DriftReport(tuple(out), len(reference), len(current))


def prediction_drift(
    reference: np.ndarray, current: np.ndarray, classes: Sequence[Any] | None = None
) -> DriftReport:
    """Drift of a model's outputs: probabilities per class (the first dropped for two classes) or values.

    Needs no labels, so it is the first warning a served model gives.
    """

    def frame(pred: np.ndarray) -> pd.DataFrame:
        if classes is None:
            return pd.DataFrame({"prediction": np.asarray(pred, dtype=float).ravel()})
        pred = np.asarray(pred, dtype=float).reshape(len(pred), -1)
        names = [f"p({c})" for c in classes]
        cols = range(1, len(names)) if len(names) == 2 else range(len(names))
        return pd.DataFrame({names[j]: pred[:, j] for j in cols})

    return feature_drift(frame(reference), frame(current))


def coverage(old: pd.DataFrame, new: pd.DataFrame, *, seed: int = 0, max_rows: int = 6000) -> np.ndarray:
    """How densely recent traffic covers each old row: the density ratio p_new(x) / p_old(x).

    A classifier learns to tell ``new`` rows from ``old`` ones (cross-fitted, so no row is scored by a
    model that saw it; beyond ``max_rows`` per side, the rest is scored by a model fitted on a sample);
    its odds, corrected for the two sample sizes, estimate the ratio. About 1 where the old rows look
    like today's traffic, near 0 for old rows of a region the traffic has left.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    if len(old) == 0:
        return np.zeros(0)
    if len(new) < 20:
        return np.zeros(len(old))
    rng = np.random.default_rng(seed)
    fit_old = np.sort(rng.choice(len(old), size=min(len(old), max_rows), replace=False))
    fit_new = np.sort(rng.choice(len(new), size=min(len(new), max_rows), replace=False))
    both = pd.concat([old, new.iloc[fit_new]], ignore_index=True)
    encoded = pd.DataFrame(index=both.index)
    categorical = []
    for name in both.columns:
        col = both[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            encoded[name] = pd.to_numeric(col, errors="coerce").astype(float)
            categorical.append(False)
        else:
            codes = col.astype(str).where(col.notna()).astype("category").cat.codes.astype(float)
            encoded[name] = codes.where(codes >= 0)
            categorical.append(True)
    train = np.r_[fit_old, len(old) + np.arange(len(fit_new))]
    y = np.r_[np.zeros(len(fit_old)), np.ones(len(fit_new))]
    clf = HistGradientBoostingClassifier(
        max_iter=40,
        max_depth=3,
        min_samples_leaf=40,
        l2_regularization=1.0,
        learning_rate=0.1,
        categorical_features=np.asarray(categorical, dtype=bool),
        early_stopping=False,
        random_state=seed,
    )
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    proba = np.empty(len(old))
    rest = np.setdiff1d(np.arange(len(old)), fit_old)
    # one OpenMP thread (this thread's setting only): a few thousand rows, 40 shallow trees; a second
    # thread added more CPU in synchronisation than it saved, on a core that serving needs
    with threadpool_limits(limits=1, user_api="openmp"):
        proba[fit_old] = cross_val_predict(clf, encoded.iloc[train], y, cv=folds, method="predict_proba")[
            : len(fit_old), 1
        ]
        if len(rest):
            proba[rest] = clf.fit(encoded.iloc[train], y).predict_proba(encoded.iloc[rest])[:, 1]
    proba = np.clip(proba, 1e-6, 1 - 1e-6)
    return np.asarray(proba / (1 - proba) * (len(fit_old) / len(fit_new)), dtype=float)
