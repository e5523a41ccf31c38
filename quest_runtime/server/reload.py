"""Hot reload (SPEC §6): the watchfiles loop, SIGHUP and ``POST /admin/reload``.

1. watchfiles reports changed ``*.json`` files under the levels folder (debounced);
2. the changed files are parsed, validated and compiled in a worker thread, off the
   event loop, one reload at a time;
3. ``LevelCatalog`` swaps in the good levels in one assignment and keeps the last good
   version of a file with errors; every finding is logged and kept for ``/admin/levels``;
4. live sessions follow the new version on their next rule event (by ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import watchfiles

from quest_runtime.levels.catalog import LevelCatalog, ReloadReport
from quest_runtime.levels.files import level_files
from quest_runtime.levels.findings import Severity
from quest_runtime.server.metrics import Metrics

log = logging.getLogger(__name__)


def _json_only(change: watchfiles.Change, path: str) -> bool:
    """Level files, and folders: a new folder's files may be written before the watch on
    the folder is in place, and a deleted folder reports only itself (see ``expand``)."""
    return "/." not in path and (path.endswith(".json") or "." not in Path(path).name)


def expand(catalog: LevelCatalog, paths: list[Path]) -> list[Path]:
    """The level files a batch of changes touches: a folder that exists stands for every
    level file under it (a copy saved into a new subfolder is not missed), a folder that
    is gone for every file the catalog knows under it (they are all deleted)."""
    out: set[Path] = set()
    known = [Path(f).absolute() for f in catalog.files]
    for p in paths:
        if p.suffix == ".json":
            out.add(p)
        elif p.is_symlink():
            continue  # a linked folder is never followed (levels/files.py)
        elif p.is_dir():
            out.update(level_files(p))
        elif not p.exists():
            out.update(f for f in known if p.absolute() in f.parents)
    return sorted(out)


class Reloader:
    """Serialises reloads and runs the watcher task."""

    def __init__(self, catalog: LevelCatalog, metrics: Metrics) -> None:
        self.catalog = catalog
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def reload_all(self) -> ReloadReport:
        async with self._lock:
            report = await asyncio.to_thread(self.catalog.load_all)
        self._account(report)
        return report

    async def reload_paths(self, paths: list[Path]) -> ReloadReport:
        async with self._lock:
            report = await asyncio.to_thread(self.catalog.reload_paths, paths)
        self._account(report)
        return report

    def _account(self, report: ReloadReport) -> None:
        self.metrics.reloads.inc()
        if report.failed:
            self.metrics.reload_failures.inc(len(report.failed))
        errors = sum(
            1 for status in self.catalog.files.values() for f in status.findings
            if f.severity is Severity.ERROR
        )
        self.metrics.level_errors.set(errors)
        log.info("levels reloaded", extra={"loaded": list(report.loaded),
                                           "failed": list(report.failed),
                                           "removed": list(report.removed),
                                           "generation": self.catalog.generation})

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._watch(), name="level-watcher")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        folder = self.catalog.folder
        folder.mkdir(parents=True, exist_ok=True)
        async for changes in watchfiles.awatch(
            folder, watch_filter=_json_only, debounce=150, step=30, stop_event=self._stop,
            recursive=True,
        ):
            paths = expand(self.catalog, sorted({Path(p) for _, p in changes}))
            if not paths:
                continue
            try:
                await self.reload_paths(paths)
            except Exception:  # never let one bad reload kill the watcher
                log.exception("reload failed")
