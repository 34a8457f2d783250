"""Greedy ensemble selection (Caruana et al., 2004) over out-of-fold predictions.

Start from the best single model, then repeatedly add (with replacement) the model whose addition
improves the averaged out-of-fold score most; the weights are the selection counts.

    >>> import numpy as np
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> preds = [y + 0.5, y - 0.5, y + 2.0]
    >>> w = caruana_weights(preds, lambda p: -float(np.mean((p - y) ** 2)), rounds=10)
    >>> float(w[2]), bool(round(w[0], 1) == round(w[1], 1))
    (0.0, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["caruana_weights"]


def caruana_weights(
    predictions: Sequence[np.ndarray],
    score: Callable[[np.ndarray], float],
    *,
    rounds: int = 40,
) -> list[float]:
    """Weights (summing to 1) over ``predictions`` chosen greedily to maximise ``score`` (higher is better).

    ``predictions[i]`` is model i's out-of-fold prediction (vector or probability matrix), all the same
    shape. Stops early when no addition improves the score.
    """
    n = len(predictions)
    if n == 0:
        return []
    singles = [score(p) for p in predictions]
    best = int(np.argmax(singles))
    counts = np.zeros(n)
    counts[best] = 1
    total = np.array(predictions[best], dtype=float)
    current = singles[best]
    for _ in range(rounds - 1):
        k = counts.sum()
        candidates = [score((total + p) / (k + 1)) for p in predictions]
        j = int(np.argmax(candidates))
        if candidates[j] <= current + 1e-12:
            break
        counts[j] += 1
        total = total + predictions[j]
        current = candidates[j]
    return list(counts / counts.sum())
