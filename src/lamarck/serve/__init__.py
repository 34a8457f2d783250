"""Serve: the FastAPI app of a project, as routers per area, and its auth.

:func:`create_app` builds one :class:`~lamarck.serve._state.ServerState` (project, auth, caches, metrics,
write lock, evolve loop, stream learner) and includes the routers of :mod:`lamarck.serve._routes`: ops
(``/healthz``, ``/metrics``), predict, feedback, models (list, promote, rollback), loop (status, evolve,
suggest-labels) and stream (``/v1/stream/*``). Routes get the state and the caller's role through the
dependencies of :mod:`lamarck.serve._deps`; :mod:`lamarck.serve._auth` chooses the auth mode (fails
closed) and the bind address.
"""

from lamarck.serve._app import WORKER_ENV, app_from_env, create_app
from lamarck.serve._auth import LOCAL_HOSTS, Auth, AuthMode, bind_host

__all__ = [
    "LOCAL_HOSTS",
    "WORKER_ENV",
    "Auth",
    "AuthMode",
    "app_from_env",
    "bind_host",
    "create_app",
]
