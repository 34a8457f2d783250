"""``RowEncoder``: rows as a server receives them (dicts of JSON values) → the learners' numeric matrix,
without a DataFrame.

A one-row request through pandas costs milliseconds (a frame from the records, the processor's frame, the
category dtypes, the matrix each learner makes of it) where the trees need microseconds. The encoder reads
each value once, in plain Python, into the matrix every fast predictor takes (``lamarck.search``'s
``SharedInputs.of_rows``): one float64 column per output name of the processor, in
``feature_names_out_`` order, categories as their code in the processor's fitted levels (missing and unseen
values NaN, or the code of ``__other__`` where the column has that level).

Each row is encoded as :meth:`FeatureProcessor.transform` encodes it in a frame of that row alone: a
number read from ``1`` or ``1.0`` as the float, a category from ``str(value)`` (``1`` → ``"1"``, ``1.0`` →
``"1.0"``, ``True`` → ``"True"``), a string in a number column as ``pandas.to_numeric`` reads it. (In a
frame of several rows pandas gives a column one type, so a ``1`` beside a ``1.5`` becomes ``"1.0"`` in a
category column: the frame's answer for a row can depend on its neighbours; the encoder's never does.)

Processors with datetime or text columns (TF-IDF or embedding components), or derived (LLM) features,
have no encoder (:meth:`RowEncoder.of` gives ``None``): their rows take the frame path.

    >>> import pandas as pd
    >>> from lamarck.data._features import FeatureProcessor
    >>> train = pd.DataFrame({"x": [1.0, 2.0, None, 4.0], "c": ["a", "b", "a", None]})
    >>> enc = RowEncoder.of(FeatureProcessor().fit(train))
    >>> enc.encode([{"x": 3, "c": "b"}, {"x": None, "c": "zzz"}, {"x": "7.5", "c": None}]).tolist()
    [[3.0, 1.0], [nan, nan], [7.5, nan]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RowEncoder"]

_NUMERIC, _CATEGORY, _LENGTH = 0, 1, 2


def _number(value: Any) -> float:
    """A value of a number column, as a one-row frame's column of it is read (``float64``)."""
    if value is None:
        return math.nan
    if isinstance(value, float | bool):  # numpy's float64 is a float
        return float(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:  # an int64 column
        return float(value)
    # strings (and anything else): an object column, which the processor reads with pandas.to_numeric
    return float(pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").astype("float64").iloc[0])


def _missing(value: Any) -> bool:
    """What ``pandas.isna`` says of one value (the cheap cases first)."""
    if value is None:
        return True
    if isinstance(value, str | int):
        return False
    if isinstance(value, float):
        return math.isnan(value)
    return bool(pd.isna(value)) if np.ndim(value) == 0 else False


class RowEncoder:
    """The learners' matrix for records, built from a fitted :class:`FeatureProcessor` (see the module)."""

    def __init__(self, specs: list[tuple[str, int, Any]], names: list[str]) -> None:
        self.specs = specs  # per output column: (input column, kind, category lookup or None)
        self.names = names

    @classmethod
    def of(cls, processor: Any) -> RowEncoder | None:
        """The encoder of ``processor``, or ``None`` when some of its outputs need the frame path."""
        from lamarck.data._features import FeatureProcessor

        if type(processor) is not FeatureProcessor or not hasattr(processor, "origins_"):
            return None  # derived features, or a processor pickled before the output names
        if processor.text_ or processor.datetime_parts_ or getattr(processor, "embedded_", None):
            return None
        long_text = set(getattr(processor, "text_lengths_", []))
        specs: list[tuple[str, int, Any]] = []
        for c in processor.feature_names_in_:
            kind = processor.kinds_[c]
            if c in long_text:
                specs.append((c, _LENGTH, None))
            elif kind == "numeric":
                specs.append((c, _NUMERIC, None))
            elif kind in ("categorical", "boolean"):
                cats = processor.categories_[c]
                lookup = {v: float(i) for i, v in enumerate(cats)}
                specs.append((c, _CATEGORY, (lookup, lookup.get("__other__", math.nan))))
            else:  # a kind the processor makes nothing of
                continue
        names = list(processor.feature_names_out_)
        return cls(specs, names) if len(specs) == len(names) else None

    def encode(self, rows: Sequence[dict[str, Any]]) -> np.ndarray:
        """``(len(rows), n_features)`` float64; an absent key is a missing value."""
        out = np.empty((len(rows), len(self.specs)), dtype=np.float64)
        nan = math.nan
        for j, (c, kind, payload) in enumerate(self.specs):
            if kind == _NUMERIC:
                out[:, j] = [_number(r.get(c)) for r in rows]
            elif kind == _CATEGORY:
                lookup, unseen = payload
                out[:, j] = [nan if _missing(v := r.get(c)) else lookup.get(str(v), unseen) for r in rows]
            else:
                out[:, j] = [
                    nan if _missing(v := r.get(c)) else float(len(v if isinstance(v, str) else str(v)))
                    for r in rows
                ]
        return out

    def categories(self, processor: Any) -> dict[int, list[Any]]:
        """Column index → the levels its codes index (the processor's fitted categories)."""
        return {j: processor.categories_[c] for j, (c, kind, _) in enumerate(self.specs) if kind == _CATEGORY}
