"""The same stream learner's CPU per event, alone and with other work between events (issue 13: why the
online layer costs more served with immediate labels than in an offline replay).

Served with immediate labels, each event's answer and each label's learning is one request, and between two
of them the server parses JSON, builds a frame, runs the champion and writes the store. This replays a
drifting stream through a :class:`lamarck.stream.StreamLearner` (answer, then learn, per event), timing
only the learner with the thread's CPU clock, and runs other work between the calls: nothing, a pass over an
8 MB array (``memory``), or the pandas work of a request (``pandas``: a 200-row frame to records and a
one-row frame). The learner does the same work in each mode (same answers: the script checks them).

    .venv/bin/python bench/stream_interleaved.py [--stream agrawal] [--events 14000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from lamarck.bench import DRIFT_CASES, DRIFT_TARGET
from lamarck.stream import StreamLearner


def replay(name: str, events: int, mode: str) -> tuple[float, list[object]]:
    frame = DRIFT_CASES[name]().frame.iloc[:events]
    rows = frame.drop(columns=[DRIFT_TARGET]).to_dict("records")
    labels = frame[DRIFT_TARGET].astype(str).tolist()
    learner = StreamLearner(seed=0)
    junk = np.zeros(1_000_000)  # 8 MB
    head = frame.iloc[:200]

    def between() -> None:
        if mode == "memory":
            junk[:] += 1.0
        elif mode == "pandas":
            head.to_dict("records")
            pd.DataFrame([rows[0]])

    cpu, answers = 0.0, []
    for x, y in zip(rows, labels, strict=True):
        between()
        t = time.thread_time()
        answer, pending = learner.predict_pending(x)
        cpu += time.thread_time() - t
        answers.append(answer)
        between()
        t = time.thread_time()
        learner.learn_pending(pending, y)
        cpu += time.thread_time() - t
    return cpu, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", default="agrawal", choices=sorted(DRIFT_CASES))
    parser.add_argument("--events", type=int, default=14_000)
    args = parser.parse_args()
    base, answers = replay(args.stream, args.events, "none")
    print(f"{args.stream}, {args.events:,} events: the learner's CPU seconds (answer + learn)")
    print(f"{'between events':<16}{'CPU s':>8}{'x alone':>9}")
    print(f"{'nothing':<16}{base:>8.2f}{1.0:>9.2f}")
    for mode in ("memory", "pandas"):
        cpu, same = replay(args.stream, args.events, mode)
        assert same == answers, "the learner answered differently"
        print(f"{mode:<16}{cpu:>8.2f}{cpu / base:>9.2f}")


if __name__ == "__main__":
    main()
