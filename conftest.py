"""Shared by the tests and the doctests (``src/lamarck``): no run writes to the user's own folders."""

import pytest


@pytest.fixture(autouse=True)
def _own_knowledge_base(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's fits record into (and warm-start from) a knowledge base of their own, never the user's
    (``~/.local/share/lamarck/knowledge.db``); a test that needs another sets ``LAMARCK_KNOWLEDGE_URL``."""
    folder = tmp_path_factory.mktemp("knowledge")
    monkeypatch.setenv("LAMARCK_KNOWLEDGE_URL", f"sqlite:///{folder / 'knowledge.db'}")
