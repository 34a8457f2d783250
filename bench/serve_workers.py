"""Two `lamarck serve` worker processes on one port under a bounded load (issue 15's third figure): no lost
feedback, how fast a promotion reaches both, one evolve pass at a time.

    .venv/bin/python bench/serve_workers.py [--store postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--requests 400] [--threads 4] [--output bench/results/serve-workers]

The event store is the URL given (the team's PostgreSQL by default; ``sqlite`` for the project's own), the
registry the project's. The server runs ``--workers 2 --auto-evolve --evolve-every 2``. Each of
``--threads`` clients sends predict + feedback pairs on new connections; half-way, the other version is
promoted, and the time until 12 answers in a row on new connections carry it is recorded. Afterwards the
acknowledged feedback is looked up in the store.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--output", default="bench/results/serve-workers")
    args = parser.parse_args(argv)
    from lamarck import Project
    from lamarck.bench import free_port, server
    from lamarck.store import EventStore

    tmp = Path(tempfile.mkdtemp())
    env: dict[str, str] = {}
    if args.store != "sqlite":
        import sqlalchemy as sa

        schema = f"bench_{os.getpid()}"
        with sa.create_engine(args.store).begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in args.store else "?"
        env["LAMARCK_STORE_URL"] = os.environ["LAMARCK_STORE_URL"] = (
            f"{args.store}{sep}options=-csearch_path%3D{schema}"
        )
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    frame["y"] = np.where(frame["a"] > frame["b"], "yes", "no")
    project = Project(tmp / "p")
    project.fit(frame, "predict y, in 3 seconds", learners=["linear"], report=False, seed=0)
    project.fit(frame, "predict y, in 3 seconds", learners=["lightgbm"], report=False, seed=1)
    champion = project.registry.alias_version("champion")
    other = "1" if champion == "2" else "2"
    port = free_port()
    cmd = [sys.executable, "-m", "lamarck.cli", "serve", "--project", str(project.path), "--port", str(port),
           "--workers", "2", "--auto-evolve", "--evolve-every", "2"]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    # started, waited for and stopped (its process group, SIGTERM) as the serving bench does
    with server(cmd, f"{base}/healthz", log_path=tmp / "serve.log", env=env, start_timeout_s=90):
        acked: list[str] = []
        errors: list[str] = []
        lock = threading.Lock()
        per_thread = args.requests // args.threads
        halfway = threading.Event()

        def work(k: int) -> None:
            for i in range(per_thread):
                if k == 0 and i == per_thread // 2:
                    halfway.set()
                try:
                    with httpx.Client(base_url=base, timeout=30) as c:
                        r = c.post("/v1/predict", json={"rows": [{"a": float(k), "b": float(i) / 10}]})
                        pid = r.json()["prediction_ids"][0]
                        f = c.post("/v1/feedback", json={"items": [{"prediction_id": pid, "label": "yes"}]})
                        if f.status_code == 200:
                            with lock:
                                acked.append(pid)
                        else:
                            errors.append(f"feedback {f.status_code}")
                except Exception as e:  # counted, not hidden
                    errors.append(type(e).__name__)

        t0 = time.monotonic()
        threads = [threading.Thread(target=work, args=(k,)) for k in range(args.threads)]
        for t in threads:
            t.start()
        halfway.wait(timeout=300)
        with httpx.Client(base_url=base, timeout=30) as c:
            promoted_at = time.monotonic()
            c.post(f"/v1/models/{other}/promote")
        streak, first = 0, 0.0
        while streak < 12 and time.monotonic() - promoted_at < 60:
            with httpx.Client(base_url=base, timeout=10) as c:
                v = c.post("/v1/predict", json={"rows": [{"a": 0.0, "b": 1.0}]}).json()["model_version"]
            streak = streak + 1 if v == other else 0
            if streak == 1:
                first = time.monotonic() - promoted_at
        seen_all = time.monotonic() - promoted_at if streak >= 12 else None
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
    stored = {r["prediction_id"] for r in EventStore(project.store.url).feedback_after(0)}
    lost = len(set(acked) - stored)
    text = (tmp / "serve.log").read_text(errors="replace")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Two serve workers under a bounded load",
        "",
        f"Command: `.venv/bin/python bench/serve_workers.py --requests {args.requests} --threads {args.threads}` "
        f"(store: {'PostgreSQL' if args.store != 'sqlite' else 'SQLite'}; `--workers 2 --auto-evolve --evolve-every 2`).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| predict + feedback pairs acknowledged | {len(acked)} of {per_thread * args.threads} ({len(errors)} errors) |",
        f"| acknowledged feedback missing from the store | {lost} |",
        f"| pairs per second (new connection each) | {len(acked) / wall:.1f} |",
        f"| promotion: the new champion from the start of 12 answers in a row on new connections (both "
        f"workers) | {first:.2f} s (settled at {seen_all:.2f} s) |"
        if seen_all is not None
        else "| promotion | not seen by 12 answers in a row in 60 s |",
        f"| 500s in the server log | {text.count(' 500 ')} |",
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if lost == 0 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
