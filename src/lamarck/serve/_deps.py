"""The dependencies that routes share: the server's state, and who is calling.

- ``state: State`` (or ``Depends(get_state)``): the app's :class:`~lamarck.serve._state.ServerState`.
- ``_who: str = require("predict", "admin")``: the caller's role, or 401 without a valid key and 403 when
  the key's role is not one of those.
- ``_who: str = reader``: any valid key (read-only routes); 401 without one.

The role comes from ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` under the app's
:class:`~lamarck.serve._auth.Auth` (every caller is ``admin`` on an open, local-only server). In a test,
``app.dependency_overrides[get_state]`` or ``[caller_role]`` replaces either one.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Header, HTTPException, Request

from lamarck.serve._state import ServerState

__all__ = ["State", "caller_role", "get_state", "reader", "require"]


async def get_state(request: Request) -> ServerState:
    """The state that ``create_app`` stored on ``app.state.server``."""
    return request.app.state.server


State = Annotated[ServerState, Depends(get_state)]


async def caller_role(
    state: State,
    authorization: str | None = Header(default=None, description="Bearer API key"),
    x_api_key: str | None = Header(default=None, description="API key"),
) -> str:
    """The caller's role; 401 when the server has keys and the request carries no valid one.

    The dependencies are coroutines: FastAPI runs a plain function in its thread pool, a hop per
    dependency per request; only the key lookup (a query of the store) goes to a thread."""
    key = x_api_key or (authorization or "").removeprefix("Bearer ").strip()
    if state.auth.surely_open():
        found: str | None = "admin"  # every caller of an open (localhost-only) server
    else:
        found = await anyio.to_thread.run_sync(state.auth.role, key)
    if found is None:
        raise HTTPException(
            401, "a valid API key is needed: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
        )
    return str(found)


def require(*roles: str) -> Any:
    """The dependency of a route that only keys with one of ``roles`` may call (403 for the others)."""

    async def check(who: str = Depends(caller_role)) -> str:
        if who not in roles:
            raise HTTPException(
                403, f"an API key with role {' or '.join(roles)} is needed; this key is {who!r}"
            )
        return who

    return Depends(check)


#: the dependency of a read-only route: any valid key
reader: Any = Depends(caller_role)
