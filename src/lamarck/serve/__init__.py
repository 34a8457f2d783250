"""Serve: the FastAPI app (predict, feedback, status, models, promote, rollback, metrics)."""

from lamarck.serve._app import create_app

__all__ = ["create_app"]
