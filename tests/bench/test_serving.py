"""The serving bench's load generator, percentiles, result table and server lifecycle, on tiny servers."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from lamarck.bench import PARTS
from lamarck.bench._serving import (
    METRICS,
    LoadResult,
    _bodies,
    cpu_seconds,
    free_port,
    merge,
    percentile,
    run_load,
    server,
    summarize,
)


def test_serving_is_a_registered_part() -> None:
    assert "serving" in PARTS


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([3.0], 50, 3.0),
        ([3.0], 99, 3.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.0),  # nearest rank: ceil(0.5 * 4) = 2nd smallest
        ([4.0, 1.0, 3.0, 2.0], 51, 3.0),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([float(i) for i in range(1, 1001)], 99, 990.0),
        ([float(i) for i in range(1, 1001)], 50, 500.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def test_percentile_rejects_bad_q_and_empty_input_is_nan() -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 0)
    assert percentile([], 50) != percentile([], 50)  # nan


def test_result_rates_and_merge() -> None:
    a = LoadResult(requests=10, errors=2, rows_per_request=100, seconds=2.0, latencies_ms=(1.0,) * 8)
    b = LoadResult(
        requests=10, errors=0, rows_per_request=100, seconds=3.0, latencies_ms=(5.0,) * 10, server_cpu_s=0.5
    )
    assert a.req_per_s == 4.0 and a.rows_per_s == 400.0
    m = merge([a, b])
    assert (m.requests, m.errors, m.seconds, len(m.latencies_ms)) == (20, 2, 5.0, 18)
    assert m.req_per_s == pytest.approx(18 / 5)
    assert m.p50_ms == 5.0 and m.p99_ms == 5.0
    assert set(m.metrics()) == set(METRICS)
    assert b.server_cpu_ms_per_req == 50.0
    assert m.server_cpu_ms_per_req != m.server_cpu_ms_per_req  # a's CPU was not measured: nan, not a guess
    with pytest.raises(ValueError):
        merge([a, LoadResult(requests=1, errors=0, rows_per_request=1, seconds=1.0, latencies_ms=(1.0,))])


def test_bodies_have_each_servers_shape_and_the_asked_size() -> None:
    rows = [{"x": i} for i in range(7)]
    lamarck = [json.loads(b) for b in _bodies("lamarck", rows, 3, 5)]
    mlflow = [json.loads(b) for b in _bodies("mlflow", rows, 3, 5)]
    assert all(set(b) == {"rows"} and len(b["rows"]) == 3 for b in lamarck)
    assert all(set(b) == {"dataframe_records"} and len(b["dataframe_records"]) == 3 for b in mlflow)
    assert [b["rows"] for b in lamarck] == [b["dataframe_records"] for b in mlflow]


def _tiny_app(delays: dict[int, float]) -> tuple[FastAPI, list[int]]:
    """Answers 200 after ``delays[n]`` seconds (request n, counting from 0); 500 when the body says so."""
    app = FastAPI()
    seen: list[int] = []

    @app.post("/predict")
    async def predict(body: dict[str, object]) -> dict[str, object]:
        import asyncio

        from fastapi import HTTPException

        n = len(seen)
        seen.append(n)
        if body.get("fail"):
            raise HTTPException(500, "asked to fail")
        await asyncio.sleep(delays.get(n, 0.0))
        return {"predictions": body.get("rows")}

    return app, seen


def test_load_generator_counts_requests_latencies_and_errors_in_process() -> None:
    # request 0 is the warm-up; of the 20 measured, one waits 0.2 s, so p99 (nearest rank, 20th of 20)
    # is that one and p50 is a fast one
    app, seen = _tiny_app({5: 0.2})
    ok = json.dumps({"rows": [{"x": 1}, {"x": 2}]}).encode()
    res = run_load(
        "http://test/predict",
        [ok],
        rows_per_request=2,
        concurrency=1,
        requests=20,
        warmup=1,
        transport=httpx.ASGITransport(app=app),
    )
    assert len(seen) == 21 and res.requests == 20 and res.errors == 0
    assert len(res.latencies_ms) == 20
    assert res.p99_ms >= 200.0 and res.p50_ms < 100.0
    assert res.p99_ms == max(res.latencies_ms)
    assert res.rows_per_s == pytest.approx(2 * res.req_per_s)
    assert res.req_per_s == pytest.approx(20 / res.seconds)

    fail = json.dumps({"fail": True}).encode()
    bad = run_load(
        "http://test/predict",
        [ok, fail],
        rows_per_request=2,
        concurrency=4,
        requests=10,
        transport=httpx.ASGITransport(app=app),
    )
    assert (bad.requests, bad.errors, len(bad.latencies_ms)) == (10, 5, 5)
    assert bad.first_error.startswith("HTTP 500")
    assert bad.req_per_s == pytest.approx(5 / bad.seconds)  # only answered requests count


def test_load_generator_stops_at_the_time_cap() -> None:
    app, _ = _tiny_app({n: 0.05 for n in range(1000)})
    t0 = time.perf_counter()
    res = run_load(
        "http://test/predict",
        [b"{}"],
        rows_per_request=1,
        concurrency=2,
        requests=1000,
        time_cap_s=0.3,
        transport=httpx.ASGITransport(app=app),
    )
    assert time.perf_counter() - t0 < 2.0
    assert 2 <= res.requests < 100 and res.errors == 0


def test_load_generator_rejects_unbounded_settings() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        run_load("http://test/predict", [b"{}"], rows_per_request=1, concurrency=0, requests=1)


def test_summary_marks_the_better_system() -> None:
    fast = LoadResult(
        requests=4, errors=0, rows_per_request=1, seconds=1.0, latencies_ms=(1.0, 1.0, 2.0, 3.0)
    )
    slow = LoadResult(
        requests=4, errors=0, rows_per_request=1, seconds=2.0, latencies_ms=(2.0, 2.0, 2.0, 2.0)
    )
    table = summarize(
        {("single-c1", "lamarck"): fast, ("single-c1", "mlflow"): slow}, {("single-c1", "mlflow"): 1.5}
    )
    lamarck_line, mlflow_line = table.splitlines()[-2:]
    assert "| **4** | **1.00** | 3.00 |" in lamarck_line
    assert "| 2 | 2.00 | **2.00** |" in mlflow_line and mlflow_line.endswith("| 1.5 |")


_TINY_SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404); self.end_headers()
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        body = b'{"predictions": [1]}'
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_server_subprocess_is_loaded_then_always_stopped(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-c", _TINY_SERVER, str(port)]
    with server(
        cmd, f"http://127.0.0.1:{port}/healthz", log_path=tmp_path / "s.log", start_timeout_s=30
    ) as proc:
        res = run_load(f"http://127.0.0.1:{port}/p", [b"{}"], rows_per_request=1, concurrency=2, requests=10)
        assert (res.requests, res.errors) == (10, 0)
    assert proc.poll() is not None  # stopped on a normal exit

    with (
        pytest.raises(RuntimeError, match="boom"),
        server(
            cmd, f"http://127.0.0.1:{port}/healthz", log_path=tmp_path / "s2.log", start_timeout_s=30
        ) as proc2,
    ):
        raise RuntimeError("boom")
    assert proc2.poll() is not None  # and when the bench fails


def test_server_that_dies_early_is_reported(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('no model here'); sys.exit(3)"]
    with (
        pytest.raises(RuntimeError, match="no model here"),
        server(
            cmd, f"http://127.0.0.1:{free_port()}/healthz", log_path=tmp_path / "s.log", start_timeout_s=30
        ),
    ):
        pass


def test_cpu_seconds_counts_the_process_group(tmp_path: Path) -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ntime.sleep(30)"
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", burn], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while cpu_seconds(proc.pid) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0.25 <= cpu_seconds(proc.pid) < 5.0
    finally:
        proc.kill()
        proc.wait()
    assert cpu_seconds(proc.pid) == 0.0  # gone
