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
        if c.kind == "numeric" and c.role == "feature":
            x = pd.to_numeric(clean[c.name], errors="coerce")
            sd = x.std()
            if sd and np.isfinite(sd):
                n_out = int(((x - x.mean()).abs() > 3 * sd).sum())
                if n_out:
                    findings.append(
                        Finding(
                            "outliers_3sigma",
                            c.name,
                            "info",
                            f"{n_out} value(s) beyond 3σ ({n_out / len(x):.1%})",
                            {"count": n_out, "share": round(n_out / len(x), 4)},
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


def _leaky(frame: pd.DataFrame, prof: DataProfile, target: str, task: str, seed: int) -> list[str]:
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    sample = frame.sample(n=min(len(frame), 5000), random_state=seed)
    y = sample[target]
    if len(sample) < 30:
        return []
    if task == "regression":
        y = pd.to_numeric(y, errors="coerce")
        model, scoring, bar = DecisionTreeRegressor(max_depth=8, random_state=seed), "r2", 0.99
    else:
        y = y.astype(str)
        if y.value_counts().min() < 3:
            return []
        model, scoring, bar = (
            DecisionTreeClassifier(max_depth=8, random_state=seed),
            "balanced_accuracy",
            0.99,
        )
    out = []
    for c in prof.columns:
        if c.role != "feature" or c.kind == "text":
            continue
        col = sample[c.name]
        x = pd.to_numeric(col, errors="coerce") if c.kind == "numeric" else col.astype("category").cat.codes
        column = x.fillna(-1e9).to_numpy().reshape(-1, 1)
        try:
            s = cross_val_score(model, column, y, cv=3, scoring=scoring).mean()
        except ValueError:
            continue
        if s >= bar:
            out.append(c.name)
    return out
