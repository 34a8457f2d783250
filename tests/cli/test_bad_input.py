"""The bad-input corpus of the command line (issue 20): every command fed missing, empty, binary and garbage
files, wrong sentences, unknown targets, absurd budgets, bad option values, bad feedback files, missing or
broken projects and hostile names.

Each case runs ``lamarck.cli.main`` in this process (the entry point itself, so a ``LamarckError`` is
printed as the user sees it) and asserts:

- the exit code: non-zero, or 0 for a documented success (labels partly quarantined, text in a numeric
  column read as missing, an unknown word in the sentence overridden by ``--metric``...);
- a clean error: nothing escapes ``main`` (an escaping exception is what a user would see as a traceback),
  no "Traceback" in the output, one message (one panel, or typer's one usage box) on stderr, short (no
  echo of a large input), naming the problem (``says``, compared on letters and digits only, since rich
  wraps lines);
- the project is not broken: after each case that touched the shared fitted project, ``status`` still
  shows its champion and ``predict`` still answers;
- nothing on disk (``empty``): a command that only reads a project, given one that does not exist, makes
  no folder and no file (the case runs in an empty working folder, where the default ``.lamarck`` lands).

The fitted project is shared by the module (one fit of about 5 s); every case takes well under a second
but the two that make a new MLflow registry (several seconds: its schema migrations), marked slow.
"""

from __future__ import annotations

import io
import json
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamarck.cli import main
from lamarck.project import Project


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` with ``{placeholders}`` (see :func:`files`), the words the message must
    hold, the exit code (None: any non-zero) and whether it runs against the shared fitted project."""

    id: str
    says: str
    argv: tuple[str, ...]
    code: int | None = None
    project: bool = False
    stdin: str | None = None
    slow: bool = False
    empty: bool = False


def C(
    name: str,
    says: str,
    *argv: str,
    code: int | None = None,
    stdin: str | None = None,
    slow: bool = False,
    empty: bool = False,
) -> Case:
    return Case(name, says, argv, code=code, project="{project}" in argv, stdin=stdin, slow=slow, empty=empty)


P = ("-p", "{project}")  # the shared fitted project
F = ("-p", "{fresh}")  # a project folder that does not exist yet

# fmt: off
CASES = [
    # ---------------------------------------------------------------- plan: files
    C("plan-missing-file", "does not exist", "plan", "{missing}", "predict y", *F),
    C("plan-empty-file", "is empty", "plan", "{empty}", "predict y", *F),
    C("plan-header-only", "header but no rows", "plan", "{header}", "predict y", *F),
    C("plan-binary-file", "not readable as text", "plan", "{binary}", "predict y", *F),
    C("plan-folder-as-data", "is a folder, not a file", "plan", "{folder}", "predict y", *F),
    C("plan-empty-path", "is a folder, not a file", "plan", "", "predict y", *F),
    C("plan-corrupt-parquet", "cannot read", "plan", "{parquet}", "predict y", *F),
    C("plan-corrupt-excel", "cannot read", "plan", "{xlsx}", "predict y", *F),
    C("plan-garbage-json-lines", "cannot read", "plan", "{jsonl}", "predict y", *F),
    C("plan-duplicate-columns", "duplicate column", "plan", "{dupes}", "predict y", *F),
    C("plan-one-class-target", "one value", "plan", "{oneclass}", "predict y", *F),
    C("plan-target-without-values", "no values", "plan", "{novalues}", "", "--target", "y", *F),
    C("plan-query-on-a-file", "applies to a database URL", "plan", "{train}", "predict y", "--query", "select 1", *F),
    C("predict-table-on-a-file", "applies to a database URL", "predict", "{new}", "--table", "t", *P),
    C("plan-db-url-without-table", "needs --query", "plan", "sqlite:///{dir}/x.db", "predict y", *F),
    C("plan-db-unknown-table", "no such table", "plan", "sqlite:///{dir}/x.db", "predict y", "--table", "t", *F),
    # ---------------------------------------------------------------- plan: sentences and flags
    C("plan-sentence-names-nothing", "Closest columns", "plan", "{train}", "predict the weather", *F),
    C("plan-empty-sentence", "cannot tell which column", "plan", "{train}", "", *F),
    C("plan-emoji-sentence", "cannot tell which column", "plan", "{train}", "🙂🙂🙂", *F),
    C("plan-100k-sentence", "100008 characters", "plan", "{train}", "predict " + "z" * 100_000, *F),
    C("plan-sentence-9999999-hours", "7 days", "plan", "{train}", "predict y in 9999999 hours", *F),
    C("plan-sentence-0-seconds", "positive", "plan", "{train}", "predict y in 0 seconds", *F),
    C("plan-sentence-wrong-metric", "does not fit", "plan", "{train}", "predict y, minimize rmse", *F),
    C("plan-unknown-target", "not in the data", "plan", "{train}", "predict y", "--target", "zz", *F),
    C("plan-target-with-newline", "not in the data", "plan", "{train}", "", "--target", "y\n", *F),
    C("plan-unknown-metric", "unknown metric", "plan", "{train}", "predict y", "--metric", "bogus", *F),
    C("plan-metric-wrong-task", "does not fit", "plan", "{train}", "predict y", "--metric", "rmse", *F),
    C("plan-time-0", "positive", "plan", "{train}", "predict y", "--time", "0", *F),
    C("plan-time-negative", "positive", "plan", "{train}", "predict y", "--time", "-3", *F),
    C("plan-time-nan", "positive", "plan", "{train}", "predict y", "--time", "nan", *F),
    C("plan-time-inf", "from 1 to 604800", "plan", "{train}", "predict y", "--time", "inf", *F),
    C("plan-time-1e12", "from 1 to 604800", "plan", "{train}", "predict y", "--time", "1e12", *F),
    C("plan-time-text", "Invalid value for '--time'", "plan", "{train}", "predict y", "--time", "abc", *F),
    C("plan-exclude-target", "also excluded", "plan", "{train}", "predict y", "--exclude", "y", *F),
    C("plan-exclude-unknown", "not in the data", "plan", "{train}", "predict y", "--exclude", "nosuch", *F),
    C("plan-task-banana", "unknown task 'banana'", "plan", "{train}", "predict y", "--task", "banana", *F),
    C("plan-regression-on-text", "needs a numeric target", "plan", "{train}", "predict y", "--task", "regression", *F),
    C("plan-unknown-option", "No such option", "plan", "{train}", "predict y", "--bogus", *F),
    C("plan-hostile-column-names", "match column", "plan", "{weird}", "predict y", *F, code=0),
    C("plan-makes-no-project", "usual positive label", "plan", "{train}", "predict y", *F, code=0, empty=True),
    # ---------------------------------------------------------------- plan: a metric the sentence asks for
    C("plan-sentence-metric-typo", "'AUCC', which is not a known metric (closest: roc_auc", "plan", "{train}", "predict y, optimize AUCC", *F),
    C("plan-sentence-banana-metric", "'banana score', which is not a known metric", "plan", "{train}", "predict y, optimise banana score", *F),
    C("plan-sentence-maximize-unknown", "'recall', which is not a known metric", "plan", "{train}", "predict y, maximize recall in 2 minutes", *F),
    C("plan-sentence-metric-colon-unknown", "'brier', which is not a known metric", "plan", "{train}", "predict y; metric: brier", *F),
    C("plan-sentence-rank-by-unknown", "closest: average_precision", "plan", "{train}", "predict y, rank by precision", *F),
    C("plan-target-flag-unknown-metric", "'AUCC', which is not a known metric", "plan", "{train}", "optimize AUCC", "--target", "y", *F),
    C("plan-metric-flag-overrides-unknown-word", "accuracy", "plan", "{train}", "predict y, optimize AUCC", "--metric", "accuracy", *F, code=0),
    C("plan-sentence-metric-by-its-name", "average_precision", "plan", "{train}", "predict y, optimize average_precision", *F, code=0),
    C("fit-sentence-unknown-metric", "'AUCC', which is not a known metric", "fit", "{train}", "predict y, optimize AUCC", *F),
    C("stream-sentence-unknown-metric", "'AUCC', which is not a known metric", "stream", "{train}", "predict y, optimize AUCC", *F),
    # ---------------------------------------------------------------- fit
    C("fit-task-banana", "binary, multiclass, regression", "fit", "{train}", "predict y", "--task", "banana", *F),
    C("fit-unknown-learner", "unknown learner", "fit", "{train}", "predict y", "--learners", "nosuch", *F),
    C("fit-unknown-sampler", "unknown sampler", "fit", "{train}", "predict y", "--sampler", "bogus", *F),
    C("fit-unknown-positive-class", "is not a value of", "fit", "{train}", "predict y", "--positive-class", "maybe", *F),
    C("fit-negative-seed", "Invalid value for '--seed'", "fit", "{train}", "predict y", "--seed", "-1", *F),
    C("fit-huge-seed", "Invalid value for '--seed'", "fit", "{train}", "predict y", "--seed", str(2**40), *F),
    C("fit-time-1e12", "from 1 to 604800", "fit", "{train}", "predict y", "--time", "1e12", *F),
    C("fit-project-is-a-file", "is not a folder", "fit", "{train}", "predict y", "-p", "{afile}"),
    C("fit-header-only-into-project", "header but no rows", "fit", "{header}", "predict y", *P),
    C("fit-no-target-into-project", "cannot tell which column", "fit", "{train}", "predict nothing", *P),
    # ---------------------------------------------------------------- predict
    C("predict-missing-project", "no project at", "predict", "{new}", *F, empty=True),
    C("predict-default-project-missing", "no project at '.lamarck'", "predict", "{new}", empty=True),
    C("predict-unknown-version", "does not exist", "predict", "{new}", "--model", "99", *P),
    C("predict-unknown-alias", "no model version or alias", "predict", "{new}", "--model", "nosuch", *P),
    C("predict-path-as-model", "no model version or alias", "predict", "{new}", "--model", "../../etc", *P),
    C("predict-missing-columns", "lacks 1 column", "predict", "{nocol}", *P),
    C("predict-empty-file", "is empty", "predict", "{empty}", *P),
    C("predict-binary-file", "not readable as text", "predict", "{binary}", *P),
    C("predict-header-only", "header but no rows", "predict", "{header}", *P),
    C("predict-text-in-numbers", "read as missing", "predict", "{types}", *P, code=0),
    C("predict-hostile-extra-columns", "ignored 4 column", "predict", "{extra}", *P, code=0),
    C("predict-output-missing-folder", "does not exist", "predict", "{new}", "-o", "{dir}/no/such/x.csv", *P),
    C("predict-output-is-a-folder", "is a folder, not a file", "predict", "{new}", "-o", "{folder}", *P),
    C("predict-output-unwritable", "cannot write --output", "predict", "{new}", "-o", "/proc/lamarck.csv", *P),
    C("predict-project-is-a-file", "is not a folder", "predict", "{new}", "-p", "{afile}"),
    C("predict-bad-settings-file", "not valid TOML", "predict", "{new}", "-p", "{badtoml}"),
    C("predict-bad-setting-value", "invalid setting", "predict", "{new}", "-p", "{badsetting}"),
    C("predict-unknown-setting-key", "nearest valid key: 'n_jobs'", "predict", "{new}", "-p", "{typosetting}"),
    C("predict-corrupt-registry", "cannot open the model registry", "predict", "{new}", "-p", "{badregistry}"),
    # ---------------------------------------------------------------- status, models, history
    C("status-missing-project", "no project at", "status", *F, empty=True),
    C("status-default-project-missing", "no project at '.lamarck'", "status", "--json", empty=True),
    C("status-unknown-setting-key", "unknown setting 'n_job'", "status", "-p", "{typosetting}"),
    C("status-unrelated-setting-key", "no setting has a similar name", "status", "-p", "{bananasetting}"),
    C("status-setting-outside-table", "outside its [lamarck] table", "status", "-p", "{outsidesetting}"),
    C("status-project-is-a-file", "is not a folder", "status", "-p", "{afile}"),
    C("status-corrupt-registry", "cannot open the model registry", "status", "-p", "{badregistry}"),
    C("models-project-is-a-file", "is not a folder", "models", "-p", "{afile}"),
    C("models-missing-project", "no project at", "models", *F, empty=True),
    C("models-json-missing-project", "no project at", "models", "--json", *F, empty=True),
    C("history-limit-0", "Invalid value for '--limit'", "history", "--limit", "0", *P),
    C("history-corrupt-store", "cannot open the event store", "history", "-p", "{badstore}"),
    C("history-missing-project", "no project at", "history", *F, empty=True),
    C("history-json-missing-project", "no project at", "history", "--json", *F, empty=True),
    # ---------------------------------------------------------------- evolve
    C("evolve-negative-min-new-labels", "out of range", "evolve", "--min-new-labels", "-5", *P),
    C("evolve-nan-max-forgetting", "out of range", "evolve", "--max-forgetting", "nan", *P),
    C("evolve-negative-fresh-budget", "fresh_search_budget_s", "evolve", "--fresh-search-budget", "-1", *P),
    C("evolve-huge-fresh-budget", "fresh_search_budget_s", "evolve", "--fresh-search-budget", "1e12", *P),
    C("evolve-text-min-new-labels", "Invalid value", "evolve", "--min-new-labels", "x", *P),
    C("evolve-missing-project", "no project at", "evolve", *F, empty=True),
    C("evolve-corrupt-store", "cannot open the event store", "evolve", "-p", "{badstore}"),
    C("evolve-project-is-a-file", "is not a folder", "evolve", "-p", "{afile}"),
    # ---------------------------------------------------------------- suggest-labels
    C("suggest-labels-0", "needs n >= 1", "suggest-labels", "0", *P),
    C("suggest-labels-bad-strategy", "strategy='bogus'", "suggest-labels", "5", "--strategy", "bogus", *P),
    C("suggest-labels-negative", "No such option: -5", "suggest-labels", "-5", *P),
    C("suggest-labels-output-missing-folder", "does not exist", "suggest-labels", "--output", "{dir}/no/x.csv", *P),
    C("suggest-labels-missing-project", "no project at", "suggest-labels", "3", *F, empty=True),
    # ---------------------------------------------------------------- feedback
    C("feedback-no-label-column", "a label must be present", "feedback", "{fb_rows}", "--label-column", "nosuch", *P),
    C("feedback-weight-negative", "finite number > 0", "feedback", "{fb_rows}", "--label-column", "y", "--weight", "-1", *P),
    C("feedback-weight-zero", "finite number > 0", "feedback", "{fb_rows}", "--label-column", "y", "--weight", "0", *P),
    C("feedback-weight-nan", "finite number > 0", "feedback", "{fb_rows}", "--label-column", "y", "--weight", "nan", *P),
    C("feedback-weight-inf", "finite number > 0", "feedback", "{fb_rows}", "--label-column", "y", "--weight", "inf", *P),
    C("feedback-weight-text", "Invalid value for '--weight'", "feedback", "{fb_rows}", "--label-column", "y", "--weight", "x", *P),
    C("feedback-empty-file", "is empty", "feedback", "{empty}", "--label-column", "y", *P),
    C("feedback-binary-file", "not readable as text", "feedback", "{binary}", "--label-column", "y", *P),
    C("feedback-unknown-ids", "is unknown: no logged prediction", "feedback", "{fb_unknown}", "--label-column", "label", "--id-column", "prediction_id", *P),
    C("feedback-id-column-missing", "a label must be present", "feedback", "{fb_unknown}", "--label-column", "label", "--id-column", "nosuch", *P),
    C("feedback-duplicate-ids", "none of the 3 feedback record", "feedback", "{fb_dupids}", "--label-column", "label", "--id-column", "prediction_id", *P),
    C("feedback-all-labels-missing", "none of the 2 feedback record", "feedback", "{fb_nolabel}", "--label-column", "y", *P),
    C("feedback-labels-outside-classes", "not one of the champion's classes", "feedback", "{fb_badlabels}", "--label-column", "y", *P, code=0),
    C("feedback-empty-label-column", "rows need label_column", "feedback", "{fb_rows}", "--label-column", "", *P),
    C("feedback-no-label-column-option", "Missing option '--label-column'", "feedback", "{fb_rows}", *P),
    C("feedback-project-is-a-file", "is not a folder", "feedback", "{fb_rows}", "--label-column", "y", "-p", "{afile}"),
    # ---------------------------------------------------------------- keys
    C("keys-unknown-role", "unknown role 'bogus'", "keys", "create", "--role", "bogus", *F),
    C("keys-name-with-tab", "at most 128 printable", "keys", "create", "--role", "admin", "--name", "a\tb", *F),
    C("keys-name-5000-chars", "at most 128 printable", "keys", "create", "--role", "admin", "--name", "n" * 5000, *F),
    C("keys-revoke-unknown-id", "no API key with id 999", "keys", "revoke", "999", *P),
    C("keys-revoke-text-id", "Invalid value", "keys", "revoke", "abc", *P),
    C("keys-project-is-a-file", "is not a folder", "keys", "create", "--role", "admin", "-p", "{afile}"),
    C("keys-corrupt-store", "cannot open the event store", "keys", "list", "-p", "{badstore}"),
    C("keys-list-missing-project", "no project at", "keys", "list", *F, empty=True),
    C("keys-revoke-missing-project", "no project at", "keys", "revoke", "1", *F, empty=True),
    C("keys-unknown-setting-key", "nearest valid key: 'seed'", "keys", "create", "--role", "admin", "-p", "{typosetting}"),
    # ---------------------------------------------------------------- stream
    C("stream-name-traversal", "is not allowed", "stream", "{train}", "predict y", "--name", "../../x", *F),
    C("stream-name-empty", "is not allowed", "stream", "{train}", "predict y", "--name", "", *F),
    C("stream-name-slash", "is not allowed", "stream", "{train}", "predict y", "--name", "a/b", *F),
    C("stream-combine-bogus", "not a combiner", "stream", "{train}", "predict y", "--combine", "bogus", *F),
    C("stream-population-0", "outside its allowed range", "stream", "{train}", "predict y", "--population", "0", *F),
    C("stream-label-delay-negative", "outside its allowed range", "stream", "{train}", "predict y", "--label-delay", "-1", *F),
    C("stream-replace-every-0", "outside its allowed range", "stream", "{train}", "predict y", "--replace-every", "0", *F),
    C("stream-missing-file", "does not exist", "stream", "{missing}", "predict y", *F),
    C("stream-empty-file", "no parsable event", "stream", "{empty}", "predict y", *F),
    C("stream-binary-file", "not UTF-8 text", "stream", "{binary}", "predict y", *F),
    C("stream-sentence-names-nothing", "cannot tell which column", "stream", "{train}", "predict nothing", *F),
    C("stream-task-banana", "unknown task 'banana'", "stream", "{train}", "predict y", "--task", "banana", *F),
    C("stream-metric-wrong-task", "does not fit", "stream", "{train}", "predict y", "--metric", "rmse", *F),
    C("stream-resume-without-checkpoint", "no checkpoint", "stream", "{train}", "predict y", "--resume", *F),
    C("stream-head-0", "Invalid value for '--head'", "stream", "{train}", "predict y", "--head", "0", *F),
    C("stream-negative-seed", "Invalid value for '--seed'", "stream", "{train}", "predict y", "--seed", "-1", *F),
    C("stream-stdin-garbage", "no parsable event", "stream", "-", "predict y", *F, stdin="garbage\n{not json\n[1, 2]\n"),
    # ---------------------------------------------------------------- bench (each refused before any case runs)
    C("bench-unknown-part", "unknown bench part", "bench", "--part", "bogus"),
    C("bench-missing-suite", "does not exist", "bench", "--suite", "{missing}", "--output", "{dir}/b"),
    C("bench-suite-not-yaml", "not valid YAML", "bench", "--suite", "{suite_bad}", "--output", "{dir}/b"),
    C("bench-suite-not-a-list", "holds no list of cases", "bench", "--suite", "{suite_str}", "--output", "{dir}/b"),
    C("bench-suite-case-lacks-fields", "lacks", "bench", "--suite", "{suite_short}", "--output", "{dir}/b"),
    C("bench-negative-budget", "bench budget", "bench", "--suite", "{suite}", "--budget", "-1", "--output", "{dir}/b"),
    C("bench-nan-budget", "bench budget", "bench", "--suite", "{suite}", "--budget", "nan", "--output", "{dir}/b"),
    C("bench-unknown-case", "--cases: 'nosuch' is unknown", "bench", "--suite", "{suite}", "--cases", "nosuch", "--output", "{dir}/b"),
    C("bench-unknown-peer", "--against: 'nosuch' is unknown", "bench", "--suite", "{suite}", "--against", "nosuch", "--output", "{dir}/b"),
    C("bench-stream-unknown-case", "--cases: 'nosuch' is unknown", "bench", "--part", "stream", "--cases", "nosuch", "--output", "{dir}/b"),
    C("bench-negative-seed", "Invalid value for '--seed'", "bench", "--seed", "-1"),
    # ---------------------------------------------------------------- serve (refused before it listens)
    C("serve-negative-port", "Invalid value for '--port'", "serve", "--port", "-1", *P),
    C("serve-port-70000", "Invalid value for '--port'", "serve", "--port", "70000", *P),
    C("serve-evolve-every-0", "Invalid value for '--evolve-every'", "serve", "--auto-evolve", "--evolve-every", "0", *P),
    C("serve-unknown-host", "cannot listen on no-such-host.invalid", "serve", "--host", "no-such-host.invalid", "-p", "{keyed}"),
    C("serve-port-in-use", "cannot listen on 127.0.0.1", "serve", "--port", "{busy_port}", *P),
    C("serve-project-is-a-file", "is not a folder", "serve", "-p", "{afile}"),
    C("serve-bad-settings-file", "not valid TOML", "serve", "-p", "{badtoml}"),
    C("serve-unknown-setting-key", "unknown setting 'n_job'", "serve", "-p", "{typosetting}"),
    # ---------------------------------------------------------------- the command line itself
    C("unknown-command", "No such command", "nosuch"),
    C("missing-data-argument", "Missing argument", "fit"),
]
# fmt: on


def _write(path: Path, content: str | bytes) -> str:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """The corpus's files, a fitted project and a few broken ones, by placeholder name."""
    d = tmp_path_factory.mktemp("bad-input")
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.choice(["u", "v", "w"], n), "c": rng.integers(0, 9, n)}
    )
    frame["y"] = np.where(frame["a"] + (frame["b"] == "u") > 0.3, "yes", "no")
    frame.to_csv(d / "train.csv", index=False)
    new = frame.drop(columns="y").head(10)
    new.to_csv(d / "new.csv", index=False)
    new.drop(columns="c").to_csv(d / "nocol.csv", index=False)
    new.assign(**{'q"uote': 1, "b,c": 2, '{"x": 1}': 3, "new\nline": 4}).to_csv(d / "extra.csv", index=False)
    weird = frame.rename(columns={"a": 'a"q', "b": "b,c", "c": '{"x":1}'})
    weird.to_csv(d / "weird.csv", index=False)
    (d / "folder").mkdir()
    keyed = d / "keyed"
    Project(keyed).store.create_key("admin")
    for name, settings in {
        "badtoml": "this is [not toml\n",
        "badsetting": 'seed = "abc"\n',
        "typosetting": "n_job = 2\nsed = 1\n",
        "bananasetting": "banana = 1\n",
        "outsidesetting": "seed = 1\n[lamarck]\nn_jobs = 2\n",
    }.items():
        (d / name).mkdir()
        (d / name / "lamarck.toml").write_text(settings)
    for name, db in {"badregistry": "mlflow.db", "badstore": "events.db"}.items():
        (d / name).mkdir()
        (d / name / db).write_text("garbage, not a database")
    out = {
        "dir": str(d),
        "train": str(d / "train.csv"),
        "new": str(d / "new.csv"),
        "nocol": str(d / "nocol.csv"),
        "extra": str(d / "extra.csv"),
        "weird": str(d / "weird.csv"),
        "folder": str(d / "folder"),
        "keyed": str(keyed),
        "missing": str(d / "nope.csv"),
        "afile": _write(d / "not-a-folder", "just a file\n"),
        "empty": _write(d / "empty.csv", b""),
        "header": _write(d / "header.csv", "a,b,c,y\n"),
        "binary": _write(d / "binary.csv", b"\x00\xff\x10junk" * 40),
        "parquet": _write(d / "bad.parquet", b"PAR1 garbage"),
        "xlsx": _write(d / "bad.xlsx", b"PK\x03\x04 garbage"),
        "jsonl": _write(d / "bad.jsonl", '{"a": 1, "y": "no"}\n{not json\n'),
        "dupes": _write(d / "dupes.csv", "x,x,y\n1,2,0\n3,4,1\n"),
        "oneclass": _write(d / "one.csv", "x,y\n" + "\n".join(f"{i},1" for i in range(40))),
        "novalues": _write(d / "novalues.csv", "x,y\n" + "\n".join(f"{i}," for i in range(30))),
        "types": _write(d / "types.csv", "a,b,c\n1,u,2\nnot-a-number,v,x\n,,\n"),
        "fb_rows": _write(d / "fb_rows.csv", "a,b,c,y\n0.1,u,1,yes\n"),
        "fb_unknown": _write(d / "fb_unknown.csv", "prediction_id,label\nnope-1,yes\nnope-2,no\n"),
        "fb_dupids": _write(d / "fb_dupids.csv", "prediction_id,label\nx1,yes\nx1,no\n,yes\n"),
        "fb_nolabel": _write(d / "fb_nolabel.csv", "a,b,c,y\n1,u,2,\n2,v,3,\n"),
        "fb_badlabels": _write(d / "fb_badlabels.csv", "a,b,c,y\n1,u,2,maybe\n2,v,3,\n3,u,1,yes\n"),
        "suite": _write(
            d / "suite.yaml",
            "cases:\n- {name: iris, source: 'sklearn:load_iris', target: target, task: multiclass, "
            "metric: accuracy, instruction: classify the species}\n",
        ),
        "suite_bad": _write(d / "bad.yaml", "cases: [\n"),
        "suite_str": _write(d / "str.yaml", "just a string\n"),
        "suite_short": _write(d / "short.yaml", "cases:\n- {name: x, source: 'sklearn:load_iris'}\n"),
        "project": str(d / "project"),
        **{
            name: str(d / name)
            for name in (
                "badtoml",
                "badsetting",
                "typosetting",
                "bananasetting",
                "outsidesetting",
                "badregistry",
                "badstore",
            )
        },
    }
    code = main(
        [
            "fit",
            out["train"],
            "predict y",
            "--time",
            "2",
            "--learners",
            "linear",
            "--no-report",
            "-p",
            out["project"],
        ]
    )
    assert code == 0, "the shared project could not be fitted"
    return out


@pytest.fixture(scope="module")
def busy_port():
    """A port something already listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield str(s.getsockname()[1])


@pytest.fixture(autouse=True)
def never_serve(monkeypatch):
    """No case may get as far as listening: ``uvicorn.run`` fails the test instead of blocking it."""
    import uvicorn

    def refuse(*_args, **_kwargs):
        raise AssertionError("the server started: this bad input was not refused")

    monkeypatch.setattr(uvicorn, "run", refuse)


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """``lamarck ARGV`` in this process: exit code, stdout, stderr. An exception that escapes ``main`` is
    the traceback a user would see, so it fails the case."""
    capsys.readouterr()
    try:
        code = main(argv)
    except BaseException as e:  # anything escaping main is a traceback for the user
        pytest.fail(f"lamarck {' '.join(argv)[:200]} raised {type(e).__name__}: {str(e)[:500]}")
    out, err = capsys.readouterr()
    return code, out, err


def check_project(project: str, capsys) -> None:
    """The shared project still has its champion and still predicts."""
    code, out, err = run(["status", "--json", "-p", project], capsys)
    assert code == 0, err
    assert json.loads(out)["champion"]["version"] == "1"
    code, out, err = run(["predict", str(Path(project).parent / "new.csv"), "-p", project], capsys)
    assert code == 0 and out.splitlines()[0] == "prediction" and len(out.splitlines()) == 11, err


def test_the_corpus_is_large_and_covers_every_command():
    assert len(CASES) >= 65
    assert len({c.id for c in CASES}) == len(CASES)
    commands = {c.argv[0] for c in CASES}
    listed = {"plan", "fit", "predict", "status", "models", "serve", "evolve", "history", "suggest-labels"}
    assert listed | {"feedback", "stream", "bench", "keys"} <= commands


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES]
)
def test_bad_input_gets_one_clean_message(case: Case, files, busy_port, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default path (.lamarck, bench/results) lands here
    if case.stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(case.stdin))
    where = {**files, "fresh": str(tmp_path / "fresh"), "busy_port": busy_port}
    argv = [a.format(**where) for a in case.argv]
    code, out, err = run(argv, capsys)
    text = out + err
    assert "Traceback" not in text, text[-2000:]
    if case.code == 0:
        assert code == 0, f"documented success failed (exit {code}):\n{err[-2000:]}"
    else:
        assert code != 0, f"bad input accepted (exit 0):\n{text[-2000:]}"
        assert err.count("╭") == 1, f"not one message:\n{err}"
        assert len(err) < 5000, f"the message is {len(err)} characters long"
    assert _letters(case.says) in _letters(text), f"the message does not say {case.says!r}:\n{text[-3000:]}"
    if case.empty:
        assert sorted(p.name for p in tmp_path.iterdir()) == [], "the command made files on disk"
    if case.project:
        check_project(files["project"], capsys)
