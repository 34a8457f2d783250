import pytest

from lamarck.errors import ConfigError
from lamarck.settings import Settings


def test_file_then_environment_then_flags(tmp_path, monkeypatch):
    (tmp_path / "lamarck.toml").write_text("seed = 3\nn_jobs = 1\ndefault_time_budget_s = 30\n")
    s = Settings.load(tmp_path)
    assert (s.seed, s.n_jobs, s.default_time_budget_s) == (3, 1, 30)
    assert s.registry_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("LAMARCK_SEED", "7")
    assert Settings.load(tmp_path).seed == 7
    assert Settings.load(tmp_path, seed=11).seed == 11


def test_bad_settings_are_clear(tmp_path):
    (tmp_path / "lamarck.toml").write_text("n_jobs = 0\n")
    with pytest.raises(ConfigError, match="n_jobs"):
        Settings.load(tmp_path)
    (tmp_path / "lamarck.toml").write_text("seed = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(tmp_path)
