"""The genes of a streaming population: which online learner, its hyper-parameters, and which inputs.

Each kind of member owns its parameter grid (data, not ``if``s) and how to build it from river. A
configuration is a frozen, hashable value; ``mutate`` moves one gene to a neighbouring value, or (less
often) switches the kind or the inputs, the EvoAutoML way. Classification members come from
:data:`KINDS`, regression members from :data:`REG_KINDS` (``table(regression)`` picks one).

    >>> import numpy as np
    >>> config = MemberConfig("linear", (("optimizer", "sgd"), ("lr", 0.05), ("l2", 0.0)), "context")
    >>> config.name
    'linear(optimizer=sgd, lr=0.05, l2=0.0)+context'
    >>> child = mutate(config, np.random.default_rng(0))
    >>> child != config and child.kind in KINDS
    True
    >>> model = build(config, seed=0)
    >>> model.learn_one({"x": 1.0}, "a"); model.learn_one({"x": -1.0}, "b")
    >>> sorted(model.predict_proba_one({"x": 1.0}))
    ['a', 'b']
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import partial
from numbers import Number
from typing import Any, Literal

import numpy as np
from river import base, multiclass, naive_bayes
from river import tree as river_tree
from river.tree.nodes.hatc_nodes import AdaLeafClassifier
from river.tree.nodes.htc_nodes import LeafNaiveBayesAdaptive
from river.tree.utils import do_naive_bayes_prediction

__all__ = [
    "INITIAL",
    "KINDS",
    "REG_INITIAL",
    "REG_KINDS",
    "AdaptiveTreeClassifier",
    "Inputs",
    "Kind",
    "MemberConfig",
    "OneVsRest",
    "build",
    "initial",
    "member_config",
    "mutate",
    "random_config",
    "table",
]

Inputs = Literal["raw", "context"]
INPUTS: tuple[Inputs, ...] = ("raw", "context")


@dataclass(frozen=True)
class MemberConfig:
    """One member's genes: the learner kind, its parameters (sorted pairs) and its inputs.

    ``inputs="raw"`` sees the event's features only; ``"context"`` also sees the stream context (last
    known labels, recent label shares, each number's deviation from its recent moving averages).
    """

    kind: str
    params: tuple[tuple[str, Any], ...]
    inputs: Inputs = "raw"

    def cost(self, kinds: Mapping[str, Kind]) -> float:
        """Its relative CPU per event (predict and learn) among ``kinds``: the kind's cost for its parameters."""
        return kinds[self.kind].cost_of(dict(self.params)) * (RAW_COST if self.inputs == "raw" else 1.0)

    @property
    def name(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.kind}({args})" + ("+context" if self.inputs == "context" else "")

    def param(self, key: str) -> Any:
        return dict(self.params)[key]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params), "inputs": self.inputs}


@dataclass(frozen=True)
class Kind:
    """A learner kind: its grid (parameter -> allowed values, first is the default), its builder, and its
    relative CPU per event (predict and learn), to keep an evolved population affordable: ``cost``, times
    ``scale(params)`` where the parameters change it (leaves that run naive Bayes, the number of trees)."""

    grid: Mapping[str, tuple[Any, ...]]
    make: Callable[[dict[str, Any], int], Any]
    cost: float
    scale: Callable[[Mapping[str, Any]], float] | None = None

    def cost_of(self, params: Mapping[str, Any]) -> float:
        return self.cost * (1.0 if self.scale is None else self.scale(params))


class OneHotStrings(base.Transformer):
    """Numbers pass as they are, a string value becomes the indicator ``name_value`` = 1 (river's
    ``OneHotEncoder`` naming), anything else (``None``) is left out: text and categorical columns reach
    the members that need numbers as indicators, never as a string. One pass over the event, so a purely
    numeric stream pays almost nothing for it.

    >>> OneHotStrings().transform_one({"a": 1.5, "color": "red", "b": None})
    {'a': 1.5, 'color_red': 1}
    """

    def transform_one(self, x: dict[Hashable, Any]) -> dict[Hashable, Any]:
        # every member of a population encodes the same event (to predict it, then to learn it): the last
        # few encodings are kept by the event's identity, shared by all instances, and handed out as copies
        # (20 % of the stream learner's CPU on elec2 went to encoding the same event again)
        recent = getattr(_LOCAL, "encoded", None)
        if recent is None:
            recent = _LOCAL.encoded = deque(maxlen=4)
        for seen, encoded in recent:
            if seen is x:
                return dict(encoded)
        out: dict[Hashable, Any] = {}
        for k, v in x.items():
            kind = type(v)
            if kind is float or kind is int:  # the common case, without the ABC check below (3x slower)
                out[k] = v
            elif isinstance(v, str):
                out[f"{k}_{v}"] = 1
            elif isinstance(v, Number):
                out[k] = v
        recent.append((x, out))
        return dict(out)


#: per thread, ``encoded``: (event, encoding) of the last events encoded. An event is held while kept, so its
#: identity is not reused; the learners hand their members a fresh dict per event and never change it
_LOCAL = threading.local()


def _encoded(scale: bool) -> Any:
    """Numbers (scaled when ``scale``) beside strings one-hot encoded."""
    from river import preprocessing

    return OneHotStrings() | preprocessing.StandardScaler() if scale else OneHotStrings()


def _scaled(model: Any) -> Any:
    return _encoded(scale=True) | model


def _numeric(model: Any) -> Any:
    return _encoded(scale=False) | model


def _scaled_dict(d: dict[Any, float], factor: float) -> dict[Any, float]:
    """River's ``normalize_values_in_dict(d, factor, inplace=False)`` without its deep copy: the same
    floats (each value times ``1 / factor``), or a copy of ``d`` when ``factor`` is 0 or NaN."""
    if factor == 0 or factor != factor:
        return dict(d)
    inverse = 1 / factor
    return {k: v * inverse for k, v in d.items()}


class _Counts(LeafNaiveBayesAdaptive):
    def learn_one(self, x: Any, y: Any, *, w: float = 1.0, tree: Any = None) -> None:
        # past the naive-Bayes bookkeeping, to the statistics and splitters
        super(LeafNaiveBayesAdaptive, self).learn_one(x, y, w=w, tree=tree)


class _NaiveBayesCounts(LeafNaiveBayesAdaptive):
    """River's bookkeeping of whether the majority class or naive Bayes would have been right, with the
    naive-Bayes answer the leaf gave this event already (:meth:`_AdaLeafBase._naive_bayes`) rather than a
    second one, and the majority class without a normalised copy of the counts (the same argmax)."""

    def learn_one(self, x: Any, y: Any, *, w: float = 1.0, tree: Any = None) -> None:
        if self.is_active():
            stats = self.stats
            if not stats or max(stats, key=stats.get) == y:
                self._mc_correct_weight += w
            nb = self._naive_bayes(x)  # type: ignore[attr-defined]
            if nb and max(nb, key=nb.get) == y:
                self._nb_correct_weight += w
        super(LeafNaiveBayesAdaptive, self).learn_one(x, y, w=w, tree=tree)


class _AdaLeafBase(AdaLeafClassifier):
    """River's adaptive leaf, answering without deep-copying the distribution twice, and computing one
    naive-Bayes answer per event: river's leaf computes it when the tree answers, again when the leaf
    learns (its error estimate) and a third time for its bookkeeping, from the same counts. The answer is
    kept with a copy of the event it was for until the leaf learns (its counts change then)."""

    _memo: tuple[dict[Any, Any], dict[Any, float]] | None = None

    def _naive_bayes(self, x: Any) -> dict[Any, float]:
        memo = self._memo
        if memo is not None and memo[0] == x:
            return memo[1]
        dist = do_naive_bayes_prediction(x, self.stats, self.splitters)
        self._memo = (dict(x), dist)
        return dist

    def learn_one(self, x: Any, y: Any, **kwargs: Any) -> None:
        super().learn_one(x, y, **kwargs)
        self._memo = None

    def prediction(self, x: Any, *, tree: Any = None) -> Any:  # river's, None without counts
        if not self.stats:
            return None
        option = tree.leaf_prediction
        naive_bayes = self.is_active() and (
            self.total_weight >= tree.nb_threshold
            if option == tree._NAIVE_BAYES
            else option != tree._MAJORITY_CLASS and self._nb_correct_weight >= self._mc_correct_weight
        )
        dist = self._naive_bayes(x) if naive_bayes else _scaled_dict(self.stats, sum(self.stats.values()))
        error = self._mean_error.get()
        return _scaled_dict(dist, sum(dist.values()) * error * error)


class _AdaLeaf(_AdaLeafBase, _NaiveBayesCounts):
    """The ``nba`` and ``nb`` trees' leaf (river's bookkeeping, one naive-Bayes answer per event)."""


class _MajorityAdaLeaf(_AdaLeafBase, _Counts):  # AdaLeafClassifier's super() is _Counts
    """The ``mc`` tree's leaf: learns past the naive-Bayes bookkeeping, answers as :class:`_AdaLeafBase`."""


class AdaptiveTreeClassifier(river_tree.HoeffdingAdaptiveTreeClassifier):
    """River's Hoeffding adaptive tree classifier whose leaves skip work whose result is thrown away.

    River's adaptive leaves always run a naive-Bayes prediction as they learn (to choose between it and the
    majority class, for ``nba`` leaves) and deep-copy each distribution they answer, twice: with ``mc``
    leaves the naive-Bayes work is thrown away, and it was most of the CPU of a population of adaptive trees
    (measured on Agrawal); ``nba`` and ``nb`` leaves learn as river's and answer without the copies. This
    tree answers exactly as river's does (the same floats; a test compares them)."""

    def _new_leaf(self, initial_stats: Any = None, parent: Any = None) -> Any:
        leaf = _MajorityAdaLeaf if self.leaf_prediction == self._MAJORITY_CLASS else _AdaLeaf
        return leaf(
            stats={} if initial_stats is None else initial_stats,
            depth=0 if parent is None else parent.depth + 1,
            splitter=self.splitter,
            drift_detector=self.drift_detector.clone(),
            rng=self._rng,
        )


def _hoeffding(p: dict[str, Any], seed: int, *, regression: bool = False) -> Any:
    from river import tree

    cls = tree.HoeffdingAdaptiveTreeRegressor if regression else AdaptiveTreeClassifier
    model = cls(
        grace_period=p["grace_period"], delta=p["delta"], leaf_prediction=p["leaf_prediction"], seed=seed
    )
    return _scaled(model) if regression else model


def _arf(p: dict[str, Any], seed: int, *, regression: bool = False) -> Any:
    from river import forest

    cls = forest.ARFRegressor if regression else forest.ARFClassifier
    model = cls(n_models=p["n_models"], lambda_value=p["lambda_value"], seed=seed)
    return _scaled(model) if regression else model


class OneVsRest(multiclass.OneVsRestClassifier):
    """One-vs-rest that trains a single binary model while two classes have been seen (the second
    class's probability is its complement), and one model per class from the third class on (the
    second class's model starts learning then). River's ``OneVsRestClassifier`` trains two mirrored
    models on a binary stream: twice the time for the same answer.

        >>> from river import linear_model
        >>> model = OneVsRest(linear_model.LogisticRegression())
        >>> for x, y in [({"x": 1.0}, "a"), ({"x": -1.0}, "b")] * 20:
        ...     model.learn_one(x, y)
        >>> p = model.predict_proba_one({"x": 1.0})
        >>> max(p, key=p.get), round(sum(p.values()), 6), len(model.classifiers)
        ('a', 1.0, 2)
    """

    def learn_one(self, x: dict[Hashable, Any], y: Any, **kwargs: Any) -> None:
        if y not in self.classifiers:
            self.classifiers[y] = self.classifier.clone()
        if len(self.classifiers) != 2:
            super().learn_one(x, y, **kwargs)
            return
        first = next(iter(self.classifiers))
        self.classifiers[first].learn_one(x, y == first, **kwargs)

    def predict_proba_one(self, x: dict[Hashable, Any], **kwargs: Any) -> dict[Any, float]:
        if len(self.classifiers) != 2:
            return super().predict_proba_one(x, **kwargs)
        first, second = self.classifiers
        p = float(self.classifiers[first].predict_proba_one(x, **kwargs)[True])
        return {first: p, second: 1.0 - p}


def _linear(p: dict[str, Any], seed: int) -> Any:
    from river import linear_model, optim

    opt = optim.SGD(p["lr"]) if p["optimizer"] == "sgd" else optim.FTRLProximal(alpha=p["lr"], l2=p["l2"])
    l2 = p["l2"] if p["optimizer"] == "sgd" else 0.0
    return _scaled(OneVsRest(linear_model.LogisticRegression(optimizer=opt, l2=l2)))


def _linear_reg(p: dict[str, Any], seed: int) -> Any:
    from river import linear_model, optim, preprocessing

    model = linear_model.LinearRegression(optimizer=optim.SGD(p["lr"]), l2=p["l2"])
    return preprocessing.TargetStandardScaler(regressor=_scaled(model))


class GaussianNB(naive_bayes.GaussianNB):
    """River's Gaussian naive Bayes, normalising its log-likelihoods with ``math`` instead of SciPy's
    ``logsumexp`` (about 30 us of set-up per answer for two or three numbers); the same probabilities to
    within a few units in the last place (a test compares them)."""

    def predict_proba_one(self, x: dict[Hashable, Any], **kwargs: Any) -> dict[Any, float]:
        jll = self.joint_log_likelihood(x)
        if not jll:
            return {}
        top = max(jll.values())
        lse = top + math.log(sum(math.exp(v - top) for v in jll.values())) if math.isfinite(top) else top
        return {label: math.exp(ll - lse) for label, ll in jll.items()}


def _nb(p: dict[str, Any], seed: int) -> Any:
    return _numeric(GaussianNB())


def _knn(p: dict[str, Any], seed: int, *, regression: bool = False) -> Any:
    from river import neighbors

    cls = neighbors.KNNRegressor if regression else neighbors.KNNClassifier
    engine = neighbors.LazySearch(window_size=p["window_size"])
    return _scaled(cls(n_neighbors=p["n_neighbors"], engine=engine))


def _amf(p: dict[str, Any], seed: int, *, regression: bool = False) -> Any:
    from river import forest

    cls = forest.AMFRegressor if regression else forest.AMFClassifier
    return _numeric(cls(n_estimators=p["n_estimators"], step=p["step"], use_aggregation=True, seed=seed))


def _regressor(make: Callable[..., Any]) -> Callable[[dict[str, Any], int], Any]:
    return partial(make, regression=True)


#: genes shared by a kind's classifier and regressor
_TREE = {"grace_period": (200, 50, 100, 400), "delta": (1e-7, 1e-5, 1e-3)}
_ARF = {"n_models": (3, 5), "lambda_value": (6, 3)}
_AMF = {"n_estimators": (3, 5), "step": (1.0, 0.5, 2.0)}

#: every kind a member can be, with its grid; adding a learner touches this table only. The first value
#: of each gene is the default: Hoeffding leaves predict the majority class (``mc``) by default;
#: evolution can switch them. The costs are CPU per event (predict and learn) on the context features
#: relative to a Hoeffding tree with majority-class leaves (30-55 us, by machine), measured on the first
#: 4,000 events of Agrawal and elec2 by ``bench/stream_member_costs.py``; a member on the raw features
#: costs 0.65 of that (:data:`RAW_COST`). Naive-Bayes leaves (``nba``, ``nb``) are priced above what they
#: measure since each leaf answers naive Bayes once per event (1.55 and 1.7, from 3 and 4): at their
#: measured price evolution kept more of them, which cost more CPU in all and served lower accuracy on
#: three of the four drifting streams of the evolution bench (Agrawal 0.8396 against 0.8440 with immediate
#: labels, recurring Agrawal 0.8814 against 0.8914 with weekly ones).
KINDS: dict[str, Kind] = {
    "hoeffding": Kind(
        {**_TREE, "leaf_prediction": ("mc", "nba", "nb")},
        _hoeffding,
        1.0,
        lambda p: {"mc": 1.0, "nba": 3.0, "nb": 4.0}[p["leaf_prediction"]],
    ),
    "arf": Kind(_ARF, _arf, 2.05, lambda p: p["n_models"]),  # per tree
    "linear": Kind(
        {"optimizer": ("sgd", "ftrl"), "lr": (0.05, 0.01, 0.1, 0.5), "l2": (0.0, 1e-4, 1e-2)},
        _linear,
        0.75,
        lambda p: 1.8 if p["optimizer"] == "ftrl" else 1.0,
    ),
    "nb": Kind({}, _nb, 1.3),  # 2.8 with SciPy's logsumexp (see GaussianNB)
    "knn": Kind(
        {"n_neighbors": (5, 3, 9), "window_size": (50, 100, 25)},
        _knn,
        0.65,
        lambda p: 1 + p["window_size"] / 54,
    ),
    "amf": Kind(_AMF, _amf, 1.45, lambda p: p["n_estimators"]),  # per tree
}

#: what a member on the event's own features costs, relative to the same member on the context features
RAW_COST = 0.65

#: the regression members (same genes, river's regressors; a linear member scales inputs and target)
REG_KINDS: dict[str, Kind] = {
    "hoeffding": Kind(
        {**_TREE, "leaf_prediction": ("adaptive", "model", "mean")}, _regressor(_hoeffding), 1.0
    ),
    "arf": Kind(_ARF, _regressor(_arf), 4.0),
    "linear": Kind({"lr": (0.01, 0.003, 0.03, 0.1), "l2": (0.0, 1e-4, 1e-2)}, _linear_reg, 0.3),
    "knn": Kind({"n_neighbors": (5, 3, 9), "window_size": (200, 100, 400)}, _regressor(_knn), 4.0),
    "amf": Kind(_AMF, _regressor(_amf), 3.0),
}


def table(regression: bool) -> dict[str, Kind]:
    """The kinds a member can be: :data:`REG_KINDS` for a numeric target, :data:`KINDS` for classes."""
    return REG_KINDS if regression else KINDS


def member_config(
    kind: str, inputs: Inputs, *, kinds: Mapping[str, Kind] = KINDS, **params: Any
) -> MemberConfig:
    """The configuration of a ``kind`` member on ``inputs``: its grid's defaults, except ``params``."""
    grid = kinds[kind].grid
    values = {k: params.get(k, v[0]) for k, v in grid.items()}
    return MemberConfig(kind, tuple(sorted(values.items())), inputs)


#: the opening population, cheapest and most diverse first; ``population=n`` takes the first n
INITIAL: tuple[MemberConfig, ...] = (
    member_config("hoeffding", "context"),
    member_config("linear", "context"),
    member_config("hoeffding", "raw"),
    member_config("linear", "raw", optimizer="ftrl", lr=0.1),
    member_config("nb", "raw"),
    member_config("hoeffding", "context", grace_period=50, leaf_prediction="mc"),
    member_config("arf", "context"),
    member_config("amf", "raw"),
    member_config("knn", "raw"),
)

#: the opening regression population
REG_INITIAL: tuple[MemberConfig, ...] = (
    member_config("hoeffding", "context", kinds=REG_KINDS),
    member_config("linear", "context", kinds=REG_KINDS),
    member_config("hoeffding", "raw", kinds=REG_KINDS),
    member_config("knn", "raw", kinds=REG_KINDS),
    member_config("linear", "raw", kinds=REG_KINDS, lr=0.03),
    member_config("arf", "context", kinds=REG_KINDS),
    member_config("amf", "raw", kinds=REG_KINDS),
)


def initial(regression: bool) -> tuple[MemberConfig, ...]:
    """The opening population for a numeric target (``regression``) or for classes."""
    return REG_INITIAL if regression else INITIAL


def build(config: MemberConfig, *, seed: int, regression: bool = False) -> Any:
    """A fresh river classifier (or regressor, with ``regression``) for ``config``."""
    return table(regression)[config.kind].make(dict(config.params), seed)


def random_config(
    rng: np.random.Generator, *, inputs: Inputs | None = None, kinds: Mapping[str, Kind] = KINDS
) -> MemberConfig:
    """A configuration drawn uniformly over ``kinds``, then over each parameter's values."""
    kind = str(rng.choice(sorted(kinds)))
    grid = kinds[kind].grid
    values = {k: v[int(rng.integers(len(v)))] for k, v in grid.items()}
    chosen = inputs if inputs is not None else INPUTS[int(rng.integers(len(INPUTS)))]
    return MemberConfig(kind, tuple(sorted(values.items())), chosen)


def mutate(
    config: MemberConfig,
    rng: np.random.Generator,
    *,
    p_kind: float = 0.25,
    p_inputs: float = 0.15,
    kinds: Mapping[str, Kind] = KINDS,
) -> MemberConfig:
    """A neighbour of ``config``: another kind (``p_kind``), the other inputs (``p_inputs``), or one
    parameter moved to another of its values. Never returns ``config`` itself when a move exists."""
    u = rng.random()
    if u < p_kind:
        other = random_config(rng, inputs=config.inputs, kinds=kinds)
        if other.kind != config.kind:
            return other
    if u < p_kind + p_inputs:
        return MemberConfig(config.kind, config.params, "raw" if config.inputs == "context" else "context")
    params = dict(config.params)
    movable = [k for k, v in kinds[config.kind].grid.items() if len(v) > 1]
    if not movable:
        return MemberConfig(config.kind, config.params, "raw" if config.inputs == "context" else "context")
    key = movable[int(rng.integers(len(movable)))]
    choices = [v for v in kinds[config.kind].grid[key] if v != params[key]]
    params[key] = choices[int(rng.integers(len(choices)))]
    return MemberConfig(config.kind, tuple(sorted(params.items())), config.inputs)
