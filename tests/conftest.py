from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "bench" / "public_suite.yaml").exists():
        pytest.skip(f"shared material not found beside the repo ({SHARED})")
    return SHARED
