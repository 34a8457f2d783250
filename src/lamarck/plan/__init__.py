"""Planning: the sentence and the data → a verified :class:`TaskSpec`."""

from lamarck.plan._rules import RulePlanner, infer_task, parse_budget, parse_exclusions, parse_metric
from lamarck.plan._spec import Reason, ReasonSource, TaskSpec, TaskType
from lamarck.plan._verify import PlanIssue, apply_overrides, make_plan, verify, verify_all

__all__ = [
    "PlanIssue",
    "Reason",
    "ReasonSource",
    "RulePlanner",
    "TaskSpec",
    "TaskType",
    "apply_overrides",
    "infer_task",
    "make_plan",
    "parse_budget",
    "parse_exclusions",
    "parse_metric",
    "verify",
    "verify_all",
]
