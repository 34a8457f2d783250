"""How unsure a classifier is about each row: the ranking behind "which labels would help most".

``entropy`` is the normalised Shannon entropy of the probability row (0 = certain, 1 = uniform);
``margin`` is one minus the gap between the two most probable classes. Higher means more uncertain.

    >>> import numpy as np
    >>> P = np.array([[0.5, 0.5], [0.9, 0.1], [0.99, 0.01]])
    >>> uncertainty(P).round(3).tolist()
    [1.0, 0.469, 0.081]
    >>> uncertainty(P, strategy="margin").round(3).tolist()
    [1.0, 0.2, 0.02]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from lamarck.errors import ConfigError

__all__ = ["UNCERTAINTY_STRATEGIES", "uncertainty"]

UncertaintyStrategy = Literal["entropy", "margin"]
UNCERTAINTY_STRATEGIES: tuple[str, ...] = ("entropy", "margin")


def uncertainty(
    proba: np.ndarray | Sequence[Sequence[float]], *, strategy: UncertaintyStrategy = "entropy"
) -> np.ndarray:
    """One uncertainty score per probability row (rows of class probabilities, two classes or more)."""
    if strategy not in UNCERTAINTY_STRATEGIES:
        raise ConfigError(
            f"unknown uncertainty strategy {strategy!r}. Fix: use one of {', '.join(UNCERTAINTY_STRATEGIES)}."
        )
    P = np.clip(np.array([np.asarray(p, dtype=float) for p in proba]), 1e-12, 1.0)
    if P.size == 0:
        return np.zeros(0)
    if strategy == "entropy":
        return -(P * np.log(P)).sum(axis=1) / np.log(max(P.shape[1], 2))
    top = np.sort(P, axis=1)
    return 1.0 - (top[:, -1] - top[:, -2])
