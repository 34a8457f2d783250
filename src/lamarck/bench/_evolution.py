"""The loop on a drifting stream: a frozen champion, retraining from scratch, and the Lamarck loop.

``run_loop`` fits a champion on the first rows, then streams the rest in batches through predict and
feedback (in process, or through a running server with :class:`HttpClient`), running one evolution pass
every ``evolve_every`` labels. Every served prediction is scored after its label arrives, beside the
frozen first champion's prediction on the same rows. ``lamarck bench --part evolution`` compares it with
retraining from scratch every N labels on elec2 and on river's drifting synthetic streams.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["HttpClient", "InProcessClient", "LoopResult", "run_loop"]


class HttpClient:
    """Predict, feedback, evolve and promote through a running ``lamarck serve`` (httpx)."""

    def __init__(self, base_url: str, *, api_key: str | None = None) -> None:
        import httpx

        headers = {"X-API-Key": api_key} if api_key else {}
        self.http: Any = httpx.Client(base_url=base_url, headers=headers, timeout=300)

    def predict(self, rows: pd.DataFrame) -> tuple[list[Any], list[str], str]:
        records = rows.astype(object).where(rows.notna(), None).to_dict("records")
        body = self.http.post("/v1/predict", json={"rows": records}).raise_for_status().json()
        return body["predictions"], body["prediction_ids"], body["model_version"]

    def feedback(self, ids: list[str], labels: list[Any]) -> None:
        items = [{"prediction_id": i, "label": _plain(y)} for i, y in zip(ids, labels, strict=True)]
        self.http.post("/v1/feedback", json={"items": items}).raise_for_status()

    def evolve(self) -> dict[str, Any]:
        return dict(self.http.post("/v1/evolve").raise_for_status().json())

    def promote(self, version: str) -> None:
        self.http.post(f"/v1/models/{version}/promote").raise_for_status()


class InProcessClient(HttpClient):
    """The same routes of the server's app, called in process (FastAPI's TestClient: no socket), so the
    comparison runs exactly what ``lamarck serve`` runs: logging, the challenger in the shadow, evolve."""

    def __init__(self, project: Any, policy: Any = None, *, online_layer: bool | None = None) -> None:
        from fastapi.testclient import TestClient

        from lamarck.serve import create_app

        self.project = project
        self.app = create_app(project, policy=policy, online_layer=online_layer)
        # entered once: one event loop for every request (a TestClient used without ``with`` starts a
        # thread per request); closed with the process
        self.http = TestClient(self.app).__enter__()

    def layer_cpu(self) -> float:
        """CPU seconds the champion's online layer spent answering and learning (0 without one)."""
        return float(self.app.state.server.layer.status().get("cpu_seconds") or 0.0)


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


@dataclass
class LoopResult:
    """Per batch: rows, accuracy of what was served and of the frozen first champion; the decisions."""

    batches: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0
    evolve_seconds: float = 0.0
    #: CPU seconds of this process (all threads) for the same: compute used, whatever else the machine ran
    fit_cpu: float = 0.0
    evolve_cpu: float = 0.0
    #: the champion's online layer (answering and learning), or a stream learner's whole work
    online_cpu: float = 0.0

    def accuracy(self, key: str) -> float:
        n = sum(b["rows"] for b in self.batches)
        return sum(b[key] * b["rows"] for b in self.batches) / max(n, 1)


def run_loop(
    project: Any,
    frame: pd.DataFrame,
    *,
    target: str,
    start: int,
    batch: int,
    evolve_every: int,
    fit_budget_s: float = 20.0,
    client: Any = None,
    policy: Any = None,
    sentence: str | None = None,
    events: dict[int, Callable[[Any], None]] | None = None,
    on_batch: Callable[[dict[str, Any]], None] | None = None,
    probes: dict[str, pd.DataFrame] | None = None,
    chunk: int | None = None,
) -> LoopResult:
    """Fit on ``frame[:start]``, then stream the rest in batches through predict, feedback and evolve.

    ``chunk`` (default ``batch``) is the label delay: inside a batch, ``chunk`` rows are predicted, then
    their labels are sent, then the next ``chunk`` (1: each label arrives before the next prediction).
    Accuracy, probes and evolve passes are per batch.

    ``events`` maps a batch number to an action on the client (e.g. an operator's promotion).
    ``probes`` are held-out rows of one concept each: after every batch the serving model's accuracy on
    each is recorded as ``probe:NAME`` (backward transfer: does it still know an old concept?).
    """
    result = LoopResult()
    t0, c0 = time.monotonic(), time.process_time()
    project.fit(
        frame.iloc[:start],
        sentence or f"predict {target}",
        target=target,
        time_budget_s=fit_budget_s,
        report=False,
        dataset_name="stream head",
    )
    result.fit_seconds, result.fit_cpu = time.monotonic() - t0, time.process_time() - c0
    client = client or InProcessClient(project, policy)
    frozen = project.load_model("champion")
    models: dict[str, Any] = {}
    labels_since = 0
    for k, lo in enumerate(range(start, len(frame), batch)):
        if events and k in events:
            events[k](client)
        part = frame.iloc[lo : lo + batch]
        X, y = part.drop(columns=[target]), part[target]
        truth = y.astype(str).to_numpy()
        step = chunk or batch
        right = 0
        for at in range(0, len(part), step):
            preds, ids, version = client.predict(X.iloc[at : at + step])
            right += int(np.sum(np.asarray(preds, dtype=str) == truth[at : at + step]))
            client.feedback(ids, list(y.iloc[at : at + step]))
        row = {
            "batch": k,
            "first_row": lo,
            "rows": len(part),
            "version": version,
            "served": right / max(len(part), 1),
            "frozen": float(np.mean(np.asarray(frozen.predict(X), dtype=str) == truth)),
        }
        labels_since += len(part)
        if labels_since >= evolve_every:
            labels_since = 0
            t, c = time.monotonic(), time.process_time()
            decision = client.evolve()
            result.evolve_seconds += time.monotonic() - t
            result.evolve_cpu += time.process_time() - c
            row["decision"] = decision["kind"]
            if decision["kind"] != "skip":
                result.decisions.append({"batch": k, **decision})
        for name, probe in (probes or {}).items():  # the model that serves the next batch
            row[f"probe:{name}"] = _accuracy(_serving(project, models), probe, target)
        result.batches.append(row)
        if on_batch is not None:
            on_batch(row)
    if isinstance(client, InProcessClient):
        result.online_cpu = client.layer_cpu()
    return result


def _serving(project: Any, cache: dict[str, Any]) -> Any:
    version = str(project.registry.alias_version("champion"))
    if version not in cache:
        cache.clear()
        cache[version] = project.load_model(version)
    return cache[version]


def _accuracy(model: Any, rows: pd.DataFrame, target: str) -> float:
    pred = np.asarray(model.predict(rows.drop(columns=[target])), dtype=str)
    return float(np.mean(pred == rows[target].astype(str).to_numpy()))


def write_batches(result: LoopResult, path: Path) -> None:
    probes = sorted({k for b in result.batches for k in b if k.startswith("probe:")})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(
            f,
            fieldnames=["batch", "first_row", "rows", "version", "served", "frozen", "decision", *probes],
        )
        w.writeheader()
        for b in result.batches:
            w.writerow({k: b.get(k, "") for k in w.fieldnames})


def plot_loop(result: LoopResult, path: Path, *, title: str, window: int = 4) -> Path:
    """Accuracy over time (rolling over ``window`` batches), served vs frozen, decisions marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.DataFrame(result.batches)
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(
        df["first_row"], df["served"].rolling(window, min_periods=1).mean(), label="Lamarck loop (served)"
    )
    ax.plot(
        df["first_row"],
        df["frozen"].rolling(window, min_periods=1).mean(),
        label="frozen first champion",
        alpha=0.8,
    )
    colours = {"promote": "green", "rollback": "red", "challenger": "orange", "reject": "grey"}
    seen: set[str] = set()
    for d in result.decisions:
        if d["kind"] in colours:
            x = df.loc[d["batch"], "first_row"]
            ax.axvline(
                x, color=colours[d["kind"]], ls="--", lw=1, label=None if d["kind"] in seen else d["kind"]
            )
            seen.add(d["kind"])
    ax.set_xlabel("row of the stream")
    ax.set_ylabel(f"accuracy (rolling {window} batches)")
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


class RetrainClient(InProcessClient):
    """The usual alternative to the loop: refit from scratch each time, on every label so far (``window``
    None) or on the last ``window`` labels only."""

    def __init__(
        self,
        project: Any,
        head: pd.DataFrame,
        *,
        target: str,
        budget_s: float,
        window: int | None = None,
    ) -> None:
        super().__init__(project, online_layer=False)  # plain retraining: the bare champion serves
        self.head, self.target, self.budget_s, self.window = head, target, budget_s, window

    def evolve(self) -> dict[str, Any]:
        labelled = self.project.store.labelled()
        cols = [c for c in self.head.columns if c != self.target]
        seen = labelled.reindex(columns=cols).assign(**{self.target: labelled["label"].to_numpy()})
        frame = pd.concat([self.head, seen], ignore_index=True)
        if self.window is not None:
            frame = frame.iloc[-self.window :]
        spec = self.project.registry.info("champion").spec
        result = self.project.fit(
            frame,
            target=self.target,
            task=spec["task"],
            metric=spec["metric"],
            time_budget_s=self.budget_s,
            report=False,
            dataset_name="labels so far" if self.window is None else f"last {self.window} labels",
        )
        self.app.state.invalidate_aliases()  # the fit moved the champion alias outside the app
        return {
            "kind": "retrain",
            "reason": f"refit on {len(frame)} rows",
            "version": result.champion_version,
        }


#: the systems compared on each drifting stream (the frozen champion comes with the loop's run):
#: the loop (champion + online layer + the batch evolver as its slow half), the batch loop alone (the
#: loop before the online layer), retraining from scratch on every label or on the recent ones, Lamarck's
#: stream learner alone, the batch loop without its anti-forgetting limit (an ablation), and the loop whose
#: challengers distil the champion where the traffic has left instead of replaying labels (retention), and
#: the first champion with its online layer but no evolver (what the slow half adds)
SYSTEMS = (
    "lamarck-loop",
    "batch-loop",
    "retrain-all",
    "retrain-recent",
    "stream",
    "loop-unguarded",
    "loop-distill",
    "layer-only",
)
#: compared by default (the ablation only on request)
DEFAULT_PEERS = ("batch-loop", "retrain-all", "retrain-recent", "stream")
UNGUARDED = "loop-unguarded"
DISTILL = "loop-distill"
LAYER_ONLY = "layer-only"
#: the systems served with the online layer (the label delay changes what they serve)
ONLINE = frozenset({"lamarck-loop", DISTILL, LAYER_ONLY})
#: systems whose served model changes only when they retrain (every batch at most): the label delay inside
#: a batch does not change what they serve, so they run once per stream and count for every delay
DELAY_FREE = frozenset({"batch-loop", "retrain-all", "retrain-recent", UNGUARDED})
#: label delays: each label arrives before the next prediction, after a day of events, in weekly batches
DELAYS = ("immediate", "day", "week")


def chunk_of(case: Any, delay: str) -> int:
    """Rows predicted before their labels arrive, for a delay name."""
    return {"immediate": 1, "day": case.day, "week": case.batch}[delay]


def _summary(
    case: Any, system: str, result: LoopResult, key: str, *, name: str | None = None
) -> list[dict[str, Any]]:
    """Rows of results.csv for one run: prequential accuracy, compute and, with probes, backward transfer.

    ``cpu_seconds``: the first fit, every retrain or evolve pass, and the online layer's (or the stream
    learner's) answering and learning; ``cpu_after_fit``: the same without the first fit, i.e. what keeping
    the model current cost."""
    seconds = result.fit_seconds + (0.0 if key == "frozen" else result.evolve_seconds)
    base = {"case": name or case.name, "system": system, "seconds": round(seconds, 1), "error": ""}
    after = 0.0 if key == "frozen" else result.evolve_cpu + result.online_cpu
    rows = [
        {**base, "metric": "accuracy", "score": round(result.accuracy(key), 4)},
        {**base, "metric": "cpu_seconds", "score": round(result.fit_cpu + after, 1)},
        {**base, "metric": "cpu_after_fit", "score": round(after, 1)},
    ]
    if key != "frozen" and result.online_cpu:  # of which answering and learning one label at a time
        rows.append({**base, "metric": "cpu_online", "score": round(result.online_cpu, 1)})
    kinds = [d["kind"] for d in result.decisions]
    if key != "frozen" and {"challenger", "promote", "reject", "retire"} & set(kinds):  # bar: <= 1 in 10 back
        rows += [
            {**base, "metric": m, "score": kinds.count(k)}
            for m, k in (("promotions", "promote"), ("rollbacks", "rollback"))
        ]
    if not case.probes or key == "frozen":
        return rows
    df = pd.DataFrame(result.batches)
    # the first concept's probe just before the second phase starts, at the end of the second phase,
    # and over the phase where the first concept returns
    (_, _), (_, second), (_, third) = case.phases[:3]
    probe = next(iter(case.probes))
    before = df.loc[df["first_row"] < second, f"probe:{probe}"].iloc[-1]
    after_b = df.loc[df["first_row"] < third, f"probe:{probe}"].iloc[-1]
    returns = df[df["first_row"] >= third]
    back = float((returns["served"] * returns["rows"]).sum() / max(returns["rows"].sum(), 1))
    rows += [
        {**base, "metric": f"backward_transfer_{probe}", "score": round(float(after_b - before), 4)},
        {**base, "metric": f"accuracy_on_{probe}_after_learning_B", "score": round(float(after_b), 4)},
        {**base, "metric": f"accuracy_when_{probe}_returns", "score": round(back, 4)},
    ]
    return rows


def _plot_case(
    case: Any, runs: dict[str, pd.DataFrame], path: Path, window: int = 4, *, title: str | None = None
) -> Path:
    """Served accuracy per system (and the frozen champion) over the stream; probes below, if any."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if case.probes else 1
    fig, axes = plt.subplots(
        panels, 1, figsize=(10, 3.6 * panels + (0.6 if case.probes else 0)), squeeze=False
    )
    ax = axes[0][0]
    first = next(iter(runs.values()))
    colour = {s: f"C{k + 1}" for k, s in enumerate(runs)}  # one colour per system in both panels
    if first["frozen"].notna().any():
        ax.plot(
            first["first_row"],
            first["frozen"].rolling(window, min_periods=1).mean(),
            label="frozen",
            color="C0",
        )
    for system, df in runs.items():
        ax.plot(
            df["first_row"],
            df["served"].rolling(window, min_periods=1).mean(),
            label=system,
            color=colour[system],
        )
    for name, row in case.phases[1:]:
        ax.axvline(row, color="grey", ls=":", lw=1)
        ax.text(row, ax.get_ylim()[0], f" {name}", fontsize=7, color="grey", va="bottom")
    ax.set_ylabel(f"accuracy (rolling {window} batches)")
    ax.set_title(f"{title or case.name}: served accuracy over the stream")
    ax.legend(fontsize=8, loc="lower left")
    if case.probes:
        ax2 = axes[1][0]
        for system, df in runs.items():
            for name, style in zip(case.probes, ("-", "--", ":"), strict=False):
                ax2.plot(
                    df["first_row"],
                    df[f"probe:{name}"],
                    ls=style,
                    color=colour[system],
                    label=f"{system}: segment {name}",
                )
        for _, row in case.phases[1:]:
            ax2.axvline(row, color="grey", ls=":", lw=1)
        ax2.set_ylabel("accuracy on held-out probe")
        ax2.set_xlabel("row of the stream")
        ax2.set_title("backward transfer: accuracy on each segment's held-out rows")
        ax2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4)
    else:
        ax.set_xlabel("row of the stream")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _run_stream(case: Any, chunk: int, seed: int) -> LoopResult:
    """Lamarck's stream learner alone (``lamarck stream``'s learner): it learns the head prequentially (its
    "fit"), then predicts ``chunk`` rows at a time, each learned once its label arrives."""
    import time as _time

    from lamarck.bench._drifting import TARGET
    from lamarck.stream import StreamLearner

    result = LoopResult()
    learner = StreamLearner(seed=seed)
    rows = [
        {k: v for k, v in r.items() if v == v} for r in case.frame.drop(columns=[TARGET]).to_dict("records")
    ]
    labels = case.frame[TARGET].tolist()
    t0, c0 = _time.monotonic(), _time.process_time()
    for i in range(case.start):
        learner.process_one(rows[i], labels[i])
    result.fit_seconds, result.fit_cpu = _time.monotonic() - t0, _time.process_time() - c0
    probe_cpu = 0.0
    for k, lo in enumerate(range(case.start, len(rows), case.batch)):
        hi = min(lo + case.batch, len(rows))
        right = 0
        for c in range(lo, hi, chunk):
            seen = [(learner.predict_pending(rows[i]), labels[i]) for i in range(c, min(c + chunk, hi))]
            right += sum(str(pred) == str(y) for (pred, _), y in seen)
            for (_, pending), y in seen:
                learner.learn_pending(pending, y)
        row: dict[str, Any] = {"batch": k, "first_row": lo, "rows": hi - lo, "version": "stream",
                               "served": right / max(hi - lo, 1), "frozen": float("nan")}  # fmt: skip
        p0 = _time.process_time()
        for name, probe in (case.probes or {}).items():
            pred = np.asarray(learner.predict(probe.drop(columns=[TARGET])), dtype=str)
            row[f"probe:{name}"] = float(np.mean(pred == probe[TARGET].astype(str).to_numpy()))
        probe_cpu += _time.process_time() - p0  # measuring is not the learner's work
        result.batches.append(row)
    result.online_cpu = _time.process_time() - c0 - result.fit_cpu - probe_cpu
    result.evolve_seconds = _time.monotonic() - t0 - result.fit_seconds
    return result


def _run_system(
    case: Any, system: str, *, fit_budget: float, retrain_budget: float, seed: int, chunk: int | None = None
) -> LoopResult:
    import tempfile

    from lamarck import Project
    from lamarck.bench._drifting import TARGET
    from lamarck.evolve import EvolutionPolicy

    if system == "stream":
        return _run_stream(case, chunk or case.batch, seed)
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(Path(tmp) / "p")
        policy = EvolutionPolicy(
            min_new_labels=case.every,
            min_test_labels=300,
            shadow_labels=300,
            fresh_search_budget_s=retrain_budget,
            max_forgetting=1.0 if system == UNGUARDED else 0.01,
            online=system in ONLINE,
            retention="distill" if system == DISTILL else "replay",
            seed=seed,
        )
        loop = system in ("batch-loop", UNGUARDED, *ONLINE)
        client: InProcessClient = (
            InProcessClient(project, policy, online_layer=system in ONLINE)
            if loop
            else RetrainClient(
                project,
                case.frame.iloc[: case.start],
                target=TARGET,
                budget_s=retrain_budget,
                window=2 * case.every if system == "retrain-recent" else None,
            )
        )
        return run_loop(
            project,
            case.frame,
            target=TARGET,
            start=case.start,
            batch=case.batch,
            # the loop looks after every batch (a pass that finds no trigger is cheap and trains nothing),
            # as ``serve --auto-evolve`` does; retraining from scratch runs every ``case.every`` labels
            evolve_every=len(case.frame) + 1 if system == LAYER_ONLY else case.batch if loop else case.every,
            fit_budget_s=fit_budget,
            client=client,
            probes=case.probes,
            chunk=chunk if system in ONLINE else None,
        )


def run_evolution_bench(args: Any, console: Any) -> None:
    """``lamarck bench --part evolution``: the loop against the frozen champion, the batch loop alone,
    retraining from scratch and the stream learner alone, on drifting streams at several label delays.

    ``--cases`` picks streams (elec2, sea, agrawal, agrawal-recurring), ``--against`` the peers (default
    batch-loop, retrain-all, retrain-recent, stream; loop-unguarded on request), ``--delays`` the label
    delays (immediate, day, week; default all). Results are named ``STREAM@DELAY``. Writes per case
    ``batches-CASE@DELAY-SYSTEM.csv`` and ``accuracy-CASE@DELAY.png``, and ``results.csv`` / ``results.md``
    over all. A (case, system) already in ``results.csv`` is not run again, so a killed bench resumes.
    """
    from lamarck.bench._drifting import CASES
    from lamarck.errors import ConfigError

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    names = [c.strip() for c in args.cases.split(",")] if args.cases else list(CASES)
    peers = [s.strip() for s in args.against.split(",") if s.strip()] if args.against else list(DEFAULT_PEERS)
    delays = [d.strip() for d in (getattr(args, "delays", None) or ",".join(DELAYS)).split(",") if d.strip()]
    for kind, asked, known in (
        ("case", names, list(CASES)),
        ("system", peers, list(SYSTEMS[1:])),
        ("delay", delays, list(DELAYS)),
    ):
        unknown = [n for n in asked if n not in known]
        if unknown:
            raise ConfigError(
                f"evolution bench {kind} {unknown[0]!r} is unknown. Fix: choose from {', '.join(known)}."
            )
    done_path = out / "results.csv"
    rows = list(csv.DictReader(done_path.open())) if done_path.exists() else []
    fit_budget, retrain_budget = min(args.budget, 20.0), min(args.budget, 10.0)

    def save() -> None:  # after every run, so a killed bench resumes
        with done_path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["case", "system", "metric", "score", "seconds", "error"])
            w.writeheader()
            w.writerows(rows)

    for name in names:
        case = CASES[name]()
        for delay in delays:
            key = f"{name}@{delay}"
            for system in ("lamarck-loop", *peers):
                if any(r["case"] == key and r["system"] == system for r in rows):
                    console.print(f"[dim]{key} · {system}: already in {done_path}, skipped[/dim]")
                    continue
                twin = next(
                    (r["case"] for r in rows if system in DELAY_FREE and r["system"] == system
                     and r["case"].split("@")[0] == name),
                    None,
                )  # fmt: skip
                if twin is not None:  # its served model does not depend on the delay: the same run counts
                    rows += [{**r, "case": key} for r in rows if r["case"] == twin and r["system"] == system]
                    src = out / f"batches-{twin}-{system}.csv"
                    if src.exists():
                        (out / f"batches-{key}-{system}.csv").write_text(src.read_text())
                    console.print(f"[dim]{key} · {system}: the same as {twin} (delay-free)[/dim]")
                    save()
                    continue
                chunk = chunk_of(case, delay)
                console.print(f"[bold]{key}[/bold] · {system}: {len(case.frame)} rows, labels every {chunk}")
                result = _run_system(
                    case, system, fit_budget=fit_budget, retrain_budget=retrain_budget, seed=args.seed,
                    chunk=chunk,
                )  # fmt: skip
                write_batches(result, out / f"batches-{key}-{system}.csv")
                new = _summary(case, system, result, "served", name=key)
                if system == "lamarck-loop":
                    rows = [r for r in rows if not (r["case"] == key and r["system"] == "frozen")]
                    new = _summary(case, "frozen", result, "frozen", name=key) + new
                if result.decisions:
                    kinds = pd.Series([d["kind"] for d in result.decisions]).value_counts().to_dict()
                    console.print(f"  decisions: {kinds}")
                for r in new:
                    console.print(f"  {r['system']}: {r['metric']} {r['score']} ({r['seconds']} s)")
                rows += new
                save()
            runs = {
                system: pd.read_csv(path)
                for system in ("lamarck-loop", *peers)
                if (path := out / f"batches-{key}-{system}.csv").exists()
            }
            if runs:
                _plot_case(case, runs, out / f"accuracy-{key}.png", title=key)
    (out / "results.md").write_text(_markdown(rows))
    console.print(_markdown(rows))


def _markdown(rows: list[dict[str, Any]]) -> str:
    """Accuracy and compute per case and system; backward transfer where a stream has probes."""
    df = pd.DataFrame(rows)
    df["score"] = df["score"].astype(float)
    order = ["frozen", *SYSTEMS]
    lines = [
        "| case | system | accuracy | wall s | CPU s | CPU s after the first fit | of which online | after the "
        "fit, x retrain-all's | promotions (rolled back) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in dict.fromkeys(df["case"]):
        part = df[df["case"] == case]
        best = part.loc[part["metric"] == "accuracy", "score"].max()
        peer = part[(part["system"] == "retrain-all") & (part["metric"] == "cpu_after_fit")]["score"]
        retrain = float(peer.iloc[0]) if len(peer) else float("nan")
        for system in [s for s in order if s in set(part["system"])]:
            mine = part[part["system"] == system].set_index("metric")
            acc = mine["score"].get("accuracy", float("nan"))
            cpu = mine["score"].get("cpu_seconds", float("nan"))
            after = mine["score"].get("cpu_after_fit", float("nan"))
            online = mine["score"].get("cpu_online", float("nan"))
            shown = f"**{acc:.4f}**" if acc == best else f"{acc:.4f}"
            ratio = after / retrain if retrain > 0 and system != "frozen" else float("nan")
            lines.append(
                f"| {case} | {system} | {shown} | {mine['seconds'].iloc[0]} | {cpu:.1f} | {after:.1f} | "
                + ("" if online != online else f"{online:.1f}")
                + " | "
                + ("" if ratio != ratio else f"{ratio:.2f}")
                + " | "
                + (
                    f"{mine['score']['promotions']:.0f} ({mine['score'].get('rollbacks', 0):.0f})"
                    if "promotions" in mine.index
                    else ""
                )
                + " |"
            )
    probes = df[df["metric"].str.startswith(("backward_transfer", "accuracy_on_", "accuracy_when_"))]
    if len(probes):
        metrics = list(dict.fromkeys(probes["metric"]))
        lines += ["", "| case | system | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
        for (probe_case, probe_system), part in probes.groupby(["case", "system"], sort=False):
            values = part.set_index("metric")["score"]
            lines.append(
                f"| {probe_case} | {probe_system} | "
                + " | ".join(
                    f"{values.get(m, float('nan')):+.4f}"
                    if m.startswith("backward")
                    else f"{values.get(m, float('nan')):.4f}"
                    for m in metrics
                )
                + " |"
            )
    return "\n".join(lines) + "\n"
