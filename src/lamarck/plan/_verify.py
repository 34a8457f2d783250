"""``verify`` checks a spec against the data; ``make_plan`` plans, applies flags and verifies.

>>> import pandas as pd
>>> from lamarck.plan import TaskSpec
>>> f = pd.DataFrame({"x": [1, 2, 3, 4], "y": [0, 1, 0, 1]})
>>> [i.field for i in verify_all(TaskSpec(target="y", task="binary", metric="rmse", time_budget_s=-1), f)]
['metric', 'time_budget_s']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, get_args

import pandas as pd

from lamarck.errors import BudgetError, ConfigError, PlanError
from lamarck.evaluate import DEFAULT_METRIC, METRICS, metrics_for
from lamarck.plan._rules import (
    RulePlanner,
    check_metric_words,
    closest_columns,
    infer_task,
    positive_class_of,
)
from lamarck.plan._spec import Reason, TaskSpec, TaskType

__all__ = [
    "MAX_TIME_BUDGET_S",
    "MIN_TIME_BUDGET_S",
    "TASKS",
    "PlanIssue",
    "apply_overrides",
    "budget_problem",
    "make_plan",
    "verify",
    "verify_all",
]

#: The tasks a spec may name (the ``TaskType`` literal).
TASKS: tuple[str, ...] = get_args(TaskType)
#: The allowed time budget of a search, in seconds: one second to seven days.
MIN_TIME_BUDGET_S = 1.0
MAX_TIME_BUDGET_S = 7 * 24 * 3600.0


def budget_problem(budget: object) -> str | None:
    """Why ``budget`` (seconds) is not a usable time budget, or None when it is.

    >>> budget_problem(60) is None
    True
    >>> print(budget_problem(1e12))
    time budget must be a number of seconds from 1 to 604800 (7 days), got 1000000000000.0. Fix: --time 60.
    """
    ok = (
        isinstance(budget, int | float)
        and not isinstance(budget, bool)
        and math.isfinite(budget)
        and MIN_TIME_BUDGET_S <= budget <= MAX_TIME_BUDGET_S
    )
    if ok:
        return None
    sign = "a positive" if not (isinstance(budget, int | float) and budget > 0) else "a"
    return (
        f"time budget must be {sign} number of seconds from {MIN_TIME_BUDGET_S:g} to {MAX_TIME_BUDGET_S:g} "
        f"(7 days), got {budget!r}. Fix: --time 60."
    )


def _check_task(task: object) -> None:
    if task is not None and task not in TASKS:
        raise ConfigError(f"unknown task {task!r}. Fix: --task with one of {', '.join(TASKS)}.")


@dataclass(frozen=True)
class PlanIssue:
    field: str
    message: str
    budget: bool = False


def verify_all(spec: TaskSpec, frame: pd.DataFrame) -> list[PlanIssue]:
    """Every problem of ``spec`` against ``frame``, field by field (empty when the spec is sound)."""
    issues: list[PlanIssue] = []
    cols = [str(c) for c in frame.columns]
    if spec.target not in cols:
        issues.append(
            PlanIssue(
                "target",
                f"target column {spec.target!r} is not in the data. Closest columns: "
                f"{closest_columns(spec.target, cols) or cols[:5]}. Fix: --target COLUMN.",
            )
        )
    else:
        y = frame[spec.target]
        n = y.nunique(dropna=True)
        if n == 0:
            issues.append(
                PlanIssue(
                    "target",
                    f"target {spec.target!r} has no values (all missing). Fix: choose another --target.",
                )
            )
        elif n == 1:
            issues.append(
                PlanIssue(
                    "target",
                    f"target {spec.target!r} has one value only ({y.dropna().iloc[0]!r}): "
                    "nothing to learn. Fix: choose another --target or add rows of other classes.",
                )
            )
        elif spec.task == "regression" and not pd.api.types.is_numeric_dtype(y.dropna().infer_objects()):
            issues.append(
                PlanIssue(
                    "task",
                    f"regression needs a numeric target; {spec.target!r} holds text such as "
                    f"{y.dropna().iloc[0]!r}. Fix: --task multiclass or another --target.",
                )
            )
        elif spec.task == "binary" and n != 2:
            issues.append(
                PlanIssue(
                    "task", f"task binary needs 2 classes; {spec.target!r} has {n}. Fix: --task multiclass."
                )
            )
        if (
            spec.positive_class is not None
            and n >= 1
            and spec.positive_class not in {str(v) for v in y.dropna().unique()}
        ):
            issues.append(
                PlanIssue(
                    "positive_class",
                    f"positive class {spec.positive_class!r} is not a value of "
                    f"{spec.target!r} ({sorted(map(str, y.dropna().unique()))[:10]}). Fix: pick one of them.",
                )
            )
    if spec.metric not in METRICS:
        issues.append(
            PlanIssue(
                "metric", f"unknown metric {spec.metric!r}. Fix: use one of {', '.join(sorted(METRICS))}."
            )
        )
    elif not METRICS[spec.metric].fits(spec.task):
        issues.append(
            PlanIssue(
                "metric",
                f"metric {spec.metric!r} does not fit a {spec.task} task. Fix: use one of "
                f"{', '.join(metrics_for(spec.task))}.",
            )
        )
    unknown = [c for c in spec.exclude_columns if c not in cols]
    if unknown:
        issues.append(
            PlanIssue(
                "exclude_columns",
                f"excluded column(s) {unknown} are not in the data. Fix: check the "
                f"names; columns are {cols[:20]}.",
            )
        )
    if spec.target in spec.exclude_columns:
        issues.append(
            PlanIssue(
                "exclude_columns",
                f"the target {spec.target!r} is also excluded. Fix: remove it from --exclude.",
            )
        )
    problem = budget_problem(spec.time_budget_s)
    if problem is not None:
        issues.append(PlanIssue("time_budget_s", problem, budget=True))
    latency = spec.max_latency_ms
    if latency is not None and not (math.isfinite(latency) and latency > 0):
        issues.append(
            PlanIssue(
                "max_latency_ms",
                f"the latency limit must be a positive number of milliseconds, not {latency!r}. Fix: e.g. "
                "--max-latency-ms 5, or leave it out for no limit.",
            )
        )
    return issues


def verify(spec: TaskSpec, frame: pd.DataFrame) -> TaskSpec:
    """``spec`` unchanged when it fits ``frame``; otherwise the first problem as PlanError/BudgetError."""
    issues = verify_all(spec, frame)
    if issues:
        first = issues[0]
        raise (BudgetError if first.budget else PlanError)(first.message)
    return spec


def apply_overrides(spec: TaskSpec, frame: pd.DataFrame, **flags: Any) -> TaskSpec:
    """Flags override the sentence; what depends on a changed target or task is derived again."""
    changes = {k: v for k, v in flags.items() if v is not None}
    _check_task(changes.get("task"))
    if not changes:
        return spec
    reasons = dict(spec.reasons)
    names = {
        "target": "--target",
        "task": "--task",
        "metric": "--metric",
        "time_budget_s": "--time",
        "exclude_columns": "--exclude",
        "positive_class": "--positive-class",
        "max_latency_ms": "--max-latency-ms",
    }
    for k, v in changes.items():
        reasons[k] = Reason(
            source="flag", text=f"{names.get(k, k)} {v if not isinstance(v, list) else ' '.join(v)}"
        )
    data = {**spec.model_dump(), **changes, "reasons": reasons}
    if "exclude_columns" in changes:
        data["exclude_columns"] = list(dict.fromkeys(changes["exclude_columns"]))
    target = data["target"]
    if "target" in changes and target in frame.columns and "task" not in changes:
        data["task"], why = infer_task(frame[target])
        reasons["task"] = Reason(source="data", text=why)
    if (
        ("target" in changes or "task" in changes)
        and "metric" not in changes
        and target in frame.columns
        and (data["metric"] not in METRICS or not METRICS[data["metric"]].fits(data["task"]))
    ):
        data["metric"] = DEFAULT_METRIC[data["task"]]
        reasons["metric"] = Reason(source="default", text=f"usual metric for {data['task']} tasks")
    if (
        data["task"] == "binary"
        and target in frame.columns
        and "positive_class" not in changes
        and ("target" in changes or "task" in changes or data.get("positive_class") is None)
    ):
        data["positive_class"], reasons["positive_class"] = positive_class_of(frame[target], spec.sentence)
    if data["task"] != "binary":
        data["positive_class"] = None
        reasons.pop("positive_class", None)
    data["exclude_columns"] = [
        c for c in data["exclude_columns"] if c != target or "exclude_columns" in changes
    ]
    return TaskSpec.model_validate(data)


def make_plan(
    frame: pd.DataFrame,
    sentence: str,
    *,
    planner: Any = None,
    default_time_budget_s: float = 60.0,
    **flags: Any,
) -> TaskSpec:
    """Plan ``sentence`` on ``frame``, apply command-line ``flags`` (target, task, metric, time_budget_s,
    exclude, positive_class) and verify the result."""
    if "exclude" in flags:
        flags["exclude_columns"] = flags.pop("exclude")
    planner = planner or RulePlanner(default_time_budget_s=default_time_budget_s)
    target = flags.get("target")
    if target is not None and str(target) not in frame.columns:
        raise PlanError(
            f"target column {target!r} is not in the data. Closest columns: "
            f"{closest_columns(str(target), [str(c) for c in frame.columns]) or list(frame.columns)[:5]}. "
            "Fix: --target COLUMN with one of them."
        )
    _check_task(flags.get("task"))
    if flags.get("time_budget_s") is not None:
        problem = budget_problem(flags["time_budget_s"])
        if problem is not None:
            raise BudgetError(problem)
    if flags.get("metric") is not None:
        from lamarck.evaluate import get_metric

        flags["metric"] = get_metric(flags["metric"]).name
    try:
        spec = planner.plan(
            frame, sentence, metric=flags.get("metric"), target=None if target is None else str(target)
        )
    except PlanError:
        if target is None:
            raise
        if flags.get("metric") is None:
            check_metric_words(sentence)  # --target does not excuse a metric nobody knows
        spec = TaskSpec(
            target=str(target),
            task="regression",
            metric="rmse",
            time_budget_s=default_time_budget_s,
            sentence=sentence,
            planner="rules",
        )
        flags.setdefault("task", None)
        task, why = infer_task(frame[str(target)])
        spec = spec.model_copy(
            update={
                "task": task,
                "metric": DEFAULT_METRIC[task],
                "reasons": {"task": Reason(source="data", text=why)},
            }
        )
        if "task" not in flags or flags["task"] is None:
            flags.pop("task", None)
    spec = apply_overrides(spec, frame, **flags)
    return verify(spec, frame)
