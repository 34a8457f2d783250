"""Serve: the FastAPI app (predict, feedback, status, models, promote, rollback, metrics) and its auth."""

from lamarck.serve._app import create_app
from lamarck.serve._auth import LOCAL_HOSTS, Auth, AuthMode, bind_host

__all__ = ["LOCAL_HOSTS", "Auth", "AuthMode", "bind_host", "create_app"]
