"""The batch comparison: registered as a part, its search-* peers, the summary when a peer has no
environment, and where the bench finds its material (shared folder, peers' environments)."""

import ast
import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import lamarck.bench as bench
from lamarck.bench import PARTS, BenchArgs, Case, SharedFileMissingError, run_batch, summarize
from lamarck.bench._batch import SYSTEMS, split_case
from lamarck.bench._peers import Peer, ensure_peer, install_peer, peer_python, peers_dir
from lamarck.cli import main
from lamarck.errors import LamarckError

IRIS = Case(
    name="iris",
    source="sklearn:load_iris",
    target="target",
    task="multiclass",
    metric="accuracy",
    instruction="predict the target, maximize accuracy",
)


# ------------------------------------------------------------------------------------------ the part


def test_batch_is_a_registered_part_and_the_default(monkeypatch, tmp_path):
    assert {"batch", "stream", "planner", "evolution", "serving"} <= set(PARTS)
    seen: list[tuple[str, BenchArgs]] = []
    monkeypatch.setitem(PARTS, "batch", lambda args, console: seen.append(("batch", args)))
    suite = tmp_path / "suite.yaml"
    assert main(["bench", "--suite", str(suite), "--against", "flaml", "--budget", "5"]) == 0
    assert main(["bench", "--part", "batch", "--cases", "iris"]) == 0
    assert [name for name, _ in seen] == ["batch", "batch"]
    assert seen[0][1].suite == suite and seen[0][1].against == "flaml" and seen[0][1].budget == 5
    assert seen[1][1].cases == "iris"
    assert main(["bench", "--part", "nope"]) == 2


def test_batch_part_runs_and_writes_results(tmp_path, monkeypatch):
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "cases:\n  - {name: iris, source: 'sklearn:load_iris', target: target, task: multiclass,\n"
        "     metric: accuracy, instruction: classify the species}\n"
    )
    monkeypatch.setitem(SYSTEMS, "lamarck", lambda case, Xtr, Xte, ytr, yte, budget, seed: 0.5)
    monkeypatch.setitem(SYSTEMS, "histgb", lambda case, Xtr, Xte, ytr, yte, budget, seed: 0.4)
    out = tmp_path / "out"
    assert main(["bench", "--part", "batch", "--suite", str(suite), "--output", str(out)]) == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["system"], r["error"]) for r in rows] == [("lamarck", ""), ("histgb", "")]
    assert "| iris | accuracy |" in (out / "results.md").read_text()


# --------------------------------------------------------------------------------- search-* peers


@pytest.mark.slow
def test_search_peers_run_with_their_sampler_and_without_portfolio(monkeypatch):
    from lamarck.project import Project

    calls: list[dict] = []
    fit = Project.fit

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(Project, "fit", spy)
    assert {"search-grid", "search-random", "search-tpe", "search-evolutionary"} <= set(SYSTEMS)
    Xtr, Xte, ytr, yte = split_case(IRIS)
    accuracy = SYSTEMS["search-random"](IRIS, Xtr, Xte, ytr, yte, 3.0, 0)
    assert 0.8 < accuracy <= 1.0
    assert calls[-1]["sampler"] == "random" and calls[-1]["portfolio"] is False


# ------------------------------------------------------------- a peer without environment (summary)


def test_missing_peer_environment_is_recorded_and_summarized(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMARCK_PEERS_DIR", str(tmp_path / "no-peers"))
    monkeypatch.setitem(SYSTEMS, "lamarck", lambda case, Xtr, Xte, ytr, yte, budget, seed: 0.9)
    monkeypatch.setitem(SYSTEMS, "histgb", lambda case, Xtr, Xte, ytr, yte, budget, seed: 0.8)
    path = run_batch([IRIS], systems=["lamarck", "histgb", "autogluon"], budget=5, output=tmp_path / "r")
    rows = {r["system"]: r for r in csv.DictReader(path.open())}
    assert rows["autogluon"]["score"] == ""
    assert "make bench-peers" in rows["autogluon"]["error"]
    assert "lamarck bench --install-peers --against autogluon" in rows["autogluon"]["error"]
    table = summarize(path)  # raised KeyError: 'autogluon'
    assert "fail" in table.splitlines()[2]
    assert "| autogluon | — | 0 | 0.000 | 1 |" in table
    assert "Lamarck beats histgb" in table


def test_summary_figures_leave_out_a_case_where_every_system_failed(tmp_path):
    path = tmp_path / "results.csv"
    pd.DataFrame(
        [
            {"case": "a", "system": "lamarck", "metric": "accuracy", "score": 0.9, "seconds": 1, "error": ""},
            {"case": "a", "system": "histgb", "metric": "accuracy", "score": 0.8, "seconds": 1, "error": ""},
            {"case": "b", "system": "lamarck", "metric": "rmse", "score": None, "seconds": 1, "error": "x"},
            {"case": "b", "system": "histgb", "metric": "rmse", "score": None, "seconds": 1, "error": "x"},
        ]
    ).to_csv(path, index=False)
    table = summarize(path)
    assert "| a | accuracy | 0.8000 (1s) | 0.9000 (1s) |" in table
    assert "| lamarck | 1.00 | 1 | 1.000 | 1 |" in table and "| histgb | 2.00 | 0 | 0.000 | 1 |" in table


# --------------------------------------------------------------------------------- shared material


def test_shared_files_are_found_through_lamarck_shared(tmp_path, monkeypatch):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "public_suite.yaml").write_text("cases: []\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "elec2.csv").write_text("class\n")
    monkeypatch.setenv("LAMARCK_SHARED", str(tmp_path))
    assert bench.public_suite() == tmp_path / "bench" / "public_suite.yaml"
    assert bench.elec2_csv() == tmp_path / "data" / "elec2.csv"


def test_a_missing_shared_file_names_the_path_and_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAMARCK_SHARED", str(tmp_path))
    with pytest.raises(SharedFileMissingError) as info:
        bench.elec2_csv()
    assert isinstance(info.value, LamarckError) and isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert str(tmp_path / "data" / "elec2.csv") in message and "Fix: set LAMARCK_SHARED" in message
    assert main(["bench", "--output", str(tmp_path / "out")]) == 2
    assert "bench/public_suite.yaml" in capsys.readouterr().err


def test_default_shared_folder_is_beside_the_checkout(shared_dir, monkeypatch):
    monkeypatch.delenv("LAMARCK_SHARED", raising=False)
    assert bench.public_suite() == shared_dir / "bench" / "public_suite.yaml"


def test_bench_modules_do_not_import_the_cli():
    folder = Path(bench.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("lamarck.cli"), path.name
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("lamarck.cli") for a in node.names), path.name


# ----------------------------------------------------------------------------- peers' environments


def test_peers_dir_default_and_override(tmp_path, monkeypatch):
    monkeypatch.delenv("LAMARCK_PEERS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert peers_dir() == tmp_path / "cache" / "lamarck" / "peers"
    monkeypatch.setenv("LAMARCK_PEERS_DIR", str(tmp_path / "mine"))
    assert peers_dir() == tmp_path / "mine"


class _Recorder:
    def __init__(self, returncode: int = 0) -> None:
        self.commands: list[list[str]] = []
        self.returncode = returncode

    def __call__(self, command, **kwargs):  # type: ignore[no-untyped-def]
        self.commands.append(command)
        return subprocess.CompletedProcess(command, self.returncode, "", "no network")


def test_install_with_uv_or_venv_and_pip(tmp_path):
    fake = Peer("fake", ("fakepkg==1.0",))
    run = _Recorder()
    python = install_peer(fake, root=tmp_path, uv="/opt/uv", run=run)
    assert python == tmp_path / "fake" / "bin" / "python"
    assert run.commands == [
        ["/opt/uv", "venv", "-q", str(tmp_path / "fake"), "--python", sys.executable],
        ["/opt/uv", "pip", "install", "-q", "--python", str(python), "fakepkg==1.0"],
    ]
    run = _Recorder()
    install_peer(fake, root=tmp_path, uv=False, run=run)
    assert run.commands[0] == [sys.executable, "-m", "venv", str(tmp_path / "fake")]
    assert run.commands[1][:3] == [str(python), "-m", "pip"] and run.commands[1][-1] == "fakepkg==1.0"


def test_a_failed_install_names_the_command_and_the_fix(tmp_path):
    with pytest.raises(bench.PeerInstallError, match=r"no network\. Fix: check the network"):
        install_peer(Peer("fake", ("x",)), root=tmp_path, uv="/opt/uv", run=_Recorder(returncode=1))


def test_ensure_peer_creates_an_environment_once_then_finds_it(tmp_path, monkeypatch):
    fake = Peer("fake", ())  # no requirements: a real venv without pip, quick and offline
    monkeypatch.setitem(bench.PEERS, "fake", fake)
    assert peer_python("fake", tmp_path) is None
    python = ensure_peer("fake", root=tmp_path, uv=False)
    assert python == peer_python("fake", tmp_path)
    out = subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    assert Path(out.stdout.strip()) == tmp_path / "fake"

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("an existing environment is not created again")

    assert ensure_peer("fake", root=tmp_path, run=refuse) == python


def test_install_peers_command(tmp_path, monkeypatch):
    installed: list[str] = []

    def install(names, log):  # type: ignore[no-untyped-def]
        installed.extend(names)
        return []

    monkeypatch.setattr(bench, "install_peers", install)
    assert main(["bench", "--install-peers"]) == 0
    assert main(["bench", "--install-peers", "--against", "histgb,flaml"]) == 0
    assert installed == ["flaml", "autogluon", "flaml"]
