"""A fit with no label column: "sort these tickets into billing, bug and feature request".

When the sentence names the classes (:func:`lamarck.text.named_classes`), no ``--target`` is given and no
column of the table holds those classes as values, the table has no labels to learn from: the model is a
zero-shot classifier of its free-text column (the longest text on average), each class the embedding of
its name. It is registered and served as every champion is (a :class:`~lamarck.search.LamarckModel` of
one ``zero_shot`` member), with no training reference (there are no labels to replay or compare with),
and the loop improves it from feedback unchanged: the evolver's warm start of a ``zero_shot`` member is a
few-shot fit on the labels that came back, promoted only when it wins the gate.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lamarck._fit._types import FitOptions, FitResult
from lamarck.errors import DataError

if TYPE_CHECKING:
    from lamarck.plan import TaskSpec
    from lamarck.project import Project

__all__ = ["text_column", "zero_shot_fit", "zero_shot_spec"]

#: rows the fit answers to show what the classifier makes of the table (the class shares in the notes)
PREVIEW_ROWS = 200


def zero_shot_spec(
    frame: pd.DataFrame, sentence: str, overrides: dict[str, Any], default_budget_s: float
) -> tuple[TaskSpec | None, str | None]:
    """What classes named in ``sentence`` say about ``frame``: ``(the zero-shot plan, None)`` when no column
    holds them; ``(None, column)`` when one column holds half of them or more as values (it is the label
    column: the usual supervised fit, with that target); ``(None, None)`` when the sentence names no
    classes or a ``target`` is given."""
    from lamarck.text import named_classes

    if overrides.get("target") is not None or not sentence:
        return None, None
    classes = named_classes(sentence)
    if classes is None:
        return None, None
    wanted = {c.lower() for c in classes}
    holding = []
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object or isinstance(col.dtype, pd.StringDtype | pd.CategoricalDtype):
            values = {str(v).strip().lower() for v in col.dropna().unique()[:1000]}
            if len(wanted & values) >= max(2, (len(wanted) + 1) // 2):
                holding.append((len(wanted & values), str(name)))
    if holding:
        return None, max(holding, key=lambda h: h[0])[1]
    return _spec(frame, classes, text_column(frame, classes), sentence, overrides, default_budget_s), None


def zero_shot_fit(
    project: Project, frame: pd.DataFrame, spec: TaskSpec, options: FitOptions, t_start: float
) -> FitResult:
    """Register a zero-shot classifier of ``frame``'s text column (the classes of ``spec``) as the champion."""
    from lamarck.data import fingerprint
    from lamarck.search import LEARNERS, FitContext, LamarckModel, Member
    from lamarck.text import NEEDS_TEXT, TextColumn, available

    classes = list(spec.zero_shot_classes or ())
    if not available():
        raise DataError(
            f"the sentence names the classes {classes} and the table has no column holding them, so this "
            f"is a zero-shot fit, and {NEEDS_TEXT}"
        )
    # the plan's choice (the one column it did not exclude), or the longest text (a spec written by hand)
    kept = [str(c) for c in frame.columns if str(c) not in set(spec.exclude_columns) and c != spec.target]
    column = kept[0] if len(kept) == 1 else text_column(frame, classes)
    options.stage(f"zero-shot: classifying {column!r} into {', '.join(classes)}")
    params = {"classes": classes, "column": column, "temperature": 0.05, "prior": 2.0}
    task = spec.task
    ctx = FitContext(
        task=task,
        n_classes=len(classes),
        seed=project.settings.seed if options.seed is None else options.seed,
    )
    fold = LEARNERS["zero_shot"].fit(params, frame.iloc[:0], np.zeros(0), ctx)
    model = LamarckModel(
        task=task,
        target=spec.target,
        metric=spec.metric,
        input_schema={column: str(frame[column].dtype)},
        processor=TextColumn(column),
        members=[Member("zero_shot", params, [fold], 1.0, trial=0, score=float("nan"))],
        classes_=np.asarray(classes, dtype=object),
        feature_names=[column],
    )
    preview = frame.sample(n=min(len(frame), PREVIEW_ROWS), random_state=0) if len(frame) else frame
    shares = (
        pd.Series(model.predict(preview[[column]])).value_counts(normalize=True) if len(preview) else None
    )
    notes = [
        f"zero-shot: no column holds the classes {classes}, so there are no labels to learn from; "
        f"{column!r} (the longest text) is classified by its similarity to each class name "
        "(all-MiniLM-L6-v2 embeddings); labels sent as feedback teach it (few-shot) through the loop",
    ]
    if shares is not None:
        notes.append(
            f"on {len(preview)} row(s) of the table it answers "
            + ", ".join(f"{c} {shares.get(c, 0.0):.0%}" for c in classes)
        )
    version = None
    if options.register:
        options.stage("registering the champion")
        previous = project.registry.alias_version("champion")
        dataset = options.dataset_name or "DataFrame"
        info = project.registry.register(
            model,
            params={
                "learner": model.describe(),
                "seed": ctx.seed,
                "column": column,
                "classes": ", ".join(classes),
            },
            metrics={},
            spec=spec.model_dump(mode="json"),
            fingerprint=fingerprint(frame[[column]]),
            lineage={"parent": previous, "reason": "fit (zero-shot)", "data": dataset, "rows": len(frame)},
            tags={"task": task, "target": spec.target, "metric": spec.metric, "zero_shot": "true"},
            input_example=frame[[column]].head(5),
        )
        version = str(info.version)
        model.version = version
        project.ledger.move(
            "promote",
            version,
            reason="new fit (zero-shot)",
            figures={"origin": "fit", "feedback_cursor": project.store.max_feedback_id(), "zero_shot": True},
        )
    return FitResult(
        spec=spec,
        leaderboard=[
            {
                "rank": 0,
                "learner": "zero_shot",
                "score": float("nan"),
                "fit_seconds": None,
                "source": "sentence",
                "status": "ok",
                "params": {"column": column, "classes": ", ".join(classes)},
            }
        ],
        champion_version=version,
        score=float("nan"),
        metric=spec.metric,
        scorecard={"zero_shot": True, "note": "no labels: the score is measured as feedback arrives"},
        validation="none: no labels (zero-shot)",
        report_path=None,
        quality=[],
        quarantined_rows=0,
        quarantine_path=None,
        excluded={c: "zero-shot: only the text column is read" for c in frame.columns if c != column},
        seconds=time.monotonic() - t_start,
        n_trials=0,
        notes=notes,
        model=model,
    )


def text_column(frame: pd.DataFrame, classes: list[str]) -> str:
    """The column of free text: of the text columns, the longest on average (at least 10 characters)."""
    best, best_len = None, 0.0
    for name in frame.columns:
        col = frame[name]
        if not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
            continue
        present = col.dropna().astype(str).head(2000)
        mean = float(present.str.len().mean()) if len(present) else 0.0
        if mean > best_len:
            best, best_len = str(name), mean
    if best is None or best_len < 10:
        raise DataError(
            f"zero-shot classification into {classes} needs a column of free text (at least 10 characters "
            f"on average); the columns are {[str(c) for c in frame.columns][:10]}"
            + (
                f", the longest text averages {best_len:.0f} characters ({best!r})"
                if best
                else ", none is text"
            )
            + ". Fix: add the text to classify, or a column of labels and name it with --target."
        )
    return best


def _spec(
    frame: pd.DataFrame,
    classes: list[str],
    column: str,
    sentence: str,
    overrides: dict[str, Any],
    default_budget_s: float,
) -> TaskSpec:
    from lamarck.plan import Reason, TaskSpec, parse_budget

    target = "label"
    while target in frame.columns:
        target = f"_{target}"
    said = parse_budget(sentence)
    budget = overrides.get("time_budget_s") or (said[0] if said else default_budget_s)
    listed = ", ".join(repr(c) for c in classes)
    return TaskSpec(
        target=target,
        task="binary" if len(classes) == 2 else "multiclass",
        metric="accuracy",
        time_budget_s=float(budget),
        exclude_columns=[str(c) for c in frame.columns if c != column],
        positive_class=classes[-1] if len(classes) == 2 else None,
        zero_shot_classes=classes,
        sentence=sentence,
        reasons={
            "target": Reason(
                source="sentence",
                text=f"zero-shot: the sentence names the classes {listed} and no column holds them; "
                f"{column!r} (the longest text) is classified",
            ),
            "task": Reason(source="sentence", text=f"{len(classes)} classes named"),
            "metric": Reason(source="default", text="accuracy: what feedback measures a zero-shot model by"),
            "time_budget_s": Reason(source="default", text="a zero-shot fit searches nothing"),
            "exclude_columns": Reason(source="default", text=f"zero-shot reads {column!r} only"),
        },
        planner="rules",
        notes=[f"zero-shot: no labels; {column!r} is classified into {listed} by meaning"],
    )
