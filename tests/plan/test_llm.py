"""The LLM planner against a scripted OpenAI-compatible stub server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamarck.cli import main
from lamarck.errors import ConfigError, LLMAuthError, LLMEndpointError, PlanError
from lamarck.plan import LLMClient, LLMPlanner, RulePlanner, make_plan, planner_for
from lamarck.settings import Settings

KEY = "sk-test-secret-4242"
SENTENCE = "predict whether a customer churned, optimize AUC"


@pytest.fixture
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "age": rng.integers(18, 80, n),
            "monthly_fee": rng.normal(40, 10, n).round(2),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "support_calls": rng.integers(0, 9, n),
            "churned": rng.choice(["yes", "no"], n),
        }
    )


def answer(**fields: object) -> str:
    base: dict[str, object] = {
        "target": "churned",
        "task": "binary",
        "metric": "roc_auc",
        "time_budget_s": None,
        "exclude_columns": [],
        "positive_class": "yes",
        "alternative_targets": [],
        "reasons": {"target": "'churned' names the churn column", "metric": "'optimize AUC'"},
    }
    base.update(fields)
    return json.dumps(base)


def planner(stub_url: str, tmp_path: Path, **kw: object) -> LLMPlanner:
    client = LLMClient(
        base_url=stub_url,
        model="stub-model",
        api_key=KEY,
        request_timeout_s=float(kw.pop("request_timeout_s", 5.0)),  # type: ignore[arg-type]
        max_retries=int(kw.pop("max_retries", 2)),  # type: ignore[arg-type]
        backoff_s=0.01,
        sleep=kw.pop("sleep", time.sleep),  # type: ignore[arg-type]
    )
    return LLMPlanner(client=client, audit_dir=tmp_path / "llm", **kw)  # type: ignore[arg-type]


def audit_lines(tmp_path: Path) -> list[dict]:
    files = sorted((tmp_path / "llm").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def no_key_on_disk(tmp_path: Path) -> bool:
    return all(KEY not in p.read_text() for p in tmp_path.rglob("*") if p.is_file())


def test_correct_answer_is_taken_and_audited(llm_stub, customers, tmp_path):
    llm_stub.answers(answer())
    spec = planner(llm_stub.base_url, tmp_path).plan(customers, SENTENCE)
    assert (spec.target, spec.task, spec.metric, spec.positive_class) == (
        "churned",
        "binary",
        "roc_auc",
        "yes",
    )
    assert spec.planner == "llm"
    assert spec.reasons["target"].source == "llm" and "churn" in spec.reasons["target"].text
    assert spec.reasons["time_budget_s"].source == "default"
    assert len(llm_stub.requests) == 1
    req = llm_stub.requests[0]
    assert req["model"] == "stub-model" and req["response_format"]["type"] == "json_schema"
    prompt = req["messages"][-1]["content"]
    assert SENTENCE in prompt and "support_calls" in prompt and "missing_rate" in prompt
    assert all(str(v) not in prompt for v in customers["monthly_fee"].iloc[60:70])  # a profile, not the rows
    assert llm_stub.headers[0]["authorization"] == f"Bearer {KEY}"  # the key is sent...
    lines = audit_lines(tmp_path)
    assert len(lines) == 1 and lines[0]["verdict"] == "ok" and lines[0]["answer"] == answer()
    assert no_key_on_disk(tmp_path)  # ...and never written


def test_wrong_column_is_repaired_with_the_verifiers_message(llm_stub, customers, tmp_path):
    llm_stub.answers(answer(target="churn", reasons={}), answer())
    spec = planner(llm_stub.base_url, tmp_path).plan(customers, SENTENCE)
    assert spec.target == "churned" and spec.planner == "llm"
    assert len(llm_stub.requests) == 2
    repair = llm_stub.last_user_message
    assert "target column 'churn' is not in the data" in repair
    assert "metric" not in repair.split("rejected", 1)[1].split("\n")[0]  # only the failing field is named
    assert llm_stub.requests[1]["messages"][-2]["role"] == "assistant"
    assert [line["verdict"] == "ok" for line in audit_lines(tmp_path)] == [False, True]


def test_metric_that_does_not_fit_the_task_is_repaired(llm_stub, customers, tmp_path):
    llm_stub.answers(answer(metric="rmse"), answer(metric="roc_auc", target="age"))
    spec = planner(llm_stub.base_url, tmp_path).plan(customers, SENTENCE)
    assert "metric 'rmse' does not fit a binary task" in llm_stub.last_user_message
    # only the failing field is taken from the repair: the target stays the verified one
    assert (spec.target, spec.metric) == ("churned", "roc_auc")


def test_metric_never_repaired_falls_back_to_rules_for_that_field(llm_stub, customers, tmp_path):
    llm_stub.answers(answer(metric="rmse"))
    spec = planner(llm_stub.base_url, tmp_path).plan(customers, SENTENCE)
    assert len(llm_stub.requests) == 4  # the answer and 3 repairs
    assert spec.planner == "llm+rules" and spec.metric == "roc_auc"
    assert spec.reasons["target"].source == "llm" and spec.reasons["metric"].source != "llm"
    assert "rule planner" in spec.reasons["metric"].text
    assert any("after 3 repairs" in n and "metric" in n for n in spec.notes)


def test_wrong_target_never_repaired_falls_back_to_rules_entirely(llm_stub, customers, tmp_path):
    llm_stub.answers(answer(target="nonexistent"))
    spec = planner(llm_stub.base_url, tmp_path, max_repairs=2).plan(customers, SENTENCE)
    assert len(llm_stub.requests) == 3
    assert spec.planner == "rules" and spec.target == "churned"
    assert all(r.source != "llm" for r in spec.reasons.values())
    assert any("used the rule planner" in n for n in spec.notes)


def test_invalid_json_is_asked_again(llm_stub, customers, tmp_path):
    llm_stub.answers('I think the target is "churned" {not json', answer())
    spec = planner(llm_stub.base_url, tmp_path).plan(customers, SENTENCE)
    assert spec.target == "churned" and spec.planner == "llm"
    assert "not a JSON object" in llm_stub.last_user_message


def test_server_with_free_text_only(llm_stub, customers, tmp_path):
    llm_stub.reject_response_format = True
    llm_stub.answers(f"Here is the plan:\n```json\n{answer()}\n```\nGood luck!")
    p = planner(llm_stub.base_url, tmp_path)
    spec = p.plan(customers, SENTENCE)
    assert spec.target == "churned" and spec.planner == "llm"
    kinds = [r.get("response_format", {}).get("type") for r in llm_stub.requests]
    assert kinds == ["json_schema", "json_object", None]
    assert p.client.mode_ == "text"
    p.plan(customers, SENTENCE)  # the mode is remembered
    assert "response_format" not in llm_stub.requests[-1]


def test_server_error_then_success_backs_off(llm_stub, customers, tmp_path):
    delays: list[float] = []
    llm_stub.answers({"status": 500, "error": "overloaded"}, {"status": 429, "error": "slow down"}, answer())
    spec = planner(llm_stub.base_url, tmp_path, sleep=delays.append).plan(customers, SENTENCE)
    assert spec.planner == "llm" and len(llm_stub.requests) == 3
    assert len(delays) == 2 and delays[1] > delays[0] > 0


def test_timeout_falls_back_within_the_limit(llm_stub, customers, tmp_path):
    llm_stub.answers({"sleep": 3, "content": answer()})
    start = time.monotonic()
    spec = planner(llm_stub.base_url, tmp_path, timeout_s=1.0).plan(customers, SENTENCE)
    assert time.monotonic() - start < 2.0
    assert spec.planner == "rules" and spec.target == "churned"
    assert any("unavailable" in n for n in spec.notes)


def test_server_down_falls_back_to_rules(dead_url, customers, tmp_path):
    spec = planner(dead_url, tmp_path, max_retries=1).plan(customers, SENTENCE)
    assert spec.planner == "rules" and spec.target == "churned"
    assert (
        len(spec.notes) == 1
        and "LLM planner unavailable" in spec.notes[0]
        and "APIConnectionError" in spec.notes[0]
    )
    assert audit_lines(tmp_path)[0]["verdict"] == "unavailable"


def test_when_both_planners_fail_the_error_says_both(dead_url, customers, tmp_path):
    with pytest.raises(PlanError, match=r"LLM planner unavailable.*rule planner could not plan either"):
        planner(dead_url, tmp_path, max_retries=0).plan(customers, "what about the weather")


def test_wrong_key_and_wrong_url_are_clear_errors(llm_stub, customers, tmp_path):
    llm_stub.answers({"status": 401, "error": f"invalid api key {KEY}"})
    with pytest.raises(LLMAuthError, match="LAMARCK_LLM_API_KEY") as e:
        planner(llm_stub.base_url, tmp_path).plan(customers, SENTENCE)
    assert KEY not in str(e.value)
    with pytest.raises(LLMEndpointError, match="LAMARCK_LLM_BASE_URL"):
        planner(llm_stub.base_url.removesuffix("/v1") + "/wrong", tmp_path).plan(customers, SENTENCE)


def test_ambiguous_target_names_both(llm_stub, customers, tmp_path):
    llm_stub.answers(answer(alternative_targets=["support_calls", "not_a_column"]))
    spec = planner(llm_stub.base_url, tmp_path).plan(customers, "predict churn or support calls")
    assert spec.notes and "'churned'" in spec.notes[0] and "'support_calls'" in spec.notes[0]
    assert "not_a_column" not in spec.notes[0]


def test_redacted_profile_has_no_example_values(llm_stub, customers, tmp_path):
    llm_stub.answers(answer())
    planner(llm_stub.base_url, tmp_path, redact_examples=True).plan(customers, SENTENCE)
    prompt = llm_stub.requests[0]["messages"][-1]["content"]
    assert "plan" in prompt and "basic" not in prompt and "examples" not in prompt


def test_flags_still_override_the_llm(llm_stub, customers, tmp_path):
    llm_stub.answers(answer())
    spec = make_plan(customers, SENTENCE, planner=planner(llm_stub.base_url, tmp_path), metric="f1")
    assert spec.metric == "f1" and spec.reasons["metric"].source == "flag"
    assert spec.reasons["target"].source == "llm"


def test_planner_choice(tmp_path):
    rules_only = Settings(project_dir=tmp_path)
    assert isinstance(planner_for(rules_only), RulePlanner)
    with pytest.raises(ConfigError, match="LAMARCK_LLM_BASE_URL"):
        planner_for(rules_only, llm=True)
    configured = Settings(project_dir=tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    assert isinstance(planner_for(configured), LLMPlanner)
    assert isinstance(planner_for(configured, llm=False), RulePlanner)
    with pytest.raises(ConfigError, match="LAMARCK_LLM_MODEL"):
        planner_for(Settings(project_dir=tmp_path, llm_base_url="http://x/v1"), llm=True)


def _csv(customers: pd.DataFrame, tmp_path: Path) -> str:
    path = tmp_path / "customers.csv"
    customers.to_csv(path, index=False)
    return str(path)


def test_cli_plan_llm_with_dead_server_falls_back(dead_url, customers, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAMARCK_LLM_BASE_URL", dead_url)
    monkeypatch.setenv("LAMARCK_LLM_MODEL", "stub-model")
    monkeypatch.setenv("LAMARCK_LLM_API_KEY", KEY)
    monkeypatch.setenv("LAMARCK_LLM_MAX_RETRIES", "0")
    project = tmp_path / "proj"
    code = main(["plan", _csv(customers, tmp_path), SENTENCE, "--llm", "--json", "--project", str(project)])
    out = capsys.readouterr()
    assert code == 0
    spec = json.loads(out.out)
    assert spec["planner"] == "rules" and spec["target"] == "churned"
    assert "warning" in out.err.lower() and "unavailable" in out.err
    assert (project / "llm").exists() and no_key_on_disk(project)


def test_cli_plan_llm_and_no_llm(llm_stub, customers, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAMARCK_LLM_BASE_URL", llm_stub.base_url)
    monkeypatch.setenv("LAMARCK_LLM_MODEL", "stub-model")
    llm_stub.answers(answer())
    data = _csv(customers, tmp_path)
    project = str(tmp_path / "proj")
    assert main(["plan", data, SENTENCE, "--json", "--project", project]) == 0  # configured: LLM by default
    assert json.loads(capsys.readouterr().out)["planner"] == "llm"
    assert main(["plan", data, SENTENCE, "--no-llm", "--json", "--project", project]) == 0
    assert json.loads(capsys.readouterr().out)["planner"] == "rules"
    assert len(llm_stub.requests) == 1
    monkeypatch.setenv("LAMARCK_LLM_API_KEY", KEY)
    llm_stub.answers({"status": 401, "error": "bad key"})
    llm_stub.script = [{"status": 401, "error": "bad key"}]
    assert main(["plan", data, SENTENCE, "--project", project]) != 0
    assert "LLMAuthError" in capsys.readouterr().err


def test_settings_from_lamarck_toml(llm_stub, customers, tmp_path, monkeypatch):
    from lamarck.project import Project

    for var in ("LAMARCK_LLM_BASE_URL", "LAMARCK_LLM_MODEL", "LAMARCK_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "lamarck.toml").write_text(
        f'llm_base_url = "{llm_stub.base_url}"\nllm_model = "from-toml"\nllm_redact_examples = true\n'
    )
    llm_stub.answers(answer())
    spec = Project(tmp_path).plan(customers, SENTENCE)
    assert spec.planner == "llm" and llm_stub.requests[0]["model"] == "from-toml"
    assert "examples" not in llm_stub.requests[0]["messages"][-1]["content"]
    assert list((tmp_path / "llm").glob("*-plan.jsonl"))
