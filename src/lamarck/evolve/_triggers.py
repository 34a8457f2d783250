"""When to train: the triggers read from the labels after the cursor, and what holds them back.

- **decay**: an ADWIN detector (:class:`~lamarck.evolve.DecayDetector`) fires on the champion's errors
  on the new labels (it fires on a rise only);
- **drift**: feature drift of the new labels' inputs against the champion's training reference that is
  also a change since the labels the last decision saw (replay makes a reference a mixture of concepts,
  which one concept's traffic always differs from);
- **labels**: at least ``min_new_labels`` new labels.

With ``policy.online`` (the champion is served with its online layer, which learns every label) the
evolver is the slow half: labels alone never train; **decay** is read on the served answers' errors
(what the layer could not absorb: ADWIN fired and the newest ``min_test_labels`` served answers still err
``absorb_margin`` more than before it fired); **drift** trains only when severe (a moderate drift is recorded as a
signal); **gain**: the layer's gain over the bare champion on the new labels (champion error minus served
error) grew by ``gain_growth`` or more since the last training decision (before any, from the older
half of the new labels to the newer half).

A rejected challenger holds decay and drift back until ``cooldown_labels`` new labels arrived; with the
online layer (``online``), twice as many after each further reject in a row, up to ``cooldown_max_labels``
(the label count still triggers on its own); ``cooldown_s`` holds any retraining after the last challenger.
Prediction drift (the champion's served outputs against its outputs on its reference) is a label-free
signal: it is recorded, it does not train.

    >>> t = Triggers(new_labels=40, metric="accuracy", score_new=0.9, error=0.1, regression=False,
    ...              decay_at=(12,), fired=("decay",), signals=("decay",))
    >>> t.decay, t.to_dict()["triggers"], t.hold_reason(EvolutionPolicy())
    (True, ['decay'], None)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from lamarck.evolve._drift import DecayDetector, DriftReport, feature_drift, prediction_drift
from lamarck.evolve._labels import CURSOR_KINDS, LabelWindow, Rows, labelled
from lamarck.evolve._policy import EvolutionPolicy
from lamarck.evolve._scoring import PerModel, errors, metric_value, predict

__all__ = [
    "PredictionDrift",
    "Triggers",
    "read_prediction_drift",
    "read_triggers",
    "recent_tries",
    "record_label_free_signal",
    "record_signal",
    "reject_streak",
]

Hold = Literal["rejected", "cooldown"]

#: per champion object (the registry keeps one per version): its outputs on its own reference inputs
_REFERENCE_OUTPUTS: PerModel[tuple[str, np.ndarray]] = PerModel()


@dataclass(frozen=True)
class PredictionDrift:
    """The champion's recent served outputs against its outputs on its reference inputs."""

    severity: str
    psi: float
    predictions: int

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "psi": self.psi, "predictions": self.predictions}


@dataclass(frozen=True)
class Triggers:
    """What the new labels say: decay, drift, their count; which of those fired and what holds them back."""

    new_labels: int
    metric: str
    score_new: float
    #: mean error of the champion on the new labels (error rate, or MAE for a regression)
    error: float
    regression: bool
    #: where the decay detector fired (the first five)
    decay_at: tuple[int, ...] = ()
    drift: DriftReport | None = None
    #: feature drift of the new labels against the window before the cursor, when drift was checked
    drift_since_last_window: str | None = None
    prediction_drift: PredictionDrift | None = None
    #: online layer: champion error minus served error on the new labels, and that at the last decision
    layer_gain: float | None = None
    layer_gain_before: float | None = None
    #: the triggers that fired (``decay``, ``drift``, ``labels``, ``gain``)
    fired: tuple[str, ...] = ()
    #: the fired triggers that are signals (decay, drift), recorded even when held back
    signals: tuple[str, ...] = ()
    #: what holds the fired triggers back: a rejected last challenger, or ``cooldown_s``
    held: Hold | None = None
    severe: bool = field(default=False)
    #: rejects in a row since the last promotion or shadowed challenger, and the labels they make it wait
    rejects_in_row: int = 0
    wait_labels: int = 0

    @property
    def decay(self) -> bool:
        return bool(self.decay_at)

    @property
    def drifted(self) -> bool:
        return "drift" in self.fired

    def hold_reason(self, policy: EvolutionPolicy) -> str | None:
        """Why the pass does not train on these triggers, or None when it does."""
        if not self.fired and self.layer_gain is not None:
            return (
                f"no trigger: the online layer learns the {self.new_labels} new labels; no decay of the served "
                f"answers, no severe drift, layer gain {self.layer_gain:+.4f} (was {self.layer_gain_before or 0:+.4f} "
                f"at the last decision; retrains from +{policy.gain_growth:g} more)"
            )
        if not self.fired:
            return f"no trigger: {self.new_labels}/{policy.min_new_labels} new labels, no decay, no drift"
        if self.held == "rejected":
            return (
                f"{', '.join(self.fired)}: the last {self.rejects_in_row} challenger(s) were rejected; waiting for "
                f"{self.wait_labels} new labels before the next ({self.new_labels} so far)"
            )
        if self.held == "cooldown":
            return f"cooldown: last challenger less than {policy.cooldown_s:g}s ago"
        return None

    def to_dict(self) -> dict[str, Any]:
        d = self.drift
        out: dict[str, Any] = {
            "mae" if self.regression else "error_rate": self.error,
            "metric": self.metric,
            "score_new": self.score_new,
            "decay": self.decay,
            "decay_at": list(self.decay_at),
            "drift": d.severity if d is not None else "unknown",
            "drifted_columns": d.drifted if d is not None else [],
            "drift_detail": {
                c.column: {"psi": c.psi, "ks_p": c.ks_p_value, "severity": c.severity}
                for c in d.columns
                if c.severity != "none"
            }
            if d is not None
            else {},
            "prediction_drift": None if self.prediction_drift is None else self.prediction_drift.to_dict(),
        }
        if self.drift_since_last_window is not None:
            out["drift_since_last_window"] = self.drift_since_last_window
        if self.layer_gain is not None:
            out["layer_gain"] = self.layer_gain
            out["layer_gain_before"] = self.layer_gain_before
        out["triggers"] = list(self.fired)
        return out


#: per store object: the version and the newest predictions it served that the last pass read
_RECENT: PerModel[tuple[str, pd.DataFrame]] = PerModel()


def _recent_predictions(store: Any, version: str, limit: int = 2000) -> pd.DataFrame:
    """The newest ``limit`` predictions ``version`` served; a pass reads only those logged since the
    last pass's newest (on elec2, reading and parsing all of them was a sixth of a pass's CPU)."""
    held = _RECENT.get(store)
    if held is None or held[0] != version or held[1].empty:
        recent = store.recent_predictions(version, limit=limit)
    else:
        newest = pd.Timestamp(held[1]["ts"].max()).to_pydatetime()
        fresh = store.recent_predictions(version, limit=limit, since=newest)
        recent = pd.concat([fresh, held[1]], ignore_index=True).drop_duplicates("id").head(limit)
    _RECENT.put(store, (version, recent))
    return recent


def read_prediction_drift(
    champion: Any, version: str, reference: pd.DataFrame | None, store: Any
) -> PredictionDrift | None:
    """The champion's recent served outputs against its outputs on its reference inputs (no labels).

    The same function on both sides, so only a change in what it is asked moves the figure (its stored
    out-of-fold predictions come from other models, the fold models, and would read as drift).
    """
    if reference is None:
        return None
    recent = _recent_predictions(store, version)
    current: np.ndarray
    if champion.task == "regression":
        current = pd.to_numeric(recent["prediction"], errors="coerce").dropna().to_numpy(dtype=float)
    else:
        width = len(champion.classes_)
        probas = [p for p in recent["proba"] if isinstance(p, list) and len(p) == width]
        current = np.asarray(probas, dtype=float).reshape(len(probas), width)
    if len(current) < 100:
        return None
    cached = _REFERENCE_OUTPUTS.get(champion)
    if cached is None or cached[0] != version:  # the same model, the same reference: computed once
        cached = (version, predict(champion, reference.reindex(columns=champion.input_columns).head(5000)))
        _REFERENCE_OUTPUTS.put(champion, cached)
    before = cached[1]
    classes = None if champion.classes_ is None else list(champion.classes_)
    report = prediction_drift(before, current, classes)
    return PredictionDrift(
        severity=report.severity,
        psi=max((c.psi for c in report.columns), default=0.0),
        predictions=len(current),
    )


def recent_tries(store: Any) -> list[dict[str, Any]]:
    """The newest training decisions (challengers, rejects, promotions), newest first."""
    return list(store.decisions(limit=8, kinds=("challenger", "reject", "promote")))


def reject_streak(policy: EvolutionPolicy, tries: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """The rejects in a row since the last promotion or shadowed challenger, and how many new labels they
    make the next try wait for (``tries``: :func:`recent_tries`).

    With the online layer, a signal that lost again and again waits longer each time; without it the
    evolver is the only way to adapt, so every ``cooldown_labels`` it tries again (a severe drift too: on
    elec2 prices drift severely all year and, at one try per ``cooldown_labels``, 33 of 40 challengers were
    rejected, 576 CPU s against the layer's 33)."""
    streak = 0
    while streak < len(tries) and tries[streak]["kind"] == "reject":
        streak += 1
    if not streak:
        return 0, 0
    wait = policy.cooldown_labels * 2 ** (streak - 1 if policy.online else 0)
    return streak, max(min(wait, policy.cooldown_max_labels), policy.cooldown_labels)


def read_triggers(
    policy: EvolutionPolicy,
    champion: Any,
    new: Rows,
    old_rows: pd.DataFrame | Callable[[], pd.DataFrame],
    reference: pd.DataFrame | None,
    *,
    store: Any,
    prediction_drift: PredictionDrift | None = None,
    clock: Callable[[], float] = time.time,
    served: np.ndarray | None = None,
    since_cursor: int | None = None,
    champion_pred: np.ndarray | None = None,
) -> Triggers:
    """The triggers of ``new`` (usable new labels) for ``champion``.

    ``old_rows`` are the labelled rows up to the cursor (the window before it is what drift must differ
    from too), or a function that reads them (called only when drift needs them); ``store`` gives the last challenger decision, for the cooldowns. ``served``: the errors of
    the answers served for the new labels (:func:`~lamarck.evolve._labels.served_errors`), read with
    ``policy.online``. ``champion_pred``: the champion's outputs for ``new`` when the caller has them.
    ``since_cursor``: how many labels came after the cursor when ``new`` holds only
    the newest of them (what a reject makes the next try wait for); ``len(new.X)`` by default.
    """
    X_new, y_new = new.X, new.y
    n_since = len(X_new) if since_cursor is None else max(int(since_cursor), len(X_new))
    pred = predict(champion, X_new) if champion_pred is None else champion_pred
    errs = errors(champion, pred, y_new)
    online = policy.online and served is not None and len(served) == len(errs)
    watched = np.where(np.isnan(served), errs, served) if online and served is not None else errs
    detector = DecayDetector()
    fired_at = [i for i, e in enumerate(watched) if detector.update(float(e))]
    if online and fired_at:  # decay the layer could not absorb: still there on the newest labels
        recent = watched[-policy.min_test_labels :]
        before = watched[: fired_at[0]]
        if len(before) == 0 or recent.mean() < before.mean() + policy.absorb_margin:
            fired_at = []
    drift = None
    if reference is not None and len(X_new) >= 30:
        drift = feature_drift(reference[champion.input_columns], X_new)
    drifted = drift is not None and drift.severity != "none"
    since: str | None = None
    if drifted:
        # replay makes a champion's reference a mixture of concepts, so traffic from one of them always
        # differs from it; drift triggers training only when the traffic also changed since the labels
        # the last decision saw (a window of the same size before the cursor)
        prev_rows = old_rows() if callable(old_rows) else old_rows
        X_prev = labelled(champion, prev_rows.tail(max(len(X_new), 200))).X
        if len(X_prev) >= 100:
            since = feature_drift(X_prev, X_new).severity
            drifted = since != "none"
    signals = tuple(s for s, on in (("decay", bool(fired_at)), ("drift", drifted)) if on)
    severe = drifted and drift is not None and drift.severity == "severe"
    gain = gain_before = None
    if online:
        gain = float(errs.mean() - watched.mean()) if len(errs) else 0.0
        last = next(iter(store.decisions(limit=1, kinds=CURSOR_KINDS)), None)
        recorded = (last or {}).get("figures", {}).get("layer_gain")
        if recorded is not None:
            gain_before = float(recorded)
        else:  # no training decision yet: the gain on the older half of these labels is the baseline
            half = len(errs) // 2
            gain_before = float(errs[:half].mean() - watched[:half].mean()) if half else 0.0
            gain = float(errs[half:].mean() - watched[half:].mean()) if half else gain
        grew = len(errs) >= policy.min_test_labels and gain - gain_before >= policy.gain_growth
        signals = (*signals, *(("gain",) if grew else ()))
        fired = tuple(s for s in signals if s != "drift" or severe)
    else:
        fired = (*signals, *(("labels",) if len(X_new) >= policy.min_new_labels else ()))
    held: Hold | None = None
    streak = wait = 0
    if fired:
        tries = recent_tries(store)
        streak, wait = reject_streak(policy, tries)
        last_try = next((t for t in tries if t["kind"] != "promote"), None)
        if streak and "labels" not in fired and n_since < wait:
            held = "rejected"
        elif last_try is not None and clock() - _ts(last_try["ts"]) < policy.cooldown_s:
            held = "cooldown"
    return Triggers(
        new_labels=n_since,
        metric=champion.metric,
        score_new=metric_value(champion, y_new, pred),
        error=float(errs.mean()),
        regression=champion.task == "regression",
        decay_at=tuple(fired_at[:5]),
        drift=drift,
        drift_since_last_window=since,
        prediction_drift=prediction_drift,
        layer_gain=gain,
        layer_gain_before=gain_before,
        fired=fired,
        signals=signals,
        held=held,
        severe=severe,
        rejects_in_row=streak,
        wait_labels=wait,
    )


def record_signal(
    store: Any, triggers: Triggers, window: LabelWindow, figures: dict[str, Any], version: str
) -> None:
    """Record a drift / decay event once per batch of labels, so ``status`` can show it."""
    if not triggers.signals:
        return
    last = next(iter(store.decisions(limit=1, kinds=("signal",))), None)
    if last is not None and last["figures"].get("cursor") == window.cursor:
        return
    store.record_decision(
        "signal",
        " and ".join(triggers.signals) + f" on {window.new_labels} new labels",
        {**figures, "version": version},
    )


def record_label_free_signal(
    store: Any, outputs: PredictionDrift, figures: dict[str, Any], version: str
) -> None:
    """Record prediction drift seen before any label arrived, once per change in what was served."""
    last = next(iter(store.decisions(limit=1, kinds=("signal",))), None)
    seen = (last or {}).get("figures", {}).get("prediction_drift") or {}
    if seen.get("predictions") == outputs.predictions and seen.get("severity") == outputs.severity:
        return
    store.record_decision(
        "signal",
        f"prediction drift ({outputs.severity}, PSI {outputs.psi:.3f}) on the last "
        f"{outputs.predictions} served predictions, before any label",
        {**figures, "version": version},
    )


def _ts(value: Any) -> float:
    t = pd.Timestamp(value)
    return (t.tz_localize("UTC") if t.tzinfo is None else t).timestamp()
