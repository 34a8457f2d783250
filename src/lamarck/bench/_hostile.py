"""Storage under a hostile mix (``lamarck bench --part hostile``): what the event store keeps when the server
gets a bounded mix of valid and hostile requests (issue 20).

The mix, drawn with a seed: valid predicts (1 to 5 rows), rows with ``NaN`` (a missing value: accepted),
rows without a column the model needs (that row quarantined), ``Infinity``, too many rows, oversized
strings, column names and bodies, deep nesting, broken JSON; valid labels for logged predictions and
labelled rows, labels for unknown prediction ids, labels outside the classes, ``null`` labels, the same
prediction labelled twice in one request and ``NaN`` weights. Each request kind says what the store may
keep: accepted rows (predictions, feedback) and one quarantine row per refused row or label, nothing for
a request refused at the door. :func:`run_mix` counts what each table should have gained; the part (and
``tests/bench/test_hostile_mix.py``) compares that with the store, then runs evolution passes, which
must quarantine nothing again.

    >>> kinds = [k.name for k in KINDS]
    >>> len(kinds) == len(set(kinds)) and "predict_ok" in kinds and "feedback_duplicate" in kinds
    True
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "LIMITS", "Kind", "MixResult", "db_bytes", "hostile_project", "run", "run_mix"]

#: the server's limits during the mix (small, so oversized requests stay cheap to make)
LIMITS: dict[str, int] = {
    "max_rows_per_request": 50,
    "max_value_bytes": 1000,
    "max_column_name_bytes": 64,
    "max_depth": 8,
    "max_request_bytes": 64 * 1024,
}


@dataclass
class _State:
    """What the mix knows while it runs: a row the model accepts, the classes, unlabelled prediction ids."""

    rng: random.Random
    fresh_ids: deque[str] = field(default_factory=deque)

    def row(self) -> dict[str, Any]:
        return {"a": round(self.rng.gauss(0, 1), 4), "b": self.rng.choice("uvw")}

    def fresh_id(self) -> str | None:
        return self.fresh_ids.popleft() if self.fresh_ids else None


@dataclass(frozen=True)
class Request:
    """One request and what it may leave in the store (rows per table) when it gets ``status``."""

    path: str
    body: bytes
    status: int
    predictions: int = 0
    feedback: int = 0
    quarantine: int = 0


@dataclass(frozen=True)
class Kind:
    """A kind of request in the mix, its weight, and how to make one (``None``: not possible yet)."""

    name: str
    weight: int
    make: Callable[[_State], Request | None]


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _predict(rows: list[dict[str, Any]], status: int = 200, **stored: int) -> Request:
    return Request("/v1/predict", _json({"rows": rows}), status, **stored)


def _items(items: list[dict[str, Any]], status: int, **stored: int) -> Request:
    return Request("/v1/feedback", _json({"items": items}), status, **stored)


def _predict_ok(s: _State) -> Request:
    n = s.rng.randint(1, 5)
    return _predict([s.row() for _ in range(n)], predictions=n)


def _label_ok(s: _State) -> Request | None:
    pid = s.fresh_id()
    return (
        None
        if pid is None
        else _items([{"prediction_id": pid, "label": s.rng.choice(["yes", "no"])}], 200, feedback=1)
    )


def _label_duplicate(s: _State) -> Request | None:
    pid = s.fresh_id()
    if pid is None:
        return None
    items = [{"prediction_id": pid, "label": "yes"}, {"prediction_id": pid, "label": "no"}]
    return _items(items, 200, feedback=1, quarantine=1)  # the first label kept, the second quarantined


def _label_outside(s: _State) -> Request | None:
    pid = s.fresh_id()
    return None if pid is None else _items([{"prediction_id": pid, "label": "maybe"}], 422, quarantine=1)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


KINDS: tuple[Kind, ...] = (
    Kind("predict_ok", 5, _predict_ok),
    Kind(
        "predict_nan",
        1,
        lambda s: Request("/v1/predict", b'{"rows": [{"a": NaN, "b": "u"}]}', 200, predictions=1),
    ),
    Kind("predict_missing_column", 1, lambda s: _predict([s.row(), {"b": "u"}], predictions=1, quarantine=1)),
    Kind(
        "predict_infinity", 1, lambda s: Request("/v1/predict", b'{"rows": [{"a": Infinity, "b": "u"}]}', 422)
    ),
    Kind("predict_too_many_rows", 1, lambda s: _predict([s.row() for _ in range(51)], 413)),
    Kind("predict_long_value", 1, lambda s: _predict([{"a": 1.0, "b": "x" * 1001}], 413)),
    Kind("predict_long_column", 1, lambda s: _predict([{**s.row(), "c" * 65: 1}], 413)),
    Kind("predict_deep", 1, lambda s: _predict([{"a": 1.0, "b": _nested(200)}], 422)),
    # 40 rows (under the row limit) of values under the value limit, but over 64 KiB in all
    Kind(
        "predict_huge_body",
        1,
        lambda s: _predict([{"a": 1.0, "b": "u", "p": "x" * 999, "q": "y" * 999}] * 40, 413),
    ),
    Kind("predict_broken_json", 1, lambda s: Request("/v1/predict", b'{"rows": [{"a": 1,', 422)),
    Kind("feedback_ok", 2, _label_ok),
    Kind(
        "feedback_rows",
        1,
        lambda s: Request(
            "/v1/feedback",
            _json({"rows": [{**s.row(), "y": "yes"}, {**s.row(), "y": "no"}], "label_column": "y"}),
            200,
            feedback=2,
        ),
    ),
    Kind(
        "feedback_unknown_id",
        1,
        lambda s: _items([{"prediction_id": f"nope-{s.rng.random()}", "label": "yes"}], 422, quarantine=1),
    ),
    Kind("feedback_outside_classes", 1, _label_outside),
    Kind("feedback_duplicate", 1, _label_duplicate),
    Kind(
        "feedback_null_label", 1, lambda s: _items([{"prediction_id": "x", "label": None}], 422, quarantine=1)
    ),
    Kind(
        "feedback_nan_weight",
        1,
        lambda s: Request(
            "/v1/feedback", b'{"items": [{"prediction_id": "x", "label": "yes", "weight": NaN}]}', 422
        ),
    ),
)


@dataclass
class MixResult:
    """What a mix sent and what the store should have gained."""

    requests: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)  # rows per table
    unexpected: list[str] = field(default_factory=list)  # "kind: status (expected ...): body"
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        """Rows the server accepted (predictions and labels)."""
        return self.expected["predictions"] + self.expected["feedback"]


def run_mix(client: Any, n: int, *, seed: int = 0) -> MixResult:
    """Send ``n`` requests of the mix through ``client`` (an ``httpx``-like client of the app; a
    ``TestClient`` with ``raise_server_exceptions=False``) and count what the store should keep."""
    state = _State(random.Random(seed))
    weights = [k.weight for k in KINDS]
    result = MixResult()
    t0 = time.perf_counter()
    for _ in range(n):
        kind = state.rng.choices(KINDS, weights)[0]
        request = kind.make(state)
        if request is None:  # no unlabelled prediction yet
            kind = KINDS[0]
            request = kind.make(state)
            assert request is not None
        r = client.post(request.path, content=request.body, headers={"content-type": "application/json"})
        result.requests[kind.name] += 1
        if r.status_code != request.status:
            result.unexpected.append(
                f"{kind.name}: {r.status_code} (expected {request.status}): {r.text[:300]}"
            )
            continue
        result.expected.update(
            {
                "predictions": request.predictions,
                "feedback": request.feedback,
                "quarantine": request.quarantine,
            }
        )
        if kind.name == "predict_ok":
            state.fresh_ids.extend(r.json()["prediction_ids"])
    result.seconds = time.perf_counter() - t0
    return result


def hostile_project(folder: Path, *, seed: int = 0) -> Any:
    """A project in ``folder`` with the mix's limits and a champion fitted on a small table of ``a``
    (numbers), ``b`` (``u``/``v``/``w``) and ``y`` (``yes``/``no``)."""
    import numpy as np
    import pandas as pd

    from lamarck.project import Project
    from lamarck.settings import Settings

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["u", "v", "w"], 200)})
    frame["y"] = np.where(frame["a"] + (frame["b"] == "u") > 0.3, "yes", "no")
    settings = Settings.model_validate({"project_dir": folder, **LIMITS})
    project = Project(folder, settings=settings)
    project.fit(frame, "predict y, in 2 seconds", learners=["linear"], report=False, seed=seed)
    return project


def db_bytes(project: Any) -> int:
    """The size of the project's SQLite event store on disk, after its write-ahead log is checkpointed
    into it (so the figure counts stored rows, not log pages waiting to be copied)."""
    import sqlalchemy as sa

    with project.store.engine.connect() as conn:
        conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    db = Path(project.path) / "events.db"
    return sum(p.stat().st_size for p in (db, db.with_name("events.db-wal")) if p.exists())


def run(args: Any, console: Any) -> None:
    """``lamarck bench --part hostile``: 10,000 requests of the mix (``--cases N`` sends N) against a fresh
    project in a temporary folder, in five segments; prints and writes ``results.md`` into ``args.output``:
    requests per kind, the rows each table gained against the rows accepted, and the store's size after
    each segment with its bytes per accepted row (linear growth: the same figure in every segment)."""
    import tempfile

    from fastapi.testclient import TestClient

    from lamarck.evolve import EvolutionPolicy
    from lamarck.serve import create_app

    out = Path(args.output)
    if out == Path("bench/results/batch"):
        out = Path("bench/results/hostile")
    n = int(args.cases) if args.cases and args.cases.isdigit() else 10_000
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        project = hostile_project(Path(folder) / "project", seed=args.seed)
        # passes that never train (the mix checks storage, not learning)
        policy = EvolutionPolicy(min_new_labels=10**9, fresh_search=False, seed=args.seed)
        client = TestClient(create_app(project, policy=policy), raise_server_exceptions=False)
        before, size_before = project.store.counts(), db_bytes(project)
        total = MixResult()
        segments: list[tuple[int, int, int, float]] = []
        for i in range(5):
            part = run_mix(client, n // 5, seed=args.seed * 100 + i)
            total.requests.update(part.requests)
            total.expected.update(part.expected)
            total.unexpected += part.unexpected
            total.seconds += part.seconds
            size = db_bytes(project)
            previous = segments[-1][2] if segments else size_before
            segments.append(
                (
                    sum(total.requests.values()),
                    total.accepted,
                    size,
                    (size - previous) / max(part.accepted, 1),
                )
            )
            console.print(
                f"{segments[-1][0]:,} requests: {size / 1e6:.2f} MB, {segments[-1][3]:,.0f} bytes per accepted row"
            )
        after_mix = project.store.counts()
        passes = [client.post("/v1/evolve").status_code for _ in range(3)]
        after = project.store.counts()
    sent = sum(total.requests.values())
    gained = {t: after_mix[t] - before[t] for t in before}
    lines = [
        f"# Storage under a hostile mix: {sent:,} requests (seed {args.seed})",
        "",
        "`lamarck bench --part hostile` (`src/lamarck/bench/_hostile.py`): the server in process, limits "
        f"{LIMITS}.",
        "",
        f"{total.seconds:.1f} s ({sent / max(total.seconds, 1e-9):,.0f} requests/s; every accepted write is "
        f"committed with SQLite synchronous=FULL); {len(total.unexpected)} unexpected answers.",
        "",
        "| request kind | sent |",
        "|---|---|",
        *[f"| {k.name} | {total.requests[k.name]:,} |" for k in KINDS],
        "",
        "| table | rows gained | expected: accepted rows, one per quarantined row or label |",
        "|---|---|---|",
        *[
            f"| {t} | {gained[t]:,} | {total.expected[t]:,} |"
            for t in ("predictions", "feedback", "quarantine")
        ],
        *[f"| {t} | {gained[t]:,} | 0 |" for t in ("decisions", "shadow")],
        "",
        f"3 evolution passes afterwards (HTTP {passes}): quarantine {after['quarantine'] - after_mix['quarantine']:+d} rows, "
        f"feedback {after['feedback'] - after_mix['feedback']:+d}, decisions {after['decisions'] - after_mix['decisions']:+d}.",
        "",
        "| requests so far | accepted rows so far | events.db (MB) | bytes per accepted row in the segment |",
        "|---|---|---|---|",
        f"| 0 | 0 | {size_before / 1e6:.2f} | |",
        *[f"| {r:,} | {a:,} | {b / 1e6:.2f} | {per:,.0f} |" for r, a, b, per in segments],
        "",
        f"{sum(gained.values()) / max(total.accepted, 1):.3f} stored rows per accepted row "
        f"({sum(gained.values()) / max(sent, 1):.3f} per request); "
        f"{(segments[-1][2] - size_before) / max(total.accepted, 1):,.0f} bytes per accepted row over the run.",
    ]
    if total.unexpected:
        lines += ["", "Unexpected answers (first 10):", *[f"- {u}" for u in total.unexpected[:10]]]
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    console.print(text)
