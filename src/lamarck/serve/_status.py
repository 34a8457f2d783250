"""What ``GET /v1/status`` answers, and the console's overview shows: one assembly for both."""

from __future__ import annotations

from typing import Any

from lamarck.evolve import EvolutionPolicy
from lamarck.serve._errors import without_paths_in
from lamarck.serve._state import ServerState

__all__ = ["server_status"]

#: the figures of the last drift or decay signal that ``/v1/status`` shows
_DRIFT_FIGURES = (
    "drift",
    "drifted_columns",
    "drift_detail",
    "prediction_drift",
    "decay",
    "error_rate",
    "mae",
    "new_labels",
)


def server_status(state: ServerState) -> dict[str, Any]:
    """The champion, the versions, the challenger's shadow, the last drift signal and decisions, the event
    counts, the evolve loop, the online layer and the stream learner; no absolute path of the server's
    files (``project`` is the folder's name)."""
    project, loop = state.project, state.evolve
    info = project.status()
    root = project.path.resolve()
    info["project"] = root.name
    info["events"] = project.store.counts()
    challenger = state.aliases.get().get("challenger")
    info["challenger"] = None
    if challenger is not None:
        labelled = len(project.store.shadow_labelled(challenger))
        needed = max((loop.policy or EvolutionPolicy()).shadow_labels, 1)  # as the evolver counts them
        info["challenger"] = {
            "version": challenger,
            "shadow_predictions": project.store.shadow_count(challenger),
            "shadow_labels": labelled,
            "shadow_labels_needed": needed,
        }
    signal = next(iter(project.store.decisions(limit=1, kinds=("signal", "challenger", "reject"))), None)
    info["drift"] = (
        None
        if signal is None
        else {k: signal["figures"].get(k) for k in _DRIFT_FIGURES if k in signal["figures"]}
        | {"at": str(signal["ts"])}
    )
    info["decisions"] = project.store.decisions(limit=10)
    info["auto_evolve"] = {"enabled": loop.enabled, "every_s": loop.every_s, "last": loop.last}
    info["layer"] = state.layer.status()  # the champion's online layer (see lamarck.serve._layer)
    info["stream"] = state.stream.summary()  # the served stream learner (see lamarck.serve._stream)
    if (
        state.feedback_source is not None
    ):  # labels from a Kafka topic: lag per partition (lamarck.serve._kafka)
        info["feedback_source"] = state.feedback_source.status()
    return without_paths_in(info, root)
