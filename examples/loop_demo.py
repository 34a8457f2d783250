"""The self-evolving loop on a real drifting stream (elec2, New South Wales electricity prices).

Fit on the first weeks, serve the champion over HTTP on 127.0.0.1, stream the remaining weeks through
``/v1/predict`` and ``/v1/feedback`` (a week at a time: the labels of a week arrive together), and run
the evolution policy through ``/v1/evolve`` after every week. The champion's online layer learns every
label as it arrives and serves its combination once that has been significantly better on recent labels;
the batch evolver is the slow half (it trains on decay of the served answers, severe drift, or a growing
gain of the layer over the bare champion). Half-way, an operator promotes a stale version (fitted on the
first week only) by mistake; the watch rolls it back when the version it replaced is significantly
better on the labels that follow. A plot compares accuracy over time with the frozen champion. Run with
``make demo`` (after the batch demo) or ``python examples/loop_demo.py``.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from lamarck import Project
from lamarck.bench import HttpClient, SharedFileMissingError, elec2_csv, plot_loop, run_loop, write_batches
from lamarck.evolve import EvolutionPolicy
from lamarck.serve import create_app

OUT = Path("demo-output") / "loop"
WEEK = 336  # 48 half-hours x 7 days


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(rows: int | None = None) -> int:
    import shutil

    import uvicorn

    console = Console()
    try:
        data = elec2_csv()
    except SharedFileMissingError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    frame = pd.read_csv(data)
    if rows:
        frame = frame.iloc[:rows]
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    project = Project(OUT / "project")
    # a demo's policy: two weeks in the shadow, a fresh search of 5 s, two earlier champions as candidates, and after a rejected
    # challenger six weeks of labels before the next try (elec2 decays almost every week)
    policy = EvolutionPolicy(
        online=True,  # the champion is served with its online layer: the batch evolver is the slow half
        min_test_labels=300,
        shadow_labels=672,  # two weeks: one week's win on elec2 often does not hold the next
        fresh_search_budget_s=5,
        reuse_versions=2,
        cooldown_labels=2016,
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(project, policy=policy), host="127.0.0.1", port=port, log_level="warning")
    )
    start = 8 * WEEK
    console.rule("[bold]Lamarck: the self-evolving loop on elec2")
    console.print(
        f"{len(frame):,} half-hours; a stale v1 fitted on the first week, then v2 on the first {start:,} "
        f"(8 weeks), served on http://127.0.0.1:{port}; the rest streamed a week at a time through predict "
        "and feedback (the online layer learns every label); one evolution pass after every week."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        project.fit(frame.iloc[:WEEK], "predict class, in 5 seconds", report=False, dataset_name="week 1")
    thread = threading.Thread(target=server.run, daemon=True)
    n_batches = (len(frame) - start + WEEK - 1) // WEEK
    mistake = n_batches // 2

    def operator_mistake(client: HttpClient) -> None:
        console.print(
            f"[red]week {mistake}: an operator promotes version 1 (fitted on the first week only) by mistake[/red]"
        )
        client.promote("1")

    def show(row: dict) -> None:
        if row.get("decision") and row["decision"] != "skip":
            d = decisions[-1] if decisions else None
            if d is not None:
                colour = {"promote": "green", "rollback": "red", "reject": "yellow"}.get(d["kind"], "cyan")
                console.print(f"week {row['batch']:3d}: [{colour}]{d['kind']}[/{colour}] {d['reason']}")

    decisions: list[dict] = []
    client_holder: dict = {}

    class Recording(HttpClient):
        def evolve(self) -> dict:
            d = super().evolve()
            if d["kind"] != "skip":
                decisions.append(d)
            return d

    t0 = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the first champion must exist before the server answers predictions: fit happens inside
        # run_loop, the server starts right after it (it loads the champion on the first request)
        started = False

        def client_factory() -> Recording:
            nonlocal started
            if not started:
                thread.start()
                while not server.started:
                    time.sleep(0.05)
                started = True
            client_holder["c"] = Recording(f"http://127.0.0.1:{port}")
            return client_holder["c"]

        result = run_loop(
            project,
            frame,
            target="class",
            start=start,
            batch=WEEK,
            evolve_every=WEEK,
            fit_budget_s=20,
            client=_Lazy(client_factory),
            sentence="predict whether the price goes UP or DOWN, optimize accuracy",
            events={mistake: operator_mistake},
            on_batch=show,
        )
    layer = client_holder["c"].http.get("/v1/status").raise_for_status().json()["layer"]
    server.should_exit = True
    thread.join(timeout=10)
    write_batches(result, OUT / "batches.csv")
    plot = plot_loop(
        result, OUT / "accuracy.png", title="elec2: Lamarck loop (champion + online layer) vs frozen champion"
    )
    table = Table(title="Accuracy on the streamed weeks (each prediction scored when its label arrived)")
    for col in ("model", "accuracy", "compute"):
        table.add_column(col)
    table.add_row(
        "frozen champion (v2)", f"{result.accuracy('frozen'):.4f}", f"fit {result.fit_seconds:.0f}s"
    )
    table.add_row(
        "Lamarck loop (served)",
        f"{result.accuracy('served'):.4f}",
        f"fit {result.fit_seconds:.0f}s + evolve {result.evolve_seconds:.0f}s + layer {layer.get('cpu_seconds', 0):.0f} CPU s",
    )
    console.print(table)
    console.print(
        f"online layer of v{layer.get('champion_version')}: serving the {layer.get('serving')} answer; recent error "
        f"{layer.get('combined_error') or 0:.3f} (champion alone {layer.get('base_error') or 0:.3f}, p={layer.get('p_value', 1):.2g}); "
        f"{layer.get('labels_learned')} labels learned, cursor {layer.get('feedback_cursor')}"
    )
    kinds = pd.Series([d["kind"] for d in result.decisions]).value_counts().to_dict()
    console.print(
        f"decisions: {kinds}; versions: {len(project.models())}; champion now v{project.registry.alias_version('champion')}"
    )
    console.print(
        f"plot: {plot}\nper-week figures: {OUT / 'batches.csv'}\nhistory: lamarck history --project {project.path}"
    )
    console.print(f"loop demo took {time.monotonic() - t0:.0f}s")
    ok = "rollback" in kinds and result.accuracy("served") > result.accuracy("frozen")
    if not ok:
        console.print(
            "[yellow]note: this run did not show every step of the loop (see the decisions above)[/yellow]"
        )
    return 0


class _Lazy:
    """A client created on first use (after the fit), so the server starts with a champion to serve."""

    def __init__(self, factory) -> None:  # type: ignore[no-untyped-def]
        self.factory, self.client = factory, None

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        if self.client is None:
            self.client = self.factory()
        return getattr(self.client, name)


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1]) if len(sys.argv) > 1 else None))
