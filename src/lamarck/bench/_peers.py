"""The peers' own virtual environments (FLAML, AutoGluon pin their own pandas and scikit-learn).

Each peer lives in ``PEERS_DIR/<peer>``: ``LAMARCK_PEERS_DIR`` when set, else
``$XDG_CACHE_HOME/lamarck/peers`` (``~/.cache/lamarck/peers``). :func:`ensure_peer` finds the environment
or creates it: with ``uv`` when it is on the PATH (or named by ``LAMARCK_UV``), else with this
interpreter's ``-m venv`` and pip. ``lamarck bench --install-peers`` (and ``make bench-peers``) calls it
for each peer; ``lamarck bench --against flaml`` calls it before the first case::

    >>> PEERS["flaml"].requirements
    ('flaml[automl]==2.7.0', 'pyarrow')
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamarck.errors import ConfigError, LamarckError

__all__ = [
    "PEERS",
    "PEERS_DIR_ENV",
    "Peer",
    "PeerInstallError",
    "ensure_peer",
    "install_peer",
    "install_peers",
    "peer_python",
    "peer_runner",
    "peers_dir",
]

PEERS_DIR_ENV = "LAMARCK_PEERS_DIR"
UV_ENV = "LAMARCK_UV"


@dataclass(frozen=True)
class Peer:
    """A peer system run in its own environment: its name and the pip requirements of that environment."""

    name: str
    requirements: tuple[str, ...]


#: versions match ../shared/bench/anchors_public_60s.md
PEERS: dict[str, Peer] = {
    "flaml": Peer("flaml", ("flaml[automl]==2.7.0", "pyarrow")),
    "autogluon": Peer("autogluon", ("autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3", "pyarrow")),
}


class PeerInstallError(LamarckError, RuntimeError):
    """A peer's environment could not be created (no network, no uv/venv, a pin that does not resolve)."""


def peers_dir() -> Path:
    """The folder that holds one environment per peer."""
    explicit = os.environ.get(PEERS_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lamarck" / "peers"


def _python_of(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def peer_python(name: str, root: Path | None = None) -> Path | None:
    """The interpreter of ``name``'s environment, or None when there is none yet."""
    python = _python_of((root or peers_dir()) / name)
    return python if python.exists() else None


def peer_runner() -> Path:
    """The script that runs a peer inside its environment (it imports nothing of Lamarck)."""
    return Path(__file__).with_name("_peer_runner.py")


def _uv() -> str | None:
    return os.environ.get(UV_ENV) or shutil.which("uv")


def _peer(name: str) -> Peer:
    if name not in PEERS:
        raise ConfigError(f"unknown peer {name!r}. Fix: one of {sorted(PEERS)}.")
    return PEERS[name]


def install_peer(
    peer: str | Peer,
    *,
    root: Path | None = None,
    uv: str | bool | None = True,
    run: Callable[..., Any] = subprocess.run,
    log: Callable[[str], None] = lambda _msg: None,
) -> Path:
    """Create (or update) ``peer``'s environment and install its pinned requirements; its interpreter.

    ``uv=True`` uses uv when available, ``False`` forces ``python -m venv`` + pip, a string names uv.
    """
    peer = _peer(peer) if isinstance(peer, str) else peer
    env = (root or peers_dir()) / peer.name
    env.parent.mkdir(parents=True, exist_ok=True)
    uv_exe = (_uv() if uv is True else None) if isinstance(uv, bool) else uv
    python = _python_of(env)
    commands: list[list[str]] = []
    if uv_exe:
        if not python.exists():
            commands.append([uv_exe, "venv", "-q", str(env), "--python", sys.executable])
        if peer.requirements:
            commands.append([uv_exe, "pip", "install", "-q", "--python", str(python), *peer.requirements])
    else:
        if not python.exists():
            commands.append(
                [sys.executable, "-m", "venv", *([] if peer.requirements else ["--without-pip"]), str(env)]
            )
        if peer.requirements:
            pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            commands.append([*pip, *peer.requirements])
    log(f"{peer.name}: environment {env} ({'uv' if uv_exe else 'venv + pip'})")
    for command in commands:
        proc = run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
            raise PeerInstallError(
                f"creating the {peer.name} environment in {env} failed: `{' '.join(command)}` exited with "
                f"{proc.returncode}: {' | '.join(tail)}. Fix: check the network and retry "
                f"`lamarck bench --install-peers --against {peer.name}`, or set {PEERS_DIR_ENV} to a "
                "writable folder."
            )
    return python


def ensure_peer(
    peer: str, *, root: Path | None = None, log: Callable[[str], None] = lambda _msg: None, **kwargs: Any
) -> Path:
    """``peer``'s interpreter: the existing environment, or a new one created by :func:`install_peer`."""
    return peer_python(_peer(peer).name, root) or install_peer(peer, root=root, log=log, **kwargs)


def install_peers(names: Sequence[str], *, log: Callable[[str], None] = lambda _msg: None) -> list[Path]:
    """Create or update the environments of ``names`` (``lamarck bench --install-peers``)."""
    return [install_peer(name, log=log) for name in names]
