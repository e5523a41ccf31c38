"""Guards that keep the structure (issue 11, Deliver 7): no import cycle among the
product's modules, and every module imports alone.

Imports are read from the source, the ones inside functions and under ``TYPE_CHECKING``
included: a cycle through them is still two modules that need each other. ``make lint``
and CI run this file with the rest of the suite.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bridge_protocol
import quest_runtime

PACKAGE = Path(quest_runtime.__file__).parent
PACKAGES = (PACKAGE, Path(bridge_protocol.__file__).parent)


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(*roots: Path) -> dict[str, Path]:
    """Every module of the packages at ``roots``: dotted name → file."""
    return {_module(p, root): p for root in roots for p in root.rglob("*.py")}


def import_graph(*roots: Path) -> dict[str, set[str]]:
    """Module → the product modules it imports (``from pkg import mod`` included)."""
    files = modules(*(roots or PACKAGES))
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            graph[module].update(n for n in names if n in files and n != module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_among_the_product_modules() -> None:
    assert cycles(import_graph()) == []


def test_the_check_finds_a_cycle_when_there_is_one(tmp_path: Path) -> None:
    pkg = tmp_path / "quest_runtime"
    (pkg / "levels").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "levels" / "__init__.py").write_text("")
    (pkg / "levels" / "a.py").write_text("from quest_runtime.levels import b\n")
    (pkg / "levels" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from quest_runtime.levels.a import x\n")
    assert cycles(import_graph(pkg)) == [["quest_runtime.levels.a", "quest_runtime.levels.b"]]


def _import_alone(module: str) -> tuple[str, int, str]:
    done = subprocess.run([sys.executable, "-W", "error", "-c", f"import {module}"],
                          capture_output=True, text=True, timeout=60)
    return module, done.returncode, (done.stderr.strip().splitlines()[-1:] and \
        done.stderr.strip().splitlines()[-1]) or ""


def test_every_module_imports_alone_without_warnings() -> None:
    """``python -W error -c "import m"`` for each module in a fresh interpreter: no
    module depends on another having been imported first, none warns on import."""
    names = sorted(m for m in modules(*PACKAGES) if not m.endswith("__main__"))  # entry points
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        failed = [(m, err) for m, code, err in pool.map(_import_alone, names) if code]
    assert failed == [], failed
    assert len(names) > 90


def test_the_import_check_reports_a_failing_module() -> None:
    """The check sees a module that fails alone (here: one that does not exist)."""
    assert _import_alone("quest_runtime.engine.state")[1] == 0
    _, code, err = _import_alone("quest_runtime.no_such_module")
    assert code != 0 and "ModuleNotFoundError" in err
