"""Who is calling: API keys with roles, and the one rule that keeps a server without keys local.

The mode is chosen once, when the app is made: ``"keys"`` when the project has an active key, ``"open"``
(every caller is admin) when it has none, and then only on a local address (:func:`bind_host`). A
running server never falls back into the open mode: once a key exists (or existed at start-up),
revoking the last one leaves a server that refuses everyone but ``/healthz``.

    >>> import tempfile
    >>> from lamarck.store import EventStore
    >>> store = EventStore(f"sqlite:///{tempfile.mkdtemp()}/events.db")
    >>> auth = Auth(store, recheck_s=0)
    >>> auth.mode, auth.role(None)
    ('open', 'admin')
    >>> key = store.create_key("predict")
    >>> auth.role(key)  # a key appeared: the server is keyed from now on
    'predict'
    >>> _ = store.revoke_key(1)
    >>> auth.mode, auth.role(key)
    ('keys', None)
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

__all__ = ["LOCAL_HOSTS", "Auth", "AuthMode", "bind_host"]

AuthMode = Literal["open", "keys"]

#: addresses a server without API keys may listen on
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Auth:
    """The role of a key under this server's mode (``None``: refused).

    ``store`` needs ``has_keys()`` and ``key_role(key)``. ``mode`` forces a mode; by default it is
    ``"keys"`` when the store has an active key now and ``"open"`` otherwise. An open server asks the
    store again at most every ``recheck_s`` seconds whether a key has appeared.
    """

    def __init__(self, store: Any, *, mode: AuthMode | None = None, recheck_s: float = 1.0) -> None:
        self.store = store
        self.recheck_s = recheck_s
        self._mode: AuthMode | None = mode
        self._lock = threading.Lock()
        self._checked = -float("inf")

    @property
    def mode(self) -> AuthMode:
        with self._lock:
            if self._mode == "keys":
                return "keys"
            now = time.monotonic()
            if self._mode is None or now - self._checked >= self.recheck_s:
                # open until the first key appears, then keyed for the life of the server
                self._mode = "keys" if self.store.has_keys() else "open"
                self._checked = now
            return self._mode

    def surely_open(self) -> bool:
        """True when the server is open and that is known without asking the store (checked less than
        ``recheck_s`` ago): a caller may skip the thread a query would need."""
        with self._lock:
            return self._mode == "open" and time.monotonic() - self._checked < self.recheck_s

    def role(self, key: str | None) -> str | None:
        """``"admin"`` for anyone on an open server; else the key's role, or None for a bad key."""
        if self.mode == "open":
            return "admin"
        if not key:
            return None
        found = self.store.key_role(key)
        return None if found is None else str(found)


def bind_host(host: str, *, mode: AuthMode) -> str:
    """The address to listen on: ``host``, or ``127.0.0.1`` when a server without keys asked for another.

    >>> bind_host("0.0.0.0", mode="keys"), bind_host("0.0.0.0", mode="open")
    ('0.0.0.0', '127.0.0.1')
    """
    return host if mode == "keys" or host in LOCAL_HOSTS else "127.0.0.1"
