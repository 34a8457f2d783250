"""Quality checks from the seeds: missing values, 3σ outliers, duplicated rows, rows without a target
(quarantined with their reason) and single columns that predict the target almost perfectly (leakage).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"x": [1, 2, 3, 4] * 10, "y": [0, 1, None, 1] * 10})
    >>> r = check_quality(f, target="y", task="binary")
    >>> len(r.clean), len(r.quarantine), r.quarantine["_reason"].iloc[0]
    (30, 10, "target 'y' is missing")
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from lamarck.data._profile import DataProfile
from lamarck.data._profile import profile as make_profile

__all__ = ["Finding", "QualityReport", "check_quality"]


@dataclass(frozen=True)
class Finding:
    rule: str
    column: str | None
    severity: Literal["info", "warning", "error"]
    message: str
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QualityReport:
    findings: tuple[Finding, ...]
    quarantine: pd.DataFrame
    clean: pd.DataFrame
    leakage: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "quarantined": len(self.quarantine),
            "leakage": list(self.leakage),
        }


def check_quality(
    frame: pd.DataFrame, *, target: str, task: str, profile: DataProfile | None = None, seed: int = 0
) -> QualityReport:
    """Run every check; rows with a missing target move to ``quarantine`` with a ``_reason``."""
    prof = profile or make_profile(frame, target=target)
    findings: list[Finding] = []
    bad = frame[target].isna()
    quarantine = frame[bad].copy()
    quarantine["_reason"] = f"target {target!r} is missing"
    clean = frame[~bad]
    if bad.any():
        findings.append(
            Finding(
                "missing_target",
                target,
                "warning",
                f"{int(bad.sum())} row(s) have no {target!r}: quarantined, not used",
                {"rows": int(bad.sum())},
            )
        )
    for c in prof.columns:
        if c.role == "target":
            continue
        if c.missing_rate > 0.05:
            findings.append(
                Finding(
                    "missing",
                    c.name,
                    "warning" if c.missing_rate > 0.3 else "info",
                    f"{c.missing_rate:.1%} missing",
                    {"rate": round(c.missing_rate, 4)},
                )
            )
        if c.role in ("id", "constant"):
            findings.append(Finding(c.role, c.name, "info", f"not used: {c.reason}", {}))
    numeric = [c.name for c in prof.columns if c.kind == "numeric" and c.role == "feature"]
    for name, n_out in zip(numeric, _outliers(_numbers(clean, numeric)), strict=True):
        if n_out:
            findings.append(
                Finding(
                    "outliers_3sigma",
                    name,
                    "info",
                    f"{n_out} value(s) beyond 3σ ({n_out / len(clean):.1%})",
                    {"count": n_out, "share": round(n_out / len(clean), 4)},
                )
            )
    dup = int(clean.duplicated().sum())
    if dup:
        findings.append(Finding("duplicates", None, "info", f"{dup} duplicated row(s) (kept)", {"rows": dup}))
    leakage = tuple(_leaky(clean, prof, target, task, seed))
    for col in leakage:
        findings.append(
            Finding(
                "leakage",
                col,
                "error",
                f"{col!r} alone predicts {target!r} almost perfectly: excluded as leakage",
                {},
            )
        )
    return QualityReport(tuple(findings), quarantine, clean, leakage)


def _numbers(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """``frame[names]`` as float64 (text that is not a number → NaN), one column per name, columns
    contiguous; columns already of numbers are converted at once (a wide table has thousands)."""
    out = np.empty((len(frame), len(names)), dtype=np.float64, order="F")
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    ready = [j for j, n in enumerate(names) if isinstance(dtypes[n], np.dtype) and dtypes[n].kind in "biuf"]
    if ready:
        out[:, ready] = frame[[names[j] for j in ready]].to_numpy(dtype=np.float64)
    for j in sorted(set(range(len(names))) - set(ready)):
        out[:, j] = pd.to_numeric(frame[names[j]], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    return out


def _outliers(M: np.ndarray) -> list[int]:
    """Per column of ``M``: how many values lie beyond 3 standard deviations (ddof 1) of the mean, both
    over the values present; 0 when the deviation is 0 or undefined.

    >>> _outliers(np.array([[0.0, 1.0]] * 30 + [[100.0, np.nan]]))
    [1, 0]
    """
    present = ~np.isnan(M)
    count = present.sum(axis=0)
    filled = np.where(present, M, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / count
        sd = np.sqrt(np.where(present, (M - mean) ** 2, 0.0).sum(axis=0) / (count - 1))
        beyond = (np.abs(M - mean) > 3 * sd) & present
    ok = (count > 1) & np.isfinite(sd) & (sd > 0)
    return [int(n) if good else 0 for n, good in zip(beyond.sum(axis=0), ok, strict=True)]


#: the screen before the (costly) cross-validated tree, see _screen: a class column goes on when its
#: sorted-neighbour agreement reaches SCREEN_AGREEMENT, a numeric target's when the neighbours' step ratio
#: is at most SCREEN_STEP_RATIO. A column the tree flags (0.99 balanced accuracy or R²) sits far inside
#: both; an unrelated column reaches them about once in a thousand even on 40 rows.
SCREEN_AGREEMENT = 0.95
SCREEN_STEP_RATIO = 0.35
#: the leakage check works on this many values (rows x columns) at a time: a wide table's whole matrix
#: is never made at once
CHUNK_VALUES = 2_000_000


def _leaky(
    frame: pd.DataFrame, prof: DataProfile, target: str, task: str, seed: int, *, screen: bool = True
) -> list[str]:
    """Columns that alone predict the target almost perfectly: a depth-8 tree's 3-fold score ≥ 0.99.

    One tree per column is costly on a wide table (2,000 columns took a minute), so the columns are first
    screened all at once (:func:`_screen`, one sort of the matrix) and only those that pass are scored by
    the tree; ``screen=False`` scores every column (the reference the tests compare the screen with).
    """
    from sklearn.base import clone
    from sklearn.metrics import balanced_accuracy_score, r2_score
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    sample = frame.sample(n=min(len(frame), 5000), random_state=seed)
    y = sample[target]
    if len(sample) < 30:
        return []
    if task == "regression":
        y = pd.to_numeric(y, errors="coerce")
        model, metric, cv = DecisionTreeRegressor(max_depth=8, random_state=seed), r2_score, KFold(3)
    else:
        y = y.astype(str)
        if y.value_counts().min() < 3:
            return []
        model, metric = DecisionTreeClassifier(max_depth=8, random_state=seed), balanced_accuracy_score
        cv = StratifiedKFold(3)
    bar = 0.99
    names = [c.name for c in prof.columns if c.role == "feature" and c.kind != "text"]
    numeric = {c.name for c in prof.columns if c.kind == "numeric"}
    # what cross_val_score(model, column, y, cv=3) gives, with the folds made once for every column
    target_values = y.to_numpy()
    folds = list(cv.split(np.zeros((len(target_values), 1)), target_values))
    out = []
    step = max(1, CHUNK_VALUES // len(sample))
    for start in range(0, len(names), step):
        chunk = names[start : start + step]
        M = _column_matrix(sample, chunk, numeric)
        kept = np.flatnonzero(_screen(M, y, task)).tolist() if screen else list(range(len(chunk)))
        for k in kept:
            x = M[:, k].reshape(-1, 1)
            try:
                scores = [
                    metric(target_values[te], clone(model).fit(x[tr], target_values[tr]).predict(x[te]))
                    for tr, te in folds
                ]
            except ValueError:  # a target the tree cannot take (missing values): no leakage to report
                continue
            if float(np.mean(scores)) >= bar:
                out.append(chunk[k])
    return out


def _column_matrix(sample: pd.DataFrame, names: list[str], numeric: set[str]) -> np.ndarray:
    """The columns as the leakage check reads them: numbers (categories as their codes), missing as -1e9."""
    M = np.empty((len(sample), len(names)), dtype=np.float64, order="F")
    by_number = [j for j, n in enumerate(names) if n in numeric]
    M[:, by_number] = _numbers(sample, [names[j] for j in by_number])
    others = [j for j, n in enumerate(names) if n not in numeric]
    if others:
        values = sample[[names[j] for j in others]].to_numpy(dtype=object)
        for k, j in enumerate(others):
            M[:, j] = _category_codes(values[:, k], sample[names[j]])
    M[np.isnan(M)] = -1e9
    return M


def _category_codes(values: np.ndarray, col: pd.Series) -> np.ndarray:
    """``col.astype("category").cat.codes`` as float64 (the rank of each value among the sorted distinct
    values, missing -1), from ``values`` (``col`` as objects) by one sorted factorisation; ``col`` itself
    when its values do not sort together (mixed types) or it has categories of its own."""
    if not isinstance(col.dtype, pd.CategoricalDtype):
        try:
            return pd.factorize(values, sort=True, use_na_sentinel=True)[0].astype(np.float64)
        except TypeError:
            pass
    return col.astype("category").cat.codes.to_numpy(dtype=np.float64)


def _screen(M: np.ndarray, y: pd.Series, task: str) -> np.ndarray:
    """Which columns of ``M`` (rows x columns) could predict ``y`` almost perfectly on their own.

    A tree on one column predicts a row from the rows beside it in that column's order, so a column it
    scores at 0.99 has rows whose neighbours in sorted order share their label (classification: the
    share of rows with a same-class neighbour, averaged over classes, as balanced accuracy is) or their
    value (regression: mean squared step between neighbours over twice the variance, about 1 for an
    unrelated column and near 0 for a function of the column). One sort of the whole matrix.

        >>> rng = np.random.default_rng(0)
        >>> y = pd.Series(rng.choice(["a", "b"], 200))
        >>> M = np.column_stack([rng.normal(size=200), (y == "a").to_numpy() + 0.1 * rng.normal(size=200)])
        >>> _screen(M, y, "binary").tolist()
        [False, True]
    """
    order = np.argsort(M, axis=0, kind="stable")
    if task == "regression":
        values = y.to_numpy(dtype=float)
        var = float(np.var(values))
        if not np.isfinite(var) or var <= 0:
            return np.zeros(M.shape[1], dtype=bool)
        steps = np.diff(values[order], axis=0)
        ratio = np.mean(steps**2, axis=0) / (2 * var)
        return np.asarray(ratio <= SCREEN_STEP_RATIO)
    codes = pd.factorize(y)[0]
    labels = codes[order]
    same = labels[1:] == labels[:-1]
    pad = np.zeros((1, M.shape[1]), dtype=bool)
    neighbour = np.vstack([same, pad]) | np.vstack([pad, same])
    rates = [
        (neighbour & (labels == k)).sum(axis=0) / max(int((codes == k).sum()), 1)
        for k in range(codes.max() + 1)
    ]
    return np.asarray(np.mean(rates, axis=0) >= SCREEN_AGREEMENT)
