"""The level catalog: every loaded level of a folder, swapped whole (SPEC §6, STYLE 6).

``LevelCatalog`` maps level ids to frozen ``CompiledLevel`` objects. A reload parses,
validates and compiles off the request path, then replaces the mapping in one assignment,
so a request sees either the old or the new level, never half of one. A file with errors
keeps its last good level serving (if it had one) and its findings are reported.

One level id, one file (issue 10). When several files define one level id, one serves and
the others are *refused*: not served, reported in ``/admin/levels`` with a
``duplicate_level`` error naming the file that serves (a warning when the refused file is a
byte-identical copy, as ``validate`` says). Which one serves:

- on a watcher batch (``reload_paths``), the file already serving keeps serving; a
  newcomer with its id is refused. Several newcomers with a free id: the first in
  :func:`~quest_runtime.levels.registry.serving_order` (shallowest path first, then
  lexicographic) serves;
- on a cold start and a full reload (``load_all``: SIGHUP, ``POST /admin/reload``), the
  first in ``serving_order`` among the files that offer the id, a file with errors
  offering its last good version (so a broken save never changes what serves);
- a refused copy's compiled level is kept: when the serving file is deleted (or takes
  another id) the first refused copy in ``serving_order`` serves in the same swap, so the
  id never answers 404 in between.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from quest_runtime.levels.compiled import CompiledLevel
from quest_runtime.levels.files import inside, level_files, refusal
from quest_runtime.levels.findings import Finding, Severity
from quest_runtime.levels.loader import LoadResult, load_level
from quest_runtime.levels.registry import serving_order

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


class LevelCatalog:
    """The levels currently serving, by id, plus per-file load status."""

    def __init__(self, folder: Path, *, strict: bool = False) -> None:
        self.folder = folder
        self.strict = strict
        self._levels: Mapping[str, CompiledLevel] = MappingProxyType({})
        self._files: dict[str, FileStatus] = {}
        self._by_file: dict[str, str] = {}  # file -> level id serving from it
        # file -> its last good load, refused because another file serves its id
        self._refused: dict[str, LoadResult] = {}
        self._levels_next: dict[str, CompiledLevel] = {}  # the mapping _apply builds
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
                "refused": path in self._refused,
                "refused_copies": sorted(
                    (f for f, r in self._refused.items() if r.level_id == lid),
                    key=serving_order) if serving else [],
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
        report = self._apply([self._load(p) for p in files], full=True)
        return report

    def _load(self, path: Path) -> LoadResult:
        """One file, under the symlink and special-file policy of ``levels/files.py``."""
        name = self._display(path)
        refused = refusal(self.folder, path, name)
        if refused is not None:
            return LoadResult(name, None, None, (refused,))
        return load_level(path, name, strict=self.strict)

    def reload_paths(self, paths: Iterable[Path]) -> ReloadReport:
        """Reload the given files (changed or deleted)."""
        results: list[LoadResult] = []
        removed: list[str] = []
        for p in paths:
            if p.suffix != ".json" or not inside(self.folder, p):
                continue  # e.g. a file seen through a linked folder: not a level file
            if os.path.lexists(p):
                results.append(self._load(p))
            else:
                removed.append(self._display(p))
        return self._apply(results, full=False, removed_files=removed)

    def _duplicate(self, r: LoadResult, owner: str) -> Finding:
        """The finding of a refused copy: an error, a warning for an identical copy."""
        assert r.level is not None
        serving = self._levels_next.get(r.level.id)
        identical = serving is not None and serving.version == r.level.version
        if identical:
            return Finding(r.path, 1, 1, "/id", Severity.WARNING,
                           f"level id '{r.level.id}' is also used by {owner} (an identical "
                           "copy; that file serves and this one is refused)",
                           "delete one copy: once either is edited this is an error",
                           "duplicate_level")
        return Finding(r.path, 1, 1, "/id", Severity.ERROR,
                       f"level id '{r.level.id}' is also used by {owner} (that file serves; "
                       "this one is refused)",
                       "a levels folder serves one level per id: rename one or delete the "
                       "copy; the file name is the default id", "duplicate_level")

    def _apply(self, results: list[LoadResult], *, full: bool,
               removed_files: Iterable[str] = ()) -> ReloadReport:
        swap = _Swap(dict(self._levels), dict(self._by_file), dict(self._files),
                     dict(self._refused))
        self._levels_next = swap.levels
        results = sorted(results, key=lambda r: serving_order(r.path))
        seen_files = {r.path for r in results}
        gone = list(removed_files)
        if full:
            gone += [f for f in swap.by_file if f not in seen_files]
            gone += [f for f in swap.files if f not in seen_files and f not in swap.by_file]
        swap.forget(gone)
        if full:
            swap.settle_offers(results)
        swap.owners = {lid: f for f, lid in swap.by_file.items()}
        for r in results:
            self._take(swap, r)
        promoted = self._promote_freed(swap)
        findings = self._record_statuses(swap, {**{x.path: x for x in results}, **promoted})
        self._files = swap.files
        self._by_file = swap.by_file
        self._refused = swap.refused
        self._levels = MappingProxyType(swap.levels)  # the one-assignment swap
        self.generation += 1
        self.reloads += 1
        if swap.failed:
            self.reload_failures += 1
        return ReloadReport(tuple(swap.loaded), tuple(swap.failed), tuple(swap.removed),
                            tuple(findings))

    def _take(self, swap: _Swap, r: LoadResult) -> None:
        """One loaded file: it serves its id, is refused as a copy, or failed."""
        status_findings = list(r.findings)
        swap.statuses[r.path] = status_findings
        if r.level is None:
            swap.refused.pop(r.path, None)
            swap.failed.append(r.path)
            return
        lid = r.level.id
        owner = swap.owners.get(lid)
        if owner is not None and owner != r.path:
            swap.refused[r.path] = r
            status_findings.append(self._duplicate(r, owner))
            if status_findings[-1].severity is Severity.ERROR:
                swap.failed.append(r.path)
            return
        swap.refused.pop(r.path, None)
        old_lid = swap.by_file.get(r.path)
        if old_lid is not None and old_lid != lid and old_lid in swap.levels:
            del swap.levels[old_lid]
            swap.owners.pop(old_lid, None)
            swap.freed.add(old_lid)
        swap.serve(lid, r)
        swap.freed.discard(lid)

    def _promote_freed(self, swap: _Swap) -> dict[str, LoadResult]:
        """An id whose serving file went (deleted, or it took another id): the first
        refused copy serves in this same swap."""
        promoted: dict[str, LoadResult] = {}
        for lid in sorted(swap.freed):
            if lid in swap.levels:
                continue
            copies = sorted((f for f, r in swap.refused.items() if r.level_id == lid),
                            key=serving_order)
            if not copies:
                swap.removed.append(lid)
                continue
            r = promoted[copies[0]] = swap.refused.pop(copies[0])
            swap.serve(lid, r)
            swap.statuses[r.path] = list(r.findings)
            if r.path in swap.failed:
                swap.failed.remove(r.path)
            # the other copies now name the new owner
            for f in copies[1:]:
                swap.statuses[f] = [*swap.refused[f].findings,
                                    self._duplicate(swap.refused[f], r.path)]
        return promoted

    @staticmethod
    def _record_statuses(swap: _Swap, by_path: dict[str, LoadResult]) -> list[Finding]:
        """Each reported file's status into ``swap.files``, its findings logged; all the
        findings, in order."""
        now = time.time()
        findings: list[Finding] = []
        for path, status_findings in swap.statuses.items():
            r = by_path.get(path) or swap.refused[path]
            ok = r.level is not None and path not in swap.refused
            swap.files[path] = FileStatus(path, r.level_id, ok, tuple(status_findings), now)
            findings.extend(status_findings)
            for finding in status_findings:
                severity = logging.ERROR if finding.severity is Severity.ERROR else logging.INFO
                log.log(severity, finding.format(),
                        extra={"file": finding.file, "pointer": finding.pointer})
        return findings


@dataclass(slots=True)
class _Swap:
    """The working copies one ``_apply`` edits before they replace the catalog's."""

    levels: dict[str, CompiledLevel]
    by_file: dict[str, str]
    files: dict[str, FileStatus]
    refused: dict[str, LoadResult]
    owners: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, list[Finding]] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    freed: set[str] = field(default_factory=set)

    def forget(self, gone: Iterable[str]) -> None:
        """Files that went: their statuses dropped, the ids they served freed."""
        for f in gone:
            self.files.pop(f, None)
            self.refused.pop(f, None)
            lid = self.by_file.pop(f, None)
            if lid is not None and self.levels.get(lid) is not None \
                    and self.levels[lid].path == f:
                del self.levels[lid]
                self.freed.add(lid)

    def settle_offers(self, results: list[LoadResult]) -> None:
        """Cold start / full reload: every id goes to the first file offering it (a file
        with errors offers the level it serves now)."""
        offers: dict[str, str] = {}
        for r in results:
            lid = r.level.id if r.level is not None else self.by_file.get(r.path)
            if lid is not None and lid not in offers:
                offers[lid] = r.path
        for f, lid in list(self.by_file.items()):
            if offers.get(lid, f) != f:  # it loses its id to a file sorting first
                del self.by_file[f]
                self.levels.pop(lid, None)

    def serve(self, lid: str, r: LoadResult) -> None:
        assert r.level is not None
        self.levels[lid] = r.level
        self.by_file[r.path] = lid
        self.owners[lid] = r.path
        self.loaded.append(lid)
