"""``StreamLearner``: an evolving population of online learners, one event at a time.

Prequential: each event is predicted first, and its label (when it arrives, ``label_delay`` events
later) is learned after. The population (EvoAutoML-style, on river) holds several online pipelines;
each is scored on its own predictions; every ``replace_every`` labels the worst is replaced by a
mutation of the best's configuration, warm-started on the recent window (what the parent's era taught
is replayed to the child). A LightGBM member is retrained in the background on the memory pool, a
no-change member repeats the last known label, and the combiner weighs every member by its recent
accuracy (``combine="vote"``) or follows the best (``"best"``). Each member's error stream feeds an
ADWIN detector: on a drift the member is replaced by the best of itself, a fresh copy warm-started on
the recent rows, and the archived members of earlier concepts (a recurring concept brings its old
member back).

    >>> from river.datasets import synth
    >>> learner = StreamLearner(population=3, replace_every=200, hybrid=False, seed=0)
    >>> right = 0
    >>> for x, y in synth.SEA(seed=1).take(1000):
    ...     right += learner.process_one(x, y) == y
    >>> right > 900, learner.n_learned_
    (True, 1000)
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
from typing import Any, Literal

import numpy as np
import pandas as pd

from lamarck.errors import ConfigError
from lamarck.evolve._drift import DecayDetector
from lamarck.evolve._stream_boost import BoostedMember
from lamarck.evolve._stream_context import StreamContext
from lamarck.evolve._stream_members import INITIAL, KINDS, MemberConfig, build, mutate

__all__ = ["Member", "StreamLearner"]

log = logging.getLogger(__name__)

Combine = Literal["vote", "best"]

#: option -> (lowest, highest) allowed; checked in one place before the first event
_RANGES: dict[str, tuple[float, float]] = {
    "population": (1, len(INITIAL) * 4),
    "replace_every": (10, 10**9),
    "label_delay": (0, 10**7),
    "window": (10, 10**6),
    "archive_size": (0, 100),
    "hybrid_every": (50, 10**9),
    "temperature": (1e-6, 10.0),
    "drift_delta": (1e-12, 0.5),
}


_OPTIONS = (
    "population", "replace_every", "combine", "context", "hybrid", "hybrid_every", "no_change", "drift",
    "drift_delta", "archive_size", "window", "temperature", "label_delay", "seed",
)  # fmt: skip


@dataclass
class Member:
    """One member of the population: its genes (``None`` for the fixed members), model and record."""

    name: str
    config: MemberConfig | None
    model: Any
    inputs: Literal["raw", "context"]
    score: float = 0.0
    n: int = 0
    born: int = 0
    detector: DecayDetector | None = None
    lineage: list[str] = field(default_factory=list)

    def predict(self, x: Mapping[str, Any], z: Mapping[str, Any]) -> dict[Any, float]:
        return self.model.predict_proba_one(z if self.inputs == "context" else x) or {}

    def learn(self, x: Mapping[str, Any], z: Mapping[str, Any], y: Any) -> None:
        self.model.learn_one(z if self.inputs == "context" else x, y)

    def record(self, right: float, alpha: float) -> None:
        self.n += 1
        self.score += max(alpha, 1.0 / self.n) * (right - self.score)


class StreamLearner:
    """Online classifier: a population of river pipelines that evolves while it predicts."""

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
        seed: int = 0,
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
        self.seed = seed

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

    def _ensure(self) -> None:
        if hasattr(self, "members_"):
            return
        self._check()
        self.rng_ = np.random.default_rng(self.seed)
        self.context_ = StreamContext(alphas=(0.3, 0.03) if self.context else ())
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
        configs = [INITIAL[i % len(INITIAL)] for i in range(self.population)]
        if not self.context:
            configs = [MemberConfig(c.kind, c.params, "raw") for c in configs]
        for config in configs:
            self.members_.append(self._new_member(config))
        self._budget = 2.5 * sum(KINDS[c.kind].cost for c in configs)
        if self.no_change:
            from river import dummy

            self.members_.append(Member("no-change", None, dummy.NoChangeClassifier(), "raw"))
        if self.hybrid:
            model = BoostedMember(every=self.hybrid_every, lag=self.hybrid_every // 2, seed=self.seed)
            self.members_.append(Member("lightgbm", None, model, "context" if self.context else "raw"))

    def _new_member(self, config: MemberConfig) -> Member:
        self._next_id += 1
        seed = int(self.rng_.integers(2**31 - 1))
        detector = DecayDetector(delta=self.drift_delta) if self.drift else None
        return Member(
            f"m{self._next_id}:{config.name}",
            config,
            build(config, seed=seed),
            config.inputs,
            born=self.n_learned_,
            detector=detector,
        )

    # ------------------------------------------------------------------ predict

    def _combine(self, probas: Sequence[tuple[Member, dict[Any, float]]]) -> dict[Any, float]:
        ready = [(m, p) for m, p in probas if p and m.n >= 10]
        if not ready:
            ready = [(m, p) for m, p in probas if p]
        if not ready:
            return {}
        if self.combine == "best":
            return _normalised(max(ready, key=lambda mp: mp[0].score)[1])
        top = max(m.score for m, _ in ready)
        out: dict[Any, float] = {}
        for m, p in ready:
            w = math.exp((m.score - top) / self.temperature)
            total = sum(p.values()) or 1.0
            for c, v in p.items():
                out[c] = out.get(c, 0.0) + w * v / total
        return _normalised(out)

    def _predict(
        self, x: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, dict[Any, float]], dict[Any, float]]:
        self._ensure()
        z = self.context_.features(x)
        probas = [(m, m.predict(x, z)) for m in self.members_]
        return z, {m.name: p for m, p in probas}, self._combine(probas)

    def predict_proba_one(self, x: Mapping[str, Any]) -> dict[Any, float]:
        """Class probabilities for ``x`` (changes nothing)."""
        return self._predict(x)[2]

    def predict_one(self, x: Mapping[str, Any]) -> Any:
        p = self.predict_proba_one(x)
        return max(p, key=p.get) if p else None  # type: ignore[arg-type]

    # ------------------------------------------------------------------ learn

    def process_one(self, x: Mapping[str, Any], y: Any = None) -> Any:
        """Prequential step: predict ``x``, then queue its label (learned ``label_delay`` events later).

        Returns the prediction (``None`` before the first label).
        """
        x = dict(x)
        z, member_p, proba = self._predict(x)
        self.last_proba_ = proba
        self.context_.observe_inputs(x)
        self.t_ += 1
        if y is not None:
            self.pending_.append((self.t_, x, z, y, member_p))
        while self.pending_ and self.pending_[0][0] <= self.t_ - self.label_delay:
            _, px, pz, py, pp = self.pending_.popleft()
            self._learn(px, pz, py, pp)
        return max(proba, key=proba.get) if proba else None  # type: ignore[arg-type]

    def learn_one(self, x: Mapping[str, Any], y: Any) -> None:
        """Learn one labelled event now (e.g. feedback for a served prediction)."""
        x = dict(x)
        z, member_p, _ = self._predict(x)
        self.context_.observe_inputs(x)
        self._learn(x, z, y, member_p)

    def flush(self) -> None:
        """Learn every label still waiting for its delay (end of a finite stream)."""
        self._ensure()
        while self.pending_:
            _, px, pz, py, pp = self.pending_.popleft()
            self._learn(px, pz, py, pp)

    def _learn(
        self, x: dict[str, Any], z: dict[str, Any], y: Any, member_p: Mapping[str, dict[Any, float]]
    ) -> None:
        if y not in self.classes_:
            self.classes_.append(y)
        alpha = 1.0 / self.window
        drifted: list[Member] = []
        for m in self.members_:
            p = member_p.get(m.name)
            if p:
                right = 1.0 if max(p, key=p.get) == y else 0.0  # type: ignore[arg-type]
                m.record(right, alpha)
                if m.detector is not None and m.detector.update(1.0 - right) and m.n > self.window:
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
        """Replay ``rows`` prequentially into ``member``; returns its accuracy on them."""
        right = 0
        for x, z, y in rows:
            p = member.predict(x, z)
            right += bool(p) and max(p, key=p.get) == y  # type: ignore[arg-type]
            member.learn(x, z, y)
        return right / len(rows) if rows else 0.0

    def _evolve(self) -> None:
        evolvable = [m for m in self.members_ if m.config is not None]
        mature = [m for m in evolvable if self.n_learned_ - m.born >= self.replace_every]
        if len(mature) < 2:
            return
        worst = min(mature, key=lambda m: m.score)
        best = max(evolvable, key=lambda m: m.score)
        if worst is best or best.config is None:
            return
        taken = {m.config for m in self.members_}
        cost = sum(KINDS[m.config.kind].cost for m in evolvable if m.config is not None and m is not worst)
        child_config = None
        for _ in range(10):
            candidate = mutate(best.config, self.rng_)
            if candidate not in taken and cost + KINDS[candidate.kind].cost <= self._budget:
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
        current = _accuracy(member, rows)
        candidates: list[tuple[float, str, Member | None]] = [(current, "keep", None)]
        for old in self.archive_:
            candidates.append((_accuracy(old, rows), "recur", old))
        fresh = self._new_member(member.config)
        fresh.lineage = [*member.lineage, member.name]
        candidates.append((self._warm(fresh, rows) - 0.01, "fresh", fresh))  # a tie keeps what exists
        score, how, chosen = max(candidates, key=lambda c: c[0])
        if chosen is None:
            return
        if self.archive_size:
            self.archive_.append(member)
        if how == "recur":
            self.archive_.remove(chosen)
            self.n_recurrences_ += 1
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
        return str(getattr(self, "schema_", {}).get("task", "multiclass"))

    def describe(self) -> list[dict[str, Any]]:
        """The members now, best first, with their recent accuracy."""
        self._ensure()
        rows = [
            {"name": m.name, "score": round(m.score, 4), "labels": m.n, "inputs": m.inputs}
            for m in self.members_
        ]
        return sorted(rows, key=lambda r: -r["score"])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities for every row of ``frame`` (columns in ``classes_`` order), changing nothing."""
        rows = [self.predict_proba_one(_clean(r)) for r in frame.to_dict("records")]
        return np.array([[p.get(c, 0.0) for c in self.classes_] for p in rows], dtype=float).reshape(
            len(rows), len(self.classes_)
        )

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Labels for every row of ``frame``."""
        return np.array([self.predict_one(_clean(r)) for r in frame.to_dict("records")], dtype=object)

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
    """Pickle ``obj`` to ``path`` atomically (temporary file, then rename)."""
    import cloudpickle

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    with os.fdopen(fd, "wb") as fh:
        cloudpickle.dump(obj, fh)
    os.replace(tmp, path)
    return path


def load_state(path: str | Path) -> Any:
    import cloudpickle

    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"no checkpoint at {path}. Fix: run without --resume first, or pass the right project."
        )
    with path.open("rb") as fh:
        return cloudpickle.load(fh)


def _accuracy(member: Member, rows: Sequence[tuple[dict[str, Any], dict[str, Any], Any]]) -> float:
    right = 0
    for x, z, y in rows:
        p = member.predict(x, z)
        right += bool(p) and max(p, key=p.get) == y  # type: ignore[arg-type]
    return right / len(rows) if rows else 0.0


def _normalised(p: Mapping[Any, float]) -> dict[Any, float]:
    total = sum(p.values())
    return {c: v / total for c, v in p.items()} if total > 0 else dict(p)


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
