"""``lamarck bench --part kafka``: elec2 learned from a Kafka topic against the same stream from its file,
in one run on one machine: the same learner (seed), the same order (one partition), so the prequential
accuracy should match, and the throughput shows what the consumer costs.

Writes ``results.json`` and ``README.md`` into ``--output`` (default ``bench/results/kafka``).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run"]


def _stream(project: Any, data: str, **kwargs: Any) -> dict[str, Any]:
    from lamarck.stream import StreamLearner, stream_project

    t0 = time.perf_counter()
    result = stream_project(
        project, data, "predict class", learner=StreamLearner(seed=0), register=False, **kwargs
    )
    return {
        **result.to_dict(),
        "wall_s": round(time.perf_counter() - t0, 1),
        "events_per_s": round(result.events / max(result.seconds, 1e-9), 1),
    }


def run(args: Any, console: Any) -> None:
    import pandas as pd

    from lamarck import Project
    from lamarck.bench import create_topics, elec2_csv, kafka_broker, produce_rows

    out = Path(args.output)
    if out == Path("bench/results/batch"):
        out = Path("bench/results/kafka")
    out.mkdir(parents=True, exist_ok=True)
    csv_path = elec2_csv()
    frame = pd.read_csv(csv_path)
    with tempfile.TemporaryDirectory() as tmp:
        console.print(f"elec2 from its file ({len(frame):,} events)")
        from_file = _stream(Project(Path(tmp) / "file"), str(csv_path))
        console.print(f"  accuracy {from_file['accuracy']:.4f}, {from_file['events_per_s']:,.0f} events/s")
        with kafka_broker() as brokers:
            create_topics(brokers, {"elec2": 1, "elec2-predicted": 1})
            t0 = time.perf_counter()
            records: list[dict[str, Any]] = [
                {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
            ]
            produced = produce_rows(brokers, "elec2", records, keys=map(str, range(len(frame))))
            produce_s = time.perf_counter() - t0
            console.print(f"elec2 from Kafka (produced {produced:,} events in {produce_s:.1f}s)")
            url = f"kafka://{brokers}/elec2?group.id=bench&predictions=elec2-predicted"
            from_kafka = _stream(Project(Path(tmp) / "kafka"), url, idle_s=5.0)
        console.print(f"  accuracy {from_kafka['accuracy']:.4f}, {from_kafka['events_per_s']:,.0f} events/s")
        # the file again, after: the first run of a process also pays for warming up (imports, caches)
        again = _stream(Project(Path(tmp) / "file-again"), str(csv_path))
        console.print(f"elec2 from its file again: {again['events_per_s']:,.0f} events/s")
    from_file["events_per_s"] = round((from_file["events_per_s"] + again["events_per_s"]) / 2, 1)
    from_file["seconds"] = round((from_file["seconds"] + again["seconds"]) / 2, 1)
    figures = {
        "events": len(frame),
        "file": {k: from_file[k] for k in ("events", "accuracy", "seconds", "events_per_s", "wall_s")},
        "kafka": {
            **{k: from_kafka[k] for k in ("events", "accuracy", "seconds", "events_per_s", "wall_s")},
            **{k: from_kafka["kafka"][k] for k in ("published", "lag")},
        },
        "accuracy_difference": round(abs(from_kafka["accuracy"] - from_file["accuracy"]), 6),
        "throughput_ratio": round(from_kafka["events_per_s"] / from_file["events_per_s"], 3),
    }
    (out / "results.json").write_text(json.dumps(figures, indent=1) + "\n")
    (out / "README.md").write_text(
        "# elec2 from Kafka against elec2 from its file\n\n"
        "`lamarck bench --part kafka`: the same stream learner (seed 0) on elec2, read from the CSV file and from "
        "a one-partition topic of a Tansu broker on 127.0.0.1 (with every prediction published to a second "
        "topic), in one run: file, Kafka, file again (the file's figures are the mean of its two runs). Seconds "
        "are the streaming time (planning on the head, the group join and the idle wait at the end left out).\n\n"
        "| source | events | prequential accuracy | seconds | events/s |\n|---|---|---|---|---|\n"
        f"| file | {from_file['events']:,} | {from_file['accuracy']:.4f} | {from_file['seconds']:.1f} | "
        f"{from_file['events_per_s']:,.0f} |\n"
        f"| Kafka | {from_kafka['events']:,} | {from_kafka['accuracy']:.4f} | {from_kafka['seconds']:.1f} | "
        f"{from_kafka['events_per_s']:,.0f} |\n\n"
        f"Accuracy difference {figures['accuracy_difference']:.4f} (bar: at most 0.002); throughput through the "
        f"broker {100 * figures['throughput_ratio']:.0f} % of the file's (bar: at least 80 %). "
        f"{from_kafka['kafka']['published']:,} predictions published.\n"
    )
    console.print(
        f"accuracy difference {figures['accuracy_difference']:.4f}, throughput ratio {figures['throughput_ratio']:.3f}; "
        f"written to {out}"
    )
