"""What else the LLM does in a fit: propose derived features, and review the result. Neither decides alone.

:func:`propose_features` asks for features in Lamarck's feature language (see :mod:`lamarck.data._expr`);
the caller keeps a proposal only when cross-validation says it helps
(:func:`lamarck.search.select_features`). :func:`review_fit` asks for a short review of the scorecard and
the data-quality findings, with a 1-5 self-reflection score and its reason; it goes into the report and
changes nothing.

    >>> Review(summary="ok", self_score=4, score_reason="stable folds").self_score
    4
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from lamarck.plan._client import LLMClient, Transcript, extract_json
from lamarck.plan._spec import TaskSpec

__all__ = ["FEATURE_LANGUAGE", "Review", "propose_features", "review_fit"]

log = logging.getLogger(__name__)

FEATURE_LANGUAGE = """Feature language (anything else is refused):
- a column: its bare name (income) or col("Any Name") for names with spaces or symbols
- numbers, strings in quotes (for == and != with categories), True, False
- + - * / (division by zero gives a missing value), x ** k with a constant k between -4 and 4
- comparisons < <= > >= == != and the words and, or, not
- log(x), log1p(x), sqrt(x), abs(x), ratio(a, b), min(a, b), max(a, b), clip(x, lo, hi),
  if_else(condition, a, b), isnull(x)
- date parts of a date column: year(d), month(d), day(d), dayofweek(d), hour(d), days_between(a, b)
- group statistics learned on the training rows: group_mean(x, by), group_median(x, by), group_std(x, by),
  group_min(x, by), group_max(x, by), group_count(by) where by is a column
Examples: ratio(debt, income); log1p(balance); col("Loan Amount") / col("Term"); age > 65;
income - group_mean(income, city); days_between(closed_at, opened_at)"""


def _features_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "expression": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                    "required": ["name", "expression", "reason"],
                },
            }
        },
        "required": ["features"],
    }


def propose_features(
    client: LLMClient,
    *,
    profile: dict[str, Any],
    spec: TaskSpec,
    n: int = 5,
    timeout_s: float = 60.0,
    audit_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Up to ``n`` proposals ``{"name", "expression", "reason"}`` (unchecked: the caller parses them)."""
    deadline = time.monotonic() + timeout_s
    transcript = Transcript(audit_dir, "features", secrets=client.secrets)
    messages = [
        {
            "role": "system",
            "content": (
                "You are a feature engineer for a tabular model. Propose new features that combine existing "
                f"columns and are likely to help predict the target.\n{FEATURE_LANGUAGE}\n"
                "Never use the target column. Answer with one JSON object: "
                '{"features": [{"name": "snake_case_name", "expression": "...", "reason": "..."}]}.'
            ),
        },
        {
            "role": "user",
            "content": (
                f"Task: {spec.task}, target {spec.target!r} (not available as an input), metric {spec.metric}.\n"
                f"Input columns (JSON profile): {json.dumps(profile, ensure_ascii=False, separators=(',', ':'))}\n"
                f"Propose at most {n} features, most promising first."
            ),
        },
    ]
    for attempt in range(2):
        reply = client.complete(messages, schema=_features_schema(), name="features", deadline=deadline)
        raw = extract_json(reply.text)
        items = raw.get("features") if isinstance(raw, dict) else None
        ok = isinstance(items, list)
        transcript.add(
            attempt=attempt,
            mode=reply.mode,
            messages=messages,
            answer=reply.text,
            verdict="ok" if ok else "no JSON",
        )
        if isinstance(items, list):
            return [dict(i) for i in items[:n] if isinstance(i, dict)]
        messages = [
            *messages,
            {"role": "assistant", "content": reply.text},
            {
                "role": "user",
                "content": 'Your answer is not the JSON object {"features": [...]}. Answer with it only.',
            },
        ]
    return []


class Review(BaseModel):
    """The LLM's review of a fit: what to watch, possible leakage, what data would help, a 1-5 score."""

    summary: str = Field(max_length=2000)
    watch: list[str] = Field(default_factory=list)
    leakage: list[str] = Field(default_factory=list)
    more_data: list[str] = Field(default_factory=list)
    self_score: int = Field(
        ge=1, le=5, description="1 not usable ... 3 usable with care ... 5 ready to serve"
    )
    score_reason: str = Field(max_length=1000)
    model: str = ""


def review_fit(
    client: LLMClient,
    *,
    facts: dict[str, Any],
    timeout_s: float = 60.0,
    audit_dir: Path | None = None,
) -> Review | None:
    """A :class:`Review` of ``facts`` (spec, scorecard, leaderboard head, findings); None if no valid answer."""
    deadline = time.monotonic() + timeout_s
    transcript = Transcript(audit_dir, "review", secrets=client.secrets)
    schema = Review.model_json_schema()
    schema["properties"].pop("model", None)
    messages = [
        {
            "role": "system",
            "content": (
                "You review the result of an AutoML fit for a data scientist. Be brief and concrete: what to "
                "watch in production, columns that may leak the target, and what data would help. Then rate the "
                "model on a 1-5 self-reflection scale (1 not usable, 2 weak, 3 usable with care, 4 good, "
                "5 ready to serve) and give the reason. Answer with one JSON object with the keys summary, "
                "watch, leakage, more_data (lists of short strings), self_score (integer 1-5), score_reason."
            ),
        },
        {
            "role": "user",
            "content": "Fit facts (JSON): " + json.dumps(facts, default=str, separators=(",", ":")),
        },
    ]
    for attempt in range(2):
        reply = client.complete(messages, schema=schema, name="review", deadline=deadline)
        raw = extract_json(reply.text)
        try:
            review = Review.model_validate({**(raw or {}), "model": client.model})
        except ValidationError as e:
            problem = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:5])
            transcript.add(
                attempt=attempt, mode=reply.mode, messages=messages, answer=reply.text, verdict=problem
            )
            messages = [
                *messages,
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": f"The answer does not fit the format ({problem}). Answer again."},
            ]
            continue
        transcript.add(attempt=attempt, mode=reply.mode, messages=messages, answer=reply.text, verdict="ok")
        return review
    return None
