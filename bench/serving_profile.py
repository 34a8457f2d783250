"""Where a single-row predict's time goes, before and after the fast path (in process, no HTTP).

    .venv/bin/python bench/serving_profile.py [PROJECT_DIR] [--output bench/results/serving/profile.md]

Without PROJECT_DIR it fits the serving bench's case (hmda_mortgage_denial, 15 s, seed 0) into a
temporary project, as ``lamarck bench --part serving`` does. For the champion it times, per one-row
request (median of repeated calls, milliseconds):

- **before**: the path the server took before the compiled kernels — a DataFrame from the JSON row, the
  processor's frame, every fold model through its own ``predict_proba`` (kernels switched off);
- **frame path**: the same frame, fold models through their kernels (what MLflow's pyfunc now runs);
- **rows path**: ``LamarckModel.outputs``: the row encoded straight into the matrix, kernels (the server's
  path); with each member's share.

The server's own costs around the model (HTTP, auth, the online layer, durable logging) are in
``lamarck bench --part serving`` (server CPU per request), not here.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _ms(f: Callable[[], Any], repeats: int = 200) -> float:
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _project(path: str | None) -> tuple[Any, list[dict[str, Any]]]:
    from lamarck.bench._paths import public_suite
    from lamarck.bench._serving import DEFAULT_CASE, FIT_BUDGET_S, _fit, _json_rows
    from lamarck.bench._suite import load_suite
    from lamarck.project import Project

    if path is not None and (Path(path) / "rows.pkl").exists():
        return Project(path), pickle.loads((Path(path) / "rows.pkl").read_bytes())
    case = {c.name: c for c in load_suite(public_suite())}[DEFAULT_CASE]
    folder = Path(path) if path else Path(tempfile.mkdtemp(prefix="lamarck-profile-"))
    project, _, Xte = _fit(case, folder, FIT_BUDGET_S, 0)
    rows = _json_rows(Xte.head(200))
    (folder / "rows.pkl").write_bytes(pickle.dumps(rows))
    return project, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "project", nargs="?", help="a project with a champion (and rows.pkl), or a folder to fit into"
    )
    parser.add_argument("--output", type=Path, help="write the table here (markdown)")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd

    from lamarck.search import _compiled
    from lamarck.search._model import _fast
    from lamarck.search._predict import SharedInputs, fold_matrices

    project, rows = _project(args.project)
    model = project.load_model()
    one = rows[:1]
    frame = pd.DataFrame.from_records(one)
    n_classes = 0 if model.classes_ is None else len(model.classes_)

    def frame_path() -> Any:
        return (
            model.predict_proba(pd.DataFrame.from_records(one))
            if model.task != "regression"
            else model.predict(pd.DataFrame.from_records(one))
        )

    lines = [f"Champion: {model.describe()}; one row of the hold-out, median of 200 calls, milliseconds.", ""]
    # before: no kernels (a build that finds none), no layout (the frame path's conversions as they were)
    real_build = _compiled._build
    _compiled._KERNELS.clear()
    _compiled._build = lambda *a, **k: None  # type: ignore[assignment]
    try:
        before = {
            "DataFrame from the JSON row": _ms(lambda: pd.DataFrame.from_records(one)),
            "processor's frame": _ms(lambda: model._features(frame)),
        }
        features = model._features(frame)
        for m in model.members:
            before[f"{m.learner} x{len(m.models)}"] = _ms(
                lambda m=m: fold_matrices(m.models, SharedInputs(features), model.task, n_classes)
            )
        before_total = _ms(frame_path, 50)
    finally:
        _compiled._build = real_build  # type: ignore[assignment]
        _compiled._KERNELS.clear()
    fast = _fast(model.processor)
    after: dict[str, float] = {}
    if fast is not None:
        encoder, layout = fast
        after["rows encoded into the matrix"] = _ms(lambda: encoder.encode(one))
        matrix = encoder.encode(one)
        for m in model.members:
            after[f"{m.learner} x{len(m.models)}"] = _ms(
                lambda m=m: fold_matrices(
                    m.models, SharedInputs(matrix=matrix, layout=layout), model.task, n_classes
                )
            )
    frame_total = _ms(frame_path)
    rows_total = _ms(lambda: model.outputs(one))
    same = np.allclose(
        model.outputs(rows[:50]), np.vstack([model.outputs([r]) for r in rows[:50]]), atol=1e-9
    )

    lines += ["| step | before | after (rows path) |", "|---|---:|---:|"]
    keys = list(dict.fromkeys([*before, *after]))
    for key in keys:
        b, a = before.get(key), after.get(key)
        lines.append(f"| {key} | {'' if b is None else f'{b:.3f}'} | {'' if a is None else f'{a:.3f}'} |")
    lines += [
        f"| **whole model, one row** | **{before_total:.3f}** | **{rows_total:.3f}** |",
        "",
        f"The frame path with the kernels (MLflow's pyfunc of the same model): {frame_total:.3f} ms.",
        f"50 rows at once give what they give one by one (1e-9): {bool(same)}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
