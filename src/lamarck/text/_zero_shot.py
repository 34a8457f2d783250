"""Zero-shot and few-shot text classification by similarity to class descriptions (see the package)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lamarck.errors import ConfigError
from lamarck.text._embed import TextEncoder, encoder

__all__ = ["ZeroShotClassifier"]


class ZeroShotClassifier:
    """Classes described in words; texts classified by cosine similarity of embeddings.

    ``classes``: the class names; ``descriptions``: a sentence per class (default: its name);
    ``temperature``: of the softmax that turns similarities into probabilities; ``prior``: how many labelled
    texts a description counts for once labels arrive (:meth:`fit`)."""

    def __init__(
        self,
        classes: Sequence[str],
        descriptions: Mapping[str, str] | None = None,
        *,
        temperature: float = 0.05,
        prior: float = 2.0,
        text_encoder: TextEncoder | None = None,
    ) -> None:
        names = [str(c) for c in classes]
        if len(names) < 2 or len(set(names)) != len(names):
            raise ConfigError(
                f"zero-shot classes {names}: at least two, all different. Fix: name each class once, e.g. "
                "'sort these tickets into billing, bug and feature request'."
            )
        if temperature <= 0:
            raise ConfigError(f"temperature={temperature}: it must be > 0. Fix: e.g. 0.05.")
        self.classes_ = np.array(names, dtype=object)
        self.descriptions = {c: str((descriptions or {}).get(c) or c) for c in names}
        self.temperature, self.prior = float(temperature), float(prior)
        self.encoder = text_encoder or encoder()
        self.anchors_: np.ndarray | None = None
        self.centroids_: np.ndarray | None = None
        self.labelled_ = dict.fromkeys(names, 0)

    def _anchors(self) -> np.ndarray:
        if self.anchors_ is None:
            self.anchors_ = self.encoder.encode([self.descriptions[c] for c in self.classes_])
        return self.anchors_

    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> ZeroShotClassifier:
        """Few-shot: each class's centre becomes the mean of its labelled texts and its description (worth
        ``prior`` texts); labels that are not one of the classes are ignored (counted in ``ignored_``)."""
        anchors = self._anchors()
        index = {c: k for k, c in enumerate(self.classes_)}
        keep = [(t, index[str(y)]) for t, y in zip(texts, labels, strict=True) if str(y) in index]
        self.ignored_ = len(texts) - len(keep)
        centres = anchors * self.prior
        counts = np.full(len(anchors), self.prior)
        if keep:
            emb = self.encoder.encode([t for t, _ in keep])
            for row, (_, k) in zip(emb, keep, strict=True):
                centres[k] += row
                counts[k] += 1
        centres = centres / counts[:, None]
        self.centroids_ = centres / np.linalg.norm(centres, axis=1, keepdims=True).clip(1e-12)
        self.labelled_ = {c: int(sum(1 for _, k in keep if k == j)) for j, c in enumerate(self.classes_)}
        return self

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        centres = self.centroids_ if self.centroids_ is not None else self._anchors()
        return np.asarray(self.encoder.encode(texts) @ centres.T, dtype=np.float64)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        z = self.similarities(texts) / self.temperature
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.classes_[self.similarities(texts).argmax(axis=1)])
