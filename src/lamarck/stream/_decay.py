"""Performance decay: ADWIN (river) on a stream of errors, one detector per streaming member (and one on
the batch champion's labelled feedback, in :mod:`lamarck.evolve`).

``update(error) -> bool`` is True only when the error rate has changed *upwards*; an improvement is a
change too for ADWIN, but not a reason to act.

    >>> detector = DecayDetector()
    >>> alarms = [detector.update(0.0 if i < 1000 else 1.0) for i in range(1200)]
    >>> any(alarms[:1000]), any(alarms[1000:]), detector.error_rate > 0.5
    (False, True, True)
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["DecayDetector"]


class DecayDetector:
    """Performance decay: ADWIN (river) on the stream of errors (1 wrong, 0 right; or a loss).

    ``update(error) -> bool`` is True when the error rate has changed upwards.
    """

    def __init__(self, *, delta: float = 0.002) -> None:
        self.delta = delta
        self._adwin: Any = None
        self._before = math.nan

    def update(self, error: float) -> bool:
        if self._adwin is None:
            from river import drift

            self._adwin = drift.ADWIN(delta=self.delta)
        before = self._adwin.estimation
        self._adwin.update(float(error))
        if self._adwin.drift_detected:
            worse = self._adwin.estimation > before
            self._before = before
            return bool(worse)
        return False

    @property
    def error_rate(self) -> float:
        return float(self._adwin.estimation) if self._adwin is not None else math.nan

    def reset(self) -> None:
        self._adwin = None
