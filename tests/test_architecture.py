"""The house reads as the architecture: packages meet through public names, dependencies point one way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "lamarck"

#: packages that import nothing else of Lamarck but these
LEAVES = {"data", "evaluate", "registry", "store"}
LEAF_MAY_IMPORT = {"errors", "settings"}
#: who may never be imported by whom (upward imports)
UPWARD = {
    "stream": {"evolve", "project", "serve", "cli", "bench"},
    "evolve": {"project", "serve", "cli", "bench"},
    "search": {"evolve", "stream", "project", "serve", "cli", "bench"},
    "meta": {"search", "evolve", "stream", "project", "serve", "cli", "bench", "_fit"},
    "serve": {"cli", "bench"},
    "bench": {"cli"},
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return [m for m in found if m == "lamarck" or m.startswith("lamarck.")]


def _owner(path: Path) -> str:
    """The package a file belongs to: ``evolve`` for src/lamarck/evolve/x.py or tests/evolve/test_x.py;
    ``""`` for the top level (project.py, tests/test_x.py, examples, bench scripts)."""
    rel = path.relative_to(SRC) if path.is_relative_to(SRC) else path.relative_to(ROOT / "tests")
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else ""


def _files() -> list[Path]:
    return [
        *SRC.rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "examples").rglob("*.py"),
        *(ROOT / "bench").rglob("*.py"),
    ]


def test_no_module_imports_a_private_name_of_another_package():
    bad = []
    for path in _files():
        inside_src_or_tests = path.is_relative_to(SRC) or path.is_relative_to(ROOT / "tests")
        owner = _owner(path) if inside_src_or_tests else None
        for name in _imports(path):
            parts = name.split(".")
            for depth, part in enumerate(parts[1:], start=1):
                if not part.startswith("_"):
                    continue
                # lamarck._fit is private to the top level (and to itself); lamarck.pkg._x to pkg
                allowed = {"", parts[1]} if depth == 1 else {parts[1]}
                if owner not in allowed:
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
                break
    assert bad == []


def test_dependencies_point_one_way():
    bad = []
    for path in SRC.rglob("*.py"):
        owner = _owner(path)
        for name in _imports(path):
            target = name.split(".")[1] if "." in name else ""
            if owner in LEAVES and target not in LEAF_MAY_IMPORT | {owner, ""}:
                bad.append(f"{path.relative_to(ROOT)} ({owner}) imports {name}")
            if target in UPWARD.get(owner, set()) or (target == "cli" and owner != "cli"):
                bad.append(f"{path.relative_to(ROOT)} ({owner}) imports {name} (upward)")
    assert bad == []
