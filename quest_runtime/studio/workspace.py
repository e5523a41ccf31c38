"""The studio's view of a levels folder: every file's map and findings, kept current.

``Workspace.refresh`` reads every level file, runs the checks ``quest-runtime validate``
runs (each file's findings, then the cross-file registry's), and builds each file's map
(``levelmap.build_map``). A file that is not valid JSON keeps the map of its last
readable version, so the page keeps what the designer was looking at and shows the
finding on the level. The engine's ``LevelCatalog`` (the one the simulator plays) is
reloaded from the same changes. ``watch`` runs ``refresh`` after each save (watchfiles,
the service's own loop, ``levels/watch.FolderWatcher``) and bumps ``generation``;
the page waits on ``changed`` (``GET /api/changes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import orjson

from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.levels.files import level_files, refusal
from quest_runtime.levels.findings import Finding, sort_findings
from quest_runtime.levels.loader import LoadResult, load_level
from quest_runtime.levels.registry import registry_findings
from quest_runtime.levels.watch import FolderWatcher
from quest_runtime.studio.levelmap import build_map

log = logging.getLogger(__name__)


def display_name(path: Path) -> str:
    """The name findings use for a file: relative to the working folder when inside it
    (as ``LevelCatalog`` names it)."""
    path = path.absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Workspace:
    """Maps and findings of every level file of ``folder``, plus the engine's catalog."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.catalog = LevelCatalog(folder)
        self.generation = 0
        self.maps: dict[str, dict[str, Any]] = {}
        self.findings: list[Finding] = []
        self._docs: dict[str, Any] = {}  # file -> last readable JSON
        self._changed = asyncio.Event()
        self._watcher = FolderWatcher(folder, self.catalog, self._changed_files,
                                      name="studio-watcher", debounce=100)

    def refresh(self, changed: list[Path] | None = None) -> None:
        """Re-read the folder (``changed``: the files a save touched, for the catalog)."""
        if changed is None:
            self.catalog.load_all()
        else:
            self.catalog.reload_paths(changed)
        files = level_files(self.folder)
        results = [self._load(p) for p in files]
        findings = [f for r in results for f in r.findings]
        findings += registry_findings([r.facts for r in results if r.facts is not None])
        per_file: dict[str, list[Finding]] = {}
        for f in sort_findings(findings):
            per_file.setdefault(f.file, []).append(f)
        maps: dict[str, dict[str, Any]] = {}
        for path, r in zip(files, results, strict=True):
            doc: Any = None
            if refusal(self.folder, path, r.path) is None:  # never read a refused path
                try:
                    doc = self._docs[r.path] = orjson.loads(path.read_bytes())
                except (OSError, orjson.JSONDecodeError):
                    doc = self._docs.get(r.path)
            level_map = build_map(r.path, doc, per_file.get(r.path, ()))
            level_map["ok"] = r.ok
            level_map["errors"] = sum(f.severity.value == "error"
                                      for f in per_file.get(r.path, ()))
            level_map["warnings"] = len(per_file.get(r.path, ())) - level_map["errors"]
            level_map["serving"] = (r.level_id is not None
                                    and self.catalog.get(r.level_id) is not None)
            maps[r.path] = level_map
        self._docs = {k: v for k, v in self._docs.items() if k in maps}
        self.maps = maps
        self.findings = findings
        self.generation += 1
        self._changed.set()
        self._changed = asyncio.Event()

    def _load(self, path: Path) -> LoadResult:
        """One file under the service's symlink and special-file policy (never read when
        ``levels/files.refusal`` says so)."""
        name = display_name(path)
        refused = refusal(self.folder, path, name)
        if refused is not None:
            return LoadResult(name, None, None, (refused,))
        return load_level(path, name)

    def summary(self) -> dict[str, Any]:
        return {"generation": self.generation, "folder": str(self.folder),
                "files": [{k: m[k] for k in ("file", "level_id", "title", "ok", "errors",
                                              "warnings", "serving", "counts")}
                          for m in self.maps.values()]}

    def level_doc(self, level_id: str) -> dict[str, Any] | None:
        """The last readable JSON of the file that serves ``level_id``."""
        level = self.catalog.get(level_id)
        if level is None:
            return None
        doc = self._docs.get(level.path)
        return doc if isinstance(doc, dict) else None

    async def wait_change(self, generation: int, timeout: float) -> int:
        """Return as soon as the generation is past ``generation`` (or on timeout)."""
        if self.generation <= generation:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        return self.generation

    def start(self) -> None:
        self._watcher.start()

    async def stop(self) -> None:
        await self._watcher.stop()

    async def _changed_files(self, paths: list[Path]) -> None:
        self.refresh(paths)
