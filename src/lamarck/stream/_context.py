"""The stream context: what a streaming model may know about the past when an event arrives.

Events of a stream are often correlated in time (prices, sensors, traffic). The context turns that past
into features, using only what has been seen *before* the current event's label is known:

- ``_last=<class>``: 1.0 for the most recent label that has arrived (with a label delay, the most recent
  one released, never the current event's);
- ``_share=<class>``: each class's share among recent labels (exponentially weighted);
- ``<feature>~<alpha>``: each number's deviation from its exponentially weighted moving average over
  the previous events (one average per ``alpha``: a fast and a slow one by default).

With ``numeric_target`` (regression) the label memory is ``_last`` (the most recent target value) and
``_mean`` (its exponentially weighted mean) instead of one feature per class.

On a stream without any order these features carry no signal; members that use them compete with
members that do not, so the population decides (see ``MemberConfig.inputs``).

    >>> ctx = StreamContext(alphas=(0.5,), label_alpha=0.5)
    >>> ctx.features({"x": 1.0})
    {'x': 1.0, 'x~0.5': 0.0}
    >>> ctx.observe_inputs({"x": 1.0}); ctx.observe_label("up")
    >>> ctx.features({"x": 3.0})
    {'x': 3.0, 'x~0.5': 2.0, '_last=up': 1.0, '_share=up': 1.0}
    >>> num = StreamContext(alphas=(), label_alpha=0.5, numeric_target=True)
    >>> num.observe_label(4.0); num.observe_label(2.0)
    >>> num.features({"x": 1.0})
    {'x': 1.0, '_last': 2.0, '_mean': 3.0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["StreamContext"]


class StreamContext:
    """Label memory and moving averages of the numeric inputs (state updated by the ``observe_*``)."""

    #: the deviation features' names per feature, made on first use by ``_names`` (not in ``__init__``)
    _names_: dict[str, tuple[str, ...]]

    def __init__(
        self,
        *,
        alphas: Sequence[float] = (0.3, 0.03),
        label_alpha: float = 0.05,
        numeric_target: bool = False,
    ) -> None:
        self.alphas = tuple(alphas)
        self.label_alpha = label_alpha
        self.numeric_target = numeric_target
        self.means_: dict[tuple[str, float], float] = {}
        self.last_: Any = None
        self.shares_: dict[Any, float] = {}

    def _names(self, key: str) -> tuple[str, ...]:
        """The names of ``key``'s deviation features, one per alpha (made once per feature)."""
        names: dict[str, tuple[str, ...]] | None = getattr(self, "_names_", None)
        if names is None:
            names = self._names_ = {}
        if key not in names:
            names[key] = tuple(f"{key}~{a}" for a in self.alphas)
        return names[key]

    def features(self, x: Mapping[str, Any]) -> dict[str, Any]:
        """``x`` plus the context features (pure: reads the state, changes nothing)."""
        z = dict(x)
        means = self.means_
        for key, value in x.items():
            if is_number(value):
                for a, name in zip(self.alphas, self._names(key), strict=True):
                    mean = means.get((key, a))
                    z[name] = 0.0 if mean is None else float(value) - mean
        if self.last_ is not None and getattr(self, "numeric_target", False):
            z["_last"] = self.last_
            z["_mean"] = self.shares_.get("_mean", self.last_)
        elif self.last_ is not None:
            for c in self.shares_:
                z[f"_last={c}"] = 1.0 if c == self.last_ else 0.0
            for c, share in self.shares_.items():
                z[f"_share={c}"] = share
        return z

    def observe_inputs(self, x: Mapping[str, Any]) -> None:
        """Move the moving averages with an event's numbers (call after predicting the event)."""
        means = self.means_
        for key, value in x.items():
            if is_number(value):
                for a in self.alphas:
                    mean = means.get((key, a))
                    means[(key, a)] = float(value) if mean is None else mean + a * (float(value) - mean)

    def observe_label(self, y: Any) -> None:
        """Remember a label that has just arrived."""
        if getattr(self, "numeric_target", False):
            self.last_ = float(y)
            mean = self.shares_.get("_mean")
            self.shares_["_mean"] = (
                self.last_ if mean is None else mean + self.label_alpha * (self.last_ - mean)
            )
            return
        self.last_ = y
        self.shares_.setdefault(y, 0.0)
        a = self.label_alpha if len(self.shares_) > 1 or self.shares_[y] > 0 else 1.0
        for c in self.shares_:
            self.shares_[c] += a * ((1.0 if c == y else 0.0) - self.shares_[c])


def is_number(value: Any) -> bool:
    """Whether ``value`` is a number (a bool is not); floats, the common case, are checked first."""
    return type(value) is float or (
        isinstance(value, int | float | np.number) and not isinstance(value, bool)
    )
