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

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lamarck.errors import ConfigError

__all__ = ["SETTINGS_FILE", "Settings"]

SETTINGS_FILE = "lamarck.toml"


class Settings(BaseSettings):
    """Everything configurable about a project. Field names map to ``LAMARCK_<NAME>`` variables."""

    model_config = SettingsConfigDict(env_prefix="LAMARCK_", extra="ignore")

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
    seed: int = Field(default=0, description="Seed of every random choice.")
    n_jobs: int = Field(default=2, ge=1, le=512, description="Threads a learner may use.")
    default_time_budget_s: float = Field(
        default=60.0, gt=0, description="Budget when the sentence names none."
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
        """Read ``lamarck.toml`` from ``project_dir``, then the environment, then ``overrides``."""
        path = Path(project_dir) / SETTINGS_FILE
        from_file: dict[str, Any] = {}
        if path.exists():
            try:
                from_file = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(
                    f"settings file {path} is not valid TOML ({e}). Fix the file or delete it to use defaults."
                ) from None
            from_file = dict(from_file.get("lamarck", from_file))
        env = cls(project_dir=Path(project_dir))  # environment variables only
        merged = {**from_file, **{k: v for k, v in env.model_dump().items() if k in env.model_fields_set}}
        merged.update({k: v for k, v in overrides.items() if v is not None})
        merged["project_dir"] = project_dir
        try:
            return cls(**merged)
        except ValueError as e:
            raise ConfigError(f"invalid setting: {e}. Fix {path} or the LAMARCK_* variable.") from None
