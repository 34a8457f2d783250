"""Where the bench finds its material, in one place.

The shared folder holds the public suite (``bench/public_suite.yaml``), the elec2 stream
(``data/elec2.csv``) and the meta-training exclusions (``bench/meta_exclude.txt``). It is, in order:
the folder named by ``LAMARCK_SHARED`` when that is set, ``shared`` beside the project checkout, or
``shared`` beside the working directory. A missing file raises :class:`SharedFileMissingError`, which
names every place looked at and the fix::

    >>> try:
    ...     shared_file("bench/no_such_suite.yaml")
    ... except SharedFileMissingError as e:
    ...     print(type(e).__name__, "Fix: set LAMARCK_SHARED" in str(e))
    SharedFileMissingError True

Repository files of the bench (``bench/planner_paraphrases.yaml``) are looked for in the working
directory, then in the checkout the package runs from.
"""

from __future__ import annotations

import os
from pathlib import Path

from lamarck.errors import LamarckError

__all__ = [
    "SHARED_ENV",
    "SharedFileMissingError",
    "elec2_csv",
    "meta_exclude",
    "public_suite",
    "repo_file",
    "shared_candidates",
    "shared_file",
]

SHARED_ENV = "LAMARCK_SHARED"

#: src/lamarck/bench/_paths.py -> the checkout (only meaningful when running from a source checkout)
_CHECKOUT = Path(__file__).resolve().parents[3]


class SharedFileMissingError(LamarckError, FileNotFoundError):
    """A file the bench reads from the shared folder is not there."""


def shared_candidates() -> list[Path]:
    """The folders that may be the shared folder, in the order they are tried."""
    explicit = os.environ.get(SHARED_ENV)
    if explicit:
        return [Path(explicit).expanduser()]
    return list(dict.fromkeys([_CHECKOUT.parent / "shared", Path.cwd().resolve().parent / "shared"]))


def shared_file(relative: str | Path) -> Path:
    """``relative`` inside the shared folder: the first candidate folder that has it."""
    candidates = [folder / relative for folder in shared_candidates()]
    for path in candidates:
        if path.exists():
            return path
    where = ", ".join(str(p) for p in candidates)
    how = (
        f"{SHARED_ENV} is set, so only that folder is used"
        if os.environ.get(SHARED_ENV)
        else f"{SHARED_ENV} is not set"
    )
    raise SharedFileMissingError(
        f"the bench needs {relative} from the shared folder; looked for {where} ({how}). Fix: set "
        f"{SHARED_ENV} to the folder that holds {relative}, or place that folder as `shared` beside "
        "the checkout."
    )


def public_suite() -> Path:
    """The public suite (``bench/public_suite.yaml``), the default of ``lamarck bench --suite``."""
    return shared_file("bench/public_suite.yaml")


def elec2_csv() -> Path:
    """The elec2 stream (``data/elec2.csv``) of the stream and evolution parts."""
    return shared_file("data/elec2.csv")


def meta_exclude() -> Path:
    """The datasets meta-training must never use (``bench/meta_exclude.txt``)."""
    return shared_file("bench/meta_exclude.txt")


def repo_file(relative: str | Path) -> Path | None:
    """A file of the repository's bench folder (``relative`` to the checkout), or None when absent."""
    for root in dict.fromkeys([Path.cwd().resolve(), _CHECKOUT]):
        if (root / relative).exists():
            return root / relative
    return None
