"""Who is using the console: the API's keys and roles, carried by a signed session cookie.

A person signs in once with an API key (a form posted to ``/ui/login``, never a URL); the server answers
with a cookie that names the key by its *id* and an expiry, signed with the project's console secret
(HMAC-SHA256), so no key material is ever stored in the browser, a URL or a log. Every request checks the
signature, the expiry, and that the key is still active: revoking a key ends its sessions at once (fails
closed). The cookie is ``HttpOnly``, ``SameSite=Strict`` and scoped to ``/ui``. Forms that change anything
carry a CSRF token derived from the session (on an open, localhost-only server too, where everyone is
admin and a page of another site could otherwise post to it).

The secret is a file in the project folder (``.console-secret``, mode 0600), made on first use: processes
serving the same project folder (``serve --workers N``) accept each other's sessions.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from lamarck.store import EventStore
    >>> folder = Path(tempfile.mkdtemp())
    >>> store = EventStore(f"sqlite:///{folder}/events.db")
    >>> key = store.create_key("feedback")
    >>> sessions = Sessions(folder, store)
    >>> token = sessions.sign_in(key)
    >>> key in token, sessions.caller(token).role
    (False, 'feedback')
    >>> _ = store.revoke_key(1)
    >>> sessions.caller(token) is None
    True
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["COOKIE", "Caller", "Sessions"]

#: the console's session cookie
COOKIE = "lamarck_console"
#: how long a session lasts (seconds): a working day
SESSION_S = 8 * 3600


@dataclass(frozen=True)
class Caller:
    """A person using the console: the role of their key, the key's id (None on an open server), and the
    session it came with (the CSRF token is derived from it)."""

    role: str
    key_id: int | None
    session: str

    @property
    def who(self) -> str:
        """How the decision log names them."""
        return (
            "a local user (server without API keys)"
            if self.key_id is None
            else f"{self.role} key #{self.key_id}"
        )

    def may(self, action: str) -> bool:
        """``see`` (any key), ``label`` (feedback or admin), ``act`` (admin)."""
        allowed = {"see": ("predict", "feedback", "admin"), "label": ("feedback", "admin"), "act": ("admin",)}
        return self.role in allowed[action]


class Sessions:
    """Signed sessions of ``store``'s API keys, with the secret kept in ``folder``."""

    def __init__(self, folder: Path, store: Any, *, ttl_s: float = SESSION_S) -> None:
        self.folder, self.store, self.ttl_s = Path(folder), store, ttl_s
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            path = self.folder / ".console-secret"
            try:  # the first process makes it; the others (workers) read the same one
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32))
            for _ in range(50):  # a worker that lost the race may read before the winner wrote it
                text = path.read_text().strip()
                if text:
                    break
                time.sleep(0.01)
            self._secret = bytes.fromhex(text)
        return self._secret

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()

    def sign_in(self, key: str) -> str | None:
        """A session for an active ``key`` (None for an unknown or revoked one)."""
        found = self.store.key_session(key) if key else None
        if found is None:
            return None
        payload = f"{found[0]}.{int(time.time() + self.ttl_s)}"
        return f"{payload}.{self._sign(payload)}"

    def caller(self, session: str | None) -> Caller | None:
        """The caller of a session: None when it is malformed, forged, expired or its key was revoked."""
        parts = (session or "").split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return None
        payload = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(payload), parts[2]) or int(parts[1]) < time.time():
            return None
        role = self.store.key_role_by_id(int(parts[0]))
        return None if role is None else Caller(str(role), int(parts[0]), session or "")

    def csrf(self, caller: Caller) -> str:
        """The token a form of ``caller``'s session must send back."""
        return self._sign(f"csrf:{caller.session}")[:32]

    def check_csrf(self, caller: Caller, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(caller), str(token))
