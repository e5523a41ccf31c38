"""Level generations across a network of instances (``quest-runtime levels publish``).

1. ``levels publish DIR`` validates DIR like ``validate`` does and, only when no file has
   an error, stores its level files as the next *generation* in the database
   (``PostgresStore.publish_levels``, one row) and NOTIFYs ``qr_levels``.
2. Each instance's ``LevelSync`` writes the newest generation into its own levels
   folder (files of the generation replaced, other ``*.json`` files removed) and reloads
   it with the service's reloader, then serves that generation (``store.level_generation``).
   It syncs at start-up, on every NOTIFY and on LISTEN reconnect.
3. Every commit records the generation its instance served on the player's row; an
   instance that is behind (its NOTIFY is late) gets ``LevelsBehind`` for a player who
   played a newer generation, syncs before the error returns (``on_levels_behind``), and
   the runtime re-runs the event on the new levels: nobody goes back a version.

Without a published generation nothing changes: each instance serves its folder.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from quest_runtime.store.postgres import PostgresStore

log = logging.getLogger(__name__)


def write_generation(folder: Path, files: Mapping[str, bytes]) -> None:
    """Make ``folder``'s level files exactly ``files`` (each written atomically)."""
    folder.mkdir(parents=True, exist_ok=True)
    keep = set()
    for rel, content in files.items():
        path = (folder / rel).resolve()
        if folder.resolve() not in path.parents:
            raise ValueError(f"published path {rel!r} leaves the levels folder")
        keep.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_bytes() == content:
            continue
        tmp = path.with_name(f".{path.name}.publish")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    for old in folder.rglob("*.json"):
        if old.resolve() not in keep:
            old.unlink()


def read_generation(folder: Path) -> dict[str, bytes]:
    """The level files under ``folder`` (relative path -> content), for publishing."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*.json"))
            if not any(part.startswith(".") for part in p.relative_to(folder).parts)}


class LevelSync:
    """Keeps one instance's levels at the newest published generation."""

    def __init__(self, store: PostgresStore, folder: Path,
                 reload: Callable[[], Awaitable[Any]]) -> None:
        self.store = store
        self.folder = folder
        self.reload = reload
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.sync()
        self.store.on_levels_behind = self.sync
        self.store.listen_levels(self._notified)

    def _notified(self, _payload: str | None) -> None:
        task = asyncio.create_task(self.sync(), name="quest-level-sync")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sync(self) -> None:
        """Take the newest generation if it is newer than the one served."""
        async with self._lock:
            try:
                found = await self.store.published_levels(after=self.store.level_generation)
            except Exception as exc:  # the database is away: the next sync tries again
                log.warning("cannot read the published levels: %s", exc)
                return
            if found is None:
                return
            generation, files = found
            await asyncio.to_thread(write_generation, self.folder, files)
            await self.reload()
            self.store.level_generation = generation
            log.info("serving published levels", extra={"level_generation": generation,
                                                        "files": len(files)})
