"""What the routes share, in one typed object: :class:`ServerState`, built once by ``create_app`` and stored
on ``app.state.server``; a route gets it through the dependency :func:`lamarck.serve._deps.get_state`.

    >>> import tempfile
    >>> from lamarck.project import Project
    >>> state = ServerState.build(Project(tempfile.mkdtemp()))
    >>> state.auth.mode, state.models.of("champion"), state.evolve.last
    ('open', None, None)
    >>> state.metrics.inc("predictions", 3)
    >>> "lamarck_predictions_total 3" in state.metrics.render()
    True
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException

from lamarck.project import Project
from lamarck.serve._auth import Auth, AuthMode
from lamarck.serve._layer import LayerService
from lamarck.serve._limits import Limits
from lamarck.serve._sessions import Sessions
from lamarck.serve._stream import StreamService

__all__ = ["CACHE_S", "Cached", "EvolveLoop", "Metrics", "Models", "ServerState"]

log = logging.getLogger(__name__)

#: seconds an alias lookup is reused (MLflow is not asked per request)
CACHE_S = 1.0


class Metrics:
    """Counters and the summed predict latency, rendered for Prometheus (``GET /metrics``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: Counter[str] = Counter()
        self.latency_sum = 0.0

    def inc(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counters[name] += n

    def observe_predict(self, seconds: float) -> None:
        with self.lock:
            self.latency_sum += seconds

    def render(self) -> str:
        lines = []
        with self.lock:
            for name, value in sorted(self.counters.items()):
                lines += [f"# TYPE lamarck_{name}_total counter", f"lamarck_{name}_total {value}"]
            lines += [
                "# TYPE lamarck_predict_seconds_sum counter",
                f"lamarck_predict_seconds_sum {self.latency_sum:.6f}",
            ]
        return "\n".join(lines) + "\n"


class Cached:
    """A value recomputed at most every ``ttl`` seconds (``invalidate`` forces the next read).

    Once there is a value, an expired one is recomputed by a background thread while readers keep the
    value they had: asking MLflow for the aliases takes tens of milliseconds, which a request that
    happened to come due would otherwise wait for (the p99 of every second's requests). After
    ``invalidate`` (this server moved an alias) the next read waits for the new value.
    """

    def __init__(self, compute: Callable[[], Any], ttl: float = CACHE_S) -> None:
        self.compute, self.ttl = compute, ttl
        self.value: Any = None
        self.at = -float("inf")
        self.lock = threading.Lock()
        self._fresh = False  # a value read since the last invalidate
        self._refreshing = False
        self._generation = 0  # invalidations so far: a refresh begun before one is dropped

    def get(self) -> Any:
        with self.lock:
            if not self._fresh:
                self.value, self.at, self._fresh = self.compute(), time.monotonic(), True
            elif time.monotonic() - self.at > self.ttl and not self._refreshing:
                self._refreshing = True
                threading.Thread(
                    target=self._refresh, args=(self._generation,), name="lamarck-cache", daemon=True
                ).start()
            return self.value

    def _refresh(self, generation: int) -> None:
        try:
            value, ok = self.compute(), True
        except Exception:  # the old value serves on; the next read tries again
            log.warning("refreshing a cached value failed", exc_info=True)
            value, ok = None, False
        with self.lock:
            if ok and self._fresh and generation == self._generation:
                self.value, self.at = value, time.monotonic()
            self._refreshing = False

    def invalidate(self) -> None:
        with self.lock:
            self._fresh = False
            self._generation += 1


class Models:
    """The loaded models by version (at most five kept), found through the cached aliases."""

    def __init__(self, project: Project, aliases: Cached) -> None:
        self.project, self.aliases = project, aliases
        self.loaded: dict[str, Any] = {}

    def of(self, alias: str) -> tuple[Any, str] | None:
        """``(model, version)`` under ``alias``, or ``None`` when the alias is not set."""
        version = self.aliases.get().get(alias)
        if version is None:
            return None
        if version not in self.loaded:
            if len(self.loaded) > 4:
                self.loaded.clear()
            model = self.project.load_model(version)
            compile_ = getattr(model, "compile", None)
            if callable(compile_):  # the kernels' build and check, here rather than in the first answer
                try:
                    compile_()
                except Exception:  # an optimisation: the model answers through its frame path
                    log.warning("v%s: compiling the predictors failed", version, exc_info=True)
            self.loaded[version] = model
        return self.loaded[version], version

    def champion(self) -> tuple[Any, str]:
        """The champion and its version; 503 while the project has none."""
        found = self.of("champion")
        if found is None:
            raise HTTPException(503, 'no champion yet: run `lamarck fit DATA "SENTENCE"` first')
        return found


class EvolveLoop:
    """Passes of the evolution policy: one on request (``run_once``) and, once ``start`` is called with
    ``enabled``, one every ``every_s`` seconds in a daemon thread until ``stop``. Passes never overlap;
    after each one ``on_decision(decision)`` runs (the app drops its alias cache and counts the kind), after
    a failed pass of the thread ``on_error()`` (the thread goes on)."""

    def __init__(
        self,
        project: Project,
        *,
        policy: Any = None,
        enabled: bool = False,
        every_s: float = 60.0,
        on_decision: Callable[[Any], None] | None = None,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self.project, self.policy, self.enabled, self.every_s = project, policy, enabled, every_s
        self.on_decision, self.on_error = on_decision, on_error
        self.last: dict[str, Any] | None = None  # the last decision, as a dict
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, *, pause_s: float = 0.0) -> Any:
        """One pass now (``pause_s``: no pass of another process starts until that long after it)."""
        with self._lock:
            decision = self.project.evolve(self.policy, pause_s=pause_s)
        if self.on_decision is not None:
            self.on_decision(decision)
        self.last = decision.to_dict()
        return decision

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                # the other processes' loops (serve --workers N) wait for most of a period after this pass
                decision = self.run_once(pause_s=0.9 * self.every_s)
                log.info("evolve: %s (%s)", decision.kind, decision.reason)
            except Exception:  # the loop survives a bad pass; the champion keeps serving
                log.exception("evolve pass failed")
                if self.on_error is not None:
                    self.on_error()

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="lamarck-evolve", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass(eq=False)
class ServerState:
    """Everything the routes of one app share. ``write_lock`` serialises the routes' writes on an
    in-memory SQLite store (a no-op where the store groups commits); ``served_version`` is the version the
    last predict answered with."""

    project: Project
    auth: Auth
    metrics: Metrics
    aliases: Cached
    models: Models
    write_lock: Any
    evolve: EvolveLoop
    stream: StreamService
    layer: LayerService
    sessions: Sessions  # the console's signed sessions of the API keys
    limits: Limits = field(default_factory=Limits)  # what one request may send (the project's settings)
    served_version: str | None = None
    workers: int = 1  # processes serving this project together (``lamarck serve --workers N``)
    feedback_source: Any = None  # a Kafka feedback consumer (``lamarck serve --feedback-from``)

    @classmethod
    def build(
        cls,
        project: Project,
        *,
        auto_evolve: bool = False,
        evolve_every_s: float = 60.0,
        policy: Any = None,
        auth_mode: AuthMode | None = None,
        online_layer: bool | None = None,
        workers: int = 1,
    ) -> ServerState:
        """The state of a new app of ``project`` (the arguments are ``create_app``'s)."""
        metrics = Metrics()
        aliases = Cached(lambda: project.registry.aliases())

        def on_decision(decision: Any) -> None:
            aliases.invalidate()
            metrics.inc(f"evolve_{decision.kind}")

        # appends (predictions, shadow answers, feedback, quarantine) share commits: the requests in flight
        # hand their rows to one writer thread, which commits them together; each answer still waits for
        # its own rows to be durable. SQLite admits one writer and puts the others to sleep in its busy
        # handler (up to seconds for some requests under 8 concurrent predicts): where appends cannot be
        # grouped (an in-memory store), the routes' writes queue on this lock instead
        grouped = project.store.group_commits()
        sqlite = str(project.store.url).startswith("sqlite") and not grouped
        settings = project.settings
        layered = settings.online_layer if online_layer is None else online_layer
        if policy is None and layered:  # the layer learns every label: the batch evolver is the slow half
            from lamarck.evolve import EvolutionPolicy

            policy = EvolutionPolicy(online=True, seed=settings.seed)
        return cls(
            project=project,
            auth=Auth(project.store, mode=auth_mode),
            metrics=metrics,
            aliases=aliases,
            models=Models(project, aliases),
            write_lock=threading.Lock() if sqlite else contextlib.nullcontext(),
            evolve=EvolveLoop(
                project,
                policy=policy,
                enabled=auto_evolve,
                every_s=evolve_every_s,
                on_decision=on_decision,
                on_error=lambda: metrics.inc("evolve_errors"),
            ),
            stream=StreamService(project, on_event=metrics.inc),
            layer=LayerService(
                project,
                enabled=layered,
                checkpoint_every=settings.layer_checkpoint_every,
                warm_labels=settings.layer_warm_labels,
                on_event=metrics.inc,
            ),
            sessions=Sessions(project.path, project.store),
            limits=Limits.of(project.settings),
            workers=workers,
        )

    def add_feedback(self, *, source: str = "api", **labels: Any) -> Any:
        """Store labels through ``Project.add_feedback`` (``labels``: its ``items=`` or ``rows=``,
        ``label_column=``, ``weight=``), held to the champion's classes; durable when this returns, then
        learned by the online layer. The one path of ``/v1/feedback`` and of the console's label queue."""
        found = self.models.of("champion")  # loaded once per version: its classes are the feedback rule's
        champion = found[0] if found is not None else None
        with self.write_lock:
            result = self.project.add_feedback(source=source, champion=champion, **labels)
        self.metrics.inc("feedback", result.accepted)
        if result.accepted:  # durable first; then the champion's online layer learns the new labels at once
            self.layer.catch_up(found)
        if result.quarantined:
            self.metrics.inc("quarantined_rows", len(result.quarantined))
        return result
