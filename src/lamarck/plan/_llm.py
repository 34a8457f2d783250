"""``LLMPlanner``: the sentence understood by a language model, checked by the verifier, repaired, or replaced.

A model does not reliably correct itself without outside feedback, so every answer goes through the same
:func:`~lamarck.plan.verify_all` as the rule planner's. A field that fails (unknown column, a metric that
does not fit the task, an impossible budget ...) is asked again with the verifier's message for that field
only, and only that field is taken from the new answer. After ``max_repairs`` (3) failed repairs, the fields
that still fail come from the rule planner (the whole spec when the target itself fails), and the spec
says so in ``notes``. An endpoint that is down or too slow gives the rule planner's spec with a warning;
a refused key or a wrong URL raises (:class:`~lamarck.errors.LLMAuthError`,
:class:`~lamarck.errors.LLMEndpointError`), because those are settings to fix.

The prompt carries the sentence and :func:`compact_profile` of the table, never the rows:

    >>> import pandas as pd
    >>> f = pd.DataFrame({"age": [31, 45, None, 52], "plan": ["basic", "pro", "pro", "basic"]})
    >>> p = compact_profile(f, redact_examples=True)
    >>> p["n_rows"], p["columns"][0]["name"], p["columns"][0]["missing_rate"], "examples" in p["columns"][0]
    (4, 'age', 0.25, False)
    >>> compact_profile(f)["columns"][1]["examples"]
    ['basic', 'pro']
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from lamarck.errors import ConfigError, LLMUnavailableError, PlanError
from lamarck.evaluate import DEFAULT_METRIC, METRICS, get_metric, metrics_for
from lamarck.plan._client import LLMClient, Transcript, extract_json
from lamarck.plan._rules import RulePlanner, parse_latency, positive_class_of
from lamarck.plan._spec import Reason, TaskSpec
from lamarck.plan._verify import PlanIssue, verify_all

__all__ = ["PLAN_FIELDS", "LLMPlanner", "compact_profile", "configured_client", "llm_client", "planner_for"]

log = logging.getLogger(__name__)

#: the fields the LLM answers and the verifier checks
PLAN_FIELDS = ("target", "task", "metric", "time_budget_s", "exclude_columns", "positive_class")

_TASKS = ("binary", "multiclass", "regression")


def compact_profile(
    frame: pd.DataFrame, *, redact_examples: bool = False, max_columns: int = 150
) -> dict[str, Any]:
    """Column names, kinds, dtypes, missing rates, cardinalities and (unless redacted) 3 example values."""
    from lamarck.data import profile

    prof = profile(frame.iloc[:, :max_columns])
    cols = []
    for c in prof.columns:
        entry: dict[str, Any] = {
            "name": c.name,
            "kind": c.kind,
            "dtype": c.dtype,
            "missing_rate": round(c.missing_rate, 3),
            "n_unique": c.n_unique,
        }
        if c.role in ("id", "constant"):
            entry["note"] = c.reason
        if not redact_examples:
            entry["examples"] = [e[:30] for e in c.examples[:3]]
        cols.append(entry)
    out: dict[str, Any] = {"n_rows": prof.n_rows, "n_columns": int(frame.shape[1]), "columns": cols}
    if frame.shape[1] > max_columns:
        out["note"] = f"only the first {max_columns} of {frame.shape[1]} columns are listed"
    return out


def _plan_schema() -> dict[str, Any]:
    reason_props = {k: {"type": "string"} for k in PLAN_FIELDS}
    return {
        "type": "object",
        "properties": {
            "target": {"type": "string", "description": "exact name of the column to predict"},
            "task": {"type": "string", "enum": list(_TASKS)},
            "metric": {"type": "string", "enum": sorted(METRICS)},
            "time_budget_s": {
                "type": ["number", "null"],
                "description": "seconds named in the sentence, else null",
            },
            "exclude_columns": {"type": "array", "items": {"type": "string"}},
            "positive_class": {"type": ["string", "null"]},
            "alternative_targets": {"type": "array", "items": {"type": "string"}},
            "reasons": {"type": "object", "properties": reason_props},
        },
        "required": ["target", "task", "metric", "time_budget_s", "exclude_columns", "positive_class"],
        "additionalProperties": False,
    }


def _system_prompt() -> str:
    metric_lines = "\n".join(
        f"- {t}: {', '.join(metrics_for(t))} (usual: {DEFAULT_METRIC[t]})" for t in _TASKS
    )
    return (
        "You plan machine-learning tasks for Lamarck, an AutoML system. From a user's sentence and a profile "
        "of their table (never the rows), decide which column to predict and how to judge models.\n"
        "Answer with one JSON object only, with these keys:\n"
        '  "target": the exact column name to predict (copy it from the profile);\n'
        '  "task": "binary" (2 classes), "multiclass" (3+ classes) or "regression" (a number);\n'
        '  "metric": a metric name that fits the task (see below); the one the sentence asks for, else the usual one;\n'
        '  "time_budget_s": seconds if the sentence names a time limit, else null;\n'
        '  "exclude_columns": columns the sentence says not to use (exact names), else [];\n'
        '  "positive_class": for binary tasks the value of the target that is the event of interest, else null;\n'
        '  "alternative_targets": other columns that the sentence could plausibly mean as the target, else [];\n'
        '  "reasons": an object with one short reason per key above.\n'
        f"Metrics by task:\n{metric_lines}\n"
        "Never invent column names. If two columns fit the sentence equally well, pick one and list the other "
        "in alternative_targets."
    )


def _user_prompt(sentence: str, profile: dict[str, Any]) -> str:
    return (
        f"Sentence: {json.dumps(sentence, ensure_ascii=False)}\n"
        f"Table profile (JSON): {json.dumps(profile, ensure_ascii=False, separators=(',', ':'))}\n"
        "Answer with the JSON object."
    )


class _Answer(BaseModel):
    """The shape of an answer after normalisation; validation errors become per-field repair messages."""

    target: str
    task: str
    metric: str
    time_budget_s: float | None = None
    exclude_columns: list[str] = Field(default_factory=list)
    positive_class: str | None = None


def _normalise(raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    if isinstance(out.get("metric"), str):
        with contextlib.suppress(PlanError):
            out["metric"] = get_metric(out["metric"]).name
    if isinstance(out.get("task"), str):
        out["task"] = out["task"].strip().lower()
    pc = out.get("positive_class")
    if pc is not None and not isinstance(pc, str):
        out["positive_class"] = str(pc).lower() if isinstance(pc, bool) else str(pc)
    if out.get("exclude_columns") is None:
        out["exclude_columns"] = []
    return out


def _field_issues(raw: dict[str, Any]) -> tuple[dict[str, Any], list[PlanIssue]]:
    """The fields of ``raw`` that have the right types (coerced), and an issue for each that has not."""
    good: dict[str, Any] = {}
    issues: list[PlanIssue] = []
    for name, info in _Answer.model_fields.items():
        if name not in raw:
            if info.is_required():
                issues.append(PlanIssue(name, f"field {name!r} is missing from the answer."))
            continue
        annotation = info.annotation
        assert annotation is not None  # every field of _Answer is annotated
        try:
            good[name] = TypeAdapter(annotation).validate_python(raw[name])
        except ValidationError as e:
            msg = e.errors()[0]["msg"]
            issues.append(
                PlanIssue(name, f"field {name!r}: {msg} (got {json.dumps(raw[name], default=str)}).")
            )
    if "task" in good and good["task"] not in _TASKS:
        issues.append(PlanIssue("task", f"task {good['task']!r} is not one of {', '.join(_TASKS)}."))
        good.pop("task")
    return good, issues


class LLMPlanner:
    """Plans with a language model at an OpenAI-compatible endpoint; verified, repaired, or replaced by rules.

    ``audit_dir`` receives one JSON-lines file per planning (prompt, answer and verdict of each exchange).
    ``timeout_s`` bounds the whole planning, repairs included.
    """

    def __init__(
        self,
        *,
        client: LLMClient,
        max_repairs: int = 3,
        timeout_s: float = 60.0,
        redact_examples: bool = False,
        default_time_budget_s: float = 60.0,
        audit_dir: Path | None = None,
        fallback: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.max_repairs = max_repairs
        self.timeout_s = timeout_s
        self.redact_examples = redact_examples
        self.default_time_budget_s = default_time_budget_s
        self.audit_dir = audit_dir
        self.fallback = fallback
        self.clock = clock

    def _rules(self) -> Any:
        return self.fallback or RulePlanner(default_time_budget_s=self.default_time_budget_s)

    def plan(self, frame: pd.DataFrame, sentence: str, **_: Any) -> TaskSpec:
        deadline = self.clock() + self.timeout_s
        transcript = Transcript(self.audit_dir, "plan", secrets=self.client.secrets)
        profile = compact_profile(frame, redact_examples=self.redact_examples)
        messages = [
            {"role": "system", "content": _system_prompt()},
            {"role": "user", "content": _user_prompt(sentence, profile)},
        ]
        accepted: dict[str, Any] = {}  # fields that passed the verifier, with the LLM's reasons
        llm_reasons: dict[str, str] = {}
        alternatives: list[str] = []
        failing: list[PlanIssue] = []
        asked: set[str] = set(PLAN_FIELDS)  # the fields the last message asked for
        for attempt in range(self.max_repairs + 1):
            try:
                reply = self.client.complete(
                    messages, schema=_plan_schema(), name="task_spec", deadline=deadline
                )
            except LLMUnavailableError as e:
                transcript.add(
                    attempt=attempt, messages=messages, answer=None, error=str(e), verdict="unavailable"
                )
                return self._fall_back(frame, sentence, accepted, failing, f"LLM planner unavailable: {e}")
            raw = extract_json(reply.text)
            if raw is None:
                failing = [
                    *[i for i in failing if i.field != "answer"],
                    PlanIssue(
                        "answer",
                        "your answer is not a JSON object (it could not be parsed). Answer with the JSON object only.",
                    ),
                ]
            else:
                raw = _normalise(raw)
                if isinstance(raw.get("reasons"), dict):
                    llm_reasons.update({k: str(v) for k, v in raw["reasons"].items() if k in asked})
                if attempt == 0 and isinstance(raw.get("alternative_targets"), list):
                    alternatives = [str(a) for a in raw["alternative_targets"]]
                typed, type_issues = _field_issues(raw)
                candidate = {
                    **accepted,
                    **{k: v for k, v in typed.items() if k in asked or k not in accepted},
                }
                typed_bad = {i.field for i in type_issues}
                failing = [
                    *[i for i in type_issues if i.field in asked or i.field not in accepted],
                    *[i for i in self._check(frame, sentence, candidate) if i.field not in typed_bad],
                ]
                bad = {i.field for i in failing}
                accepted = {k: v for k, v in candidate.items() if k not in bad}
                if "target" in bad:  # task and positive class depend on the target: ask for them too
                    for k in ("task", "positive_class"):
                        accepted.pop(k, None)
                asked = bad | (set(PLAN_FIELDS) - set(accepted))
            verdict = "ok" if not failing else [{"field": i.field, "message": i.message} for i in failing]
            transcript.add(
                attempt=attempt,
                mode=reply.mode,
                seconds=reply.seconds,
                messages=messages,
                answer=reply.text,
                verdict=verdict,
            )
            if not failing:
                return self._spec(frame, sentence, accepted, llm_reasons, alternatives)
            if attempt < self.max_repairs:
                messages = [
                    *messages,
                    {"role": "assistant", "content": reply.text},
                    {"role": "user", "content": _repair_prompt(failing)},
                ]
        why = "; ".join(f"{i.field}: {i.message}" for i in failing)
        return self._fall_back(
            frame,
            sentence,
            accepted,
            failing,
            f"after {self.max_repairs} repairs the LLM's answer still fails ({why})",
        )

    # ------------------------------------------------------------------ helpers

    def _check(self, frame: pd.DataFrame, sentence: str, fields: dict[str, Any]) -> list[PlanIssue]:
        """The verifier's issues of a candidate (missing fields are reported as such)."""
        missing = [k for k in ("target", "task", "metric") if k not in fields]
        if missing:
            return [PlanIssue(k, f"field {k!r} is missing or has the wrong type.") for k in missing]
        spec = self._spec(frame, sentence, fields, {}, [], check_only=True)
        return verify_all(spec, frame)

    def _spec(
        self,
        frame: pd.DataFrame,
        sentence: str,
        fields: dict[str, Any],
        llm_reasons: dict[str, str],
        alternatives: list[str],
        *,
        check_only: bool = False,
    ) -> TaskSpec:
        model = getattr(self.client, "model", "llm")
        reasons = {
            k: Reason(source="llm", text=llm_reasons.get(k) or f"chosen by the LLM planner ({model})")
            for k in PLAN_FIELDS
            if k in fields
        }
        data = {k: fields.get(k) for k in PLAN_FIELDS}
        if data["time_budget_s"] is None:
            data["time_budget_s"] = self.default_time_budget_s
            reasons["time_budget_s"] = Reason(
                source="default",
                text=f"the sentence names no budget; default {self.default_time_budget_s:g} s",
            )
        data["exclude_columns"] = list(dict.fromkeys(data.get("exclude_columns") or []))
        latency = parse_latency(sentence)  # read by the rule: the LLM's answer has no such field
        if latency:
            data["max_latency_ms"] = latency[0]
            reasons["max_latency_ms"] = Reason(source="sentence", text=f"{latency[1]!r}")
        target = str(data["target"])
        if data["task"] == "binary" and data["positive_class"] is None and target in frame.columns:
            data["positive_class"], reasons["positive_class"] = positive_class_of(frame[target], sentence)
        if data["task"] != "binary":
            data["positive_class"] = None
            reasons.pop("positive_class", None)
        notes: list[str] = []
        if not check_only:
            alts = [a for a in alternatives if a in frame.columns and a != target]
            if alts:
                names = " and ".join(repr(a) for a in [target, *alts])
                notes.append(
                    f"the sentence is ambiguous: {names} could all be the target; chose {target!r}. "
                    f"Fix: --target {alts[0]} if you meant that."
                )
                log.info(notes[-1])
        return TaskSpec.model_validate(
            {**data, "sentence": sentence, "reasons": reasons, "planner": "llm", "notes": notes}
        )

    def _fall_back(
        self,
        frame: pd.DataFrame,
        sentence: str,
        accepted: dict[str, Any],
        failing: list[PlanIssue],
        why: str,
    ) -> TaskSpec:
        try:
            rules = self._rules().plan(frame, sentence)
        except PlanError as e:
            raise PlanError(f"{why.rstrip('.')}; the rule planner could not plan either: {e}") from None
        bad = {i.field for i in failing}
        if (
            accepted
            and failing
            and "target" not in bad
            and "answer" not in bad
            and {"target", "task"} <= set(accepted)
        ):
            # keep what the LLM got right, take the fields that still fail from the rule planner
            fields = {**accepted, **{k: getattr(rules, k) for k in bad if k in PLAN_FIELDS}}
            spec = self._spec(frame, sentence, fields, {}, [], check_only=True)
            if not verify_all(spec, frame):
                reasons = dict(spec.reasons)
                for k in bad & set(PLAN_FIELDS):
                    r = rules.reasons.get(k)
                    reasons[k] = Reason(
                        source=r.source if r else "default",
                        text=f"rule planner (the LLM's answer failed verification): {r.text if r else ''}".strip(),
                    )
                note = f"{why.rstrip('.')}; the field(s) {sorted(bad)} come from the rule planner."
                log.info(note)
                return spec.model_copy(update={"reasons": reasons, "planner": "llm+rules", "notes": [note]})
        note = f"{why.rstrip('.')}; used the rule planner."
        log.info(note)
        return rules.model_copy(update={"notes": [*rules.notes, note]})


def _repair_prompt(failing: list[PlanIssue]) -> str:
    fields = sorted({i.field for i in failing})
    if fields == ["answer"]:
        return failing[0].message + " Use the keys described in the first message."
    lines = "\n".join(f"- {i.field}: {i.message}" for i in failing)
    return (
        f"The verifier checked your answer against the data and rejected {', '.join(fields)}:\n{lines}\n"
        f"Answer again with the whole JSON object; keep the other fields and change only {', '.join(fields)}."
    )


def llm_client(settings: Any) -> LLMClient:
    """The client the settings describe (base URL, key, model, retries, seed)."""
    return LLMClient(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        request_timeout_s=min(settings.llm_timeout_s, 60.0),
        max_retries=settings.llm_max_retries,
        seed=settings.seed,
    )


def configured_client(settings: Any, *, flag: str = "--llm") -> LLMClient:
    """The settings' client, or :class:`ConfigError` naming ``flag`` when no endpoint or model is set."""
    if not settings.llm_base_url:
        raise ConfigError(
            f"{flag} needs an LLM endpoint, but LAMARCK_LLM_BASE_URL is empty. Fix: set LAMARCK_LLM_BASE_URL "
            "(e.g. http://localhost:11434/v1), LAMARCK_LLM_MODEL and LAMARCK_LLM_API_KEY, or llm_base_url / "
            f"llm_model / llm_api_key in lamarck.toml; or drop {flag}."
        )
    if not settings.llm_model:
        raise ConfigError(
            f"LLM endpoint {settings.llm_base_url!r} is set but LAMARCK_LLM_MODEL is empty. Fix: set "
            f"LAMARCK_LLM_MODEL (or llm_model in lamarck.toml) to a model that endpoint serves, or drop {flag}."
        )
    return llm_client(settings)


def planner_for(settings: Any, *, llm: bool | None = None, audit_dir: Path | None = None) -> Any:
    """The planner to use: ``llm=True`` forces the LLM, ``False`` forbids it, ``None`` uses it when configured."""
    rules = RulePlanner(default_time_budget_s=settings.default_time_budget_s)
    configured = bool(settings.llm_base_url)
    if llm is False or (llm is None and not configured):
        return rules
    return LLMPlanner(
        client=configured_client(settings, flag="--llm"),
        timeout_s=settings.llm_timeout_s,
        redact_examples=settings.llm_redact_examples,
        default_time_budget_s=settings.default_time_budget_s,
        audit_dir=audit_dir,
        fallback=rules,
    )
