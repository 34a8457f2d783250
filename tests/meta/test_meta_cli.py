"""``lamarck meta build``: its help, and a one-dataset build that writes a portfolio and its log."""

import json

import pytest

from lamarck.cli import main
from lamarck.meta import load_portfolio


def test_help_explains_the_build(capsys):
    assert main(["meta", "build", "--help"]) == 0
    out = capsys.readouterr().out
    assert "meta_exclude.txt" in out and "--budget" in out


@pytest.mark.slow
def test_a_small_build_writes_the_portfolio_and_its_log(tmp_path, shared_dir, monkeypatch):
    monkeypatch.setenv("LAMARCK_SHARED", str(shared_dir))
    out = tmp_path / "portfolio.json"
    assert main(["meta", "build", "--cases", "sklearn:iris", "--budget", "8", "--output", str(out)]) == 0
    portfolio = load_portfolio(out)
    [task] = portfolio.tasks
    assert task.name == "sklearn:iris" and task.task == "multiclass" and task.configs
    assert json.loads(out.read_text())["built_with"]["command"].startswith("lamarck meta build")
    log = (tmp_path / "portfolio_build.log").read_text().splitlines()
    assert log[-1].startswith("sklearn:iris\tmulticlass\tlog_loss\t150\t4\t")
