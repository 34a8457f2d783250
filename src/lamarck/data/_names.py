"""Column names every learner takes: ASCII letters, digits and ``_``, unique, at most 100 characters.

LightGBM refuses feature names with JSON characters (``"``, ``,``, ``:``, ``[``, ``]``, ``{``, ``}``),
XGBoost names with ``[``, ``]`` or ``<``; a user's table may have any of them. The feature processor gives
its output columns these names (kept as they are when already safe), so every learner sees names it
accepts, and the user's names stay everywhere the user looks (reports, importance, predict, drift).

    >>> safe_names(["age", 'a "quoted"', "b{json:[1]}", "c,comma", "température", "a_quoted", "a:quoted"])
    ['age', 'a_quoted_2', 'b_json_1', 'c_comma', 'temperature', 'a_quoted', 'a_quoted_3']
    >>> safe_names(["名前", "", 7])
    ['col', 'col_2', '7']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Sequence

__all__ = ["MAX_NAME_LENGTH", "is_safe_name", "safe_names"]

#: longest name kept as it is; longer ones are cut (and made unique)
MAX_NAME_LENGTH = 100
_SAFE = re.compile(rf"[A-Za-z0-9_]{{1,{MAX_NAME_LENGTH}}}")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_]+")


def is_safe_name(name: Hashable) -> bool:
    """Whether ``name`` is a string every learner takes as it is.

    >>> is_safe_name("x_1"), is_safe_name("x 1"), is_safe_name(1)
    (True, False, False)
    """
    return isinstance(name, str) and _SAFE.fullmatch(name) is not None


def _sanitise(name: Hashable) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = _UNSAFE_RUN.sub("_", text).strip("_")
    return text[: MAX_NAME_LENGTH - 10].rstrip("_") or "col"


def safe_names(names: Sequence[Hashable]) -> list[str]:
    """One safe, unique name per entry of ``names``, in order.

    Safe names are kept; the others are sanitised (accents dropped, runs of other characters become
    ``_``, cut to fit) and, when that name is taken, suffixed ``_2``, ``_3``... A repeated name is
    treated as taken from its second occurrence on.
    """
    taken: set[str] = set()
    keep: list[bool] = []
    for name in names:
        ok = is_safe_name(name) and name not in taken
        keep.append(ok)
        if ok:
            taken.add(str(name))
    out: list[str] = []
    for name, ok in zip(names, keep, strict=True):
        if ok:
            out.append(str(name))
            continue
        base = _sanitise(name)
        candidate, k = base, 2
        while candidate in taken:
            candidate, k = f"{base}_{k}", k + 1
        taken.add(candidate)
        out.append(candidate)
    return out
