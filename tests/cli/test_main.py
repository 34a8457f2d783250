"""``lamarck.cli.main``: usage errors, user errors and interruptions end with a message and an exit code."""

import pytest

from lamarck.cli import main
from lamarck.errors import ConfigError
from lamarck.project import Project


@pytest.mark.parametrize("argv", [["nosuch"], ["fit"], ["evolve", "--min-new-labels", "x"]])
def test_a_usage_error_is_a_message_and_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "Usage: lamarck" in err


def test_a_lamarck_error_is_one_panel_and_its_exit_code(tmp_path, monkeypatch, capsys):
    def refuse(self, policy=None):
        raise ConfigError("the rule, the value and the fix")

    monkeypatch.setattr(Project, "evolve", refuse)
    assert main(["evolve", "--project", str(tmp_path)]) == ConfigError("x").exit_code != 0
    err = capsys.readouterr().err
    assert "the rule, the value and the fix" in err and "Traceback" not in err


def test_ctrl_c_exits_130(tmp_path, monkeypatch):
    def interrupted(self, policy=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Project, "evolve", interrupted)
    assert main(["evolve", "--project", str(tmp_path)]) == 130


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "Usage: lamarck" in capsys.readouterr().out
