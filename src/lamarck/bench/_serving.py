"""Serving comparison (``lamarck bench --part serving``): ``lamarck serve`` against ``mlflow models serve``
on the same fitted model, single-row and batch requests, from a bounded load generator on 127.0.0.1.

Why one file of ~600 lines: the load generator, the two servers' start-up and the A-B-B-A schedule are
one measurement; split, the order that makes the comparison fair would be spread over modules.

One model is fitted on a real case of the public suite (``hmda_mortgage_denial`` by default, a short
budget), registered in a throw-away project, and served twice from that one registered version:

- ``lamarck``: ``lamarck serve --project DIR`` (uvicorn, one process), ``POST /v1/predict {"rows": [...]}``.
  Every predicted row is logged to the project's event store (SQLite) before the answer is sent, with
  its class probabilities and a prediction id for feedback: that is the feature the loop lives on, so it
  stays on here and its cost is part of the figures.
- ``mlflow``: ``mlflow models serve -m <the version's pyfunc folder> --env-manager local`` (uvicorn, one
  worker), ``POST /invocations {"dataframe_records": [...]}``; returns labels only and logs nothing.

Both servers get the same environment (``OMP_NUM_THREADS=1``) and are pinned to CPU 0; the load generator
(this process: asyncio + httpx, payloads serialized once beforehand) is pinned to CPU 1, so on a 2-core
machine client and server do not compete for one core (on one core nothing is pinned and the figures
include the client's cost). Each scenario (single row or a batch of 100 rows, at 1 or 8 requests in
flight) sends a fixed number of requests under a time cap, in six segments per system run in the order
lamarck, mlflow, mlflow, lamarck (three times; the machine is shared, so both see the same drift of its
load), each after a few warm-up requests. Latency is measured by the client per request (send to full
answer); percentiles are nearest-rank (a latency that was observed). The CPU time of each server's process
group during its segments (``/proc``) gives ``server_cpu_ms_per_req`` (and per row): the server's own
cost, far less sensitive than latency to other jobs on the machine. Servers are always stopped (their process group is
terminated), even when a run fails.

``results.csv`` keeps the bench schema ``case,system,metric,score,seconds,error`` in long form: ``case``
is ``<dataset>:<scenario>`` (``single-c1``, ``batch100-c8``...), one row per metric (``req_per_s``,
``rows_per_s``, ``p50_ms``, ``p99_ms``, ``p999_ms``, ``errors``, ``requests``, ``server_cpu_ms_per_req``,
``server_cpu_ms_per_row``, ``loadavg_1m``), ``seconds`` the wall
time of the measured requests, ``error`` the first failed answer. ``results.md`` has the setup and the
table, ``setup.json`` the model, pinning and versions, ``latency.png`` latencies and throughput.

    >>> percentile([5.0, 1.0, 4.0, 2.0, 3.0], 50)
    3.0
    >>> percentile([float(i) for i in range(1, 101)], 99)
    99.0
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import logging
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

__all__ = [
    "SCENARIOS",
    "LoadResult",
    "Scenario",
    "cpu_seconds",
    "merge",
    "percentile",
    "run",
    "run_load",
    "serving_case",
]

DEFAULT_CASE = "hmda_mortgage_denial"
FIT_BUDGET_S = 15.0
METRICS = (
    "req_per_s", "rows_per_s", "p50_ms", "p99_ms", "p999_ms", "errors", "requests", "server_cpu_ms_per_req",
    "server_cpu_ms_per_row",
)  # fmt: skip
#: each scenario runs in segments of the requests, in this order (A B B A, three times); on a shared
#: machine both systems then see the same drift of its load
ORDER = ("lamarck", "mlflow", "mlflow", "lamarck") * 3


@dataclass(frozen=True)
class Scenario:
    """``requests`` requests of ``rows`` rows each, ``concurrency`` in flight, stopped at ``time_cap_s``
    (both per system, split over its segments in ``ORDER``)."""

    name: str
    rows: int
    concurrency: int
    requests: int
    time_cap_s: float = 30.0
    warmup: int = 20


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("single-c1", rows=1, concurrency=1, requests=2000, time_cap_s=60.0),
    Scenario("single-c8", rows=1, concurrency=8, requests=2000, time_cap_s=60.0),
    Scenario("batch100-c1", rows=100, concurrency=1, requests=400, time_cap_s=60.0, warmup=5),
    Scenario("batch100-c8", rows=100, concurrency=8, requests=400, time_cap_s=60.0, warmup=5),
)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest observed value with at least ``q`` % of values at or below it."""
    if not values:
        return math.nan
    if not 0 < q <= 100:
        raise ValueError(f"percentile q={q} is outside (0, 100]")
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)), 1) - 1]


@dataclass(frozen=True)
class LoadResult:
    """What one bounded load run measured (latencies in milliseconds, of successful requests only)."""

    requests: int
    errors: int
    rows_per_request: int
    seconds: float
    latencies_ms: tuple[float, ...] = field(repr=False)
    first_error: str = ""
    #: CPU seconds the server's processes used meanwhile (user + system), when measured
    server_cpu_s: float = math.nan

    @property
    def req_per_s(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds > 0 else math.nan

    @property
    def rows_per_s(self) -> float:
        return self.req_per_s * self.rows_per_request

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def p999_ms(self) -> float:
        return percentile(self.latencies_ms, 99.9)

    @property
    def server_cpu_ms_per_row(self) -> float:
        return self.server_cpu_ms_per_req / self.rows_per_request

    @property
    def server_cpu_ms_per_req(self) -> float:
        """Server CPU per request: the server's own cost, much less sensitive than latency to other load."""
        return self.server_cpu_s * 1000 / self.requests if self.requests else math.nan

    def metrics(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in METRICS}


def merge(results: Sequence[LoadResult]) -> LoadResult:
    """One result from several runs of the same scenario (requests, errors, time and latencies add up)."""
    if not results or len({r.rows_per_request for r in results}) != 1:
        raise ValueError("merge needs at least one result, all with the same rows per request")
    return LoadResult(
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        rows_per_request=results[0].rows_per_request,
        seconds=sum(r.seconds for r in results),
        latencies_ms=tuple(x for r in results for x in r.latencies_ms),
        first_error=next((r.first_error for r in results if r.first_error), ""),
        server_cpu_s=sum(r.server_cpu_s for r in results),
    )


async def _load(
    url: str,
    payloads: Sequence[bytes],
    *,
    rows_per_request: int,
    concurrency: int,
    requests: int,
    time_cap_s: float,
    warmup: int,
    transport: httpx.AsyncBaseTransport | None,
) -> LoadResult:
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(transport=transport, limits=limits, timeout=60.0) as client:
        for i in range(warmup):  # load the model, fill caches, open connections
            await client.post(url, content=payloads[i % len(payloads)], headers=headers)
        latencies: list[float] = []
        errors: list[str] = []
        issued = 0
        t_start = time.perf_counter()
        deadline = t_start + time_cap_s

        async def worker() -> None:
            nonlocal issued
            while issued < requests and time.perf_counter() < deadline:
                body = payloads[issued % len(payloads)]
                issued += 1
                t0 = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    ok = response.status_code == 200
                    reason = "" if ok else f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as e:
                    ok, reason = False, f"{type(e).__name__}: {e}"
                if ok:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors.append(reason)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t_start
    return LoadResult(
        requests=issued,
        errors=len(errors),
        rows_per_request=rows_per_request,
        seconds=seconds,
        latencies_ms=tuple(latencies),
        first_error=errors[0] if errors else "",
    )


def run_load(
    url: str,
    payloads: Sequence[bytes],
    *,
    rows_per_request: int,
    concurrency: int,
    requests: int,
    time_cap_s: float = 30.0,
    warmup: int = 0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LoadResult:
    """POST ``requests`` bodies (cycling through ``payloads``) to ``url``, ``concurrency`` at a time.

    Stops early at ``time_cap_s`` (so ``requests`` in the result may be fewer than asked); a non-200
    answer or a transport error counts as an error and its latency is left out of the percentiles.
    ``transport`` lets tests run against an in-process app (``httpx.ASGITransport``).
    """
    if concurrency < 1 or requests < 1 or not payloads:
        raise ValueError(
            f"run_load needs concurrency >= 1, requests >= 1 and payloads; got {concurrency}, {requests}, "
            f"{len(payloads)} payloads"
        )
    return asyncio.run(
        _load(
            url,
            payloads,
            rows_per_request=rows_per_request,
            concurrency=concurrency,
            requests=requests,
            time_cap_s=time_cap_s,
            warmup=warmup,
            transport=transport,
        )
    )


# ---------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pinned(cpu: int | None) -> Any:
    if cpu is None:
        return None

    def pin() -> None:  # runs in the child before exec; children of the server inherit it
        os.sched_setaffinity(0, {cpu})

    return pin


def _cpus() -> tuple[int | None, int | None]:
    """(server CPU, client CPU) when there are two CPUs to pin to, else (None, None)."""
    if not hasattr(os, "sched_setaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)


@contextlib.contextmanager
def server(
    cmd: Sequence[str],
    health_url: str,
    *,
    log_path: Path,
    cpu: int | None = None,
    env: dict[str, str] | None = None,
    start_timeout_s: float = 120.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``cmd`` in its own process group, wait until ``health_url`` answers 200, always stop it."""
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=_pinned(cpu),
        )
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(
                    f"server {cmd[0]} exited with {proc.returncode} before it was ready:\n{tail}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(health_url, timeout=2.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server {' '.join(cmd)} not healthy at {health_url} after {start_timeout_s}s"
                )
            time.sleep(0.25)
        yield proc
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (it was started in its own session), SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes in process group ``pgid`` (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == pgid:  # fields: state ppid pgrp ... utime (11) stime (12)
                total += int(fields[11]) + int(fields[12])
    return total / tick


# ---------------------------------------------------------------------------------------------- bench


def _json_rows(frame: Any) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in clean.to_dict("records")
    ]


def _bodies(system: str, rows: list[dict[str, Any]], per_request: int, count: int) -> list[bytes]:
    key = "rows" if system == "lamarck" else "dataframe_records"
    chunks = [rows[(i * per_request) % len(rows) :][:per_request] for i in range(count)]
    chunks = [c if len(c) == per_request else (c + rows)[:per_request] for c in chunks]
    return [json.dumps({key: c}).encode() for c in chunks]


def _fit(case: Any, project_dir: Path, budget: float, seed: int) -> tuple[Any, Any, Any]:
    from lamarck.bench._batch import split_case
    from lamarck.project import Project

    Xtr, Xte, ytr, _ = split_case(case, seed)
    frame = Xtr.copy()
    frame[case.target] = ytr
    project = Project(project_dir)
    result = project.fit(
        frame, case.instruction, target=case.target, time_budget_s=budget, seed=seed, report=False
    )
    return project, result, Xte


def serving_case(
    folder: Path, *, budget: float = FIT_BUDGET_S, seed: int = 0, rows: int = 200
) -> tuple[Any, list[dict[str, Any]]]:
    """The serving bench's model and rows: ``DEFAULT_CASE`` fitted into a project in ``folder`` (``budget``
    seconds), and ``rows`` hold-out rows as JSON values."""
    from lamarck.bench._paths import public_suite
    from lamarck.bench._suite import load_suite

    case = {c.name: c for c in load_suite(public_suite())}[DEFAULT_CASE]
    project, _, Xte = _fit(case, folder, budget, seed)
    return project, _json_rows(Xte.head(rows))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("lamarck", "mlflow", "fastapi", "uvicorn", "httpx", "lightgbm", "scikit-learn", "pandas"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def _same_predictions(lamarck_url: str, mlflow_url: str, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """How many of ``rows`` both servers label the same way (the proof that they serve one model)."""
    a = httpx.post(lamarck_url, json={"rows": rows}, timeout=60).json()["predictions"]
    b = httpx.post(mlflow_url, json={"dataframe_records": rows}, timeout=60).json()["predictions"]
    # mlflow answers a Series as records: [{"prediction": "no"}, ...]
    b = [y.get("prediction") if isinstance(y, dict) else y for y in b]
    return sum(str(x) == str(y) for x, y in zip(a, b, strict=True)), len(rows)


def _measure(
    urls: dict[str, str], pgids: dict[str, int], rows: list[dict[str, Any]], console: Any
) -> tuple[dict[tuple[str, str], LoadResult], dict[tuple[str, str], float]]:
    """Every scenario on both servers, in the segments of ``ORDER``; the results (with the servers' CPU
    time) and the mean 1-min load average."""
    results: dict[tuple[str, str], LoadResult] = {}
    loads: dict[tuple[str, str], float] = {}
    for sc in SCENARIOS:
        parts: dict[str, list[LoadResult]] = {system: [] for system in urls}
        seen: dict[str, list[float]] = {system: [] for system in urls}
        share = ORDER.count("lamarck")
        for system in ORDER:
            seen[system].append(os.getloadavg()[0])
            bodies = _bodies(system, rows, sc.rows, 64)
            if sc.warmup:  # connections, caches; not measured
                warm = run_load(
                    urls[system], bodies, rows_per_request=sc.rows, concurrency=1, requests=sc.warmup
                )
                if warm.errors:
                    raise RuntimeError(f"{system} fails on {sc.name} warm-up requests: {warm.first_error}")
            cpu0 = cpu_seconds(pgids[system])
            load = run_load(
                urls[system],
                bodies,
                rows_per_request=sc.rows,
                concurrency=sc.concurrency,
                requests=max(sc.requests // share, 1),
                time_cap_s=sc.time_cap_s / share,
            )
            parts[system].append(replace(load, server_cpu_s=cpu_seconds(pgids[system]) - cpu0))
        for system, runs in parts.items():
            res = results[(sc.name, system)] = merge(runs)
            loads[(sc.name, system)] = sum(seen[system]) / len(seen[system])
            console.print(
                f"{sc.name:12s} {system:8s} {res.req_per_s:8.1f} req/s {res.rows_per_s:9.1f} rows/s "
                f"p50 {res.p50_ms:7.2f} ms p99 {res.p99_ms:7.2f} ms cpu {res.server_cpu_ms_per_req:6.2f} ms/req "
                f"errors {res.errors} "
                f"({res.requests} req, {res.seconds:.1f}s, load {loads[(sc.name, system)]:.1f})"
            )
    return results, loads


def run(args: Any, console: Any) -> None:
    """Fit one model, serve it with both servers, load each scenario on each, write the results."""
    from lamarck.bench._paths import public_suite
    from lamarck.bench._suite import load_suite, pick

    cases = {c.name: c for c in load_suite(args.suite or public_suite())}
    case = cases[pick(args.cases or DEFAULT_CASE, list(cases), flag="--cases")[0]]
    out = Path(args.output)
    if out == Path("bench/results/batch"):
        out = Path("bench/results/serving")
    out.mkdir(parents=True, exist_ok=True)
    budget = min(float(args.budget), FIT_BUDGET_S)
    server_cpu, client_cpu = _cpus()
    bin_dir = Path(sys.executable).parent
    # the same environment for both servers; mlflow starts `uvicorn` from PATH: this environment's
    env = {
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with tempfile.TemporaryDirectory(prefix="lamarck-serving-") as tmp:
        tmpd = Path(tmp)
        console.print(f"fitting {case.name} ({budget:g}s budget)...")
        t0 = time.perf_counter()
        project, result, Xte = _fit(case, tmpd / "project", budget, args.seed)
        fit_s = time.perf_counter() - t0
        info = project.registry.info("champion")
        console.print(f"champion v{info.version}: {_describe(result)} ({fit_s:.1f}s)")
        rows = _json_rows(Xte)
        lp, mp = free_port(), free_port()
        lamarck_cmd = [str(bin_dir / "lamarck"), "serve", "--project", str(tmpd / "project")]
        lamarck_cmd += ["--host", "127.0.0.1", "--port", str(lp)]
        mlflow_cmd = [str(bin_dir / "mlflow"), "models", "serve", "-m", str(info.artifact_dir / "model")]
        mlflow_cmd += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(mp), "-w", "1"]
        urls = {
            "lamarck": f"http://127.0.0.1:{lp}/v1/predict",
            "mlflow": f"http://127.0.0.1:{mp}/invocations",
        }
        lamarck_health, mlflow_health = f"http://127.0.0.1:{lp}/healthz", f"http://127.0.0.1:{mp}/ping"
        previous_affinity = os.sched_getaffinity(0) if client_cpu is not None else None
        with (
            server(
                lamarck_cmd, lamarck_health, log_path=tmpd / "lamarck.log", cpu=server_cpu, env=env
            ) as lps,
            server(mlflow_cmd, mlflow_health, log_path=tmpd / "mlflow.log", cpu=server_cpu, env=env) as mps,
        ):
            try:
                if client_cpu is not None:
                    os.sched_setaffinity(0, {client_cpu})
                same, checked = _same_predictions(urls["lamarck"], urls["mlflow"], rows[:200])
                console.print(f"same labels from both servers on {same}/{checked} hold-out rows")
                logged_before = project.store.counts().get("predictions", 0)
                results, loads = _measure(urls, {"lamarck": lps.pid, "mlflow": mps.pid}, rows, console)
                logged = project.store.counts().get("predictions", 0) - logged_before
            finally:
                if previous_affinity is not None:
                    os.sched_setaffinity(0, previous_affinity)
    rows_out = [
        {
            "case": f"{case.name}:{sc}",
            "system": system,
            "metric": metric,
            "score": round(value, 3),
            "seconds": round(res.seconds, 2),
            "error": res.first_error,
        }
        for (sc, system), res in results.items()
        for metric, value in (res.metrics() | {"loadavg_1m": loads[(sc, system)]}).items()
    ]
    _write_csv(out / "results.csv", rows_out)
    pinning = (
        f"servers on CPU {server_cpu}, load generator on CPU {client_cpu}"
        if server_cpu is not None
        else "no pinning (fewer than 2 CPUs)"
    )
    setup = {
        "case": case.name,
        "model": _describe(result),
        "fit_s": round(fit_s, 1),
        "fit_budget_s": budget,
        "same_labels": f"{same}/{checked}",
        "lamarck_rows_logged": logged,
        "pinning": pinning,
        "cpus": os.cpu_count(),
        "versions": _versions(),
    }
    table = summarize(results, loads)
    header = (
        f"Case `{case.name}`, model: {setup['model']}, fitted in {setup['fit_s']}s. Both servers gave the same "
        f"label on {same}/{checked} hold-out rows. Lamarck logged {logged:,} predicted rows to its store during "
        f"the measured requests (logging on, as in production). {pinning}; servers with OMP_NUM_THREADS=1. "
        "Requests per system run in six segments in the order lamarck, mlflow, mlflow, lamarck (three times); "
        "`server CPU ms/req` is the CPU time of the server's processes per request; `load 1m` is the "
        "machine's 1-minute load average at the start of the segments (other users' jobs included)."
    )
    (out / "results.md").write_text(header + "\n\n" + table + "\n")
    (out / "setup.json").write_text(json.dumps(setup, indent=2) + "\n")
    _plot(results, out / "latency.png", case.name)
    console.print(table)


def _describe(result: Any) -> str:
    """E.g. ``1 member (lightgbm x5 fold models)``."""
    members = getattr(getattr(result, "model", None), "members", None) or []
    inner = ", ".join(f"{m.learner} x{len(m.models)} fold models" for m in members)
    return f"{len(members)} member{'s' if len(members) != 1 else ''} ({inner})"


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["case", "system", "metric", "score", "seconds", "error"])
        w.writeheader()
        w.writerows(rows)


def summarize(
    results: dict[tuple[str, str], LoadResult], loads: dict[tuple[str, str], float] | None = None
) -> str:
    """A markdown table, one line per scenario and system; the better throughput and latencies in bold.

    >>> r = LoadResult(requests=4, errors=0, rows_per_request=1, seconds=2.0, latencies_ms=(1.0, 2.0, 3.0, 9.0))
    >>> print(summarize({("single-c1", "lamarck"): r}).splitlines()[-1])
    | single-c1 | lamarck | 2.0 | 2 | 2.00 | 9.00 | 9.00 |  |  | 0 | 4 | 2.0 |  |
    """
    lines = [
        "| scenario | system | req/s | rows/s | p50 ms | p99 ms | p99.9 ms | server CPU ms/req | server CPU ms/row "
        "| errors | requests | seconds | load 1m |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sc in dict.fromkeys(s for s, _ in results):
        pair = {system: r for (s, system), r in results.items() if s == sc}
        best_rps = max(r.rows_per_s for r in pair.values())
        best_p50 = min(r.p50_ms for r in pair.values())
        best_p99 = min(r.p99_ms for r in pair.values())
        best_cpu = min(r.server_cpu_ms_per_req for r in pair.values())
        for system, r in pair.items():
            rps, p50, p99 = f"{r.rows_per_s:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}"
            cpu = "" if math.isnan(r.server_cpu_ms_per_req) else f"{r.server_cpu_ms_per_req:.2f}"
            per_row = "" if math.isnan(r.server_cpu_ms_per_row) else f"{r.server_cpu_ms_per_row:.3f}"
            if len(pair) > 1:
                cpu = f"**{cpu}**" if cpu and r.server_cpu_ms_per_req == best_cpu else cpu
                rps = f"**{rps}**" if r.rows_per_s == best_rps else rps
                p50 = f"**{p50}**" if r.p50_ms == best_p50 else p50
                p99 = f"**{p99}**" if r.p99_ms == best_p99 else p99
            load = "" if loads is None or (sc, system) not in loads else f"{loads[(sc, system)]:.1f}"
            lines.append(
                f"| {sc} | {system} | {r.req_per_s:,.1f} | {rps} | {p50} | {p99} | {r.p999_ms:.2f} | {cpu} | {per_row} "
                f"| {r.errors} | {r.requests} "
                f"| {r.seconds:.1f} | {load} |"
            )
    return "\n".join(lines)


def _plot(results: dict[tuple[str, str], LoadResult], path: Path, case: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scenarios = list(dict.fromkeys(s for s, _ in results))
    systems = list(dict.fromkeys(sys_ for _, sys_ in results))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / max(len(systems), 1)
    x = np.arange(len(scenarios))
    for i, system in enumerate(systems):
        p50 = [results[(s, system)].p50_ms if (s, system) in results else np.nan for s in scenarios]
        p99 = [results[(s, system)].p99_ms if (s, system) in results else np.nan for s in scenarios]
        bars = axes[0].bar(x + i * width, p50, width, label=f"{system} p50")
        axes[0].scatter(
            x + i * width,
            p99,
            marker="_",
            s=300,
            color=bars.patches[0].get_facecolor(),
            label=f"{system} p99",
        )
        rps = [results[(s, system)].rows_per_s if (s, system) in results else np.nan for s in scenarios]
        axes[1].bar(x + i * width, rps, width, label=system)
    for ax, title, unit in (
        (axes[0], "latency (bar p50, tick p99)", "ms"),
        (axes[1], "throughput", "rows/s"),
    ):
        ax.set_xticks(x + width * (len(systems) - 1) / 2, scenarios, rotation=15)
        ax.set_yscale("log")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle(f"lamarck serve vs mlflow models serve, same model ({case}), 127.0.0.1")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
