"""``OnlineLayer``: online members on top of a fixed (batch) model, learning from every label as it arrives.

The served champion is a batch model: between retrains it learns nothing. The layer is a
:class:`StreamLearner` (the same population, ADWIN detectors, archive, LightGBM member and stream context)
learning the rows as they are labelled, with one more fixed member that repeats the base model's answer.
Its members are scored prequentially on each label like the stream learner's, and the combined answer
weighs them by their recent loss. With ``base_features`` the members also see the base model's output
as inputs (``_champ=<k>``, ``_champ``); off by default: on SEA and Agrawal with drift it cost 2.4 and
0.7 points, since members that lean on the base model's output are slow to leave it after a drift.

The guard: what is served is the base model's answer until the combined answer has been *measurably*
better on the recent labels: a one-sided sign test (McNemar's exact test for classes) over the last
``window`` labelled rows where the two disagree, at level ``level``. Once serving, the combination keeps
serving while it stays at least level with the base model on those rows, and the layer falls back to the
base model's answer by itself as soon as the base model is ahead (``sticky``; without it, as soon as the
combination is no longer *significantly* better: after a drift that both first miss, a tie would hand the
answers back to the base model just as the members adapt; on SEA with weekly labels the sticky guard
served 0.870 against 0.867).

Label latency: :meth:`answer` takes a snapshot of what the layer saw for each row (its inputs, the context
of the labels that had arrived *then*, every member's output); :meth:`learn` learns a label with the
snapshot of its row, whatever arrived in between, so neither the context nor the training uses a label that
had not arrived when the row was predicted. A label whose snapshot is not kept (older than the last
``keep`` answers, or answered before a restart) is learned with the context of the moment it arrives.

Labels are encoded by the caller: the class's index in the base model's ``classes`` for a classifier, a
float for a regressor.

    >>> import numpy as np
    >>> layer = OnlineLayer(n_classes=2, learner=StreamLearner(population=2, hybrid=False, seed=0))
    >>> rng = np.random.default_rng(0)
    >>> for t in range(1000):
    ...     x = {"a": float(rng.normal())}
    ...     y = int(x["a"] > 0)  # the base model below knows nothing of it; the members learn it
    ...     served, seen = layer.answer([x], np.array([[0.6, 0.4]]))
    ...     layer.learn(y, seen=seen[0])
    >>> layer.serving_combined, layer.figures()["combined_error"] < 0.1
    (True, True)
"""

from __future__ import annotations

import functools
import math
import time
from collections import OrderedDict, deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lamarck.errors import ConfigError
from lamarck.stream._learner import Member, Pending, StreamLearner

__all__ = ["OnlineLayer", "Seen", "sign_test"]

#: the layer's learner: the stream learner's defaults (a population of 2 with LightGBM every 2,000 labels
#: cost 30 % less CPU and lost 4 points on Agrawal with drift; measured with bench/results/evolution's streams)
LAYER_OPTIONS: dict[str, Any] = {}


@dataclass(frozen=True)
class Seen:
    """What the layer saw when it answered one row: the event, its context features, each member's output,
    the combined output and the base model's output (a class -> probability dict, or a float)."""

    x: dict[str, Any]
    z: dict[str, Any]
    #: ``None`` (with ``combined``) for a row answered while the base model served bare: the members
    #: answer when its label arrives (``OnlineLayer.lazy``)
    members: dict[str, Any] | None
    combined: Any
    base: Any  # None after a rebase: the model that answered no longer serves
    #: labels the layer had learned when it answered (a later label makes the snapshot's outputs stale)
    learned: int = -1


class _Base:
    """The fixed member: the base model's answer for the event being answered (set by the layer in
    ``current`` just before; the members are only asked about the current event)."""

    def __init__(self, n_classes: int | None) -> None:
        self.n_classes = n_classes
        self.current: Any = None

    def predict_proba_one(self, x: Mapping[str, Any]) -> dict[int, float]:
        base = self.current
        return {} if base is None else {k: float(base[k]) for k in range(self.n_classes or 0)}

    def predict_one(self, x: Mapping[str, Any]) -> float | None:
        return None if self.current is None else float(self.current)

    def learn_one(self, x: Mapping[str, Any], y: Any) -> None:
        """The base model does not learn here (it is retrained by the batch evolver)."""


@functools.lru_cache(maxsize=65_536)  # the guard asks it once per label, mostly the same few counts
def sign_test(better: int, worse: int) -> float:
    """One-sided exact sign test: P(at least ``better`` wins out of ``better + worse`` fair coin flips)
    (McNemar's exact test on the discordant pairs).

    >>> round(sign_test(15, 3), 4), sign_test(0, 0)
    (0.0038, 1.0)
    """
    n = better + worse
    if n == 0:
        return 1.0
    from scipy.special import bdtrc  # the binomial survival function as a ufunc: 1 us, binom.sf 40 us

    return float(bdtrc(better - 1, n, 0.5))


class OnlineLayer:
    """Online members over a base model's outputs; serves the base model until the combination is
        significantly better on recent labels.

        ``n_classes``: the base model's number of classes (``None`` for a regression). ``window``: the recent
        labels the guard compares on; ``level``: its one-sided test level; ``keep``: snapshots kept for labels
        still to come; ``max_features``: the row's features the members see (the first ones, in the order
        given; the base model's output always); ``max_category_chars``: a text value longer than this is free text,
    not a category, and the members do not see it.
    """

    #: the class defaults read a checkpoint pickled before the options existed
    max_category_chars: int = 64
    #: while the base model serves bare, a row is answered without asking the members (its event and
    #: context are kept); they answer when its label arrives, before learning it. A row whose label never
    #: comes costs no member anything (most served rows, in production)
    lazy: bool = True

    def __init__(
        self,
        *,
        n_classes: int | None,
        learner: StreamLearner | None = None,
        window: int = 500,
        level: float = 0.05,
        keep: int = 50_000,
        max_features: int = 64,
        max_category_chars: int = 64,
        base_features: bool = False,
        sticky: bool = True,
        stale_after: int | None = None,
        lazy: bool = True,
    ) -> None:
        if n_classes is not None and n_classes < 2:
            raise ConfigError(f"OnlineLayer n_classes={n_classes}: a classifier has at least 2 classes.")
        self.n_classes = n_classes
        self.learner = learner or StreamLearner(**LAYER_OPTIONS, regression=n_classes is None)
        if self.learner.regression != (n_classes is None):
            raise ConfigError(
                f"OnlineLayer: the learner has regression={self.learner.regression} but n_classes="
                f"{n_classes}. Fix: StreamLearner(regression={n_classes is None})."
            )
        self.window, self.level, self.keep, self.max_features = window, level, keep, max_features
        self.max_category_chars = max_category_chars
        self.lazy = lazy
        self.base_features = base_features
        self.sticky = sticky
        #: a delayed label is scored on the combination's answer *now* once more than this many labels
        #: were learned since its row was answered (default ``window // 10``); a fresher snapshot's answer
        #: stands (it is nearly today's, and answering again costs a pass over every member)
        self.stale_after = max(1, window // 10) if stale_after is None else stale_after
        self.pairs_: deque[tuple[float, float]] = deque(maxlen=window)  # (base loss, combined loss)
        self.better_ = self.worse_ = 0
        self.p_value_ = 1.0
        self.serving_combined = False
        self.pending_: OrderedDict[Hashable, Seen] = OrderedDict()
        self.n_learned_ = 0
        self.n_warm_ = 0
        self.n_recomputed_ = 0
        self.cpu_s_ = 0.0

    @property
    def regression(self) -> bool:
        return self.n_classes is None

    # ------------------------------------------------------------------ answer

    def _event(self, row: Mapping[str, Any], base: Any) -> dict[str, Any]:
        x: dict[str, Any] = {}
        for name, v in row.items():
            if len(x) >= self.max_features:
                break
            if v is None or (isinstance(v, float) and math.isnan(v)) or isinstance(v, list | dict):
                continue
            if isinstance(v, str) and len(v) > self.max_category_chars:
                continue  # free text: every value a new category, nothing a tree could split on
            x[name if isinstance(name, str) else str(name)] = v
        if not self.base_features:
            return x
        if self.regression:
            x["_champ"] = float(base)
        else:
            for k in range(self.n_classes or 0):
                x[f"_champ={k}"] = float(base[k])
        return x

    def _see(self, row: Mapping[str, Any], base: Any) -> Seen:
        learner = self.learner
        if not hasattr(learner, "members_"):
            learner._ensure()
            self.base_ = _Base(self.n_classes)
            learner.members_.append(Member("base", None, self.base_, "raw", regression=self.regression))
        base_out = float(base) if self.regression else {k: float(base[k]) for k in range(len(base))}
        if self.lazy and not self.serving_combined:  # the base model serves: the members answer later
            x, z, _, _ = learner.observe_pending(self._event(row, base))
            return Seen(x, z, None, None, base_out, self.n_learned_ + self.n_warm_)
        self.base_.current = base
        _, (x, z, members, combined) = learner.predict_pending(self._event(row, base))
        self.base_.current = None
        return Seen(x, z, members, combined, base_out, self.n_learned_ + self.n_warm_)

    def answer(self, rows: Sequence[Mapping[str, Any]], base: np.ndarray) -> tuple[np.ndarray, list[Seen]]:
        """The served outputs for ``rows`` (an ``n x classes`` probability array, or ``n`` values) given
        the base model's (``base``, same shape), and the snapshot of each row for :meth:`learn`.

        Moves the context's input averages (each row is an arriving event); learns nothing."""
        t0 = time.thread_time()
        base = np.asarray(base, dtype=float)
        served = base.copy()
        seen = [self._see(row, base[i]) for i, row in enumerate(rows)]
        if self.serving_combined:
            for i, s in enumerate(seen):
                out = self._output(s.combined)
                if out is not None:
                    served[i] = out
        self.cpu_s_ += time.thread_time() - t0
        return served, seen

    def _output(self, combined: Any) -> Any:
        if self.regression:
            return None if combined is None else float(combined)
        if not combined:
            return None
        total = sum(combined.get(k, 0.0) for k in range(self.n_classes or 0)) or 1.0
        return np.array([combined.get(k, 0.0) / total for k in range(self.n_classes or 0)])

    @property
    def can_rebase(self) -> bool:
        """Whether the members can serve another base model: they never saw this one's outputs."""
        return not self.base_features

    def rebase(
        self,
        rows: Sequence[Mapping[str, Any]] = (),
        base: Any = None,
        labels: Sequence[Any] | np.ndarray = (),
        *,
        guard: Sequence[tuple[float, float]] = (),
    ) -> None:
        """Carry the members over to a new base model (a promotion or a rollback): what they learned of the
        rows holds whatever model serves, only the base member and the guard are about the old one.

        The base member's recent score restarts from the new model's *honest* outputs ``base`` for
        labelled ``rows`` (out of fold: :meth:`warm`'s rule), scored without anyone learning them again;
        the guard restarts from ``guard``, pairs of (the new model's loss, the served answer's loss) on
        labelled rows the new model answered in the shadow (empty: the new model is served bare until the
        combination is measurably better than *it*); the snapshots of rows answered before keep what the members saw, without the old
        model's output (their labels still teach the members, but score neither the guard nor the base)."""
        if not self.can_rebase:
            raise ConfigError(
                "OnlineLayer.rebase: members that see the base model's outputs (base_features=True) cannot "
                "serve another base model. Fix: start a fresh layer."
            )
        self.pairs_.clear()
        self.better_ = self.worse_ = 0
        self.p_value_, self.serving_combined = 1.0, False
        for pair in list(guard)[-self.window :]:
            self._pair(*pair)
        for key, s in self.pending_.items():
            if s.members is None:  # answered lazily: the members answer when the label comes
                self.pending_[key] = replace(s, base=None)
                continue
            members = {name: out for name, out in s.members.items() if name != "base"}
            self.pending_[key] = replace(s, members=members, base=None)
        if not hasattr(self, "base_"):
            return
        gains = []
        outputs = np.asarray(base, dtype=float) if len(rows) else np.zeros(0)
        for i in range(len(rows)):
            out = (
                float(outputs[i])
                if self.regression
                else {k: float(outputs[i][k]) for k in range(len(outputs[i]))}
            )
            gains.append(self.learner._gain(out, float(labels[i]) if self.regression else int(labels[i])))
        member = next(m for m in self.learner.members_ if m.model is self.base_)
        member.n = len(gains)
        member.score = self.learner._mean_gain(gains) if gains else 0.0
        self.n_rebased_ = getattr(self, "n_rebased_", 0) + 1

    def remember(self, keys: Sequence[Hashable], seen: Sequence[Seen]) -> None:
        """Keep each row's snapshot under its key (the prediction id) until its label arrives (the
        oldest are dropped beyond ``keep``)."""
        for key, s in zip(keys, seen, strict=True):
            self.pending_[key] = s
        while len(self.pending_) > self.keep:
            self.pending_.popitem(last=False)

    # ------------------------------------------------------------------ learn

    def learn(
        self,
        y: Any,
        *,
        key: Hashable | None = None,
        seen: Seen | None = None,
        row: Mapping[str, Any] | None = None,
        base: Any = None,
    ) -> None:
        """Learn one label: of the row answered under ``key`` (its snapshot), of a snapshot given, or else
        of ``row`` with the base model's output ``base`` (the context is the present one)."""
        t0 = time.thread_time()
        if seen is None and key is not None:
            seen = self.pending_.pop(key, None)
        if seen is None:
            if row is None or base is None:
                raise ConfigError(
                    "OnlineLayer.learn needs the snapshot of the row (key or seen), or the row and the base "
                    "model's output for it."
                )
            seen = self._see(row, np.asarray(base, dtype=float))
            self.n_recomputed_ += 1
        self._learn_seen(seen, y)
        self.n_learned_ += 1
        self.cpu_s_ += time.thread_time() - t0

    def _learn_seen(self, seen: Seen, y: Any) -> None:
        """Score the combination for the guard, then let the members learn the label.

        The guard asks whether the combination *as it is now* beats the base model, so a label that arrives
        after more than ``stale_after`` others were learned (a delayed one) is scored on the combination's answer now, from the
        snapshot's event and context: still prequential (the label is not learned yet), without the lag of
        a delay (with weekly labels, the answer given a week ago says little of what serves today). The
        members' own scores keep the answer they gave then, as the stream learner's do."""
        y = float(y) if self.regression else int(y)
        pending = Pending(seen.x, seen.z, seen.members, seen.combined)
        if seen.members is None:  # answered lazily: the members answer now, before they learn it
            self.base_.current = seen.base
            pending = self.learner.answer_pending(pending)
            self.base_.current = None
            self._score(seen, y, pending.combined)
            self.learner.learn_pending(pending, y)
            return
        combined = seen.combined
        stale = self.n_learned_ + self.n_warm_ - seen.learned
        if seen.base is not None and seen.learned >= 0 and stale > getattr(self, "stale_after", 0):
            self.base_.current = seen.base
            combined = self.learner.reanswer(pending)
            self.base_.current = None
        self._score(seen, y, combined)
        self.learner.learn_pending(pending, y)

    def warm(
        self, rows: Sequence[Mapping[str, Any]], base: np.ndarray, labels: Sequence[Any] | np.ndarray
    ) -> int:
        """Learn labelled rows in order, each answered first, with the base model's *honest* outputs for
        them (out of fold, or held out: never its outputs on its own training rows, which would teach the
        members to trust it too much); the guard counts them. Returns how many were learned."""
        t0 = time.thread_time()
        base = np.asarray(base, dtype=float)
        for i, row in enumerate(rows):
            self._learn_seen(self._see(row, base[i]), labels[i])
            self.n_warm_ += 1
        self.cpu_s_ += time.thread_time() - t0
        return len(rows)

    def _loss(self, out: Any, y: Any) -> float | None:
        if self.regression:
            return None if out is None else abs(float(out) - y)
        if not out:
            return None
        return 0.0 if max(out, key=out.get) == y else 1.0

    def _score(self, seen: Seen, y: Any, now: Any) -> None:
        if seen.base is None:  # answered under an earlier base model (see :meth:`rebase`)
            return
        base = self._loss(seen.base, y)
        combined = self._loss(now, y)
        if base is None:
            return
        self._pair(base, base if combined is None else combined)

    def _pair(self, base: float, combined: float) -> None:
        if len(self.pairs_) == self.pairs_.maxlen:
            old_base, old_comb = self.pairs_[0]
            self.better_ -= old_comb < old_base
            self.worse_ -= old_comb > old_base
        self.pairs_.append((base, combined))
        self.better_ += combined < base
        self.worse_ += combined > base
        self.p_value_ = sign_test(self.better_, self.worse_)
        if self.serving_combined and getattr(self, "sticky", False):
            self.serving_combined = self.better_ >= self.worse_
        else:
            self.serving_combined = self.p_value_ < self.level

    # ------------------------------------------------------------------ figures

    def figures(self) -> dict[str, Any]:
        """What ``/v1/status`` shows: labels learned, the recent loss of the base model and of the
        combination (error rate, or mean absolute error), the guard's test and the members."""
        n = len(self.pairs_)
        base = sum(b for b, _ in self.pairs_) / n if n else None
        combined = sum(c for _, c in self.pairs_) / n if n else None
        members = self.learner.describe()[:6] if hasattr(self.learner, "members_") else []
        return {
            "labels_learned": self.n_learned_,
            "warmed_on": self.n_warm_,
            "recent_labels": n,
            "base_error": base,
            "combined_error": combined,
            "better": self.better_,
            "worse": self.worse_,
            "p_value": self.p_value_,
            "serving": "combined" if self.serving_combined else "champion",
            "pending_snapshots": len(self.pending_),
            "learned_without_snapshot": self.n_recomputed_,
            "base_models_served": 1 + getattr(self, "n_rebased_", 0),
            # this thread's CPU in answer / learn / warm (a per-thread clock: the process-wide one walks
            # every thread of the process, which cost more than the layer's own work at one row per
            # request), and the members' background training
            "cpu_seconds": round(self.cpu_s_ + self.learner.background_cpu_seconds(), 3),
            "members": members,
        }
