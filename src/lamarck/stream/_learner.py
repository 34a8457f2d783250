"""``StreamLearner``: an evolving population of online learners, one event at a time.

Why one file of ~570 lines: the prequential step (predict, release delayed labels, learn, score,
replace, archive) is one state machine over shared state; its parts (members, context, boost, events)
live in their own modules.

Prequential: each event is predicted first, and its label (when it arrives, ``label_delay`` events
later) is learned after. The population (EvoAutoML-style, on river) holds several online pipelines;
each is scored on its own predictions; every ``replace_every`` labels the worst is replaced by a
mutation of the best's configuration, warm-started on the recent window (what the parent's era taught
is replayed to the child). A LightGBM member is retrained in the background on the memory pool, a
no-change member repeats the last known label, and the combiner weighs every member by its recent
accuracy (``combine="vote"``) or follows the best (``"best"``). Each member's error stream feeds an
ADWIN detector: on a drift the member is replaced by the best of itself, a fresh copy warm-started on
the recent rows, and the archived members of earlier concepts (a recurring concept brings its old
member back). What an evolved population may cost per event is capped at ``cost_budget`` times the
opening population's cost (the kinds' relative costs); with ``parsimony`` > 0 the member replaced is the
one with the lowest score *less* ``parsimony`` per unit of its kind's cost, so a costly member (an
adaptive random forest, k-NN) stays only while it is that much better than the cheap ones.

With ``regression=True`` the members are river regressors (Hoeffding adaptive tree, ARF, linear with
scaled inputs and target, k-NN, AMF, LightGBM in the background, and the last value as the no-change
member); each is scored by its recent absolute or squared error (``loss``), the vote is a
performance-weighted mean, and evolution keeps the members with the smallest error.

    >>> from river.datasets import synth
    >>> learner = StreamLearner(population=4, replace_every=200, hybrid=False, seed=0)
    >>> right = 0
    >>> for x, y in synth.SEA(seed=1).take(1000):
    ...     right += learner.process_one(x, y) == y
    >>> right > 900, learner.n_learned_
    (True, 1000)
    >>> reg = StreamLearner(regression=True, population=2, hybrid=False, seed=0)
    >>> errors = [abs((reg.process_one(x, y) or 0.0) - y) for x, y in synth.Friedman(seed=0).take(2000)]
    >>> sum(errors[-500:]) < sum(errors[:500])  # it learns
    True
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from lamarck.errors import ConfigError
from lamarck.stream._boost import BoostedMember
from lamarck.stream._context import StreamContext
from lamarck.stream._decay import DecayDetector
from lamarck.stream._members import MemberConfig, build, initial, mutate, table

__all__ = ["Member", "Pending", "StreamLearner"]

log = logging.getLogger(__name__)

Combine = Literal["vote", "best"]
Loss = Literal["absolute", "squared"]

#: option -> (lowest, highest) allowed; checked in one place before the first event
_RANGES: dict[str, tuple[float, float]] = {
    "population": (1, 36),
    "replace_every": (10, 10**9),
    "label_delay": (0, 10**7),
    "window": (10, 10**6),
    "archive_size": (0, 100),
    "hybrid_every": (50, 10**9),
    "temperature": (1e-6, 10.0),
    "drift_delta": (1e-12, 0.5),
    "cost_budget": (1.0, 100.0),
    "parsimony": (0.0, 1.0),
}


#: :meth:`StreamLearner.reanswer` skips the members whose vote weighs under ``exp(-REANSWER_CUT)`` of the best's
REANSWER_CUT = 14.0

_OPTIONS = (
    "population", "replace_every", "combine", "context", "hybrid", "hybrid_every", "no_change", "drift",
    "drift_delta", "archive_size", "window", "temperature", "label_delay", "regression", "loss", "seed",
    "cost_budget", "parsimony",
)  # fmt: skip


@dataclass(eq=False)  # members are compared by identity (the archive removes the one it returns)
class Member:
    """One member of the population: its genes (``None`` for the fixed members), model and record.

    ``score`` is the recent accuracy (classification) or minus the recent error (regression): higher
    is better in both cases.
    """

    name: str
    config: MemberConfig | None
    model: Any
    inputs: Literal["raw", "context"]
    score: float = 0.0
    n: int = 0
    born: int = 0
    detector: DecayDetector | None = None
    lineage: list[str] = field(default_factory=list)
    regression: bool = False

    def predict(self, x: Mapping[str, Any], z: Mapping[str, Any]) -> Any:
        """Class probabilities (empty when it abstains) or, for a regressor, a value (``None``)."""
        inputs = z if self.inputs == "context" else x
        if self.regression:
            value = self.model.predict_one(inputs)
            return None if value is None or not math.isfinite(value) else float(value)
        return self.model.predict_proba_one(inputs) or {}

    def learn(self, x: Mapping[str, Any], z: Mapping[str, Any], y: Any) -> None:
        self.model.learn_one(z if self.inputs == "context" else x, y)

    def record(self, right: float, alpha: float) -> None:
        self.n += 1
        self.score += max(alpha, 1.0 / self.n) * (right - self.score)


class Pending(NamedTuple):
    """What the learner saw when it predicted an event whose label is still to come (``members`` and
    ``combined`` are ``None`` when it was seen without asking the members: :meth:`StreamLearner.observe_pending`)."""

    x: dict[str, Any]
    z: dict[str, Any]
    members: dict[str, Any] | None
    combined: Any


class StreamLearner:
    """Online classifier (or regressor): a population of river pipelines that evolves while it predicts."""

    #: options added after learners were first pickled: a learner unpickled without them behaves as these
    cost_budget: float = 2.5
    parsimony: float = 0.0

    def __init__(
        self,
        *,
        population: int = 4,
        replace_every: int = 500,
        combine: Combine = "vote",
        context: bool = True,
        hybrid: bool = True,
        hybrid_every: int = 1000,
        no_change: bool = True,
        drift: bool = True,
        drift_delta: float = 0.002,
        archive_size: int = 5,
        window: int = 300,
        temperature: float = 0.01,
        label_delay: int = 0,
        regression: bool = False,
        loss: Loss = "absolute",
        seed: int = 0,
        cost_budget: float = 2.5,
        parsimony: float = 0.0,
    ) -> None:
        self.population = population
        self.replace_every = replace_every
        self.combine = combine
        self.context = context
        self.hybrid = hybrid
        self.hybrid_every = hybrid_every
        self.no_change = no_change
        self.drift = drift
        self.drift_delta = drift_delta
        self.archive_size = archive_size
        self.window = window
        self.temperature = temperature
        self.label_delay = label_delay
        self.regression = regression
        self.loss = loss
        self.seed = seed
        self.cost_budget = cost_budget
        self.parsimony = parsimony

    # ------------------------------------------------------------------ set-up

    def _check(self) -> None:
        for key, (lo, hi) in _RANGES.items():
            value = getattr(self, key)
            if not (isinstance(value, int | float) and lo <= value <= hi):
                raise ConfigError(
                    f"StreamLearner option {key}={value!r} is outside its allowed range [{lo:g}, {hi:g}]. "
                    f"Fix: pass {key} within that range."
                )
        if self.combine not in ("vote", "best"):
            raise ConfigError(f"combine={self.combine!r} is not a combiner. Fix: combine='vote' or 'best'.")
        if self.loss not in ("absolute", "squared"):
            raise ConfigError(
                f"loss={self.loss!r} is not a regression loss. Fix: loss='absolute' (MAE) or 'squared' (RMSE)."
            )

    def set_params(self, **params: Any) -> StreamLearner:
        """Change options before the first event (e.g. ``regression=True`` once the task is known)."""
        if hasattr(self, "members_"):
            raise ConfigError(
                f"cannot set {sorted(params)} on a StreamLearner that has already seen events. "
                "Fix: set the options on a fresh learner."
            )
        unknown = sorted(set(params) - set(_OPTIONS))
        if unknown:
            raise ConfigError(f"unknown StreamLearner option(s) {unknown}. Fix: use one of {list(_OPTIONS)}.")
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _ensure(self) -> None:
        if hasattr(self, "members_"):
            return
        self._check()
        self.rng_ = np.random.default_rng(self.seed)
        regression = self._regression
        alphas = (0.3, 0.03) if self.context else ()
        self.context_ = StreamContext(alphas=alphas, numeric_target=regression)
        self.members_: list[Member] = []
        self.archive_: deque[Member] = deque(maxlen=max(self.archive_size, 1))
        self.recent_: deque[tuple[dict[str, Any], dict[str, Any], Any]] = deque(maxlen=self.window)
        self.pending_: deque[tuple[int, dict[str, Any], dict[str, Any], Any, dict[str, Any]]] = deque()
        self.classes_: list[Any] = []
        self.history_: list[dict[str, Any]] = []
        self.t_ = 0
        self.n_learned_ = 0
        self.n_replacements_ = 0
        self.n_drifts_ = 0
        self.n_recurrences_ = 0
        self._next_id = 0
        opening = initial(regression)
        configs = [opening[i % len(opening)] for i in range(self.population)]
        if not self.context:
            configs = [MemberConfig(c.kind, c.params, "raw") for c in configs]
        for config in configs:
            self.members_.append(self._new_member(config))
        # what an evolved population may cost per event, in the kinds' relative costs: ``cost_budget`` times
        # the opening population's
        self._budget = self.cost_budget * sum(c.cost(self._kinds) for c in configs)
        if self.no_change:
            from river import dummy, stats

            model = dummy.StatisticRegressor(stats.Shift(0)) if regression else dummy.NoChangeClassifier()
            self.members_.append(Member("no-change", None, model, "raw", regression=regression))
        if self.hybrid:
            booster = BoostedMember(
                every=self.hybrid_every, lag=self.hybrid_every // 2, regression=regression, seed=self.seed
            )
            inputs: Literal["raw", "context"] = "context" if self.context else "raw"
            self.members_.append(Member("lightgbm", None, booster, inputs, regression=regression))

    @property
    def _regression(self) -> bool:
        return bool(getattr(self, "regression", False))

    @property
    def _kinds(self) -> Any:
        return table(self._regression)

    def _new_member(self, config: MemberConfig) -> Member:
        self._next_id += 1
        seed = int(self.rng_.integers(2**31 - 1))
        detector = DecayDetector(delta=self.drift_delta) if self.drift else None
        return Member(
            f"m{self._next_id}:{config.name}",
            config,
            build(config, seed=seed, regression=self._regression),
            config.inputs,
            born=self.n_learned_,
            detector=detector,
            regression=self._regression,
        )

    def _gain(self, out: Any, y: Any) -> float | None:
        """How good one member's output was for label ``y`` (higher is better; ``None`` if it abstained):
        1 or 0 for a class, minus the absolute or squared error for a number."""
        if self._regression:
            if out is None:
                return None
            error = abs(float(out) - float(y))
            return -(error * error if getattr(self, "loss", "absolute") == "squared" else error)
        if not out:
            return None
        return 1.0 if max(out, key=out.get) == y else 0.0

    # ------------------------------------------------------------------ predict

    def _combine(self, probas: Sequence[tuple[Member, Any]]) -> Any:
        if self._regression:
            return self._combine_values(probas)
        ready = _ready(probas)
        if not ready:
            return {}
        if self.combine == "best":
            return _normalised(max(ready, key=lambda mp: mp[0].score)[1])
        top = max(m.score for m, _ in ready)
        out: dict[Any, float] = {}
        for m, p in ready:
            w = math.exp(self._weight_exponent(m.score, top))
            total = sum(p.values()) or 1.0
            for c, v in p.items():
                out[c] = out.get(c, 0.0) + w * v / total
        return _normalised(out)

    def _combine_values(self, values: Sequence[tuple[Member, Any]]) -> float | None:
        """Regression: the best member's value, or a mean weighted by each member's recent error relative
        to the best one's (a member ``temperature`` x 10 worse in relative error weighs 1/e)."""
        ready = _ready(values)
        if not ready:
            return None
        if self.combine == "best":
            return float(max(ready, key=lambda mv: mv[0].score)[1])
        top = max(m.score for m, _ in ready)
        weights = [math.exp(self._weight_exponent(m.score, top)) for m, _ in ready]
        return float(sum(w * v for w, (_, v) in zip(weights, ready, strict=True)) / sum(weights))

    def _predict(self, x: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """Context features, each member's output and the combined output for ``x`` (named by
        :func:`_named`)."""
        self._ensure()
        z = self.context_.features(x)
        probas = [(m, m.predict(x, z)) for m in self.members_]
        return z, {m.name: p for m, p in probas}, self._combine(probas)

    def _decide(self, combined: Any) -> Any:
        """The prediction out of the combined output: the likeliest class, or the value."""
        if self._regression:
            return combined
        return max(combined, key=combined.get) if combined else None

    def predict_proba_one(self, x: Mapping[str, Any]) -> dict[Any, float]:
        """Class probabilities for ``x`` (changes nothing); a regression learner has none."""
        if self._regression:
            raise ConfigError(
                "predict_proba_one on a regression StreamLearner: it predicts values, not classes. "
                "Fix: call predict_one."
            )
        return self._predict(_named(x))[2]

    def predict_one(self, x: Mapping[str, Any]) -> Any:
        """The likeliest class (or the value, for regression) for ``x``; ``None`` before any label."""
        return self._decide(self._predict(_named(x))[2])

    # ------------------------------------------------------------------ learn

    def process_one(self, x: Mapping[str, Any], y: Any = None) -> Any:
        """Prequential step: predict ``x``, then queue its label (learned ``label_delay`` events later).

        Returns the prediction (``None`` before the first label).
        """
        x, z, member_p, proba = self._see(x)
        self.t_ += 1
        if y is not None:
            self.pending_.append((self.t_, x, z, y, member_p))
        self._release(self.t_ - self.label_delay)
        return self._decide(proba)

    def learn_one(self, x: Mapping[str, Any], y: Any) -> Any:
        """Learn one labelled event now (e.g. feedback for a served prediction): predict it, then learn.

        Returns the prediction made just before learning (the prequential one); its class probabilities
        are left in ``last_proba_``.
        """
        x, z, member_p, proba = self._see(x)
        self._learn(x, z, y, member_p)
        return self._decide(proba)

    def predict_pending(self, x: Mapping[str, Any]) -> tuple[Any, Pending]:
        """Predict an arriving event whose label comes later: the prediction, and what the learner saw
        (the event, its context, each member's output) for :meth:`learn_pending` once the label arrives,
        so that a late label is learned with the context of its prediction, not of its arrival."""
        x, z, member_p, proba = self._see(x)
        self.t_ += 1
        return self._decide(proba), Pending(x, z, member_p, proba)

    def observe_pending(self, x: Mapping[str, Any]) -> Pending:
        """An arriving event whose label comes later, seen without asking the members: its context now
        (the labels released so far) and the context's averages moved, as :meth:`predict_pending` does;
        the members answer when the label arrives (:meth:`answer_pending`, or :meth:`learn_pending`), which
        is still before they learn it. Nothing to serve, at a fraction of the cost (no member is asked)."""
        self._ensure()
        x = _named(x)
        z = self.context_.features(x)
        self.context_.observe_inputs(x)
        self.t_ += 1
        return Pending(x, z, None, None)

    def answer_pending(self, pending: Pending) -> Pending:
        """``pending`` with every member's output and the combined output for its event and context, asked
        now (unchanged when it has them already); moves nothing."""
        if pending.members is not None:
            return pending
        probas = [(m, m.predict(pending.x, pending.z)) for m in self.members_]
        return Pending(pending.x, pending.z, {m.name: p for m, p in probas}, self._combine(probas))

    def background_cpu_seconds(self) -> float:
        """CPU seconds its members spent training in background threads (the LightGBM refreshes)."""
        members = getattr(self, "members_", ())
        return float(sum(getattr(m.model, "train_cpu_s_", 0.0) for m in members))

    def reanswer(self, pending: Pending) -> Any:
        """The combined output the learner gives *now* for an event seen earlier (its snapshot's event and
        context, today's members); moves nothing.

        Only the members whose vote can weigh are asked: best score first, stopping at the first whose
        weight against the best answering member is under ``exp(-REANSWER_CUT)`` (about 1e-6; every later
        member weighs less). The answer differs from asking every member by less than that share of the
        probability mass (or of the value); the members' own scores are not touched here."""
        members = sorted(self.members_, key=lambda m: -m.score)
        outputs: list[tuple[Member, Any]] = []
        top: float | None = None
        for m in members:
            if top is not None and self._weight_exponent(m.score, top) < -REANSWER_CUT:
                break
            out = m.predict(pending.x, pending.z)
            outputs.append((m, out))
            if top is None and m.n >= 10 and out is not None and out != {}:
                top = m.score  # the best member that answers with a record: the combination's reference
                if self.combine == "best":
                    break
        return self._combine(outputs)

    def _weight_exponent(self, score: float, top: float) -> float:
        """The exponent of a member's vote weight in :meth:`_combine` (0 for the best, below 0 for the rest)."""
        if self._regression:
            return (score - top) / (max(abs(top), 1e-12) * self.temperature * 10)
        return (score - top) / self.temperature

    def learn_pending(self, pending: Pending, y: Any) -> None:
        """Learn the label of an event predicted by :meth:`predict_pending` (or seen by
        :meth:`observe_pending`: the members answer it first, so their scores stay prequential)."""
        answered = self.answer_pending(pending)
        assert answered.members is not None
        self._learn(answered.x, answered.z, y, answered.members)

    def flush(self) -> None:
        """Learn every label still waiting for its delay (end of a finite stream)."""
        self._ensure()
        self._release(None)

    def _see(self, x: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Any]:
        """Predict an arriving event (its probabilities are left in ``last_proba_``), then move the
        context's averages with it: the named event, its context features, each member's output and
        the combined output."""
        x = _named(x)
        z, member_p, proba = self._predict(x)
        self.last_proba_ = {} if self._regression else proba
        self.context_.observe_inputs(x)
        return x, z, member_p, proba

    def _release(self, upto: int | None) -> None:
        """Learn the waiting labels of events up to number ``upto`` (all of them with ``None``)."""
        while self.pending_ and (upto is None or self.pending_[0][0] <= upto):
            _, px, pz, py, pp = self.pending_.popleft()
            self._learn(px, pz, py, pp)

    def _learn(self, x: dict[str, Any], z: dict[str, Any], y: Any, member_p: Mapping[str, Any]) -> None:
        if self._regression:
            y = float(y)
        elif y not in self.classes_:
            self.classes_.append(y)
        alpha = 1.0 / self.window
        drifted: list[Member] = []
        for m in self.members_:
            gain = self._gain(member_p.get(m.name), y)
            if gain is not None:
                m.record(gain, alpha)
                error = -gain if self._regression else 1.0 - gain
                if m.detector is not None and m.detector.update(error) and m.n > self.window:
                    drifted.append(m)
            m.learn(x, z, y)
        self.recent_.append((x, z, y))
        self.context_.observe_label(y)
        self.n_learned_ += 1
        for m in drifted:
            self._on_drift(m)
        if self.n_learned_ % self.replace_every == 0:
            self._evolve()

    # ------------------------------------------------------------------ evolution

    def _warm(self, member: Member, rows: Sequence[tuple[dict[str, Any], dict[str, Any], Any]]) -> float:
        """Replay ``rows`` prequentially into ``member``; returns its mean gain on them (the score)."""
        gains = []
        for x, z, y in rows:
            gains.append(self._gain(member.predict(x, z), y))
            member.learn(x, z, y)
        return self._mean_gain(gains)

    def _mean_gain(self, gains: Sequence[float | None]) -> float:
        """Mean gain over rows; a row where the member abstained counts as wrong (or as the worst error)."""
        if not gains:
            return 0.0
        known = [g for g in gains if g is not None]
        worst = min(known, default=0.0) if self._regression else 0.0
        return sum(worst if g is None else g for g in gains) / len(gains)

    def _score_on(self, member: Member, rows: Sequence[tuple[dict[str, Any], dict[str, Any], Any]]) -> float:
        """The member's mean gain on ``rows`` without learning them."""
        return self._mean_gain([self._gain(member.predict(x, z), y) for x, z, y in rows])

    def _evolve(self) -> None:
        evolvable = [m for m in self.members_ if m.config is not None]
        mature = [m for m in evolvable if self.n_learned_ - m.born >= self.replace_every]
        if len(mature) < 2:
            return
        best = max(evolvable, key=lambda m: m.score)
        kinds = self._kinds
        # the member replaced: the lowest score, less ``parsimony`` per unit of its kind's cost (in
        # accuracy, or in the best member's error for a regression): a costly member must earn its keep
        scale = max(abs(best.score), 1e-12) if self._regression else 1.0
        parsimony = self.parsimony * scale
        worst = min(mature, key=lambda m: m.score - parsimony * (m.config.cost(kinds) if m.config else 0.0))
        if worst is best or best.config is None:
            return
        taken = {m.config for m in self.members_}
        cost = sum(m.config.cost(kinds) for m in evolvable if m.config is not None and m is not worst)
        child_config = None
        for _ in range(10):
            candidate = mutate(best.config, self.rng_, kinds=kinds)
            if candidate not in taken and cost + candidate.cost(kinds) <= self._budget:
                child_config = candidate
                break
        if child_config is None:
            return
        child = self._new_member(child_config)
        child.lineage = [*best.lineage, best.name]
        score = self._warm(child, list(self.recent_))
        child.score, child.n = score, len(self.recent_)
        self._replace(worst, child)
        self.n_replacements_ += 1
        self.history_.append(
            {"event": self.n_learned_, "kind": "replace", "out": worst.name, "in": child.name,
             "out_score": round(worst.score, 4), "parent": best.name}
        )  # fmt: skip
        log.debug("replaced %s (%.3f) by %s", worst.name, worst.score, child.name)

    def _replace(self, old: Member, new: Member) -> None:
        self.members_[self.members_.index(old)] = new

    def _on_drift(self, member: Member) -> None:
        """Keep the best of: the member, a fresh copy on the recent rows, an archived member."""
        if member not in self.members_ or member.config is None:
            return
        self.n_drifts_ += 1
        rows = list(self.recent_)[-min(len(self.recent_), 200) :]
        current = self._score_on(member, rows)
        candidates: list[tuple[float, str, Member | None]] = [(current, "keep", None)]
        for old in self.archive_:
            candidates.append((self._score_on(old, rows), "recur", old))
        fresh = self._new_member(member.config)
        fresh.lineage = [*member.lineage, member.name]
        margin = 0.01 * max(abs(current), 1e-12) if self._regression else 0.01  # a tie keeps what exists
        candidates.append((self._warm(fresh, rows) - margin, "fresh", fresh))
        score, how, chosen = max(candidates, key=lambda c: c[0])
        if chosen is None:
            return
        if how == "recur":  # out of the archive before the member goes in (a full archive drops its oldest)
            self.archive_.remove(chosen)
            self.n_recurrences_ += 1
        if self.archive_size:
            self.archive_.append(member)
        chosen.score, chosen.born, chosen.n = score, self.n_learned_, max(chosen.n, len(rows))
        self._replace(member, chosen)
        self.history_.append(
            {"event": self.n_learned_, "kind": how, "out": member.name, "in": chosen.name,
             "out_score": round(current, 4), "in_score": round(score, 4)}
        )  # fmt: skip

    # ------------------------------------------------------------------ batch and state

    def get_params(self) -> dict[str, Any]:
        """The constructor's options (what a registered version records)."""
        return {k: getattr(self, k) for k in _OPTIONS}

    def set_schema(self, features: Mapping[str, str], *, task: str, target: str) -> None:
        """Declare the inputs (name -> numeric/categorical) so that the learner can be served."""
        self.schema_ = {"features": dict(features), "task": task, "target": target}

    @property
    def input_schema(self) -> dict[str, str]:
        return dict(getattr(self, "schema_", {}).get("features", {}))

    @property
    def task(self) -> str:
        default = "regression" if self._regression else "multiclass"
        return str(getattr(self, "schema_", {}).get("task", default))

    def describe(self) -> list[dict[str, Any]]:
        """The members now, best first, with their recent accuracy (regression: their recent error,
        absolute or squared as ``loss`` says, under ``error``; ``score`` is minus that)."""
        self._ensure()
        rows = []
        for m in self.members_:
            row = {"name": m.name, "score": round(m.score, 4), "labels": m.n, "inputs": m.inputs}
            if self._regression:
                row["error"] = round(-m.score, 6)
            rows.append(row)
        return sorted(rows, key=lambda r: -r["score"])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities for every row of ``frame`` (columns in ``classes_`` order), changing nothing."""
        if self._regression:
            raise ConfigError(
                "predict_proba on a regression StreamLearner: it predicts values. Fix: call predict."
            )
        rows = [self.predict_proba_one(_clean(r)) for r in frame.to_dict("records")]
        return np.array([[p.get(c, 0.0) for c in self.classes_] for p in rows], dtype=float).reshape(
            len(rows), len(self.classes_)
        )

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Labels (or values, for regression) for every row of ``frame``."""
        out = [self.predict_one(_clean(r)) for r in frame.to_dict("records")]
        if self._regression:
            return np.array([np.nan if v is None else v for v in out], dtype=float)
        return np.array(out, dtype=object)

    def save(self, path: str | Path) -> Path:
        """Write the whole state (atomically) so that :meth:`load` resumes exactly here."""
        return save_state(self, path)

    @staticmethod
    def load(path: str | Path) -> StreamLearner:
        learner = load_state(path)
        if not isinstance(learner, StreamLearner):
            raise ConfigError(f"{path} does not hold a StreamLearner. Fix: pass a file written by save().")
        return learner


def save_state(obj: Any, path: str | Path) -> Path:
    """Pickle ``obj`` to ``path`` atomically and durably (temporary file, fsync, rename, fsync of the
    folder): once this returns, a power cut leaves the new checkpoint or the old one, never a mix, and a
    Kafka stream may commit the offsets the checkpoint covers."""
    import cloudpickle

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    with os.fdopen(fd, "wb") as fh:
        cloudpickle.dump(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return path


def load_state(path: str | Path) -> Any:
    from lamarck.registry import load_pickle

    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"no checkpoint at {path}. Fix: run without --resume first, or pass the right project."
        )
    with path.open("rb") as fh:
        return load_pickle(fh)  # a checkpoint saved before the stream package moved loads too


def _named(x: Mapping[Any, Any]) -> dict[str, Any]:
    """``x`` with text feature names (river streams may use integers; the context adds text names, and
    some learners sort the names)."""
    return {k if isinstance(k, str) else str(k): v for k, v in x.items()}


def _ready(outputs: Sequence[tuple[Member, Any]]) -> list[tuple[Member, Any]]:
    """The members that gave an output (not abstained: neither empty nor ``None``) and have a record of
    at least 10 labels; all that gave one while none has such a record yet."""
    given = [(m, out) for m, out in outputs if out is not None and out != {}]
    return [(m, out) for m, out in given if m.n >= 10] or given


def _normalised(p: Mapping[Any, float]) -> dict[Any, float]:
    total = sum(p.values())
    return {c: v / total for c, v in p.items()} if total > 0 else dict(p)


def _clean(row: Mapping[Any, Any]) -> dict[Any, Any]:
    return {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
