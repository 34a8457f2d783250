"""The zero-shot classifier as a member of a Lamarck model, so a fit with no label column serves, logs and
evolves like any other: :class:`TextColumn` hands the model's one text column through unchanged,
:class:`ZeroShotLearner` (``zero_shot`` in the zoo, never in a default search) fits a
:class:`ZeroShotFold` on whatever labels there are (none: the class descriptions alone; a few: few-shot),
and its warm start is the same few-shot fit on the evolver's rows, which is how the loop improves a
zero-shot champion from feedback without anything special in the loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lamarck.search import FitContext, Learner, register_learner
from lamarck.text._zero_shot import ZeroShotClassifier

__all__ = ["TextColumn", "ZeroShotFold", "ZeroShotLearner"]


class TextColumn:
    """A processor that keeps one column as text (missing text is the empty string)."""

    def __init__(self, column: str) -> None:
        self.column = column

    def fit(self, X: pd.DataFrame, y: Any = None) -> TextColumn:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        text = X[self.column].astype(object).where(X[self.column].notna(), "").astype(str)
        return pd.DataFrame({self.column: text.to_numpy()}, index=X.index)

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([self.column], dtype=object)


class ZeroShotFold:
    """A fold model over encoded classes ``0..K-1``: a :class:`ZeroShotClassifier` reading ``column``."""

    def __init__(self, classifier: ZeroShotClassifier, column: str) -> None:
        self.classifier, self.column = classifier, column
        self.classes_ = np.arange(len(classifier.classes_))

    def _texts(self, X: pd.DataFrame) -> list[str]:
        return [str(t) for t in X[self.column].tolist()]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.classifier.predict_proba(self._texts(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.predict_proba(X).argmax(axis=1))


class ZeroShotLearner(Learner):
    """Classes described in words (``params``: ``classes``, ``descriptions``, ``column``, ``temperature``,
    ``prior``); ``fit`` is a few-shot fit on the labelled rows given (none: zero-shot)."""

    name = "zero_shot"
    tasks = ("binary", "multiclass")
    cost = 5.0
    stops_at_deadline = False
    default = False  # asked for by the zero-shot path, never tried in a search of labelled data
    searchable = False

    def search_space(self, trial: Any, task: str, n_rows: int) -> dict[str, Any]:
        raise NotImplementedError("zero_shot has no search space: its classes come from the sentence")

    def portfolio(self, task: str) -> list[dict[str, Any]]:
        return []

    def fit(
        self,
        params: dict[str, Any],
        X: pd.DataFrame,
        y: np.ndarray,
        ctx: FitContext,
        X_val: pd.DataFrame | None = None,
        y_val: np.ndarray | None = None,
    ) -> ZeroShotFold:
        classifier = ZeroShotClassifier(
            list(params["classes"]),
            params.get("descriptions"),
            temperature=float(params.get("temperature", 0.05)),
            prior=float(params.get("prior", 2.0)),
        )
        fold = ZeroShotFold(classifier, str(params["column"]))
        return self._few_shot(fold, X, y)

    def warm_start(
        self,
        previous: Any,
        X: pd.DataFrame,
        y: np.ndarray,
        ctx: FitContext,
        *,
        sample_weight: np.ndarray | None = None,
    ) -> ZeroShotFold:
        """The champion's classes (descriptions, temperature, prior) moved to these labelled rows."""
        old: ZeroShotClassifier = previous.classifier
        classifier = ZeroShotClassifier(
            list(old.classes_),
            old.descriptions,
            temperature=old.temperature,
            prior=old.prior,
            text_encoder=old.encoder,
        )
        classifier.anchors_ = old.anchors_  # the descriptions' embeddings: the same
        return self._few_shot(ZeroShotFold(classifier, previous.column), X, y)

    @staticmethod
    def _few_shot(fold: ZeroShotFold, X: pd.DataFrame, y: np.ndarray) -> ZeroShotFold:
        names = fold.classifier.classes_
        codes = np.asarray(y, dtype=float) if len(y) else np.zeros(0)
        ok = np.isfinite(codes) & (codes >= 0) & (codes < len(names))
        texts = [t for t, keep in zip(fold._texts(X), ok, strict=True) if keep] if len(X) else []
        fold.classifier.fit(texts, [names[int(k)] for k in codes[ok]])
        return fold


register_learner(ZeroShotLearner())
