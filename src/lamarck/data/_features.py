"""``FeatureProcessor``: raw columns → the numeric + ``category`` frame every learner takes.

Categories are fixed at fit time (unseen values become missing, rare levels beyond ``max_categories``
become ``__other__``); datetimes are expanded to parts; free text becomes TF-IDF + SVD components
(``<column>__svd<j>``), or with ``text_encoding="embedding"`` the sentence embeddings of a ``text_encoder``
(e.g. ``lamarck.text.encoder()``) reduced by a PCA fitted on the training rows (``<column>__emb<j>``), for
the first ``max_text_columns`` text columns: any further one enters as its length in characters (a table
of 2,000 text columns would otherwise make 32,000 features; ``notes_`` says so).
The output columns have names every learner accepts (:func:`lamarck.data._names.safe_names`: a name
with quotes, JSON characters or accents is sanitised); ``origins_`` maps each to its input column.

    >>> import pandas as pd
    >>> X = pd.DataFrame({"n": [1.0, 2.0, None], "c": ["a", "b", "a"]})
    >>> fp = FeatureProcessor().fit(X)
    >>> out = fp.transform(pd.DataFrame({"n": ["3"], "c": ["zzz"]}))
    >>> float(out["n"].iloc[0]), pd.isna(out["c"].iloc[0])
    (3.0, True)
    >>> fp = FeatureProcessor().fit(pd.DataFrame({'a "b"': [1.0, 2.0], "c:d": ["x", "y"]}))
    >>> fp.feature_names_out_, fp.origins_
    (['a_b', 'c_d'], {'a_b': 'a "b"', 'c_d': 'c:d'})
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from lamarck.data._names import safe_names
from lamarck.errors import ConfigError

__all__ = ["TEXT_ENCODINGS", "FeatureProcessor", "fingerprint", "schema_of"]

#: what a text column becomes: TF-IDF + truncated SVD, or sentence embeddings + PCA
TEXT_ENCODINGS = ("tfidf", "embedding")


class FeatureProcessor(TransformerMixin, BaseEstimator):
    """Raw columns → the learners' frame (see the module).

    ``text_encoding`` is one of :data:`TEXT_ENCODINGS`; ``"embedding"`` needs ``text_encoder``, an object
    whose ``encode(texts)`` gives one row per text (``lamarck.text.encoder()``: this package imports no
    model, the caller passes one). The encoder is pickled with the processor (``lamarck.text``'s pickles
    without its model and loads it again on first use).
    """

    def __init__(
        self,
        *,
        columns: Sequence[str] | None = None,
        kinds: Mapping[str, str] | None = None,
        max_categories: int = 200,
        text_components: int = 16,
        max_text_columns: int = 20,
        text_encoding: str = "tfidf",
        text_encoder: Any = None,
        seed: int = 0,
    ) -> None:
        self.columns = columns
        self.kinds = kinds
        self.max_categories = max_categories
        self.text_components = text_components
        self.max_text_columns = max_text_columns
        self.text_encoding = text_encoding
        self.text_encoder = text_encoder
        self.seed = seed

    def __setstate__(self, state: dict[str, Any]) -> None:
        # pickles made before text_encoding existed: TF-IDF, no encoder (get_params and repr read them)
        state.setdefault("text_encoding", "tfidf")
        state.setdefault("text_encoder", None)
        super().__setstate__(state)

    def _check_text_encoding(self) -> None:
        if self.text_encoding not in TEXT_ENCODINGS:
            raise ConfigError(
                f"text_encoding={self.text_encoding!r}: a text column is encoded one of the ways "
                f"{', '.join(map(repr, TEXT_ENCODINGS))}. Fix: pass one of them."
            )
        if self.text_encoding == "embedding" and not callable(getattr(self.text_encoder, "encode", None)):
            raise ConfigError(
                f"text_encoding='embedding' with text_encoder={self.text_encoder!r}: embeddings need an "
                "encoder with encode(texts). Fix: pass text_encoder=lamarck.text.encoder() (the neural "
                "extra), or text_encoding='tfidf'."
            )

    def fit(self, X: pd.DataFrame, y: Any = None) -> FeatureProcessor:
        self._fit(X)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> pd.DataFrame:
        """``fit(X).transform(X)``, encoding each text column's embeddings once."""
        embedded = self._fit(X)
        return self._frame(X, embedded)

    def _fit(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Learn the processor's state; the embeddings of ``X``'s text columns (with ``"embedding"``)."""
        from lamarck.data._profile import profile

        self._check_text_encoding()
        cols = list(self.columns) if self.columns is not None else list(X.columns)
        kinds = dict(self.kinds) if self.kinds else {}
        missing_kinds = [c for c in cols if c not in kinds]
        if missing_kinds:
            prof = profile(X[missing_kinds])
            kinds.update({c.name: c.kind for c in prof.columns})
        self.feature_names_in_ = cols
        self.kinds_ = {c: kinds[c] for c in cols}
        self.categories_: dict[str, list[Any]] = {}
        self.text_: dict[str, Any] = {}
        self.datetime_parts_: dict[str, list[str]] = {}
        self.embedded_: dict[str, Any] = {}  # text column → the PCA of its embeddings
        embeddings: dict[str, np.ndarray] = {}
        text_columns = [c for c in cols if self.kinds_[c] == "text"]
        # text columns beyond the limit: their length in characters, measured all at once
        self.text_lengths_: list[str] = text_columns[self.max_text_columns :]
        self.notes_: list[str] = []
        if self.text_lengths_:
            self.notes_.append(
                f"{len(text_columns):,} text columns: {_ENCODING_NAMES[self.text_encoding]} on the first "
                f"{self.max_text_columns} "
                f"({text_columns[0]!r} … {text_columns[self.max_text_columns - 1]!r}); "
                f"the other {len(self.text_lengths_):,} "
                "enter as their length in characters only (max_text_columns)"
            )
        skip = set(self.text_lengths_)
        for c in cols:
            if c in skip:
                continue
            kind = self.kinds_[c]
            if kind in ("categorical", "boolean"):
                counts = _value_counts(X[c])
                keep = counts.index[: self.max_categories].tolist()
                if len(counts) > self.max_categories:
                    keep.append("__other__")
                self.categories_[c] = keep
            elif kind == "datetime":
                d = _to_datetime(X[c])
                parts = ["year", "month", "day", "dayofweek", "epoch_days"]
                if (d.dt.hour.fillna(0) != 0).any():
                    parts.append("hour")
                self.datetime_parts_[c] = parts
            elif kind == "text" and self.text_encoding == "embedding":
                from sklearn.decomposition import PCA

                emb = self._encode(X[c])
                k = max(1, min(self.text_components, emb.shape[0], emb.shape[1]))
                self.embedded_[c] = PCA(n_components=k, random_state=self.seed).fit(emb)
                embeddings[c] = emb
            elif kind == "text":
                from sklearn.decomposition import TruncatedSVD
                from sklearn.feature_extraction.text import TfidfVectorizer

                text = X[c].fillna("").astype(str)
                tfidf = TfidfVectorizer(max_features=20_000, min_df=2, sublinear_tf=True)
                try:
                    m = tfidf.fit_transform(text)
                except ValueError:  # empty vocabulary
                    self.kinds_[c] = "categorical"
                    self.categories_[c] = (
                        X[c].dropna().astype(str).value_counts().index[: self.max_categories].tolist()
                    )
                    continue
                k = max(1, min(self.text_components, m.shape[1] - 1, m.shape[0] - 1))
                svd = TruncatedSVD(n_components=k, random_state=self.seed).fit(m)
                self.text_[c] = (tfidf, svd)
        # the learners' names: safe ones as they are, the others sanitised (see lamarck.data._names);
        # origins_ maps each back to the input column it is made of (importance is shown per input)
        made = self._parts(X.head(2), {c: e[:2] for c, e in embeddings.items()})
        self.feature_names_out_ = safe_names([name for _, name, _ in made])
        self.origins_ = {out: c for out, (c, _, _) in zip(self.feature_names_out_, made, strict=True)}
        return embeddings

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The learners' frame: one column per name of ``feature_names_out_``, in that order."""
        return self._frame(X)

    def _frame(self, X: pd.DataFrame, embedded: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        parts = self._parts(X, embedded)
        if not hasattr(self, "origins_"):  # pickled before the renaming: the names it was trained on
            return pd.DataFrame({name: values for _, name, values in parts}, index=X.index)
        return _as_frame(self.feature_names_out_, [values for _, _, values in parts], X.index)

    def _encode(self, col: pd.Series) -> np.ndarray:
        """A text column's embeddings (missing text as the empty string), float64."""
        texts = col.fillna("").astype(str).tolist()
        return np.asarray(self.text_encoder.encode(texts), dtype=np.float64).reshape(len(texts), -1)

    def _parts(
        self, X: pd.DataFrame, embedded: Mapping[str, np.ndarray] | None = None
    ) -> list[tuple[str, str, Any]]:
        """``(input column, output name before renaming, values)`` for every output column; ``embedded``:
        the embeddings of ``X``'s text columns where they are known already."""
        # numeric inputs that are numbers already are converted at once: on a wide table, column by
        # column costs more than the model itself
        dtypes = dict(zip(X.columns, X.dtypes, strict=True))
        ready = [
            c
            for c in self.feature_names_in_
            if self.kinds_[c] == "numeric"
            and isinstance(dtypes.get(c), np.dtype)
            and dtypes[c].kind in "biuf"
        ]
        block = X[ready].to_numpy(dtype=np.float64) if ready else np.empty((len(X), 0))
        position = {c: j for j, c in enumerate(ready)}
        long_text = getattr(self, "text_lengths_", [])  # pickles made before the limit have none
        lengths = _text_lengths(X, long_text) if long_text else None
        skip = {c: j for j, c in enumerate(long_text)}
        # the category columns are read as one matrix of objects (column by column, pandas costs more
        # than the lookups on a wide table)
        grouped = [
            c for c in self.feature_names_in_ if self.kinds_[c] in ("categorical", "boolean") and c in dtypes
        ]
        objects = X[grouped].to_numpy(dtype=object) if grouped else np.empty((len(X), 0), dtype=object)
        present = ~pd.isna(objects)
        where = {c: j for j, c in enumerate(grouped)}
        pcas = getattr(self, "embedded_", {})  # pickles made before the embeddings have none
        parts: list[tuple[str, str, Any]] = []
        for c in self.feature_names_in_:
            kind = self.kinds_[c]
            if kind == "numeric" and c in position:
                parts.append((c, c, block[:, position[c]]))
                continue
            if c in skip and lengths is not None:
                parts.append((c, f"{c}__chars", lengths[:, skip[c]]))
                continue
            if c in where:
                j = where[c]
                parts.append((c, c, self._categorical(c, objects[:, j], present[:, j])))
                continue
            col = X[c] if c in X.columns else pd.Series(np.nan, index=X.index)
            if kind == "numeric":
                parts.append((c, c, pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()))
            elif kind in ("categorical", "boolean"):  # a column the frame does not have: all missing
                parts.append((c, c, self._categorical(c, np.full(len(X), None), np.zeros(len(X), bool))))
            elif kind == "datetime":
                d = _to_datetime(col)
                for p in self.datetime_parts_[c]:
                    if p == "epoch_days":
                        days = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400
                        parts.append((c, f"{c}__epoch_days", days))
                    else:
                        parts.append((c, f"{c}__{p}", getattr(d.dt, p).astype("float64")))
            elif kind == "text" and c in pcas:
                emb = embedded[c] if embedded is not None and c in embedded else self._encode(col)
                comps = pcas[c].transform(emb)
                for j in range(comps.shape[1]):
                    parts.append((c, f"{c}__emb{j}", comps[:, j]))
            elif kind == "text" and c in self.text_:
                tfidf, svd = self.text_[c]
                comps = svd.transform(tfidf.transform(col.fillna("").astype(str)))
                for j in range(comps.shape[1]):
                    parts.append((c, f"{c}__svd{j}", comps[:, j]))
        return parts

    def _categorical(self, c: str, values: np.ndarray, present: np.ndarray) -> pd.Categorical:
        """A column's ``values`` (objects; ``present``: not missing) as the fitted categories of ``c``:
        values compared as ``str``, missing and unseen values missing, or ``__other__`` when the column
        has that level."""
        cats = self.categories_[c]
        maps: dict[str, tuple[list[Any], dict[Any, int], int, pd.CategoricalDtype]] = (
            self.__dict__.setdefault("_category_maps", {})
        )
        entry = maps.get(c)
        if entry is None or entry[0] is not cats:  # built on first use (older pickles have none)
            lookup = {v: i for i, v in enumerate(cats)}
            entry = (cats, lookup, lookup.get("__other__", -1), pd.CategoricalDtype(cats))
            maps[c] = entry
        _, lookup, unseen, dtype = entry
        codes = np.fromiter(
            (lookup.get(str(v), unseen) if ok else -1 for v, ok in zip(values, present, strict=True)),
            dtype=np.int64,
            count=len(values),
        )
        return pd.Categorical.from_codes(codes, dtype=dtype)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)


_ENCODING_NAMES = {"tfidf": "TF-IDF + SVD", "embedding": "sentence embeddings + PCA"}


def _as_frame(names: Sequence[str], values: Sequence[Any], index: pd.Index) -> pd.DataFrame:
    """``pd.DataFrame(dict(zip(names, values)), index=index)`` for unique ``names``, with the float64
    arrays put in as one block (pandas takes 2,000 columns one by one far more slowly).

    >>> f = _as_frame(["a", "c", "b"], [np.array([1.0, 2.0]), pd.Categorical(["u", "v"]), np.array([3.0, 4.0])],
    ...              pd.RangeIndex(2))
    >>> list(f.columns), [str(t) for t in f.dtypes], f["b"].tolist()
    (['a', 'c', 'b'], ['float64', 'category', 'float64'], [3.0, 4.0])
    """
    dense = [
        j for j, v in enumerate(values) if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype == np.float64
    ]
    if len(dense) < 2:
        return pd.DataFrame(dict(zip(names, values, strict=True)), index=index)
    block = pd.DataFrame(
        np.column_stack([values[j] for j in dense]), index=index, columns=[names[j] for j in dense]
    )
    if len(dense) == len(values):
        return block
    taken = set(dense)
    rest = pd.DataFrame({names[j]: v for j, v in enumerate(values) if j not in taken}, index=index)
    return pd.concat([block, rest], axis=1)[list(names)]


def _value_counts(col: pd.Series) -> pd.Series:
    """``col.dropna().astype(str).value_counts()`` (the same levels in the same order), counted from one
    factorisation of the values: on 2,000 columns the pandas chain cost a second.

    >>> _value_counts(pd.Series(["b", None, "a", "b", 1, "1"], dtype=object)).to_dict()
    {'b': 2, '1': 2, 'a': 1}
    """
    codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
    keys = [v if isinstance(v, str) else str(v) for v in uniques]
    if len(set(keys)) < len(keys):  # values equal only as str (1 and "1"): the pandas chain merges them
        return col.dropna().astype(str).value_counts()
    counts = np.bincount(codes[codes >= 0], minlength=len(keys))
    # what value_counts does with the counts of the levels in order of first appearance
    return pd.Series(counts, index=pd.Index(keys, dtype=object), name="count").sort_values(ascending=False)


def _text_lengths(X: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """The length in characters of every value of the columns ``names`` (rows x columns, float64; missing
    values and absent columns NaN), in one pass over all the values at once.

    >>> _text_lengths(pd.DataFrame({"a": ["one two", None], "b": ["x", " y  z "]}), ["a", "b", "c"]).tolist()
    [[7.0, 1.0, nan], [nan, 6.0, nan]]
    """
    values = np.empty((len(X), len(names)), dtype=object)
    for j, c in enumerate(names):
        values[:, j] = X[c].to_numpy(dtype=object) if c in X.columns else None
    flat = values.ravel()
    # len() over the objects: pandas' str.len would first copy them all into an arrow array (7x slower)
    lengths = np.fromiter((len(v if isinstance(v, str) else str(v)) for v in flat), np.float64, len(flat))
    lengths[pd.isna(flat)] = np.nan
    return lengths.reshape(values.shape)


def _to_datetime(col: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        d = col
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = pd.to_datetime(col, errors="coerce", format="mixed")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert(None)
    return d.astype("datetime64[ns]")


def schema_of(frame: pd.DataFrame) -> dict[str, str]:
    """Column → dtype string."""
    return {str(c): str(t) for c, t in frame.dtypes.items()}


def fingerprint(frame: pd.DataFrame) -> dict[str, Any]:
    """Schema, row count and a short hash of the schema, as the registry records them."""
    schema = schema_of(frame)
    digest = hashlib.sha256(repr(sorted(schema.items())).encode()).hexdigest()[:16]
    return {"schema": schema, "n_rows": len(frame), "schema_hash": digest}
