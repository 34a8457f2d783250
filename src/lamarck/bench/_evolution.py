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


class InProcessClient:
    """Predict (logged, with the challenger in the shadow), feedback and evolve, without HTTP."""

    def __init__(self, project: Any, policy: Any = None) -> None:
        self.project, self.policy = project, policy
        self._models: dict[str, Any] = {}

    def _model(self, alias: str) -> tuple[Any, str] | None:
        version = self.project.registry.alias_version(alias)
        if version is None:
            return None
        if version not in self._models:
            self._models[version] = self.project.load_model(version)
        return self._models[version], version

    def predict(self, rows: pd.DataFrame) -> tuple[list[Any], list[str], str]:
        found = self._model("champion")
        assert found is not None  # run_loop fits first
        model, version = found
        proba = model.predict_proba(rows) if model.task != "regression" else None
        preds = list(model.classes_[proba.argmax(axis=1)]) if proba is not None else list(model.predict(rows))
        ids = self.project.store.log_predictions(
            rows.to_dict("records"),
            predictions=preds,
            probas=None if proba is None else proba.tolist(),
            model_version=version,
        )
        shadow = self._model("challenger")
        if shadow is not None and shadow[1] != version:
            self.project.store.log_shadow(
                ids, predictions=list(shadow[0].predict(rows)), model_version=shadow[1]
            )
        return preds, ids, version

    def feedback(self, ids: list[str], labels: list[Any]) -> None:
        self.project.store.add_feedback(
            [{"prediction_id": i, "label": y} for i, y in zip(ids, labels, strict=True)]
        )

    def evolve(self) -> dict[str, Any]:
        return self.project.evolve(self.policy).to_dict()

    def promote(self, version: str) -> None:
        self.project.promote(version, reason="operator promotion")


class HttpClient:
    """The same through a running ``lamarck serve`` (httpx)."""

    def __init__(self, base_url: str, *, api_key: str | None = None) -> None:
        import httpx

        headers = {"X-API-Key": api_key} if api_key else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=300)

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


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


@dataclass
class LoopResult:
    """Per batch: rows, accuracy of what was served and of the frozen first champion; the decisions."""

    batches: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0
    evolve_seconds: float = 0.0

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
) -> LoopResult:
    """Fit on ``frame[:start]``, then stream the rest in batches through predict, feedback and evolve.

    ``events`` maps a batch number to an action on the client (e.g. an operator's promotion).
    """
    result = LoopResult()
    t0 = time.monotonic()
    project.fit(
        frame.iloc[:start],
        sentence or f"predict {target}",
        target=target,
        time_budget_s=fit_budget_s,
        report=False,
        dataset_name="stream head",
    )
    result.fit_seconds = time.monotonic() - t0
    client = client or InProcessClient(project, policy)
    frozen = project.load_model("champion")
    labels_since = 0
    for k, lo in enumerate(range(start, len(frame), batch)):
        if events and k in events:
            events[k](client)
        part = frame.iloc[lo : lo + batch]
        X, y = part.drop(columns=[target]), part[target]
        preds, ids, version = client.predict(X)
        truth = y.astype(str).to_numpy()
        row = {
            "batch": k,
            "first_row": lo,
            "rows": len(part),
            "version": version,
            "served": float(np.mean(np.asarray(preds, dtype=str) == truth)),
            "frozen": float(np.mean(np.asarray(frozen.predict(X), dtype=str) == truth)),
        }
        client.feedback(ids, list(y))
        labels_since += len(part)
        if labels_since >= evolve_every:
            labels_since = 0
            t = time.monotonic()
            decision = client.evolve()
            result.evolve_seconds += time.monotonic() - t
            row["decision"] = decision["kind"]
            if decision["kind"] != "skip":
                result.decisions.append({"batch": k, **decision})
        result.batches.append(row)
        if on_batch is not None:
            on_batch(row)
    return result


def write_batches(result: LoopResult, path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(
            f, fieldnames=["batch", "first_row", "rows", "version", "served", "frozen", "decision"]
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
    """The usual alternative to the loop: refit from scratch on every label so far, each time."""

    def __init__(self, project: Any, head: pd.DataFrame, *, target: str, budget_s: float) -> None:
        super().__init__(project)
        self.head, self.target, self.budget_s = head, target, budget_s

    def evolve(self) -> dict[str, Any]:
        labelled = self.project.store.labelled()
        cols = [c for c in self.head.columns if c != self.target]
        seen = labelled.reindex(columns=cols).assign(**{self.target: labelled["label"].to_numpy()})
        frame = pd.concat([self.head, seen], ignore_index=True)
        spec = self.project.registry.info("champion").spec
        result = self.project.fit(
            frame,
            target=self.target,
            task=spec["task"],
            metric=spec["metric"],
            time_budget_s=self.budget_s,
            report=False,
            dataset_name="all labels so far",
        )
        return {
            "kind": "retrain",
            "reason": f"refit on {len(frame)} rows",
            "version": result.champion_version,
        }


def run_evolution_bench(args: Any, console: Any) -> None:
    """``lamarck bench --part evolution``: frozen vs retrain-from-scratch vs the loop on elec2."""
    import tempfile

    from lamarck import Project
    from lamarck.evolve import EvolutionPolicy

    data = Path(__file__).resolve().parents[4] / "shared" / "data" / "elec2.csv"
    if not data.exists():
        data = Path.cwd().parent / "shared" / "data" / "elec2.csv"
    frame = pd.read_csv(data)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    week, start, every = 336, 8 * 336, 6 * 336
    rows = []
    budget = min(args.budget, 20.0)
    for system in ("loop", "retrain"):
        with tempfile.TemporaryDirectory() as tmp:
            project = Project(Path(tmp) / "p")
            policy = EvolutionPolicy(
                min_new_labels=2000,
                min_test_labels=300,
                shadow_labels=300,
                fresh_search_budget_s=10,
                seed=args.seed,
            )
            client = (
                InProcessClient(project, policy)
                if system == "loop"
                else RetrainClient(project, frame.iloc[:start], target="class", budget_s=10)
            )
            result = run_loop(
                project,
                frame,
                target="class",
                start=start,
                batch=week,
                evolve_every=every,
                fit_budget_s=budget,
                client=client,
            )
            write_batches(result, out / f"batches-{system}.csv")
            if system == "loop":
                plot_loop(result, out / "accuracy-loop.png", title="elec2: Lamarck loop vs frozen champion")
                rows.append(
                    {
                        "case": "elec2",
                        "system": "frozen",
                        "metric": "accuracy",
                        "score": round(result.accuracy("frozen"), 4),
                        "seconds": round(result.fit_seconds, 1),
                        "error": "",
                    }
                )
            rows.append(
                {
                    "case": "elec2",
                    "system": system,
                    "metric": "accuracy",
                    "score": round(result.accuracy("served"), 4),
                    "seconds": round(result.fit_seconds + result.evolve_seconds, 1),
                    "error": "",
                }
            )
            console.print(rows[-1])
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["case", "system", "metric", "score", "seconds", "error"])
        w.writeheader()
        w.writerows(rows)
    lines = ["| case | system | accuracy | compute (s) |", "|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['system']} | {r['score']:.4f} | {r['seconds']} |" for r in rows]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    console.print("\n".join(lines))
