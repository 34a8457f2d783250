"""The evolution policy: when to train a challenger, on what data, when to promote and when to roll back.

One pass (``Evolver.run_once``, what ``lamarck evolve`` and ``serve --auto-evolve`` run) does the first
of these that applies, and records it in the store as a decision with its reason and figures:

1. **Reconcile.** The decision log is the truth about the ``champion`` alias: every promotion and
   rollback is written *before* the alias moves, so a process killed in between is finished here.
2. **Watch and roll back.** For ``grace_labels`` labels after a promotion, the new champion is watched:
   if the version it replaced is significantly better on those labels (the gate's one-sided test), or an
   ADWIN detector fires on the new champion's errors while the old one does better on the same rows,
   the alias moves back.
3. **Shadow.** A challenger that passed the gate answers live traffic in the shadow (the server logs its
   predictions beside the champion's). Once ``shadow_labels`` of those rows are labelled, the same
   one-sided test decides: promote (alias move), or retire it after ``shadow_max_labels`` without a win.
4. **Train.** Triggers: performance decay (ADWIN on the champion's errors), feature drift against the
   champion's training reference that is also a change since the labels the last decision saw (replay
   makes a reference a mixture of concepts, which one concept's traffic always differs from), or
   ``min_new_labels`` new labels; with a cooldown. The data is a
   memory pool: the old concepts (training reference and older feedback) replayed beside the new
   labels, with the newest labels held out for the gate and a slice of the old data held out for the
   anti-forgetting check. The challenger is warm-started from the champion (LightGBM / XGBoost continue
   boosting with ``init_model``, the others refit the champion's configuration); a fresh search runs when
   drift is severe or the warm start loses.
5. **Gate.** One-sided McNemar (classification) or paired bootstrap (regression) on the held-out recent
   labels, p < ``alpha`` with at least ``min_test_labels`` labels, and no more than ``max_forgetting``
   lost on the replay hold-out. Which old rows that check judges: a classifier that tells recent inputs
   from old ones gives each old row a density ratio; where today's traffic covers an old row
   (ratio ≥ ``supersede_ratio``) the recent labels are the judge and the replay yields to them
   (``superseded_weight``), since a changed concept *should* overrule the old one there; the rows of
   regions the traffic has left are the ones that must not be forgotten, and a loss there rejects the
   challenger when it is above ``max_forgetting`` and significant (the same one-sided test, reversed).
   Earlier versions (``reuse_versions``) are candidates beside the warm start, so a concept that
   returns brings its model back.

A pass that is killed at any moment leaves the champion serving (an alias move is the only change it
makes to what serves) and the store consistent (each decision is one transaction); the next pass reads
the labels after the last recorded cursor, so it resumes where the last finished one stopped.
"""

from __future__ import annotations

import copy
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from lamarck.evaluate import get_metric, mcnemar, paired_bootstrap, score, signed
from lamarck.evolve._drift import DecayDetector, coverage, feature_drift, prediction_drift
from lamarck.evolve._ledger import ALIAS_KINDS, ChampionLedger
from lamarck.evolve._memory import MemoryPool, hardness

__all__ = [
    "PRED_PREFIX",
    "Decision",
    "EvolutionPolicy",
    "Evolver",
    "read_reference",
    "write_reference",
]

log = logging.getLogger(__name__)

#: columns of a stored reference that hold the version's honest prediction for the row (out-of-fold
#: from a fit, held out from training for an evolved version): the baseline of the anti-forgetting check
PRED_PREFIX = "__p"

DecisionKind = Literal["skip", "signal", "challenger", "promote", "reject", "retire", "rollback", "resume"]
#: decisions that move the champion alias (written before the move)
#: metrics whose scale is already 0..1, so "1 point" of forgetting is 0.01 absolute; others are relative
_UNIT_METRICS = {"roc_auc", "accuracy", "balanced_accuracy", "f1", "f1_macro", "average_precision", "r2"}


@dataclass(frozen=True)
class EvolutionPolicy:
    """Thresholds of the policy; the defaults are the seeds' numbers (p < 0.05, ≥ 200 labels, 1 point)."""

    min_new_labels: int = 500
    min_test_labels: int = 200
    test_fraction: float = 0.3
    alpha: float = 0.05
    max_forgetting: float = 0.01
    #: an old row of the replay hold-out whose region today's traffic covers at least this densely
    #: (p_new / p_old) is judged by the recent labels instead: the new concept supersedes it there
    #: (``math.inf``: judge every old row, even against labels that contradict it)
    supersede_ratio: float = 0.5
    #: the training weight left to such superseded old rows in the replay (their labels may contradict
    #: the new ones there; 1.0: replay them at full weight)
    superseded_weight: float = 0.1
    #: earlier versions offered as candidates too, so a recurring concept brings its model back
    reuse_versions: int = 3
    replay_fraction: float = 0.2
    max_replay_test: int = 2000
    shadow_labels: int = 200
    shadow_max_labels: int = 2000
    grace_labels: int = 1000
    rollback_min_labels: int = 100
    cooldown_s: float = 0.0
    #: after a rejected challenger, decay or drift retrains only once this many new labels arrived
    #: (``min_new_labels`` still does on its own)
    cooldown_labels: int = 1000
    fresh_search: bool = True
    fresh_search_budget_s: float = 30.0
    pool_reservoir: int = 5000
    pool_recent: int = 3000
    pool_hard: int = 1000
    half_life: float = 5000.0
    max_fold_models: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        from lamarck.errors import ConfigError

        rules = {
            "min_test_labels": self.min_test_labels >= 1,
            "min_new_labels": self.min_new_labels >= 1,
            "alpha": 0 < self.alpha < 1,
            "test_fraction": 0 < self.test_fraction < 1,
            "replay_fraction": 0 <= self.replay_fraction < 1,
            "max_forgetting": self.max_forgetting >= 0,
            "supersede_ratio": self.supersede_ratio > 0,
            "superseded_weight": 0 <= self.superseded_weight <= 1,
            "reuse_versions": self.reuse_versions >= 0,
            "shadow_labels": self.shadow_labels >= 0,
            "max_fold_models": self.max_fold_models >= 1,
        }
        bad = [k for k, ok in rules.items() if not ok]
        if bad:
            raise ConfigError(
                f"evolution policy {bad[0]}={getattr(self, bad[0])!r} is out of range. Fix: counts are "
                "positive, alpha and fractions lie between 0 and 1."
            )


@dataclass(frozen=True)
class Decision:
    """What a pass decided, why, and the figures behind it."""

    kind: DecisionKind
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["figures"] = {k: v for k, v in self.figures.items() if not k.startswith("_")}
        return out


# ---------------------------------------------------------------------------------------------- references


def write_reference(frame: pd.DataFrame, path: Path) -> Path:
    """Write a training reference to Parquet, text columns as plain strings (mixed objects would fail)."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(
                lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            )
    out.to_parquet(path)
    return path


def read_reference(info: Any) -> pd.DataFrame | None:
    """The training reference stored with a registered version, or None when it has none."""
    path = info.artifact_dir / "reference.parquet" if getattr(info, "artifact_dir", None) else None
    return pd.read_parquet(path) if path is not None and path.exists() else None


# ---------------------------------------------------------------------------------------------- helpers


def _encode(labels: pd.Series, classes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Encoded labels and a mask of the rows whose label the model knows."""
    if classes is None:
        values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=float)
        return values, ~np.isnan(values)
    index = {str(c): i for i, c in enumerate(classes)}
    codes = labels.map(lambda v: index.get(_label_text(v), -1)).to_numpy(dtype=int)
    return codes, codes >= 0


def _usable(model: Any, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encoded labels, which labels the model knows, and which rows carry any of its input columns."""
    y, known = _encode(rows["label"], model.classes_)
    has_inputs = rows.reindex(columns=model.input_columns).notna().any(axis=1).to_numpy()
    return y, known, has_inputs


def _label_text(v: Any) -> str:
    """Labels compare as text; integral floats (JSON round trips) as integers."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _predict(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Probabilities (classification) or values (regression) over encoded classes."""
    if model.task == "regression":
        return np.asarray(model.predict(X), dtype=float)
    return np.asarray(model.predict_proba(X), dtype=float)


def _errors(model: Any, pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    if model.task == "regression":
        return np.abs(pred - y)
    return (pred.argmax(axis=1) != y).astype(float)


def _hard(model: Any, pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    if model.task == "regression":
        return np.abs(pred - y)
    return hardness(pred, y)


def _metric_value(model: Any, y: np.ndarray, pred: np.ndarray) -> float:
    try:
        return float(signed(model.metric, score(model.metric, y, pred)))
    except ValueError:  # e.g. one class only in a small hold-out
        return math.nan


def _test(
    model: Any,
    y: np.ndarray,
    champion_pred: np.ndarray,
    challenger_pred: np.ndarray,
    *,
    alpha: float,
    seed: int,
) -> Any:
    """The gate's one-sided test: is the second set of predictions better than the first?"""
    if model.task == "regression":
        return paired_bootstrap(
            y, champion_pred, challenger_pred, metric=model.metric, seed=seed, alpha=alpha
        )
    return mcnemar(y, champion_pred.argmax(axis=1), challenger_pred.argmax(axis=1), alpha=alpha)


def _ts(value: Any) -> float:
    t = pd.Timestamp(value)
    return (t.tz_localize("UTC") if t.tzinfo is None else t).timestamp()


FreshFit = Callable[[pd.DataFrame, float], Any]


class Evolver:
    """Runs the policy against a registry and a store.

    ``fresh_fit(frame, budget_s)`` returns a new model fitted by a full search on ``frame`` (raw columns
    plus the target); it is injected by the project so that ``evolve`` does not depend on it.
    """

    def __init__(
        self,
        registry: Any,
        store: Any,
        *,
        policy: EvolutionPolicy | None = None,
        fresh_fit: FreshFit | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.store = store
        self.policy = policy or EvolutionPolicy()
        self.fresh_fit = fresh_fit
        self.clock = clock
        self.ledger = ChampionLedger(registry, store)

    # ------------------------------------------------------------------ the pass

    def run_once(self) -> Decision:
        """One pass of the policy; returns the decision (recorded in the store unless it is a skip)."""
        resumed = self._reconcile()
        if resumed is not None:
            return resumed
        champ_version = self.registry.alias_version("champion")
        if champ_version is None:
            return Decision("skip", "no champion yet: fit a model first")
        champion = self.registry.load(champ_version)
        for step in (self._watch, self._shadow, self._train):
            decision = step(champion, str(champ_version))
            if decision is not None:
                return self._record(decision)
        raise AssertionError("unreachable: _train always decides")  # pragma: no cover

    def _record(self, decision: Decision) -> Decision:
        if decision.kind != "skip" and decision.kind not in ALIAS_KINDS:  # moves are recorded by the ledger
            self.store.record_decision(
                decision.kind, decision.reason, {**decision.figures, "version": decision.version}
            )
        return decision

    def _move(
        self, kind: Literal["promote", "rollback"], reason: str, figures: dict[str, Any], to: str
    ) -> Decision:
        """Move the champion through the ledger (recorded first, so a kill in between is finished later)."""
        self.ledger.move(kind, to, reason=reason, figures={**figures, "version": to})
        return Decision(kind, reason, {**figures, "to": to}, to)

    def _reconcile(self) -> Decision | None:
        resumed = self.ledger.reconcile()
        if resumed is None:
            return None
        return Decision(
            "resume",
            f"finished an interrupted {resumed.kind}: champion {resumed.previous} -> {resumed.to}",
            {"from": resumed.previous, "to": resumed.to},
            resumed.to,
        )

    # ------------------------------------------------------------------ data

    def _labelled(
        self, model: Any, rows: pd.DataFrame, *, quarantine: bool = False
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Rows usable by ``model``: inputs, encoded labels and feedback weights.

        A row is unusable when its label is not a class the model knows or it carries none of the model's
        input columns (e.g. feedback for an unknown prediction id); with ``quarantine`` those rows are
        quarantined with their reason.
        """
        cols = model.input_columns
        if rows.empty:
            return pd.DataFrame(columns=cols), np.zeros(0), np.zeros(0)
        X_all = rows.reindex(columns=cols)
        y, known, has_inputs = _usable(model, rows)
        ok = known & has_inputs
        if quarantine and not ok.all():
            reasons = [
                "inputs carry none of the model's columns"
                if not has_inputs[i]
                else f"label {rows['label'].iloc[i]!r} is not a class the model knows ({list(model.classes_)})"
                for i in np.flatnonzero(~ok)
            ]
            bad = rows[~ok].drop(columns=["ts"], errors="ignore")
            self.store.quarantine(bad.to_dict("records"), reasons, source="evolve")
        weights = (
            pd.to_numeric(rows["weight"], errors="coerce").fillna(1.0).to_numpy(dtype=float)
            if "weight" in rows.columns
            else np.ones(len(rows))
        )
        return X_all[ok].reset_index(drop=True), y[ok], weights[ok]

    def _batch_labels(self, *, after_id: int | None = None) -> pd.DataFrame:
        """Labelled rows for the batch champion: the served stream learner's feedback is its own."""
        rows = self.store.labelled(after_id=after_id)
        return rows[rows["source"] != "stream"] if "source" in rows.columns else rows

    def _cursor(self) -> int:
        last = next(
            iter(self.store.decisions(limit=1, kinds=("challenger", "reject", "promote", "retire"))), None
        )
        return int(last["figures"].get("cursor") or 0) if last else 0

    # ------------------------------------------------------------------ 2. watch and roll back

    def _watch(self, champion: Any, champ_version: str) -> Decision | None:
        p = self.policy
        last = self.ledger.last_move()
        if last is None or last.kind != "promote" or last.to != champ_version:
            return None
        previous = last.previous
        if not previous or last.figures.get("origin") == "fit":
            return None  # a fresh fit is the user's explicit choice; nothing earlier to compare against
        after = self._batch_labels(after_id=int(last.figures.get("feedback_cursor") or 0))
        X, y, _ = self._labelled(champion, after)
        X, y = X.iloc[: p.grace_labels], y[: p.grace_labels]
        if len(X) < p.rollback_min_labels:
            return None
        try:
            old = self.registry.load(str(previous))
        except Exception:  # the previous version is gone: nothing to roll back to
            log.warning("cannot load version %s to watch the promotion", previous, exc_info=True)
            return None
        new_pred, old_pred = _predict(champion, X), _predict(old, X)
        test = _test(champion, y, new_pred, old_pred, alpha=p.alpha, seed=p.seed)
        detector = DecayDetector()
        new_err, old_err = _errors(champion, new_pred, y), _errors(champion, old_pred, y)
        fired = [i for i, e in enumerate(new_err) if detector.update(float(e))]
        figures = {
            "labels": len(X),
            "p_value": test.p_value,
            "delta_old_minus_new": test.delta,
            "test": test.method,
            "new_error": float(new_err.mean()),
            "old_error": float(old_err.mean()),
            "detector_fired_at": fired[:5],
            "from": champ_version,
            "to": str(previous),
        }
        if test.better:
            reason = (
                f"v{previous} is significantly better than the new champion v{champ_version} on "
                f"{len(X)} labels since the promotion (p={test.p_value:.3g})"
            )
        elif fired and old_err.mean() < new_err.mean():
            reason = (
                f"decay detector fired on v{champ_version} {len(fired)} time(s) within the grace window "
                f"and v{previous} errs less on the same {len(X)} labels "
                f"({old_err.mean():.4g} vs {new_err.mean():.4g})"
            )
        else:
            return None
        return self._move("rollback", reason, figures, str(previous))

    # ------------------------------------------------------------------ 3. shadow

    def _shadow(self, champion: Any, champ_version: str) -> Decision | None:
        p = self.policy
        chal_version = self.registry.alias_version("challenger")
        if chal_version is None or str(chal_version) == champ_version:
            return None
        chal_version = str(chal_version)
        rows = self.store.shadow_labelled(chal_version)
        needed = max(p.shadow_labels, 1)
        figures: dict[str, Any] = {"challenger": chal_version, "shadow_labels": len(rows), "needed": needed}
        if len(rows) < needed:
            return Decision(
                "skip",
                f"challenger v{chal_version} is shadowing: {len(rows)}/{needed} labels",
                figures,
                chal_version,
            )
        y, known = _encode(rows["label"], champion.classes_)
        rows, y = rows[known].reset_index(drop=True), y[known]
        challenger = self.registry.load(chal_version)
        # the challenger's answers as logged on live traffic; the champion's recomputed on the same rows
        # (the served answer may come from an earlier champion)
        X = rows.reindex(columns=champion.input_columns)
        champ_pred = _predict(champion, X)
        chal_pred = _predict(challenger, X)
        test = _test(champion, y, champ_pred, chal_pred, alpha=p.alpha, seed=p.seed)
        figures.update(
            {
                "p_value": test.p_value,
                "delta": test.delta,
                "test": test.method,
                "cursor": self._cursor(),
                "feedback_cursor": self.store.max_feedback_id(),
            }
        )
        if test.better:
            figures.update({"from": champ_version, "origin": "evolve"})
            return self._move(
                "promote",
                f"challenger v{chal_version} beat v{champ_version} in the shadow on {len(rows)} live labels "
                f"(p={test.p_value:.3g}, delta={test.delta:+.4f})",
                figures,
                chal_version,
            )
        worse = _test(champion, y, chal_pred, champ_pred, alpha=p.alpha, seed=p.seed).better
        if worse or len(rows) >= p.shadow_max_labels:
            self.registry.delete_alias("challenger")
            why = "is significantly worse" if worse else f"did not win in {len(rows)} labels"
            return Decision(
                "retire",
                f"challenger v{chal_version} {why} in the shadow "
                f"(p={test.p_value:.3g}, delta={test.delta:+.4f})",
                figures,
                chal_version,
            )
        return Decision(
            "skip",
            f"challenger v{chal_version} not yet significantly better in the shadow "
            f"(p={test.p_value:.3g} on {len(rows)} labels)",
            figures,
            chal_version,
        )

    # ------------------------------------------------------------------ 4. train

    def _train(self, champion: Any, champ_version: str) -> Decision:
        p = self.policy
        cursor = self._cursor()
        everything = self._batch_labels()
        reference = read_reference(self.registry.info(champ_version))
        outputs = self._prediction_drift(champion, champ_version, reference)
        if everything.empty:
            figures = {"labels": 0, "prediction_drift": outputs}
            if outputs is not None and outputs["severity"] != "none":
                self._label_free_signal(outputs, figures, champ_version)
            return Decision("skip", "no labelled feedback yet", figures, champ_version)
        new_rows = everything[everything["feedback_id"] > cursor]
        old_rows = everything[everything["feedback_id"] <= cursor]
        X_new, y_new, w_new = self._labelled(champion, new_rows, quarantine=True)
        upto = int(everything["feedback_id"].max())
        figures: dict[str, Any] = {
            "new_labels": len(X_new),
            "cursor": upto,
            "from_cursor": cursor,
            "unusable_labels": int(len(new_rows) - len(X_new)),
        }
        if len(X_new) == 0:
            return Decision("skip", "no new usable labels since the last decision", figures, champ_version)
        pred = _predict(champion, X_new)
        errors = _errors(champion, pred, y_new)
        detector = DecayDetector()
        fired = [i for i, e in enumerate(errors) if detector.update(float(e))]
        drift = None
        if reference is not None and len(X_new) >= 30:
            drift = feature_drift(reference[champion.input_columns], X_new)
        figures.update(
            {
                "error_rate" if champion.task != "regression" else "mae": float(errors.mean()),
                "metric": champion.metric,
                "score_new": _metric_value(champion, y_new, pred),
                "decay": bool(fired),
                "decay_at": fired[:5],
                "drift": drift.severity if drift is not None else "unknown",
                "drifted_columns": drift.drifted if drift is not None else [],
                "drift_detail": {
                    c.column: {"psi": c.psi, "ks_p": c.ks_p_value, "severity": c.severity}
                    for c in drift.columns
                    if c.severity != "none"
                }
                if drift is not None
                else {},
                "prediction_drift": outputs,
            }
        )
        drifted = drift is not None and drift.severity != "none"
        if drifted:
            # replay makes a champion's reference a mixture of concepts, so traffic from one of them always
            # differs from it; drift triggers training only when the traffic also changed since the labels
            # the last decision saw (a window of the same size before the cursor)
            X_prev, _, _ = self._labelled(champion, old_rows.tail(max(len(X_new), 200)))
            if len(X_prev) >= 100:
                change = feature_drift(X_prev, X_new)
                figures["drift_since_last_window"] = change.severity
                drifted = change.severity != "none"
        signals = [s for s, on in (("decay", bool(fired)), ("drift", drifted)) if on]
        triggers = [*signals, *(["labels"] if len(X_new) >= p.min_new_labels else [])]
        figures["triggers"] = triggers
        if not triggers:
            return Decision(
                "skip",
                f"no trigger: {len(X_new)}/{p.min_new_labels} new labels, no decay, no drift",
                figures,
                champ_version,
            )
        last_try = next(iter(self.store.decisions(limit=1, kinds=("challenger", "reject"))), None)
        if (
            last_try is not None
            and last_try["kind"] == "reject"
            and "labels" not in triggers
            and len(X_new) < p.cooldown_labels
        ):
            self._signal(signals, figures, champ_version)
            return Decision(
                "skip",
                f"{', '.join(triggers)}: the last challenger was rejected; waiting for "
                f"{p.cooldown_labels} new labels before the next ({len(X_new)} so far)",
                figures,
                champ_version,
            )
        if last_try is not None and self.clock() - _ts(last_try["ts"]) < p.cooldown_s:
            return Decision(
                "skip", f"cooldown: last challenger less than {p.cooldown_s:g}s ago", figures, champ_version
            )
        n_test = max(p.min_test_labels, int(len(X_new) * p.test_fraction))
        if len(X_new) < n_test + max(50, p.min_test_labels // 4):
            self._signal(signals, figures, champ_version)
            return Decision(
                "skip",
                f"{', '.join(triggers)}: waiting for labels ({len(X_new)} new, the gate needs "
                f"{n_test} held out plus some to train on)",
                figures,
                champ_version,
            )
        return self._challenge(
            champion,
            champ_version,
            old_rows,
            X_new,
            y_new,
            w_new,
            n_test,
            figures,
            severe=drifted and drift is not None and drift.severity == "severe",
            reference=reference,
        )

    def _prediction_drift(
        self, champion: Any, version: str, reference: pd.DataFrame | None
    ) -> dict[str, Any] | None:
        """The champion's recent served outputs against its outputs on its reference inputs (no labels).

        The same function on both sides, so only a change in what it is asked moves the figure (its stored
        out-of-fold predictions come from other models, the fold models, and would read as drift).
        """
        if reference is None:
            return None
        recent = self.store.recent_predictions(version, limit=2000)
        if champion.task == "regression":
            current = pd.to_numeric(recent["prediction"], errors="coerce").dropna().to_numpy(dtype=float)
        else:
            width = len(champion.classes_)
            probas = [p for p in recent["proba"] if isinstance(p, list) and len(p) == width]
            current = np.asarray(probas, dtype=float).reshape(len(probas), width)
        if len(current) < 100:
            return None
        before = _predict(champion, reference.reindex(columns=champion.input_columns).head(5000))
        classes = None if champion.classes_ is None else list(champion.classes_)
        report = prediction_drift(before, current, classes)
        return {
            "severity": report.severity,
            "psi": max((c.psi for c in report.columns), default=0.0),
            "predictions": len(current),
        }

    def _label_free_signal(self, outputs: dict[str, Any], figures: dict[str, Any], version: str) -> None:
        """Record prediction drift seen before any label arrived, once per change in what was served."""
        last = next(iter(self.store.decisions(limit=1, kinds=("signal",))), None)
        seen = (last or {}).get("figures", {}).get("prediction_drift") or {}
        if seen.get("predictions") == outputs["predictions"] and seen.get("severity") == outputs["severity"]:
            return
        self.store.record_decision(
            "signal",
            f"prediction drift ({outputs['severity']}, PSI {outputs['psi']:.3f}) on the last "
            f"{outputs['predictions']} served predictions, before any label",
            {**figures, "version": version},
        )

    def _signal(self, signals: list[str], figures: dict[str, Any], version: str) -> None:
        """Record a drift / decay event once per batch of labels, so ``status`` can show it."""
        if not signals:
            return
        last = next(iter(self.store.decisions(limit=1, kinds=("signal",))), None)
        if last is not None and last["figures"].get("cursor") == figures["cursor"]:
            return
        self.store.record_decision(
            "signal",
            " and ".join(signals) + f" on {figures['new_labels']} new labels",
            {**figures, "version": version},
        )

    def _challenge(
        self,
        champion: Any,
        champ_version: str,
        old_rows: pd.DataFrame,
        X_new: pd.DataFrame,
        y_new: np.ndarray,
        w_new: np.ndarray,
        n_test: int,
        figures: dict[str, Any],
        *,
        severe: bool,
        reference: pd.DataFrame | None,
    ) -> Decision:
        p = self.policy
        X_test, y_test = X_new.iloc[-n_test:].reset_index(drop=True), y_new[-n_test:]
        X_fresh, y_fresh, w_fresh = (
            X_new.iloc[:-n_test].reset_index(drop=True),
            y_new[:-n_test],
            w_new[:-n_test],
        )
        X_old, y_old, w_old, P_old = self._old_concepts(champion, old_rows, reference)
        # the replay hold-out: old rows whose honest champion prediction is known (out-of-fold, or held out
        # when the champion was trained); neither model trains on them
        rng = np.random.default_rng(p.seed)
        # (a share of all old rows, taken from the honest ones, so it does not shrink from one generation
        # to the next: an evolved version carries its own hold-out forward)
        honest = np.flatnonzero(~np.isnan(P_old).any(axis=1))
        k = min(len(honest), p.max_replay_test, int(np.ceil(p.replay_fraction * len(X_old))))
        replay_test = np.zeros(len(X_old), dtype=bool)
        replay_test[rng.choice(honest, size=k, replace=False) if k else []] = True
        X_replay, y_replay = X_old[replay_test].reset_index(drop=True), y_old[replay_test]
        champ_replay = P_old[replay_test] if champion.classes_ is not None else P_old[replay_test, 0]
        # old rows in regions today's traffic covers are superseded: there the recent labels judge (the
        # gate's test) and the replay yields to them (a new concept may overrule the old one there); the
        # anti-forgetting check judges the rest, the regions the traffic has left
        superseded = np.zeros(len(X_old), dtype=bool)
        if len(X_old) and math.isfinite(p.supersede_ratio):
            superseded = coverage(X_old, X_new, seed=p.seed) >= p.supersede_ratio
        judged = ~superseded[replay_test]
        figures["replay_superseded_rows"] = int((~judged).sum())
        figures["old_rows_superseded"] = int(superseded[~replay_test].sum())
        X_train, y_train, w_train = self._pool(
            champion,
            X_old[~replay_test].reset_index(drop=True),
            y_old[~replay_test],
            w_old[~replay_test] * np.where(superseded[~replay_test], p.superseded_weight, 1.0),
            X_fresh,
            y_fresh,
            w_fresh,
        )
        figures.update(
            {
                "test_labels": len(X_test),
                "train_rows": len(X_train),
                "replay_test_rows": len(X_replay),
                "old_rows": int((~replay_test).sum()),
            }
        )
        replay = (X_replay, y_replay, champ_replay, judged)
        champ_test = _predict(champion, X_test)
        candidates: list[tuple[str, Any]] = [
            ("warm start", self._warm_start(champion, X_train, y_train, w_train)),
            *self._earlier_versions(champion, champ_version),
        ]
        results = []
        for how, model in candidates:
            results.append(self._gate(how, champion, model, X_test, y_test, champ_test, replay))
        if (
            (severe or not any(r["passed"] for r in results))
            and self.fresh_fit is not None
            and p.fresh_search
        ):
            frame = X_train.copy()
            frame[champion.target] = (
                y_train
                if champion.classes_ is None
                else np.asarray(champion.classes_, dtype=object)[y_train.astype(int)]
            )
            try:
                fresh = self.fresh_fit(frame, p.fresh_search_budget_s)
                results.append(
                    self._gate("fresh search", champion, fresh, X_test, y_test, champ_test, replay)
                )
                candidates.append(("fresh search", fresh))
            except Exception as e:  # a failed search leaves the champion in place
                log.warning("fresh search failed: %s", e, exc_info=True)
                figures["fresh_search_error"] = f"{type(e).__name__}: {e}"
        figures["candidates"] = results
        passed = [(r, m) for r, (_, m) in zip(results, candidates, strict=True) if r["passed"]]
        if not passed:
            best = max(results, key=lambda r: r["delta"]) if results else None
            why = best["why"] if best else "no candidate could be trained"
            return Decision(
                "reject", f"{len(results)} challenger(s) failed the gate: {why}", figures, champ_version
            )
        result, model = max(passed, key=lambda rm: rm[0]["delta"])
        figures.update({k: result[k] for k in ("p_value", "delta", "test", "forgetting", "how")})
        version = self._register(model, champion, champ_version, X_train, y_train, replay, figures)
        if p.shadow_labels <= 0:
            figures.update({"from": champ_version, "origin": "evolve", "feedback_cursor": figures["cursor"]})
            return self._move(
                "promote",
                f"challenger v{version} ({result['how']}) passed the gate on "
                f"{len(X_test)} recent labels (p={result['p_value']:.3g}) without forgetting",
                figures,
                version,
            )
        self.registry.set_alias("challenger", version)
        return Decision(
            "challenger",
            f"challenger v{version} ({result['how']}) passed the gate on {len(X_test)} "
            f"recent labels (p={result['p_value']:.3g}); shadowing the champion now",
            figures,
            version,
        )

    def _gate(
        self,
        how: str,
        champion: Any,
        model: Any,
        X_test: pd.DataFrame,
        y_test: np.ndarray,
        champ_test: np.ndarray,
        replay: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
    ) -> dict[str, Any]:
        p = self.policy
        chal_test = _predict(model, X_test)
        test = _test(champion, y_test, champ_test, chal_test, alpha=p.alpha, seed=p.seed)
        out: dict[str, Any] = {
            "how": how,
            "p_value": test.p_value,
            "delta": test.delta,
            "test": test.method,
            "score_champion": _metric_value(champion, y_test, champ_test),
            "score_challenger": _metric_value(champion, y_test, chal_test),
            "forgetting": 0.0,
            "passed": False,
        }
        X_replay, y_replay, champ_replay, judged = replay
        out["replay_judged_rows"] = int(judged.sum())
        if judged.sum() >= 30:
            y_old, champ_old = y_replay[judged], champ_replay[judged]
            chal_old = _predict(model, X_replay[judged])
            before = _metric_value(champion, y_old, champ_old)
            after = _metric_value(champion, y_old, chal_old)
            scale = 1.0 if get_metric(champion.metric).name in _UNIT_METRICS else (abs(before) or 1.0)
            forgetting = (before - after) / scale if math.isfinite(before) and math.isfinite(after) else 0.0
            # the loss must be more than noise too: the same one-sided test as the gate, the other way round
            # (is the champion's honest answer significantly better than the challenger's on these rows?)
            worse = _test(champion, y_old, chal_old, champ_old, alpha=p.alpha, seed=p.seed)
            out.update(
                {
                    "replay_before": before,
                    "replay_after": after,
                    "forgetting": forgetting,
                    "forgetting_p_value": worse.p_value,
                    "forgetting_significant": bool(worse.better),
                }
            )
        if not test.better:
            out["why"] = (
                f"{how}: not significantly better on {len(X_test)} recent labels "
                f"(p={test.p_value:.3g}, delta={test.delta:+.4f})"
            )
        elif out["forgetting"] > p.max_forgetting and out.get("forgetting_significant", False):
            out["why"] = (
                f"{how}: forgets, {out['forgetting']:.2%} worse on {out['replay_judged_rows']} rows of "
                f"older data that today's traffic does not cover (limit {p.max_forgetting:.0%}, "
                f"p={out['forgetting_p_value']:.3g})"
            )
        else:
            out["passed"] = True
            out["why"] = "passed"
        return out

    def _earlier_versions(self, champion: Any, champ_version: str) -> list[tuple[str, Any]]:
        """The newest earlier champions for the same target and task, as candidates (a challenger that
        never served is not brought back: it lost its shadow or its gate once already)."""
        if self.policy.reuse_versions <= 0:
            return []
        served = {m.to for m in self.ledger.moves(limit=10_000) if m.to}  # a fit records its promotion too
        versions = self.registry.versions()

        def root(info: Any) -> str:  # a reuse is registered anew: the same model under two numbers
            return str((info.lineage or {}).get("reuse_of") or info.version)

        seen = {root(i) for i in versions if i.version == champ_version}
        found: list[tuple[str, Any]] = []
        for info in versions:
            if len(found) >= self.policy.reuse_versions:
                break
            tags = info.tags or {}
            if (
                root(info) in seen
                or info.version not in served
                or tags.get("kind") == "stream"
                or tags.get("target", champion.target) != champion.target
                or tags.get("task", champion.task) != champion.task
            ):
                continue
            try:
                model = self.registry.load(info.version)
            except Exception:  # its files are gone: not a candidate
                log.warning("cannot load version %s as a candidate", info.version, exc_info=True)
                continue
            mine, theirs = getattr(model, "classes_", None), champion.classes_
            same = (mine is None and theirs is None) or (
                mine is not None and theirs is not None and list(mine) == list(theirs)
            )
            if same and list(getattr(model, "input_columns", [])) == list(champion.input_columns):
                seen.add(root(info))
                found.append((f"reuse of v{root(info)}", model))
        return found

    def _old_concepts(
        self, champion: Any, old_rows: pd.DataFrame, reference: pd.DataFrame | None
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        """The memory of earlier concepts: the training reference, then the feedback already learned from.

        Returns inputs, labels, weights and the champion's honest predictions (NaN where unknown).
        """
        width = 1 if champion.classes_ is None else len(champion.classes_)
        parts: list[tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]] = []
        if reference is not None and champion.target in reference.columns:
            ref = reference.rename(columns={champion.target: "label"})
            pred_cols = [f"{PRED_PREFIX}{j}" for j in range(width)]
            if not all(c in ref.columns for c in pred_cols):
                ref = ref.assign(**{c: np.nan for c in pred_cols})
            y, known, has_inputs = _usable(champion, ref)
            ok = known & has_inputs
            X = ref.reindex(columns=champion.input_columns)[ok].reset_index(drop=True)
            parts.append((X, y[ok], np.ones(len(X)), ref[pred_cols].to_numpy(dtype=float)[ok]))
        X, y, w = self._labelled(champion, old_rows)
        parts.append((X, y, w, np.full((len(X), width), np.nan)))
        parts = [part for part in parts if len(part[0])]
        if not parts:
            return (
                pd.DataFrame(columns=champion.input_columns),
                np.zeros(0),
                np.zeros(0),
                np.zeros((0, width)),
            )
        return (
            pd.concat([part[0] for part in parts], ignore_index=True),
            np.concatenate([part[1] for part in parts]),
            np.concatenate([part[2] for part in parts]),
            np.concatenate([part[3] for part in parts]),
        )

    def _pool(
        self,
        champion: Any,
        X_old: pd.DataFrame,
        y_old: np.ndarray,
        w_old: np.ndarray,
        X_fresh: pd.DataFrame,
        y_fresh: np.ndarray,
        w_fresh: np.ndarray,
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Replay old concepts beside the new ones: reservoir + recent window + hard examples, weighted."""
        p = self.policy
        pool = MemoryPool(
            reservoir_size=p.pool_reservoir,
            recent_size=p.pool_recent,
            hard_size=p.pool_hard,
            half_life=p.half_life,
            seed=p.seed,
        )
        X = pd.concat([X_old, X_fresh], ignore_index=True) if len(X_old) else X_fresh
        y = np.concatenate([y_old, y_fresh])
        w = np.concatenate([w_old, w_fresh])
        loss = (
            _hard(champion, _predict(champion, X), y.astype(int) if champion.classes_ is not None else y)
            if len(X)
            else np.zeros(0)
        )
        for i, row in enumerate(X.to_dict("records")):
            pool.add({**row, "__i": i}, label=y[i], weight=w[i], loss=float(loss[i]))
        frame = pool.training_frame()
        idx = frame["__i"].to_numpy(dtype=int)
        return X.iloc[idx].reset_index(drop=True), y[idx], frame["weight"].to_numpy(dtype=float)

    def _warm_start(self, champion: Any, X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> Any:
        """Same processor and configuration; boosting members continue from the champion's trees."""
        from lamarck.search import LEARNERS, FitContext

        challenger = copy.copy(champion)
        Xp = champion.processor.transform(X[champion.input_columns])
        n_classes = 0 if champion.classes_ is None else len(champion.classes_)
        ctx = FitContext(task=champion.task, n_classes=n_classes, seed=self.policy.seed)
        y_fit = y.astype(int) if champion.classes_ is not None else y
        members = []
        for m in champion.members:
            learner = LEARNERS[m.learner]
            models = []
            for fold_model in m.models[: self.policy.max_fold_models]:
                try:
                    models.append(learner.warm_start(fold_model, Xp, y_fit, ctx, sample_weight=w))
                except NotImplementedError:
                    models.append(learner.fit(m.params, Xp, y_fit, ctx))
            members.append(replace(m, models=models))
        challenger.members = members
        challenger.version = None
        return challenger

    def _register(
        self,
        model: Any,
        champion: Any,
        champ_version: str,
        X: pd.DataFrame,
        y: np.ndarray,
        replay: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
        figures: dict[str, Any],
    ) -> str:
        def labelled(frame: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
            out = frame.copy()
            out[champion.target] = (
                codes
                if champion.classes_ is None
                else np.asarray(champion.classes_, dtype=object)[codes.astype(int)]
            )
            return out

        train = labelled(X, y)
        if len(train) > 5000:
            train = train.sample(n=5000, random_state=self.policy.seed).sort_index()
        X_replay, y_replay, *_ = replay
        held = labelled(X_replay, y_replay)
        if len(held):  # rows the challenger never trained on, with its prediction: the next replay baseline
            pred = _predict(model, X_replay).reshape(len(X_replay), -1)
            for j in range(pred.shape[1]):
                held[f"{PRED_PREFIX}{j}"] = pred[:, j]
        ref = pd.concat([train, held], ignore_index=True)
        tmp = Path(tempfile.mkdtemp(prefix="lamarck-ref-"))
        try:
            write_reference(ref, tmp / "reference.parquet")
            info = self.registry.register(
                model,
                params={
                    "learner": model.describe(),
                    "warm_start_from": champ_version,
                    "how": figures.get("how"),
                },
                metrics={
                    k: float(figures[k])
                    for k in ("p_value", "delta", "forgetting")
                    if isinstance(figures.get(k), int | float) and math.isfinite(figures[k])
                },
                spec=self.registry.info(champ_version).spec,
                fingerprint={"n_rows": len(X), "columns": list(X.columns)},
                lineage={
                    "parent": champ_version,
                    "reason": "evolve: " + ", ".join(figures.get("triggers", [])),
                    "how": figures.get("how"),
                    "new_labels": figures.get("new_labels"),
                    "train_rows": len(X),
                    "feedback_cursor": figures.get("cursor"),
                    "reuse_of": str(figures.get("how", "")).removeprefix("reuse of v")
                    if str(figures.get("how", "")).startswith("reuse of v")
                    else None,
                },
                tags={
                    "origin": "evolve",
                    "task": champion.task,
                    "target": champion.target,
                    "metric": champion.metric,
                },
                input_example=X.head(5),
                extra_artifacts={"reference.parquet": tmp / "reference.parquet"},
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return str(info.version)
