"""Hot reload (SPEC §6): the watchfiles loop, SIGHUP and ``POST /admin/reload``.

1. watchfiles reports changed ``*.json`` files under the levels folder (debounced,
   ``levels/watch.py``, the same loop the studio runs);
2. the changed files are parsed, validated and compiled in a worker thread, off the
   event loop, one reload at a time;
3. ``LevelCatalog`` swaps in the good levels in one assignment and keeps the last good
   version of a file with errors; every finding is logged and kept for ``/admin/levels``;
4. live sessions follow the new version on their next rule event (by ids).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from quest_runtime.levels.catalog import LevelCatalog, ReloadReport
from quest_runtime.levels.findings import Severity
from quest_runtime.levels.watch import FolderWatcher
from quest_runtime.server.metrics import Metrics

log = logging.getLogger(__name__)


class Reloader:
    """Serialises reloads and runs the watcher task."""

    def __init__(self, catalog: LevelCatalog, metrics: Metrics) -> None:
        self.catalog = catalog
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self._watcher = FolderWatcher(catalog.folder, catalog, self._changed,
                                      name="level-watcher", debounce=150)

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
        self._watcher.start()

    async def stop(self) -> None:
        await self._watcher.stop()

    async def _changed(self, paths: list[Path]) -> None:
        await self.reload_paths(paths)
