"""One settings object: ``lamarck.toml`` in the project folder, then ``LAMARCK_*`` variables, then flags.

    >>> s = Settings(project_dir="/tmp/example-project")
    >>> s.registry_uri.startswith("sqlite:///")
    True
    >>> s.seed
    0

Later sources win: a flag passed to :meth:`Settings.load` overrides the environment, which overrides
the file. URLs of the store, the registry and the Optuna storage are settings, so one machine runs on
SQLite and a team moves to PostgreSQL without touching code.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lamarck.errors import ConfigError

__all__ = ["SETTINGS_FILE", "Settings", "nearest_setting"]

SETTINGS_FILE = "lamarck.toml"


class Settings(BaseSettings):
    """Everything configurable about a project. Field names map to ``LAMARCK_<NAME>`` variables."""

    model_config = SettingsConfigDict(env_prefix="LAMARCK_", extra="forbid")

    project_dir: Path = Field(default=Path(".lamarck"), description="Folder that holds the project.")
    registry_uri: str = Field(
        default="", description="MLflow tracking/registry URI; default SQLite in the project."
    )
    store_url: str = Field(
        default="", description="SQLAlchemy URL of the event store; default SQLite in the project."
    )
    optuna_storage: str = Field(
        default="", description="Optuna RDB storage URL; empty keeps studies in memory."
    )
    knowledge_url: str = Field(
        default="",
        description="SQLAlchemy URL of the user-level knowledge base that every project on the machine "
        "shares (meta-features and trials of past fits); default SQLite at "
        "$XDG_DATA_HOME/lamarck/knowledge.db, else ~/.local/share/lamarck/knowledge.db.",
    )
    knowledge_base: bool = Field(
        default=True,
        description="Record each fit in the user-level knowledge base and start from it (the project's "
        "own knowledge.db is written either way). A failing write is logged and never fails a fit.",
    )
    warm_start: bool = Field(
        default=True,
        description="Seed each search with the configurations of the nearest earlier tasks (the knowledge "
        "base first, then the portfolio shipped with Lamarck).",
    )
    text_encoding: Literal["auto", "tfidf", "embedding"] = Field(
        default="auto",
        description="How free-text columns become features: TF-IDF + SVD, sentence embeddings + PCA (the "
        "neural extra), or auto: embeddings when they score better out of fold on a sample and encoding "
        "every row costs at most a quarter of the budget.",
    )
    seed: int = Field(default=0, description="Seed of every random choice.")
    n_jobs: int = Field(default=2, ge=1, le=512, description="Threads a learner may use.")
    cluster: str = Field(
        default="",
        description="Dask scheduler address (e.g. tcp://10.0.0.5:8786) whose workers run a fit's trials "
        "(needs lamarck[cluster]); empty runs them in the fitting process.",
    )
    cluster_artifacts: str = Field(
        default="",
        description="A folder or fsspec URL (s3://bucket/lamarck, ...) that the Dask workers and the fitting "
        "process reach: workers write trials' fold models there and only the kept trials' are read back; "
        "empty: the models travel back with each task.",
    )
    default_time_budget_s: float = Field(
        default=60.0, gt=0, description="Budget when the sentence names none."
    )
    early_stop: bool = Field(
        default=True,
        description="Stop the search before its budget when the best out-of-fold score has not improved "
        "by 0.1 % over the last 15 trials and a quarter of the budget is spent (false: use the whole budget).",
    )
    llm_base_url: str = Field(default="", description="OpenAI-compatible endpoint for the LLM planner.")
    llm_api_key: str = Field(default="", repr=False, description="API key of that endpoint (never stored).")
    llm_model: str = Field(default="", description="Model name at that endpoint.")
    llm_timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="Wall-clock limit of one LLM step (plan, features, review)."
    )
    llm_max_retries: int = Field(
        default=3, ge=0, le=10, description="Retries on 429 / 5xx / lost connections."
    )
    llm_redact_examples: bool = Field(
        default=False,
        description="Send no example values of the columns to the LLM (names, types, rates only).",
    )

    online_layer: bool = Field(
        default=True,
        description="Serve the champion with its online layer: every label is learned at once and the "
        "answer moves away from the champion's only where that was measurably better on recent labels.",
    )
    layer_checkpoint_every: int = Field(
        default=1000, ge=1, description="Labels the online layer learns between two checkpoints."
    )
    layer_warm_labels: int = Field(
        default=2000,
        ge=0,
        description="Recent labels a new champion's online layer is warmed on (and the most a restored "
        "layer replays; beyond that it starts fresh).",
    )

    max_rows_per_request: int = Field(
        default=10_000, ge=1, le=100_000, description="Rows (or feedback items) one request may send (413)."
    )
    max_value_bytes: int = Field(
        default=65_536, ge=1, description="UTF-8 bytes of one string value in a row (413)."
    )
    max_column_name_bytes: int = Field(
        default=256, ge=1, description="UTF-8 bytes of one column name in a row (413)."
    )
    max_depth: int = Field(
        default=32, ge=1, le=200, description="Nesting of lists and objects inside a row's value (422)."
    )
    max_request_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Bytes of one request body, counted as they arrive, before any parsing (413).",
    )

    @model_validator(mode="after")
    def _defaults_inside_project(self) -> Settings:
        root = Path(self.project_dir).expanduser().resolve()
        self.project_dir = root
        if not self.registry_uri:
            self.registry_uri = f"sqlite:///{root / 'mlflow.db'}"
        if not self.store_url:
            self.store_url = f"sqlite:///{root / 'events.db'}"
        return self

    @classmethod
    def load(cls, project_dir: str | Path = ".lamarck", **overrides: Any) -> Settings:
        """Read ``lamarck.toml`` from ``project_dir``, then the environment, then ``overrides``.

        A key of the file that is not a setting is a :class:`ConfigError` naming the key, the file and the
        nearest setting (a typo would otherwise be ignored and its default used without a word).
        Unknown ``LAMARCK_*`` variables are left alone: other tools (``LAMARCK_PROJECT``,
        ``LAMARCK_SHARED``...) read theirs.
        """
        path = Path(project_dir) / SETTINGS_FILE
        from_file: dict[str, Any] = {}
        if path.exists():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(
                    f"settings file {path} is not valid TOML ({e}). Fix the file or delete it to use defaults."
                ) from None
            from_file = _settings_table(raw, path)
        try:
            env = cls(project_dir=Path(project_dir))  # environment variables only
        except ValidationError as e:
            raise _config_error(e, path=path, from_file={}, from_env=None) from None
        from_env = {k: v for k, v in env.model_dump().items() if k in env.model_fields_set}
        merged = {**from_file, **from_env}
        merged.update({k: v for k, v in overrides.items() if v is not None})
        merged["project_dir"] = project_dir
        try:
            return cls(**merged)
        except ValidationError as e:
            raise _config_error(e, path=path, from_file=from_file, from_env=from_env) from None


def _settings_table(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """The settings of a parsed ``lamarck.toml``: its ``[lamarck]`` table when it has one (then nothing
    else may sit beside it), else its top-level keys."""
    table = raw.get("lamarck")
    if not isinstance(table, dict):
        return dict(raw)
    outside = [k for k in raw if k != "lamarck"]
    if outside:
        raise ConfigError(
            f"settings file {path} has key(s) {outside} outside its [lamarck] table, where they would be "
            "ignored. Fix: move them into the [lamarck] table (or drop the table header and keep every "
            "setting at the top level)."
        )
    return dict(table)


def nearest_setting(key: str) -> str | None:
    """The setting whose name is closest to ``key``, if any is close.

    >>> nearest_setting("n_job"), nearest_setting("LLM-MODEL"), nearest_setting("banana")
    ('n_jobs', 'llm_model', None)
    """
    wanted = str(key).strip().lower().replace("-", "_")
    names = [n for n in Settings.model_fields if n != "project_dir"]
    found = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    return found[0] if found else None


def _config_error(
    error: ValidationError, *, path: Path, from_file: dict[str, Any], from_env: dict[str, Any] | None
) -> ConfigError:
    """One :class:`ConfigError` for pydantic's errors: each names the setting, where it came from (the
    file, a ``LAMARCK_*`` variable, an argument; ``from_env=None``: every value came from the
    environment) and the value; an unknown key also names the nearest setting."""
    settings = [n for n in Settings.model_fields if n != "project_dir"]
    problems, renames = [], []
    for e in error.errors():
        key = str(e["loc"][0]) if e["loc"] else "?"
        if key in from_file:
            where = f"in {path}"
        elif from_env is None or key in from_env:
            where = f"from the variable LAMARCK_{key.upper()}"
        else:
            where = "passed to Settings.load"
        if e["type"] == "extra_forbidden":
            near = nearest_setting(key)
            problems.append(
                f"unknown setting {key!r} {where} ("
                + (f"nearest valid key: {near!r})" if near else "no setting has a similar name)")
            )
            renames.append(f"rename {key} to {near}" if near else f"delete {key}")
        else:
            value = "(hidden)" if "key" in key else repr(e.get("input"))[:80]
            problems.append(f"invalid setting {key} = {value} {where}: {e['msg']}")
    fix = []
    if renames:
        fix.append(f"{', '.join(renames)} (the settings are: {', '.join(settings)})")
    if len(renames) < len(problems):
        fix.append(f"correct the value in {path} or the LAMARCK_* variable")
    return ConfigError("; ".join(problems) + ". Fix: " + "; ".join(fix) + ".")
