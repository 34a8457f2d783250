"""``TaskSpec``: what to learn, judged by what, within how long, and why each choice was made.

>>> spec = TaskSpec(target="deny", task="binary", metric="roc_auc", time_budget_s=60,
...                 reasons={"target": Reason(source="sentence", text="'denied' matches column 'deny'")})
>>> TaskSpec.model_validate_json(spec.model_dump_json()) == spec
True
>>> spec.reasons["target"].source
'sentence'
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Reason", "ReasonSource", "TaskSpec", "TaskType"]

TaskType = Literal["binary", "multiclass", "regression"]
ReasonSource = Literal["sentence", "data", "flag", "default", "llm"]


class Reason(BaseModel):
    """Why a field has its value: who decided (``source``) and the words or data rule (``text``).

    ``source`` "llm" marks a field the LLM planner produced (and the verifier accepted); every other
    source is the rule planner's (sentence, data, default) or a command-line flag.
    """

    model_config = ConfigDict(frozen=True)

    source: ReasonSource
    text: str


class TaskSpec(BaseModel):
    """The plan of a fit. JSON-serialisable; every field has a reason in ``reasons``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str = Field(description="Column to predict.")
    task: TaskType = Field(description="binary, multiclass or regression.")
    metric: str = Field(description="Metric the search optimises (see lamarck.evaluate.METRICS).")
    time_budget_s: float = Field(description="Wall-clock budget of the search, in seconds.")
    exclude_columns: list[str] = Field(default_factory=list, description="Columns never used as features.")
    positive_class: str | None = Field(default=None, description="Label of the positive class (binary).")
    max_latency_ms: float | None = Field(
        default=None,
        description="Largest time the served model may take to answer one row, in milliseconds (none: no limit); "
        "the ensemble keeps only members that fit within it together.",
    )
    zero_shot_classes: list[str] | None = Field(
        default=None,
        description="The classes the sentence names when no column holds labels: a zero-shot fit of the table's "
        "text column (the target is then a new column, filled by feedback).",
    )
    sentence: str = Field(default="", description="The sentence the plan came from.")
    reasons: dict[str, Reason] = Field(default_factory=dict, description="Field name → why it has its value.")
    planner: str = Field(
        default="rules",
        description="Which planner produced the spec: rules, llm, or llm+rules (fallback per field).",
    )
    notes: list[str] = Field(
        default_factory=list, description="What the planner wants the user to know (ambiguity, fallback)."
    )

    def with_changes(self, reason: Reason | None = None, **changes: object) -> TaskSpec:
        """A copy with ``changes`` applied, each recorded with ``reason`` (e.g. a command-line flag)."""
        reasons = dict(self.reasons)
        if reason is not None:
            for key in changes:
                reasons[key] = reason
        return self.model_validate({**self.model_dump(), **changes, "reasons": reasons})
