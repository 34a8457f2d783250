"""FeatureProcessor(text_encoding="embedding"): each text column as its sentence embeddings reduced by a PCA
fitted on the training rows; the same rows give the same components at fit and at transform, before and
after pickling; old pickles (before the option) still transform; rows take the frame path."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pandas as pd
import pytest

import lamarck.text
from lamarck.data import TEXT_ENCODINGS, FeatureProcessor, RowEncoder
from lamarck.errors import ConfigError


class HashEncoder:
    """A deterministic stand-in for ``lamarck.text.encoder()``: each word adds a fixed random unit vector."""

    def __init__(self, dims: int = 24) -> None:
        self.dims = dims

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.split():
                seed = int(hashlib.sha256(word.encode()).hexdigest()[:8], 16)
                out[i] += np.random.default_rng(seed).normal(size=self.dims)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _train(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = ["invoice", "billed", "refund", "crash", "error", "startup", "slow", "login", "the", "app"]
    notes = [" ".join(rng.choice(words, size=rng.integers(2, 6))) for _ in range(n)]
    frame = pd.DataFrame({"x": rng.normal(size=n), "note": notes, "c": rng.choice(["a", "b"], size=n)})
    frame.loc[::9, "note"] = None
    return frame


KINDS = {"x": "numeric", "note": "text", "c": "categorical"}


def _embedding(**kwargs) -> FeatureProcessor:  # type: ignore[no-untyped-def]
    return FeatureProcessor(kinds=KINDS, text_encoding="embedding", text_encoder=HashEncoder(), **kwargs)


def test_embedding_components_are_named_and_consistent_between_fit_and_transform() -> None:
    train = _train()
    fp = _embedding(text_components=5)
    fitted = fp.fit_transform(train)
    assert list(fitted.columns) == ["x", *(f"note__emb{j}" for j in range(5)), "c"]
    assert fp.origins_["note__emb0"] == "note" and fp.notes_ == []
    pd.testing.assert_frame_equal(fp.transform(train), fitted)
    # new rows, alone or in another order, get the components their texts get in the training frame
    new = train.iloc[[7, 3, 3]].reset_index(drop=True)
    pd.testing.assert_frame_equal(fp.transform(new), fitted.iloc[[7, 3, 3]].reset_index(drop=True))
    # a missing text is the empty string's embedding, a missing column too
    out = fp.transform(pd.DataFrame({"x": [1.0], "c": ["a"]}))
    assert np.isfinite(out.filter(like="note__emb").to_numpy()).all()


def test_the_embedding_processor_pickles_and_takes_the_frame_path() -> None:
    train = _train()
    fp = _embedding(text_components=4).fit(train)
    clone = pickle.loads(pickle.dumps(fp))
    pd.testing.assert_frame_equal(clone.transform(train), fp.transform(train))
    assert clone.get_params()["text_encoding"] == "embedding"
    assert RowEncoder.of(fp) is None  # the row encoder reads no text


def test_a_pickle_made_before_the_option_loads_and_transforms() -> None:
    train = _train()
    fp = FeatureProcessor(kinds=KINDS, text_components=3).fit(train)
    want = fp.transform(train)
    for name in ("text_encoding", "text_encoder", "embedded_"):  # what an older processor did not have
        del fp.__dict__[name]
    old = pickle.loads(pickle.dumps(fp))
    pd.testing.assert_frame_equal(old.transform(train), want)
    assert old.text_encoding == "tfidf" and "text_encoding='embedding'" not in repr(old)
    assert any(c.startswith("note__svd") for c in want.columns)


def test_beyond_max_text_columns_the_note_names_the_embeddings() -> None:
    frame = pd.DataFrame({f"t{j}": _train()["note"].fillna("x") for j in range(3)})
    fp = FeatureProcessor(
        kinds=dict.fromkeys(frame.columns, "text"),
        max_text_columns=1,
        text_components=2,
        text_encoding="embedding",
        text_encoder=HashEncoder(),
    ).fit(frame)
    assert fp.feature_names_out_ == ["t0__emb0", "t0__emb1", "t1__chars", "t2__chars"]
    assert "sentence embeddings + PCA on the first 1" in fp.notes_[0]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"text_encoding": "bert"}, ["text_encoding='bert'", "'tfidf', 'embedding'", "Fix:"]),
        ({"text_encoding": "embedding"}, ["text_encoder=None", "lamarck.text.encoder()", "Fix:"]),
    ],
)
def test_an_unknown_encoding_or_a_missing_encoder_is_a_config_error(options, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        FeatureProcessor(kinds=KINDS, **options).fit(_train())
    assert all(w in str(caught.value) for w in words), str(caught.value)
    assert isinstance(caught.value, ValueError) and TEXT_ENCODINGS == ("tfidf", "embedding")


@pytest.mark.skipif(
    not lamarck.text.available(), reason="the neural extra (sentence-transformers) is not installed"
)
def test_the_real_encoder_gives_the_same_components_to_the_same_rows() -> None:
    train = _train(40)
    fp = FeatureProcessor(
        kinds=KINDS, text_encoding="embedding", text_encoder=lamarck.text.encoder(), text_components=6
    )
    fitted = fp.fit_transform(train)
    assert [c for c in fitted.columns if c.startswith("note__")] == [f"note__emb{j}" for j in range(6)]
    # batches of another size pad differently: the floats agree to the encoder's precision
    np.testing.assert_allclose(
        fp.transform(train.iloc[[5]]).filter(like="note__").to_numpy(float),
        fitted.iloc[[5]].filter(like="note__").to_numpy(float),
        atol=1e-4,
    )
    clone = pickle.loads(pickle.dumps(fp))  # the encoder pickles without its model and loads it again
    np.testing.assert_allclose(
        clone.transform(train).filter(like="note__").to_numpy(float),
        fitted.filter(like="note__").to_numpy(float),
        atol=1e-4,
    )
