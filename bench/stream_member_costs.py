"""CPU per event (predict, then learn) of each kind of stream member: the relative costs in
``lamarck.stream``'s member table (``KINDS``), which cap what an evolved population may cost.

Each configuration that changes the cost (leaf prediction, trees, optimiser, window) is run on the first
``--events`` events of Agrawal with drift and of elec2, on the event's features (``raw``) and with the
stream context (``context``), and timed with the process's CPU clock. Prints microseconds per event and the
cost relative to a Hoeffding tree with majority-class leaves on the context features, averaged over the
two streams.

    .venv/bin/python bench/stream_member_costs.py [--events 4000]
"""

from __future__ import annotations

import argparse
import time

from lamarck.bench import DRIFT_CASES, DRIFT_TARGET
from lamarck.stream import KINDS, StreamContext, build_member, member_config


def _events(name: str, n: int) -> tuple[list[dict], list[dict], list[str]]:
    frame = DRIFT_CASES[name]().frame.iloc[:n]
    labels = frame[DRIFT_TARGET].astype(str).tolist()
    rows = [
        {k: v for k, v in r.items() if v == v} for r in frame.drop(columns=[DRIFT_TARGET]).to_dict("records")
    ]
    context = StreamContext(alphas=(0.3, 0.03))
    with_context = []
    for x, y in zip(rows, labels, strict=True):
        with_context.append(context.features(x))
        context.observe_inputs(x)
        context.observe_label(y)
    return rows, with_context, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    args = parser.parse_args()
    configs = [
        member_config("hoeffding", "context"),
        member_config("hoeffding", "raw"),
        member_config("hoeffding", "context", leaf_prediction="nba"),
        member_config("hoeffding", "context", leaf_prediction="nb"),
        member_config("linear", "context"),
        member_config("linear", "context", optimizer="ftrl"),
        member_config("nb", "context"),
        member_config("nb", "raw"),
        member_config("knn", "context", window_size=25),
        member_config("knn", "context", window_size=100),
        member_config("amf", "context", n_estimators=3),
        member_config("amf", "context", n_estimators=5),
        member_config("arf", "context", n_models=3),
        member_config("arf", "context", n_models=5),
    ]
    streams = {name: _events(name, args.events) for name in ("agrawal", "elec2")}
    costs: dict[str, list[float]] = {c.name: [] for c in configs}
    for raw, context, labels in streams.values():
        for config in configs:
            model = build_member(config, seed=0)
            inputs = context if config.inputs == "context" else raw
            t0 = time.process_time()
            for x, y in zip(inputs, labels, strict=True):
                model.predict_proba_one(x)
                model.learn_one(x, y)
            costs[config.name].append(1e6 * (time.process_time() - t0) / len(labels))
    unit = sum(costs[configs[0].name]) / len(streams)
    print(f"{'member':72s} " + " ".join(f"{n:>9s}" for n in streams) + "  relative   table")
    for config in configs:
        us = costs[config.name]
        table = config.cost(KINDS)
        print(
            f"{config.name:72s} "
            + " ".join(f"{u:7.0f}us" for u in us)
            + f"  {sum(us) / len(us) / unit:8.2f}  {table:6.2f}"
        )


if __name__ == "__main__":
    main()
