"""No import cycles among the level path's modules (issue 11, Deliver 2).

Imports are read from the source (``TYPE_CHECKING`` imports count too: a cycle through
them is still two modules that need each other). The product-wide guard is issue 11's
Deliver 7; this one keeps ``quest_runtime/levels`` acyclic meanwhile.
"""

from __future__ import annotations

import ast
from pathlib import Path

import quest_runtime

PACKAGE = Path(quest_runtime.__file__).parent


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the product modules it imports (``from pkg import mod`` included)."""
    files = {_module(p, root): p for p in root.rglob("*.py")}
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


def test_no_import_cycle_runs_through_the_level_modules() -> None:
    through_levels = [c for c in cycles(import_graph())
                      if any(m.startswith("quest_runtime.levels") for m in c)]
    assert through_levels == []


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
