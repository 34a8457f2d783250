"""Model registry on MLflow: versions with params, metrics, spec, fingerprint and lineage; aliases.

A promotion is an alias move (``champion``), so a rollback is another alias move. Models are saved as
MLflow pyfunc so ``mlflow.pyfunc.load_model("models:/<name>@champion")`` works too. MLflow is imported
lazily so the CLI starts fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pandas as pd

from lamarck.errors import DataError, ModelNotFoundError
from lamarck.registry._pickle import loads

__all__ = ["ModelVersionInfo", "Registry"]


#: per thread, the aliases pinned by :meth:`Registry.pinned_aliases`, by registry object
_PINS = threading.local()


@dataclass(frozen=True)
class ModelVersionInfo:
    version: str
    run_id: str
    created_at: datetime
    aliases: tuple[str, ...]
    metrics: dict[str, float]
    params: dict[str, str]
    spec: dict[str, Any]
    fingerprint: dict[str, Any]
    lineage: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    model_uri: str = ""
    artifact_dir: Path | None = None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic", "urllib3")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


def _local(uri: str) -> Path:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme in ("file", "") else Path(uri)


#: held while a thread imports MLflow and opens a client (see :attr:`Registry.client`)
_OPENING = threading.RLock()


class Registry:
    """Versions of one model name in an MLflow tracking/registry store."""

    def __init__(
        self,
        tracking_uri: str,
        *,
        artifact_root: Path,
        model_name: str = "lamarck-model",
        experiment: str = "lamarck",
    ) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = Path(artifact_root)
        self.model_name = model_name
        self.experiment = experiment
        self._client: Any = None
        self._cache: dict[str, Any] = {}

    @property
    def client(self) -> Any:
        if self._client is not None:
            return self._client
        # one thread at a time imports MLflow and opens the client: two threads importing mlflow.tracking
        # at once (a server's evolve loop and a request) can see it half-initialised (an ImportError)
        with _OPENING, _quiet():
            if self._client is None:
                from mlflow.tracking import MlflowClient
                from sqlalchemy.exc import DatabaseError

                try:
                    self._client = MlflowClient(
                        tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                    )
                except DatabaseError as e:  # e.g. an mlflow.db that is not a database
                    problem = " ".join(str(e.orig or e).split())[:200]
                    raise DataError(
                        f"cannot open the model registry {self.tracking_uri.split('@')[-1]!r}: {problem}. Fix: "
                        "restore that file from a backup, or move it aside to start a new registry (its "
                        "versions are lost)."
                    ) from None
        return self._client

    def _experiment_id(self) -> str:
        exp = self.client.get_experiment_by_name(self.experiment)
        if exp is not None:
            return str(exp.experiment_id)
        if urlparse(self.tracking_uri).scheme in ("http", "https"):
            # a tracking server (a team's): its own artifact store (mlflow-artifacts:, served by it), which
            # every process that uses the server reads, where a folder of this machine would be invisible
            return str(self.client.create_experiment(self.experiment))
        self.artifact_root.mkdir(parents=True, exist_ok=True)
        return str(
            self.client.create_experiment(
                self.experiment, artifact_location=self.artifact_root.resolve().as_uri()
            )
        )

    # ------------------------------------------------------------------ write

    def register(
        self,
        model: Any,
        *,
        params: dict[str, Any],
        metrics: dict[str, float],
        spec: dict[str, Any],
        fingerprint: dict[str, Any],
        lineage: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        input_example: pd.DataFrame | None = None,
        extra_artifacts: dict[str, Path] | None = None,
    ) -> ModelVersionInfo:
        """Log a run with everything about ``model``, save it as a pyfunc and register a new version."""
        import cloudpickle

        with _quiet():
            import mlflow.pyfunc
            from mlflow.entities import Metric, Param, RunTag
            from mlflow.exceptions import MlflowException

            from lamarck.registry._pyfunc import LamarckPyfunc

            client = self.client
            run = client.create_run(self._experiment_id(), run_name=f"fit-{datetime.now(UTC):%Y%m%d-%H%M%S}")
            run_id = run.info.run_id
            now = int(datetime.now(UTC).timestamp() * 1000)
            client.log_batch(
                run_id,
                metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
                params=[Param(str(k)[:250], str(v)[:6000]) for k, v in params.items() if v is not None],
                tags=[RunTag(k, str(v)[:5000]) for k, v in (tags or {}).items()],
            )
            with tempfile.TemporaryDirectory() as tmp:
                tmpd = Path(tmp)
                for name, obj in (
                    ("spec.json", spec),
                    ("fingerprint.json", fingerprint),
                    ("lineage.json", lineage or {}),
                ):
                    (tmpd / name).write_text(json.dumps(obj, indent=2, default=str))
                    client.log_artifact(run_id, str(tmpd / name), "meta")
                pkl = tmpd / "model.pkl"
                pkl.write_bytes(cloudpickle.dumps(model))
                warnings.filterwarnings("ignore", message=".*type hint.*")  # our predict takes any frame
                mlflow.pyfunc.save_model(
                    path=str(tmpd / "model"),
                    python_model=LamarckPyfunc(),
                    artifacts={"model": str(pkl)},
                    pip_requirements=_requirements(),
                )
                client.log_artifacts(run_id, str(tmpd / "model"), "model")
                for path in (extra_artifacts or {}).values():
                    if path and Path(path).exists():
                        client.log_artifact(run_id, str(path))
            client.set_terminated(run_id)
            with contextlib.suppress(MlflowException):  # already registered
                client.create_registered_model(self.model_name)
            artifact_uri = client.get_run(run_id).info.artifact_uri
            mv = client.create_model_version(
                self.model_name,
                source=f"{artifact_uri}/model",
                run_id=run_id,
                tags={"lineage": json.dumps(lineage or {}, default=str)[:5000]},
            )
        return self.info(str(mv.version))

    def log_artifact(self, ref: str, path: Path) -> None:
        """Attach a file (e.g. the HTML report) to the run of a version."""
        info = self.info(ref)
        with _quiet():
            self.client.log_artifact(info.run_id, str(path))

    def set_alias(self, alias: str, version: str) -> None:
        with _quiet():
            self.client.set_registered_model_alias(self.model_name, alias, str(version))
        pinned = self._pinned()
        if pinned is not None:
            pinned[alias] = str(version)

    def delete_alias(self, alias: str) -> None:
        with _quiet():
            self.client.delete_registered_model_alias(self.model_name, alias)
        pinned = self._pinned()
        if pinned is not None:
            pinned.pop(alias, None)

    # ------------------------------------------------------------------ read

    def _pinned(self) -> dict[str, str] | None:
        return getattr(_PINS, "by_registry", {}).get(id(self))

    @contextlib.contextmanager
    def pinned_aliases(self) -> Iterator[None]:
        """Within the block, this thread reads the aliases from the tracking store once, and its own
        :meth:`set_alias` / :meth:`delete_alias` update that copy (other threads read the store as usual).

        For an evolve pass, which holds the store's lease and read the aliases three times otherwise (about
        10 ms each on the SQLite tracking store, a third of a pass that trains nothing)."""
        pins = _PINS.__dict__.setdefault("by_registry", {})
        if id(self) in pins:  # nested: the outer block's copy stands
            yield
            return
        pins[id(self)] = self._read_aliases()
        try:
            yield
        finally:
            pins.pop(id(self), None)

    def aliases(self) -> dict[str, str]:
        pinned = self._pinned()
        return dict(pinned) if pinned is not None else self._read_aliases()

    def _read_aliases(self) -> dict[str, str]:
        with _quiet():
            from mlflow.exceptions import MlflowException

            try:
                rm = self.client.get_registered_model(self.model_name)
            except MlflowException:
                return {}
        return {a: str(v) for a, v in (rm.aliases or {}).items()}

    def alias_version(self, alias: str) -> str | None:
        return self.aliases().get(alias)

    def _resolve(self, ref: str) -> str:
        ref = str(ref)
        if ref.isdigit():
            return ref
        version = self.alias_version(ref)
        if version is None:
            known = self.aliases()
            raise ModelNotFoundError(
                f"no model version or alias {ref!r} in {self.tracking_uri}. Aliases: {known or 'none'}. "
                "Fix: run `lamarck models` to list versions, or `lamarck fit` to create one."
            )
        return version

    def info(self, ref: str) -> ModelVersionInfo:
        version = self._resolve(ref)
        with _quiet():
            from mlflow.exceptions import MlflowException

            try:
                mv = self.client.get_model_version(self.model_name, version)
            except MlflowException:
                raise ModelNotFoundError(
                    f"model version {version!r} does not exist. Fix: run `lamarck models` to list versions."
                ) from None
            run = self.client.get_run(mv.run_id)
        art = self._artifacts(mv.run_id, run.info.artifact_uri)

        def meta(name: str) -> dict[str, Any]:
            p = art / "meta" / name
            return json.loads(p.read_text()) if p.exists() else {}

        return ModelVersionInfo(
            version=str(mv.version),
            run_id=mv.run_id,
            created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
            aliases=tuple(mv.aliases or ()),
            metrics=dict(run.data.metrics),
            params=dict(run.data.params),
            spec=meta("spec.json"),
            fingerprint=meta("fingerprint.json"),
            lineage=meta("lineage.json"),
            tags=dict(run.data.tags),
            model_uri=f"models:/{self.model_name}/{mv.version}",
            artifact_dir=art,
        )

    def _artifacts(self, run_id: str, uri: str) -> Path:
        """The run's artifact folder on this machine: the folder itself for a local store; for a tracking
        server's artifact store (``mlflow-artifacts:``, S3, ...) a copy downloaded once per run into
        ``<artifact_root>/downloaded/<run id>`` (written beside, then renamed: a reader never sees half)."""
        if urlparse(uri).scheme in ("file", ""):
            return _local(uri)
        dest = self.artifact_root / "downloaded" / run_id
        if (dest / ".complete").exists():
            return dest
        tmp = dest.with_name(f".{run_id}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with _quiet():
            self.client.download_artifacts(run_id, "", str(tmp))
        (tmp / ".complete").touch()
        try:
            os.replace(tmp, dest)
        except OSError:  # another process put it there first
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def versions(self) -> list[ModelVersionInfo]:
        with _quiet():
            from mlflow.exceptions import MlflowException

            try:
                found = self.client.search_model_versions(f"name='{self.model_name}'")
            except MlflowException:
                return []
        return sorted((self.info(str(v.version)) for v in found), key=lambda i: -int(i.version))

    def load(self, ref: str = "champion") -> Any:
        """The original Python model of a version number or alias (a version's files never change: one
        already loaded by its number is not looked up again)."""
        if str(ref) in self._cache:
            return self._cache[str(ref)]
        info = self.info(ref)
        if info.version not in self._cache:
            path = info.artifact_dir / "model" / "artifacts" / "model.pkl" if info.artifact_dir else None
            if path is None or not path.exists():
                raise ModelNotFoundError(
                    f"the files of model version {info.version} are missing ({path}). "
                    "Fix: fit again or restore the project folder."
                )
            self._cache[info.version] = loads(path.read_bytes())  # pickle.loads, old module names mapped
        return self._cache[info.version]

    def pyfunc_uri(self, ref: str = "champion") -> str:
        ref = str(ref)
        return f"models:/{self.model_name}/{ref}" if ref.isdigit() else f"models:/{self.model_name}@{ref}"


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    # xgboost-cpu is the CPU build of xgboost (same import), installed instead of it on Linux
    packages = (
        "scikit-learn",
        "lightgbm",
        "xgboost",
        "xgboost-cpu",
        "catboost",
        "pandas",
        "numpy",
        "cloudpickle",
    )
    for pkg in packages:
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{pkg}=={version(pkg)}")
    return out
