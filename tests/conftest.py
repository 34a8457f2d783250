from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "bench" / "public_suite.yaml").exists():
        pytest.skip(f"shared material not found beside the repo ({SHARED})")
    return SHARED


@pytest.fixture
def live_server():
    """``start(app) -> base URL``: the app on a real uvicorn bound to 127.0.0.1 (a free port), stopped
    when the test ends."""
    import socket
    import threading
    import time

    import uvicorn

    running = []

    def start(app) -> str:  # type: ignore[no-untyped-def]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start within 20 s"
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)
