"""Opening a project to read it (``Project.existing``, ``create=False``) never makes one on disk."""

import pytest

from lamarck.errors import ConfigError, ProjectNotFoundError
from lamarck.project import Project


def test_existing_refuses_a_missing_folder_and_makes_nothing(tmp_path):
    missing = tmp_path / "nope" / "project"
    with pytest.raises(ProjectNotFoundError) as err:
        Project.existing(missing)
    message = str(err.value)
    assert f"no project at '{missing}': the folder does not exist" in message
    assert "Fix:" in message and f"--project {missing}" in message
    assert isinstance(err.value, ConfigError) and isinstance(err.value, ValueError)
    assert list(tmp_path.iterdir()) == []


def test_existing_refuses_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ProjectNotFoundError, match="is a file, not a folder"):
        Project.existing(tmp_path / "afile")


@pytest.mark.parametrize("part", ["store", "registry"])
def test_a_read_only_project_never_makes_its_folder(tmp_path, part):
    project = Project(tmp_path / "p", create=False)
    with pytest.raises(ProjectNotFoundError):
        getattr(project, part)
    assert list(tmp_path.iterdir()) == []


def test_existing_opens_a_project_and_reads_its_settings(tmp_path):
    Project(tmp_path / "p").store.create_key("admin")  # a write makes the project
    project = Project.existing(tmp_path / "p")
    assert [k["role"] for k in project.store.api_keys()] == ["admin"]
    assert project.status()["champion"] is None
    (tmp_path / "p" / "lamarck.toml").write_text("sed = 3\n")
    with pytest.raises(ConfigError, match="nearest valid key: 'seed'"):
        Project.existing(tmp_path / "p")
