"""Watching a levels folder: the one watchfiles loop the service's hot reload
(``server/reload.py``) and the studio's live map (``studio/workspace.py``) both run.

watchfiles reports changes under the folder (debounced); ``level_change`` keeps level
files and folders, never hidden ones; ``expand`` turns a batch of changed paths into the
level files it touches; the owner's callback gets them (a failing callback is logged and
the watch goes on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import watchfiles

from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.levels.files import level_files

log = logging.getLogger(__name__)


def level_change(change: watchfiles.Change, path: str) -> bool:
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


class FolderWatcher:
    """Runs ``on_change(level files)`` for each batch of changes under ``folder``."""

    def __init__(self, folder: Path, catalog: LevelCatalog,
                 on_change: Callable[[list[Path]], Awaitable[None]], *, name: str,
                 debounce: int) -> None:
        self.folder = folder
        self.catalog = catalog
        self.on_change = on_change
        self.name = name
        self.debounce = debounce
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._watch(), name=self.name)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        async for changes in watchfiles.awatch(
            self.folder, watch_filter=level_change, debounce=self.debounce, step=30,
            stop_event=self._stop, recursive=True,
        ):
            paths = expand(self.catalog, sorted({Path(p) for _, p in changes}))
            if not paths:
                continue
            try:
                await self.on_change(paths)
            except Exception:  # one bad save never stops the watcher
                log.exception("%s: handling a change failed", self.name)
