"""`lamarck bench` keeps the user's knowledge base out of a benchmark, and leaves the environment as it was."""

import os

from typer.testing import CliRunner

from lamarck.cli import app


def test_a_benchmark_runs_without_the_user_knowledge_base_and_restores_the_environment(monkeypatch):
    import lamarck.bench as bench

    seen: list[str | None] = []
    monkeypatch.setitem(
        bench.PARTS, "probe", lambda args, console: seen.append(os.environ.get("LAMARCK_KNOWLEDGE_BASE"))
    )
    monkeypatch.delenv("LAMARCK_KNOWLEDGE_BASE", raising=False)
    result = CliRunner().invoke(app, ["bench", "--part", "probe"])
    assert result.exit_code == 0, result.output
    assert seen == ["false"] and "LAMARCK_KNOWLEDGE_BASE" not in os.environ
    monkeypatch.setenv("LAMARCK_KNOWLEDGE_BASE", "true")  # the user's own choice is kept
    assert CliRunner().invoke(app, ["bench", "--part", "probe"]).exit_code == 0
    assert seen[-1] == "true" and os.environ["LAMARCK_KNOWLEDGE_BASE"] == "true"
