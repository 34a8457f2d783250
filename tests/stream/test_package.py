"""``lamarck.stream`` as a package: its public names, and the direction of its dependencies."""

import ast
from pathlib import Path

import lamarck
import lamarck.stream

ROOT = Path(__file__).resolve().parents[2]
STREAM = ROOT / "src" / "lamarck" / "stream"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_public_names():
    assert set(lamarck.stream.__all__) == {
        "STREAM_METRICS",
        "KINDS",
        "DecayDetector",
        "EventSchema",
        "MemberConfig",
        "build_member",
        "member_config",
        "KafkaSource",
        "MemoryPool",
        "OnlineLayer",
        "Pending",
        "PoolRow",
        "Seen",
        "StreamContext",
        "StreamLearner",
        "StreamResult",
        "StreamSession",
        "commit_quietly",
        "hardness",
        "is_kafka",
        "label_key",
        "lag_of",
        "load_state",
        "read_events",
        "read_properties",
        "register_stream",
        "resume_at",
        "run_session",
        "save_state",
        "sign_test",
        "stream_project",
    }
    assert all(getattr(lamarck.stream, name).__module__.startswith("lamarck.stream.") for name in
               lamarck.stream.__all__ if name not in ("STREAM_METRICS", "KINDS"))  # fmt: skip
    assert lamarck.StreamLearner is lamarck.stream.StreamLearner


def test_stream_imports_nothing_above_it():
    above = ("lamarck.evolve", "lamarck.project", "lamarck.serve", "lamarck.cli", "lamarck.bench")
    for path in STREAM.glob("*.py"):
        wrong = {m for m in imported_modules(path) if m.startswith(above)}
        assert not wrong, f"{path.name} imports {wrong}"


def test_other_packages_use_only_the_public_names():
    for folder in ("src", "tests", "bench", "examples"):
        for path in (ROOT / folder).rglob("*.py"):
            if STREAM in path.parents or Path(__file__).parent in path.parents:
                continue
            private = {m for m in imported_modules(path) if m.startswith("lamarck.stream._")}
            assert not private, f"{path.relative_to(ROOT)} imports {private}"
