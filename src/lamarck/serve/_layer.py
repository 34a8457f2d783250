"""The served champion's online layer (:class:`lamarck.stream.OnlineLayer`): one per champion version, learning
every label that reaches the store, checkpointed and replayed.

- ``POST /v1/predict``: the champion answers a batch, then the layer answers each row given the champion's
  output (:meth:`LayerService.answer`): the champion's answer while the layer has not been measurably
  better on recent labels, the combination otherwise. The row's snapshot is kept under its prediction
  id, so that its label, whenever it arrives, is learned with what the layer knew when it answered.
- Labels: every feedback the store acknowledged (``/v1/feedback``, ``lamarck feedback``, any source but
  the stream learner's own) is learned in arrival order from the layer's *cursor*, the last feedback
  id it learned (:meth:`LayerService.catch_up`, after each ``/v1/feedback`` and before each answer).
- Durable: the layer is saved to ``<project>/layers/<version>/layer.pkl`` with its cursor every
  ``layer_checkpoint_every`` labels, on a champion change and on shutdown; a restart loads it and learns
  the feedback after its cursor again (none lost, none learned twice). Labels whose snapshot was lost with
  the process are learned with the context of the moment (counted as ``learned_without_snapshot``).
- Versioned: a layer state belongs to one champion version and its checkpoint records which, with the
  feedback cursor. When the champion changes, the current layer is saved under its version and
  - a restart finds the checkpoint that learned the most feedback: the champion's own is *restored*
    (replaying the labels after its cursor);
  - a promotion or a rollback *carries* the members over to the new champion (also from another version's
    checkpoint after a restart): they learn from the rows alone, never from the champion's outputs, so what
    they learned holds whatever model serves, and a fresh layer would forget it (on Agrawal with a weekly
    label delay a fresh layer at each promotion served 0.749, the stream learner 0.829). Only the base
    member (the champion's answer) and the guard restart: the new champion is served bare until the
    combination is measurably better than *it*;
  - a *fresh* layer, warmed on the new champion's honest outputs for its training rows and the
    ``layer_warm_labels`` most recent labels, starts when no layer served before or the last one is more
    than ``layer_warm_labels`` labels behind.
  Each start or restore is recorded in the decision log (kind ``layer``) with the version and cursor.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lamarck.evolve import PRED_PREFIX, encode, read_reference, row_outputs, served_errors
from lamarck.stream import OnlineLayer, Seen, load_state, save_state

__all__ = ["LayerService", "LayerState"]

log = logging.getLogger(__name__)

#: beside each checkpoint: its version and cursor, read at a restart without unpickling every layer
CURSOR_FILE = "cursor.json"

#: feedback the layer never learns: the served stream learner's own
SKIP_SOURCES = frozenset({"stream"})
#: seconds between two looks for labels from elsewhere when answering (``/v1/feedback`` learns at once)
CATCH_UP_S = 1.0


@dataclass
class LayerState:
    """What a checkpoint holds: the layer, the champion version it belongs to and its feedback cursor."""

    version: str
    layer: OnlineLayer
    cursor: int = 0
    how: str = "fresh"
    checkpoints: int = 0


class LayerService:
    """The online layer of ``project``'s champion (see the module). ``enabled=False`` serves the bare
    champion and learns nothing (today's loop, for comparison)."""

    def __init__(
        self,
        project: Any,
        *,
        enabled: bool = True,
        checkpoint_every: int = 1000,
        warm_labels: int = 2000,
        on_event: Callable[[str, int], None] | None = None,
    ) -> None:
        self.project = project
        self.enabled = enabled
        self.checkpoint_every = checkpoint_every
        self.warm_labels = warm_labels
        self.on_event = on_event
        self.lock = threading.RLock()
        self.state_: LayerState | None = None
        self.since_checkpoint_ = 0
        self.caught_at_ = -float("inf")

    # ------------------------------------------------------------------ versions

    def _path(self, version: str) -> Path:
        return Path(self.project.path) / "layers" / str(version) / "layer.pkl"

    def _count(self, name: str, n: int = 1) -> None:
        if self.on_event is not None and n:
            self.on_event(name, n)

    def _ensure(self, model: Any, version: str) -> LayerState:
        """The state of ``version``'s layer: the current one; else its own checkpoint (a restart), the
        members of the layer serving before carried over (a promotion or a rollback), or a fresh layer."""
        state = self.state_
        if state is not None and state.version == version:
            return state
        if state is not None:
            self._save()
        near = self.project.store.max_feedback_id() - max(self.warm_labels, 0)
        previous = state if state is not None else self._newest()
        if previous is not None and previous.cursor >= near:
            if previous.version == version:
                return self._restore(previous, model)
            if previous.layer.can_rebase:
                return self._carry(previous, model, version)
        if previous is None:
            why = "no layer served before"
        elif previous.cursor < near:
            why = f"the last layer (v{previous.version}'s) is more than layer_warm_labels labels behind"
        else:
            why = f"the last layer's members saw v{previous.version}'s outputs"
        return self._fresh(model, version, why=why)

    def _restore(self, restored: LayerState, model: Any) -> LayerState:
        restored.how = "restored"
        self.state_ = restored
        replayed = self._catch_up(model)
        self._record(
            f"restored the online layer of v{restored.version} from its checkpoint at feedback "
            f"{restored.cursor} and replayed {replayed} label(s) since",
            restored,
            replayed=replayed,
        )
        return restored

    def _carry(self, previous: LayerState, model: Any, version: str) -> LayerState:
        """Carry ``previous``'s members over to ``version``: they never saw the old champion's outputs
        (``base_features`` is off), so what they learned of the rows holds; only the base member's score
        and the guard restart, the base member's from the new champion's honest outputs on its training
        rows (learned by no one again)."""
        layer = previous.layer
        rows, base, labels = _honest(model, read_reference(self.project.registry.info(version)))
        recent = slice(max(len(rows) - layer.window, 0), len(rows))
        guard = _shadow_pairs(self.project.store, model, version)
        layer.rebase(rows[recent], base[recent], labels[recent], guard=guard)
        state = LayerState(str(version), layer, cursor=previous.cursor, how="carried")
        self.state_ = state
        replayed = self._catch_up(model)
        self._record(
            f"carried the online layer's members over from v{previous.version} to v{version}: they never saw "
            f"v{previous.version}'s outputs, so what they learned of the rows holds (a fresh layer would "
            f"forget it); the guard starts from v{version}'s {len(guard)} labelled shadow answer(s) against "
            f"what was served ({'the combination serves' if layer.serving_combined else f'v{version} serves bare'} "
            f"until the recent labels say otherwise), its weight among the members from its honest outputs on "
            f"{len(rows[recent])} training row(s); replayed {replayed} label(s) since feedback {previous.cursor}",
            state,
            replayed=replayed,
        )
        self._save()
        return state

    def _fresh(self, model: Any, version: str, *, why: str) -> LayerState:
        layer = OnlineLayer(n_classes=None if model.task == "regression" else len(model.classes_))
        info = self.project.registry.info(version)
        newest = self.project.store.max_feedback_id()
        trained_to = int((getattr(info, "lineage", None) or {}).get("feedback_cursor") or 0)
        start = max(newest - self.warm_labels, trained_to, 0)  # labels it trained on give no honest output
        state = LayerState(str(version), layer, cursor=start, how="fresh")
        self.state_ = state
        on_reference = _warm_on_reference(layer, model, read_reference(info))
        warmed = on_reference + self._catch_up(model)
        self._record(
            f"started a fresh online layer for v{version}, warmed on {on_reference} training row(s) with its "
            f"honest outputs and the {warmed - on_reference} most recent label(s) ({why})",
            state,
            replayed=warmed,
        )
        self._save()
        return state

    def _newest(self) -> LayerState | None:
        """The checkpoint that learned the most feedback, of any version (after a restart).

        Each checkpoint's cursor is read from the small ``cursor.json`` written beside it, so only the
        chosen one is unpickled (a checkpoint without one, or whose file cannot be read, is opened)."""
        cursors: list[tuple[int, str]] = []
        for path in (Path(self.project.path) / "layers").glob("*/layer.pkl"):
            version = path.parent.name
            try:
                cursors.append((int(json.loads((path.parent / CURSOR_FILE).read_text())["cursor"]), version))
            except (OSError, ValueError, KeyError, TypeError):
                state = self._open(version)
                if state is not None:
                    cursors.append((state.cursor, version))
        for _, version in sorted(cursors, reverse=True):
            state = self._open(version)
            if state is not None:
                return state
        return None

    def _open(self, version: str) -> LayerState | None:
        path = self._path(version)
        if not path.exists():
            return None
        try:
            state = load_state(path)
        except Exception:  # an unreadable checkpoint: start fresh rather than fail the request
            log.exception("cannot read the online layer checkpoint %s; starting a fresh layer", path)
            return None
        return state if isinstance(state, LayerState) and state.version == str(version) else None

    def _record(self, reason: str, state: LayerState, *, replayed: int) -> None:
        figures = {"version": state.version, "cursor": state.cursor, "how": state.how, "labels": replayed}
        self.project.store.record_decision("layer", reason, figures)
        log.info("%s", reason)

    def _save(self) -> None:
        state = self.state_
        if state is None:
            return
        state.checkpoints += 1
        path = save_state(state, self._path(state.version))
        # the cursor beside it (after the checkpoint: a cursor never claims more than the file holds)
        cursor = path.parent / CURSOR_FILE
        tmp = cursor.with_suffix(f".{os.getpid()}.tmp")  # serve --workers N: one per process
        tmp.write_text(json.dumps({"version": state.version, "cursor": state.cursor}))
        tmp.replace(cursor)
        self.since_checkpoint_ = 0

    def shutdown(self) -> None:
        with self.lock:
            if self.state_ is not None and self.since_checkpoint_:
                self._save()

    # ------------------------------------------------------------------ serve and learn

    def answer(
        self, model: Any, version: str, rows: Sequence[dict[str, Any]], base: np.ndarray
    ) -> tuple[np.ndarray, list[Seen] | None]:
        """The served outputs for ``rows`` given the champion's (``base``: probabilities or values), and
        the snapshots to :meth:`remember` once the rows have ids; ``base`` itself when disabled."""
        if not self.enabled:
            return base, None
        with self.lock:
            state = self._ensure(model, str(version))
            if time.monotonic() - self.caught_at_ > CATCH_UP_S:  # labels stored by another process (CLI)
                self._catch_up(model)
            return state.layer.answer(rows, base)

    def remember(self, ids: Sequence[str], seen: Sequence[Seen] | None) -> None:
        if seen is None or self.state_ is None:
            return
        with self.lock:
            self.state_.layer.remember(ids, seen)

    def catch_up(self, found: tuple[Any, str] | None) -> int:
        """Learn the feedback after the cursor (``found``: the champion and its version, or ``None``)."""
        if not self.enabled or found is None:
            return 0
        model, version = found
        with self.lock:
            self._ensure(model, str(version))
            return self._catch_up(model)

    def _catch_up(self, model: Any) -> int:
        state = self.state_
        assert state is not None
        store = self.project.store
        self.caught_at_ = time.monotonic()
        records = [r for r in store.feedback_after(state.cursor) if r["source"] not in SKIP_SOURCES]
        if not records:
            return 0
        regression = model.task == "regression"
        labels, known = encode(
            pd.Series([r["label"] for r in records], dtype=object), None if regression else model.classes_
        )
        layer = state.layer
        # labels whose row has no snapshot here are learned with the champion's output computed now
        missing = [i for i, r in enumerate(records) if known[i] and r["prediction_id"] not in layer.pending_]
        base = _base_outputs(model, [records[i]["inputs"] for i in missing]) if missing else None
        base_of = {i: base[k] for k, i in enumerate(missing)} if base is not None else {}
        learned = 0
        for i, record in enumerate(records):
            if known[i] and (i in base_of or record["prediction_id"] in layer.pending_):
                layer.learn(labels[i], key=record["prediction_id"], row=record["inputs"], base=base_of.get(i))
                learned += 1
                self.since_checkpoint_ += 1
            state.cursor = int(record["feedback_id"])
        if self.since_checkpoint_ >= self.checkpoint_every:
            self._save()
        self._count("layer_learned", learned)
        return learned

    # ------------------------------------------------------------------ figures

    def status(self) -> dict[str, Any]:
        """What ``/v1/status`` shows under ``layer``."""
        if not self.enabled:
            return {"enabled": False}
        with self.lock:
            state = self.state_
            if state is None:
                return {"enabled": True, "serving": "champion", "reason": "no prediction or label served yet"}
            return {
                "enabled": True,
                "champion_version": state.version,
                "feedback_cursor": state.cursor,
                "started": state.how,
                "checkpoints": state.checkpoints,
                "since_checkpoint": self.since_checkpoint_,
                **state.layer.figures(),
            }


def _honest(
    model: Any, reference: pd.DataFrame | None
) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """The champion's training reference rows whose honest output (out of fold, or held out) it keeps
    (``__p0..``), in order: their inputs, those outputs (probabilities, or values) and encoded labels."""
    none: tuple[list[dict[str, Any]], np.ndarray, np.ndarray] = ([], np.zeros(0), np.zeros(0))
    if reference is None or model.target not in reference.columns:
        return none
    cols = sorted(
        (c for c in reference.columns if c.startswith(PRED_PREFIX)), key=lambda c: int(c[len(PRED_PREFIX) :])
    )
    regression = model.task == "regression"
    width = 1 if regression else len(model.classes_)
    if not (len(cols) == width or (width == 2 and len(cols) == 1)):  # binary: may keep one column
        return none
    honest = reference[cols].notna().all(axis=1).to_numpy()
    labels, known = encode(reference[model.target], None if regression else model.classes_)
    keep = honest & known
    if not keep.any():
        return none
    outputs = reference.loc[keep, cols].to_numpy(dtype=float)
    if regression:
        base = outputs[:, 0]
    elif len(cols) == 1:  # binary: the positive class's probability
        base = np.column_stack([1.0 - outputs[:, 0], outputs[:, 0]])
    else:
        base = outputs
    inputs = reference.loc[keep, [c for c in model.input_columns if c in reference.columns]]
    rows = inputs.astype(object).where(inputs.notna(), None).to_dict("records")
    return rows, base, np.asarray(labels)[keep]


def _shadow_pairs(store: Any, model: Any, version: str) -> list[tuple[float, float]]:
    """(``version``'s loss, the served answer's loss) on the labelled rows it answered in the shadow, in
    feedback order: honest for both (neither was trained on a row before answering it)."""
    rows = store.shadow_labelled(version)
    if rows.empty:
        return []
    new = served_errors(model, rows.assign(prediction=rows["shadow_prediction"]))
    served = served_errors(model, rows.assign(prediction=rows["served_prediction"]))
    both = ~(np.isnan(new) | np.isnan(served))
    return list(zip(new[both].tolist(), served[both].tolist(), strict=True))


def _warm_on_reference(layer: OnlineLayer, model: Any, reference: pd.DataFrame | None) -> int:
    """Warm ``layer`` on the champion's honest outputs for its training rows; returns how many it learned."""
    rows, base, labels = _honest(model, reference)
    return layer.warm(rows, base, labels) if rows else 0


def _base_outputs(model: Any, inputs: Sequence[dict[str, Any]]) -> np.ndarray | None:
    """The champion's outputs for logged rows (probabilities, or values); ``None`` when it cannot answer
    them (the rows were checked when they were stored: this is not expected)."""
    try:
        return row_outputs(model, inputs)  # as the predict route answered them
    except Exception:
        log.exception(
            "the champion could not answer %d logged row(s); the layer skips their labels", len(inputs)
        )
        return None
