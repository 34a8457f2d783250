"""``lamarck evolve`` restates none of the policy's defaults: a flag not given leaves the policy's own."""

import dataclasses
import json

import pytest
import typer

from lamarck.cli import app, main
from lamarck.cli._loop import POLICY_FLAGS, evolution_policy
from lamarck.evolve import Decision, EvolutionPolicy
from lamarck.project import Project

FIELDS = {f.name: f for f in dataclasses.fields(EvolutionPolicy)}


def _evolve_params():
    command = typer.main.get_command(app).commands["evolve"]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params if p.name not in ("as_json", "project")}


def test_every_evolve_option_is_a_policy_field_and_defaults_to_none():
    params = _evolve_params()
    assert set(params) == set(POLICY_FLAGS)
    for name, param in params.items():
        assert POLICY_FLAGS[name] in FIELDS, name
        assert param.default is None, name


def test_the_help_shows_the_policys_default():
    for name, param in _evolve_params().items():
        assert param.show_default == str(FIELDS[POLICY_FLAGS[name]].default), name


@pytest.mark.parametrize("seed", [0, 7])
def test_no_flags_is_the_policy_with_the_project_seed(seed):
    assert evolution_policy(seed=seed, **dict.fromkeys(POLICY_FLAGS)) == EvolutionPolicy(seed=seed)


@pytest.mark.parametrize("flag", sorted(POLICY_FLAGS))
def test_each_flag_sets_only_its_field(flag):
    field = POLICY_FLAGS[flag]
    value = FIELDS[field].default * 2 + 1
    policy = evolution_policy(seed=0, **(dict.fromkeys(POLICY_FLAGS) | {flag: value}))
    assert policy == dataclasses.replace(EvolutionPolicy(), **{field: value})


def test_the_command_passes_the_policy_of_the_project(tmp_path, monkeypatch, capsys):
    seen = []

    def fake_evolve(self, policy=None):
        seen.append(policy)
        return Decision("skip", "nothing to do")

    monkeypatch.setenv("LAMARCK_SEED", "5")
    monkeypatch.setattr(Project, "evolve", fake_evolve)
    assert main(["evolve", "--json", "--project", str(tmp_path)]) == 0
    assert main(["evolve", "--json", "--max-forgetting", "0.2", "--project", str(tmp_path)]) == 0
    assert seen == [EvolutionPolicy(seed=5), EvolutionPolicy(seed=5, max_forgetting=0.2)]
    first = capsys.readouterr().out.splitlines()[0]
    assert json.loads(first) == {"kind": "skip", "reason": "nothing to do", "figures": {}, "version": None}
