"""The typed objects passed between the steps of the fit, and what the fit returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lamarck.plan import TaskSpec

__all__ = [
    "Assembled",
    "Evaluation",
    "FitOptions",
    "FitResult",
    "Prepared",
    "Processed",
    "ReportInputs",
    "StageCallback",
    "TrialCallback",
]

StageCallback = Callable[[str], None]
TrialCallback = Callable[[Any, float, float], None]


@dataclass(frozen=True)
class FitOptions:
    """Every option of ``Project.fit`` but the data, in one frozen object (see ``Project.fit``)."""

    sentence: str = ""
    target: str | None = None
    task: str | None = None
    metric: str | None = None
    time_budget_s: float | None = None
    exclude: tuple[str, ...] | None = None
    positive_class: str | None = None
    max_latency_ms: float | None = None
    sampler: str = "tpe"
    learners: tuple[str, ...] | None = None
    portfolio: bool = True
    seed: int | None = None
    register: bool = True
    report: bool = True
    on_trial: TrialCallback | None = field(default=None, compare=False)
    on_stage: StageCallback | None = field(default=None, compare=False)
    dataset_name: str | None = None
    llm: bool | None = None
    llm_features: bool = False
    llm_review: bool = False
    spec: TaskSpec | None = None
    started_at: float | None = None  # a time.monotonic() value the budget counts from (default: the call)
    #: configurations ``(learner, params, source)`` tried first, before the warm start from earlier tasks
    warm_configs: tuple[tuple[str, dict[str, Any], str], ...] | None = None
    #: a Dask scheduler address or client for the trials (None: the ``cluster`` setting)
    cluster: Any = field(default=None, compare=False)

    def stage(self, message: str) -> None:
        """Tell the caller (the CLI's progress display) which step runs."""
        if self.on_stage is not None:
            self.on_stage(message)


@dataclass(frozen=True)
class Prepared:
    """The ``prepare`` step's output: the data read, planned, checked, with unusable rows quarantined."""

    frame: pd.DataFrame
    dataset_name: str
    spec: TaskSpec
    seed: int
    profile: Any  # lamarck.data.DataProfile
    quality: Any  # lamarck.data.QualityReport
    excluded: dict[str, str]
    features: list[str]
    kinds: dict[str, str]
    quarantine_path: Path | None
    classes: np.ndarray | None
    y: np.ndarray

    @property
    def clean(self) -> pd.DataFrame:
        """The rows the data checks kept."""
        return self.quality.clean

    @property
    def y_raw(self) -> pd.Series:
        return self.clean[self.spec.target]

    @property
    def X(self) -> pd.DataFrame:
        """The input columns the model uses, before feature processing."""
        return self.clean[self.features]


@dataclass(frozen=True)
class Processed:
    """The ``features`` step's output: the fitted processor, the processed frame, the LLM feature trials,
    and what the step chose to say (how text columns are encoded)."""

    processor: Any
    X: pd.DataFrame
    llm_features: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Assembled:
    """The ``assemble`` step's output: the final model and the leaderboard (the final model first)."""

    model: Any  # lamarck.search.LamarckModel
    leaderboard: list[dict[str, Any]]
    notes: list[str]


@dataclass(frozen=True)
class Evaluation:
    """The ``evaluate`` step's output: scorecard, importance per input column, the LLM's review."""

    scorecard: dict[str, Any]
    importance: dict[str, float]
    review: dict[str, Any] | None = None


@dataclass(frozen=True)
class ReportInputs:
    """Everything the HTML report of a fit is made of."""

    prepared: Prepared
    search: Any  # lamarck.search.SearchResult
    assembled: Assembled
    evaluation: Evaluation
    llm_features: list[dict[str, Any]]
    version: str | None


@dataclass(frozen=True)
class FitResult:
    """What ``Project.fit`` returns: the plan, the leaderboard, the champion and where to look."""

    spec: TaskSpec
    leaderboard: list[dict[str, Any]]
    champion_version: str | None
    score: float
    metric: str
    scorecard: dict[str, Any]
    validation: str
    report_path: Path | None
    quality: list[dict[str, Any]]
    quarantined_rows: int
    quarantine_path: Path | None
    excluded: dict[str, str]
    seconds: float
    n_trials: int
    notes: list[str] = field(default_factory=list)
    llm_features: list[dict[str, Any]] = field(default_factory=list)
    review: dict[str, Any] | None = None
    #: the task's meta-features and where the warm start came from (None when it was off)
    meta_features: dict[str, Any] | None = None
    warm_start: dict[str, Any] | None = None
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.model_dump(mode="json"),
            "champion_version": self.champion_version,
            "metric": self.metric,
            "score": self.score,
            "validation": self.validation,
            "leaderboard": self.leaderboard,
            "scorecard": self.scorecard,
            "report": str(self.report_path) if self.report_path else None,
            "quality": self.quality,
            "quarantined_rows": self.quarantined_rows,
            "excluded": self.excluded,
            "seconds": self.seconds,
            "n_trials": self.n_trials,
            "notes": self.notes,
            "llm_features": self.llm_features,
            "review": self.review,
            "meta_features": self.meta_features,
            "warm_start": self.warm_start,
        }


def as_tuple(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
