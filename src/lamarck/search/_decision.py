"""The decision rule: what the final model does with its members' outputs, chosen out of fold by the metric.

After the search, the blended out-of-fold predictions are given one more look for the user's metric:

- ``f1``, ``f1_macro``, ``balanced_accuracy``: per-class weights on the probabilities before the argmax
  (a threshold for binary), tuned by coordinate ascent on the out-of-fold rows;
- ``log_loss``: a temperature ``T`` (probabilities ``∝ p ** (1 / T)``) fitted on the out-of-fold rows;
- ``mae`` / ``mape`` with several members: their weighted median instead of their weighted mean.

A rule is kept only when it improves the metric *cross-fitted*, by more than 0.1 % of its value: the
out-of-fold rows are cut in parts, each part scored with the rule tuned on the others, so that the figure
reported is not the one the rule was tuned on. The final rule is tuned on all the rows, applied by
:class:`~lamarck.search.LamarckModel` at predict time and pickled with it.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = (rng.random(2000) < 0.1).astype(int)
    >>> p1 = np.clip(0.05 + 0.3 * y + 0.15 * rng.normal(size=2000), 0.001, 0.999)
    >>> oof = np.column_stack([1 - p1, p1])
    >>> choice = choose_rule("f1", y, oof, seed=0)
    >>> choice.rule is not None and choice.score > choice.before
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.model_selection import KFold, StratifiedKFold

from lamarck.evaluate import score, signed

__all__ = ["LABEL_METRICS", "DecisionRule", "RuleChoice", "choose_rule", "weighted_median"]

#: metrics of the predicted label whose decision rule (class weights) is tuned
LABEL_METRICS: tuple[str, ...] = ("f1", "f1_macro", "balanced_accuracy")
#: the class weights tried for one class in a round of coordinate ascent (relative to class 0's 1.0)
WEIGHT_GRID = np.geomspace(1 / 64, 64, 37)
N_PARTS = 3
#: a rule is kept when it improves the cross-fitted metric by more than this share of its value (a gain
#: below it is the noise of tuning, and a rule that does nothing should not ship with the model)
MIN_GAIN = 1e-3


@dataclass(frozen=True)
class DecisionRule:
    """Class weights applied before the argmax, a probability temperature, how regression members combine.

    >>> rule = DecisionRule(class_weights=(1.0, 3.0))
    >>> rule.label_index(np.array([[0.7, 0.3], [0.8, 0.2]])).tolist()
    [1, 0]
    >>> DecisionRule(temperature=2.0).proba(np.array([[0.8, 0.2]])).round(3).tolist()
    [[0.667, 0.333]]
    """

    class_weights: tuple[float, ...] | None = None
    temperature: float | None = None
    combine: Literal["mean", "median"] = "mean"

    def proba(self, proba: np.ndarray) -> np.ndarray:
        """Probabilities after the temperature (unchanged without one), rows summing to 1."""
        p = np.asarray(proba, dtype=float)
        if self.temperature is None:
            return p
        return _tempered(p, self.temperature)

    def label_index(self, proba: np.ndarray) -> np.ndarray:
        """The encoded class of each row: the argmax of the weighted probabilities."""
        p = np.asarray(proba, dtype=float)
        if self.class_weights is not None:
            p = p * np.asarray(self.class_weights)
        return np.asarray(p.argmax(axis=1))

    def scoring_matrix(self, proba: np.ndarray) -> np.ndarray:
        """What the metric registry scores: probabilities whose argmax is this rule's label."""
        p = self.proba(proba)
        if self.class_weights is None:
            return p
        w = p * np.asarray(self.class_weights)
        return w / w.sum(axis=1, keepdims=True)

    def describe(self) -> str:
        parts = []
        if self.class_weights is not None:
            parts.append("class weights " + ", ".join(f"{w:.3g}" for w in self.class_weights))
        if self.temperature is not None:
            parts.append(f"temperature {self.temperature:.3g}")
        if self.combine != "mean":
            parts.append(f"{self.combine} of the members")
        return "; ".join(parts) or "none"


@dataclass(frozen=True)
class RuleChoice:
    """The rule kept (None: none helped), the metric before it and its cross-fitted figure with it."""

    rule: DecisionRule | None
    before: float
    score: float
    note: str


def _tempered(p: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(p, 1e-15, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _label_score(metric: str, y: np.ndarray, labels: np.ndarray, k: int) -> float:
    """``f1`` / ``f1_macro`` / ``balanced_accuracy`` from the confusion matrix (fast for the search)."""
    cm = np.bincount(y * k + labels, minlength=k * k).reshape(k, k).astype(float)
    tp = np.diag(cm)
    actual, predicted = cm.sum(axis=1), cm.sum(axis=0)
    if metric == "balanced_accuracy":
        present = actual > 0
        return float(np.mean(tp[present] / actual[present]))
    denom = actual + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return float(f1[1]) if metric == "f1" else float(f1[denom > 0].mean())


def _tune_weights(metric: str, y: np.ndarray, proba: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Class weights (class 0 fixed at 1) by coordinate ascent over :data:`WEIGHT_GRID`."""
    k = proba.shape[1]
    w = np.ones(k)
    best = _label_score(metric, y, (proba * w).argmax(axis=1), k)
    for _ in range(rounds):
        improved = False
        for c in range(1, k):
            for value in WEIGHT_GRID:
                trial = w.copy()
                trial[c] = value
                s = _label_score(metric, y, (proba * trial).argmax(axis=1), k)
                if s > best + 1e-12:
                    best, w, improved = s, trial, True
        if not improved:
            break
    return w


def _fit_temperature(y: np.ndarray, proba: np.ndarray) -> float:
    logp = np.log(np.clip(proba, 1e-15, 1.0))

    def loss(log_t: float) -> float:
        z = logp / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        return float(np.mean(lse - z[np.arange(len(y)), y]))

    found = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded", options={"xatol": 1e-3})
    return float(math.exp(found.x))


def _parts(y: np.ndarray, seed: int) -> list[np.ndarray]:
    """The out-of-fold rows cut in :data:`N_PARTS` parts, stratified when every class has enough rows."""
    idx = np.arange(len(y))
    counts = np.bincount(y)
    counts = counts[counts > 0]
    if len(counts) > 1 and counts.min() >= N_PARTS:
        return [va for _, va in StratifiedKFold(N_PARTS, shuffle=True, random_state=seed).split(idx, y)]
    return [va for _, va in KFold(N_PARTS, shuffle=True, random_state=seed).split(idx)]


def weighted_median(predictions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted median of ``predictions`` (members x rows).

    >>> weighted_median(np.array([[1.0, 5.0], [2.0, 0.0], [10.0, 1.0]]), np.array([0.5, 0.3, 0.2])).tolist()
    [1.0, 1.0]
    """
    preds = np.asarray(predictions, dtype=float)
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    order = np.argsort(preds, axis=0)
    sorted_preds = np.take_along_axis(preds, order, axis=0)
    cum = np.cumsum(w[order], axis=0)
    first = np.argmax(cum >= 0.5 - 1e-12, axis=0)
    return np.asarray(sorted_preds[first, np.arange(preds.shape[1])])


def choose_rule(metric: str, y: np.ndarray, oof: np.ndarray, *, seed: int = 0) -> RuleChoice:
    """The decision rule for ``metric`` on out-of-fold probabilities ``oof`` (rows of the encoded ``y``),
    kept when its cross-fitted score beats the plain argmax / probabilities."""
    y = np.asarray(y, dtype=int)
    proba = np.asarray(oof, dtype=float)
    before = score(metric, y, proba)
    if metric not in (*LABEL_METRICS, "log_loss") or proba.ndim != 2 or len(y) < 3 * N_PARTS:
        return RuleChoice(None, before, before, "")
    crossed = np.empty_like(proba)
    for part in _parts(y, seed):
        rest = np.setdiff1d(np.arange(len(y)), part)
        crossed[part] = _fitted(metric, y[rest], proba[rest]).scoring_matrix(proba[part])
    after = score(metric, y, crossed)
    if signed(metric, after) <= signed(metric, before) + MIN_GAIN * max(abs(before), 1e-12):
        return RuleChoice(
            None, before, before, f"decision rule for {metric} did not improve it out of fold; not used"
        )
    rule = _fitted(metric, y, proba)
    note = (
        f"decision rule ({rule.describe()}) tuned on out-of-fold predictions: {metric} "
        f"{before:.5g} → {after:.5g} (cross-fitted)"
    )
    return RuleChoice(rule, before, after, note)


def _fitted(metric: str, y: np.ndarray, proba: np.ndarray) -> DecisionRule:
    if metric == "log_loss":
        return DecisionRule(temperature=_fit_temperature(y, proba))
    return DecisionRule(class_weights=tuple(float(v) for v in _tune_weights(metric, y, proba)))
