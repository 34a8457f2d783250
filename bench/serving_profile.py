"""Where a single-row predict's time goes, before and after the fast path (in process, no HTTP).

    .venv/bin/python bench/serving_profile.py [PROJECT_DIR] [--output bench/results/serving/profile.md]

Without PROJECT_DIR (or with an empty folder) it fits the serving bench's case (hmda_mortgage_denial,
15 s, seed 0) as ``lamarck bench --part serving`` does, and keeps 200 hold-out rows beside it
(``rows.json``). For the champion it times one row (``lamarck.search.timings``, median of 200 calls,
milliseconds):

- **before**: the path the server took before the compiled kernels: a DataFrame from the JSON row, the
  processor's frame, every member's fold models through their own interface (kernels switched off);
- **after**: ``LamarckModel.outputs``, the server's path: the row encoded straight into the matrix, each
  member through its kernel.

The server's own costs around the model (HTTP, auth, the online layer, durable logging) are in
``lamarck bench --part serving`` (server CPU per request), not here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def _project(path: str | None) -> tuple[Any, list[dict[str, Any]]]:
    from lamarck.bench import serving_case
    from lamarck.project import Project

    folder = Path(path) if path else Path(tempfile.mkdtemp(prefix="lamarck-profile-"))
    saved = folder / "rows.json"
    if saved.exists():
        return Project(folder), json.loads(saved.read_text())
    project, rows = serving_case(folder)
    saved.write_text(json.dumps(rows))
    return project, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "project", nargs="?", help="a project fitted by this script earlier, or a folder to fit into"
    )
    parser.add_argument("--output", type=Path, help="write the table here (markdown)")
    args = parser.parse_args(argv)

    import numpy as np

    from lamarck.search import timings

    project, rows = _project(args.project)
    model = project.load_model()
    one = rows[:1]
    before = timings(model, one, compiled=False)
    after = timings(model, one, compiled=True)
    together = model.outputs(rows[:50])
    apart = np.vstack([model.outputs([r]) for r in rows[:50]])
    lines = [
        f"Champion: {model.describe()}; one row of the hold-out, median of 200 calls, milliseconds.",
        "",
        "| step | before | after (rows path) |",
        "|---|---:|---:|",
    ]
    for key in dict.fromkeys([*before, *after]):
        if key.startswith("whole model"):
            continue
        b, a = before.get(key), after.get(key)
        lines.append(f"| {key} | {'' if b is None else f'{b:.3f}'} | {'' if a is None else f'{a:.3f}'} |")
    lines += [
        f"| **whole model, one row** | **{before['whole model']:.3f}** | **{after['whole model']:.3f}** |",
        "",
        "The frame path with the kernels (what MLflow's pyfunc of this model runs): "
        f"{after['whole model through a DataFrame']:.3f} ms.",
        f"50 rows at once give what they give one by one (1e-9): {bool(np.allclose(together, apart, atol=1e-9))}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
