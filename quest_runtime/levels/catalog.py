"""The level catalog: every loaded level of a folder, swapped whole (SPEC §6, STYLE 6).

``LevelCatalog`` maps level ids to frozen ``CompiledLevel`` objects. A reload parses,
validates and compiles off the request path, then replaces the mapping in one assignment,
so a request sees either the old or the new level, never half of one. A file with errors
keeps its last good level serving (if it had one) and its findings are reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from quest_runtime.levels.compiled import CompiledLevel
from quest_runtime.levels.findings import Finding, Severity
from quest_runtime.levels.loader import LoadResult, load_level

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileStatus:
    """What the last load of one file gave: its findings, and whether it is serving."""

    path: str
    level_id: str | None
    ok: bool
    findings: tuple[Finding, ...]
    checked_at: float


@dataclass(frozen=True, slots=True)
class ReloadReport:
    loaded: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=())


def level_files(folder: Path) -> list[Path]:
    """Every ``*.json`` under ``folder`` (nested folders included), sorted, no hidden ones."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*.json")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


class LevelCatalog:
    """The levels currently serving, by id, plus per-file load status."""

    def __init__(self, folder: Path, *, strict: bool = False) -> None:
        self.folder = folder
        self.strict = strict
        self._levels: Mapping[str, CompiledLevel] = MappingProxyType({})
        self._files: dict[str, FileStatus] = {}
        self._by_file: dict[str, str] = {}  # file -> level id serving from it
        self.generation = 0
        self.reloads = 0
        self.reload_failures = 0

    # -- reading (request path) ------------------------------------------------------

    def get(self, level_id: str) -> CompiledLevel | None:
        return self._levels.get(level_id)

    @property
    def levels(self) -> Mapping[str, CompiledLevel]:
        return self._levels

    @property
    def files(self) -> Mapping[str, FileStatus]:
        return dict(self._files)

    def describe(self) -> list[dict[str, Any]]:
        """For ``/admin/levels``: one entry per file, with id, version and findings."""
        out = []
        for path, status in sorted(self._files.items()):
            # The level serving from this file: a save that is not even JSON has no
            # level id of its own, but the last good version still serves (SPEC §6).
            lid = self._by_file.get(path) or status.level_id
            level = self._levels.get(lid) if lid else None
            serving = level is not None and level.path == path
            out.append({
                "file": path,
                "level_id": lid,
                "ok": status.ok,
                "serving": serving,
                "version": level.version if serving and level else None,
                "loaded_at": level.loaded_at if serving and level else None,
                "title": level.title if serving and level else None,
                "tasks": len(level.tasks) if serving and level else None,
                "listeners": len(level.listeners) if serving and level else None,
                "foreign_keys": sorted(level.foreign) if serving and level else [],
                "errors": sum(1 for f in status.findings if f.severity is Severity.ERROR),
                "findings": [f.to_dict() for f in status.findings],
            })
        return out

    # -- loading (off the request path) ---------------------------------------------

    def _display(self, path: Path) -> str:
        """One name per file whatever the caller's spelling (relative to the working
        folder when inside it), so a watcher's absolute path matches a folder scan's."""
        path = path.absolute()
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def load_all(self) -> ReloadReport:
        """Load every file of the folder; files that vanished are dropped."""
        files = level_files(self.folder)
        report = self._apply([load_level(p, self._display(p), strict=self.strict)
                              for p in files], full=True)
        return report

    def reload_paths(self, paths: Iterable[Path]) -> ReloadReport:
        """Reload the given files (changed or deleted)."""
        results: list[LoadResult] = []
        removed: list[str] = []
        for p in paths:
            if p.suffix != ".json":
                continue
            if p.is_file():
                results.append(load_level(p, self._display(p), strict=self.strict))
            else:
                removed.append(self._display(p))
        return self._apply(results, full=False, removed_files=removed)

    def _apply(self, results: list[LoadResult], *, full: bool,
               removed_files: Iterable[str] = ()) -> ReloadReport:
        levels = dict(self._levels)
        by_file = dict(self._by_file)
        files = dict(self._files)
        now = time.time()
        loaded, failed, removed = [], [], []
        findings: list[Finding] = []
        seen_files = {r.path for r in results}
        gone = list(removed_files)
        if full:
            gone += [f for f in by_file if f not in seen_files]
            gone += [f for f in files if f not in seen_files and f not in by_file]
        for f in gone:
            files.pop(f, None)
            lid = by_file.pop(f, None)
            if lid is not None and levels.get(lid) is not None and levels[lid].path == f:
                del levels[lid]
                removed.append(lid)
        owners = {lid: f for f, lid in by_file.items()}
        for r in results:
            status_findings = list(r.findings)
            ok = r.level is not None
            if r.level is not None:
                lid = r.level.id
                owner = owners.get(lid)
                if owner is not None and owner != r.path:
                    status_findings.append(Finding(
                        r.path, 1, 1, "/id", Severity.ERROR,
                        f"level id '{lid}' is already used by {owner}",
                        "give each level its own id (the file name is the default)",
                        "duplicate_level"))
                    ok = False
                else:
                    old_lid = by_file.get(r.path)
                    if old_lid is not None and old_lid != lid and old_lid in levels:
                        del levels[old_lid]
                        owners.pop(old_lid, None)
                    levels[lid] = r.level
                    by_file[r.path] = lid
                    owners[lid] = r.path
                    loaded.append(lid)
            if not ok:
                failed.append(r.path)
            files[r.path] = FileStatus(r.path, r.level_id, ok, tuple(status_findings), now)
            findings.extend(status_findings)
            for finding in status_findings:
                severity = logging.ERROR if finding.severity is Severity.ERROR else logging.INFO
                log.log(severity, finding.format(),
                        extra={"file": finding.file, "pointer": finding.pointer})
        self._files = files
        self._by_file = by_file
        self._levels = MappingProxyType(levels)  # the one-assignment swap
        self.generation += 1
        self.reloads += 1
        if failed:
            self.reload_failures += 1
        return ReloadReport(tuple(loaded), tuple(failed), tuple(removed), tuple(findings))
