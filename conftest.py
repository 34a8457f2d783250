"""Shared by the tests and the doctests (``src/lamarck``): no run writes to the user's own folders."""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_knowledge_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fits made by module- or session-scoped fixtures (set up before any test's own monkeypatch) record
    into a knowledge base of the session, never the user's (``~/.local/share/lamarck/knowledge.db``)."""
    folder = tmp_path_factory.mktemp("session-knowledge")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAMARCK_KNOWLEDGE_URL", f"sqlite:///{folder / 'knowledge.db'}")
        yield


@pytest.fixture(autouse=True)
def _own_knowledge_base(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's fits record into (and warm-start from) a knowledge base of their own; a test that needs
    another sets ``LAMARCK_KNOWLEDGE_URL``."""
    folder = tmp_path_factory.mktemp("knowledge")
    monkeypatch.setenv("LAMARCK_KNOWLEDGE_URL", f"sqlite:///{folder / 'knowledge.db'}")
