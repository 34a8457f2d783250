"""Streaming comparison (``lamarck bench --part stream``): prequential accuracy and wall time of
Lamarck's :class:`~lamarck.stream.StreamLearner` against River's Adaptive Random Forest, Hoeffding
Adaptive Tree and the no-change baseline, on elec2 (file order, all 8 features), River's bundled real
streams (Phishing, Bananas, ImageSegments) and synthetic drifting streams (SEA, Agrawal, Hyperplane).

``arf+context`` is ARF fed with the same stream context features Lamarck computes (last label, label
shares, deviations from moving averages), to show how much of the gap comes from those features.

Writes ``results.csv`` (case, system, metric, score, seconds, error), ``results.md`` and
``results.png`` into ``args.output``.
"""

from __future__ import annotations

import csv
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["CASES", "SYSTEMS", "run"]

SYNTH_EVENTS = 20_000

Events = list[tuple[dict[str, Any], Any]]


def _elec2() -> Events:
    from lamarck.bench._paths import elec2_csv

    with elec2_csv().open(newline="") as fh:
        return [({k: float(v) for k, v in r.items() if k != "class"}, r["class"]) for r in csv.DictReader(fh)]


def _river(name: str) -> Callable[[int], Events]:
    def load(seed: int) -> Events:
        from river import datasets

        return list(getattr(datasets, name)())

    return load


def _drifting(streams: list[Any], *, position: int, width: int, seed: int) -> Events:
    """The first ``SYNTH_EVENTS`` events of ``streams`` one after the other, each concept drifting into
    the next over ``width`` events, ``position`` events after the previous drift."""
    from river.datasets import synth

    stream = streams[-1]
    for before in reversed(streams[:-1]):
        stream = synth.ConceptDriftStream(before, stream, position=position, width=width, seed=seed)
    return list(stream.take(SYNTH_EVENTS))


def _sea(seed: int) -> Events:
    from river.datasets import synth

    # variants 0, 2, then 0 again: the first concept comes back
    concepts = [synth.SEA(variant=v, noise=0.1, seed=seed + i) for i, v in enumerate((0, 2, 0))]
    return _drifting(concepts, position=SYNTH_EVENTS // 3, width=50, seed=seed)


def _agrawal(seed: int) -> Events:
    from river.datasets import synth

    concepts = [synth.Agrawal(classification_function=f, seed=seed + i) for i, f in enumerate((0, 4))]
    return _drifting(concepts, position=SYNTH_EVENTS // 2, width=1000, seed=seed)


def _hyperplane(seed: int) -> Events:
    from river.datasets import synth

    stream = synth.Hyperplane(
        n_features=10, n_drift_features=5, mag_change=0.001, noise_percentage=0.05, sigma=0.1, seed=seed
    )
    return list(stream.take(SYNTH_EVENTS))


#: case -> loader(seed) -> events in order
CASES: dict[str, Callable[[int], Events]] = {
    "elec2": lambda seed: _elec2(),
    "phishing": _river("Phishing"),
    "bananas": _river("Bananas"),
    "image_segments": _river("ImageSegments"),
    "sea_drift": _sea,
    "agrawal_drift": _agrawal,
    "hyperplane_drift": _hyperplane,
}


def _lamarck(seed: int) -> Any:
    from lamarck.stream import StreamLearner

    return StreamLearner(seed=seed)


def _arf(seed: int) -> Any:
    from river import forest

    return forest.ARFClassifier(seed=seed)


def _hat(seed: int) -> Any:
    from river import tree

    return tree.HoeffdingAdaptiveTreeClassifier(seed=seed)


def _no_change(seed: int) -> Any:
    from river import dummy

    return dummy.NoChangeClassifier()


#: system -> factory(seed); ``arf+context`` is ARF on Lamarck's context features
SYSTEMS: dict[str, Callable[[int], Any]] = {
    "lamarck": _lamarck,
    "arf": _arf,
    "arf+context": _arf,
    "hat": _hat,
    "no_change": _no_change,
}


def prequential(model: Any, events: Iterable[tuple[dict[str, Any], Any]], *, context: bool = False) -> float:
    """Accuracy of predict-then-learn over ``events`` (``context`` adds Lamarck's context features)."""
    from river import metrics

    from lamarck.stream import StreamContext, StreamLearner

    acc = metrics.Accuracy()
    if isinstance(model, StreamLearner):
        for x, y in events:
            acc.update(y, model.process_one(x, y))
        return float(acc.get())
    ctx = StreamContext() if context else None
    for x, y in events:
        z = ctx.features({str(k): v for k, v in x.items()}) if ctx is not None else x
        acc.update(y, model.predict_one(z))
        model.learn_one(z, y)
        if ctx is not None:
            ctx.observe_inputs(x)
            ctx.observe_label(y)
    return float(acc.get())


def run(args: Any, console: Any) -> None:
    """Run every case x system once (in one process, one after the other) and write the results."""
    out = Path(args.output)
    if out == Path("bench/results/batch"):
        out = Path("bench/results/stream")
    out.mkdir(parents=True, exist_ok=True)
    from lamarck.bench._suite import pick

    wanted = pick(args.cases, list(CASES), flag="--cases")
    systems = ["lamarck", *[s for s in pick(args.against, list(SYSTEMS), flag="--against") if s != "lamarck"]]
    rows: list[dict[str, Any]] = []
    for case in wanted:
        events = CASES[case](args.seed)
        for system in systems:
            t0 = time.perf_counter()
            try:
                score = prequential(SYSTEMS[system](args.seed), events, context=system == "arf+context")
                error = ""
            except Exception as e:  # a failing system is a result, not the end of the bench
                score, error = float("nan"), f"{type(e).__name__}: {e}"
                log.debug("%s on %s failed\n%s", system, case, traceback.format_exc())
            seconds = time.perf_counter() - t0
            row = {"case": case, "system": system, "metric": "accuracy", "score": round(score, 4),
                   "seconds": round(seconds, 1), "error": error, "events": len(events)}  # fmt: skip
            rows.append(row)
            console.print(f"{case:18s} {system:12s} accuracy {row['score']:.4f} ({row['seconds']}s) {error}")
    with (out / "results.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["case", "system", "metric", "score", "seconds", "error"])
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in w.fieldnames})
    table = summarize(rows, systems)
    (out / "results.md").write_text(table + "\n")
    _plot(rows, systems, out / "results.png")
    console.print(table)


def summarize(rows: list[dict[str, Any]], systems: list[str]) -> str:
    """A markdown table: one line per case, accuracy (seconds) per system, the best in bold."""
    cases = list(dict.fromkeys(r["case"] for r in rows))
    by = {(r["case"], r["system"]): r for r in rows}
    lines = ["| case | events | " + " | ".join(systems) + " |", "|---|---:|" + "---:|" * len(systems)]
    for case in cases:
        scores = [by[(case, s)]["score"] for s in systems if (case, s) in by]
        best = max((s for s in scores if s == s), default=None)
        cells = []
        for s in systems:
            r = by.get((case, s))
            if r is None:
                cells.append("")
                continue
            text = f"{r['score']:.4f} ({r['seconds']:g}s)" if not r["error"] else f"error: {r['error'][:40]}"
            cells.append(f"**{text}**" if r["score"] == best else text)
        events = next(r["events"] for r in rows if r["case"] == case)
        lines.append(f"| {case} | {events:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plot(rows: list[dict[str, Any]], systems: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cases = list(dict.fromkeys(r["case"] for r in rows))
    by = {(r["case"], r["system"]): r["score"] for r in rows}
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(systems)
    for i, s in enumerate(systems):
        ax.bar(np.arange(len(cases)) + i * width, [by.get((c, s), np.nan) for c in cases], width, label=s)
    ax.set_xticks(np.arange(len(cases)) + 0.4 - width / 2, cases, rotation=20)
    ax.set_ylim(0.4, 1.0)
    ax.set_ylabel("prequential accuracy")
    ax.legend(ncol=len(systems), fontsize=8, loc="lower right")
    ax.set_title("Lamarck StreamLearner vs River (same run, same order)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
