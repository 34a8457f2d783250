import pytest

from lamarck.errors import ConfigError
from lamarck.settings import Settings, nearest_setting


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


@pytest.mark.parametrize(
    ("text", "key", "nearest"),
    [
        ("n_job = 2\n", "n_job", "'n_jobs'"),
        ("seed = 1\nllm-model = 'x'\n", "llm-model", "'llm_model'"),
        ("[lamarck]\ndefault_time_budget = 30\n", "default_time_budget", "'default_time_budget_s'"),
        ("banana = 1\n", "banana", None),
    ],
)
def test_an_unknown_key_names_the_key_the_file_and_the_nearest_setting(tmp_path, text, key, nearest):
    (tmp_path / "lamarck.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        Settings.load(tmp_path)
    message = str(err.value)
    assert f"unknown setting {key!r} in {tmp_path / 'lamarck.toml'}" in message
    if nearest:
        assert f"nearest valid key: {nearest}" in message and f"rename {key} to {nearest[1:-1]}" in message
    else:
        assert "no setting has a similar name" in message and f"delete {key}" in message
    assert "the settings are: registry_uri, store_url" in message and "Fix:" in message


def test_nearest_setting():
    assert nearest_setting("store_uri") == "store_url"
    assert nearest_setting("SEED") == "seed"
    assert nearest_setting("zzz") is None


def test_keys_beside_the_lamarck_table_are_refused_and_the_table_alone_is_read(tmp_path):
    (tmp_path / "lamarck.toml").write_text("seed = 1\n[lamarck]\nn_jobs = 3\n")
    with pytest.raises(ConfigError, match=r"key\(s\) \['seed'\] outside its \[lamarck\] table"):
        Settings.load(tmp_path)
    (tmp_path / "lamarck.toml").write_text("[lamarck]\nn_jobs = 3\nseed = 1\n")
    assert (Settings.load(tmp_path).n_jobs, Settings.load(tmp_path).seed) == (3, 1)


def test_unknown_environment_variables_are_left_alone_and_known_ones_still_work(tmp_path, monkeypatch):
    for name in (
        "LAMARCK_PROJECT",
        "LAMARCK_SHARED",
        "LAMARCK_PEERS_DIR",
        "LAMARCK_LOG_LEVEL",
        "LAMARCK_N_JOB",
    ):
        monkeypatch.setenv(name, "whatever")  # read by the CLI, the bench, logging... or nobody
    monkeypatch.setenv("LAMARCK_N_JOBS", "3")
    assert Settings.load(tmp_path).n_jobs == 3
    monkeypatch.setenv("LAMARCK_SEED", "abc")
    with pytest.raises(ConfigError, match="invalid setting seed = 'abc' from the variable LAMARCK_SEED"):
        Settings.load(tmp_path)


def test_a_bad_value_names_the_setting_the_value_and_where_it_came_from(tmp_path):
    (tmp_path / "lamarck.toml").write_text("n_jobs = 0\nllm_api_key = 5\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(tmp_path)
    message = str(err.value)
    assert f"invalid setting n_jobs = 0 in {tmp_path / 'lamarck.toml'}: Input should be greater" in message
    assert "llm_api_key = (hidden)" in message  # a key is never echoed
    assert "Fix: correct the value" in message
