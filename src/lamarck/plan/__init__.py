"""Planning: the sentence and the data → a verified :class:`TaskSpec`."""

from lamarck.plan._assist import FEATURE_LANGUAGE, Review, propose_features, review_fit
from lamarck.plan._client import LLMClient, Reply, Transcript, extract_json
from lamarck.plan._llm import LLMPlanner, compact_profile, configured_client, llm_client, planner_for
from lamarck.plan._rules import (
    RulePlanner,
    check_metric_words,
    infer_task,
    parse_budget,
    parse_exclusions,
    parse_metric,
)
from lamarck.plan._spec import Reason, ReasonSource, TaskSpec, TaskType
from lamarck.plan._verify import PlanIssue, apply_overrides, make_plan, verify, verify_all

__all__ = [
    "FEATURE_LANGUAGE",
    "LLMClient",
    "LLMPlanner",
    "PlanIssue",
    "Reason",
    "ReasonSource",
    "Reply",
    "Review",
    "RulePlanner",
    "TaskSpec",
    "TaskType",
    "Transcript",
    "apply_overrides",
    "check_metric_words",
    "compact_profile",
    "configured_client",
    "extract_json",
    "infer_task",
    "llm_client",
    "make_plan",
    "parse_budget",
    "parse_exclusions",
    "parse_metric",
    "planner_for",
    "propose_features",
    "review_fit",
    "verify",
    "verify_all",
]
