"""Reads show only committed state (issue 9): a change whose commit is still on its way
to the store is invisible to ``peek`` (``GET …/state``, ``/quest-log``, explain)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.store.base import Commit
from quest_runtime.store.memory import MemoryStore


class SlowStore(MemoryStore):
    """Commits wait until the test lets them through."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()

    async def commit(self, commit: Commit) -> int:
        await self.gate.wait()
        return await super().commit(commit)


async def test_a_change_in_flight_is_not_read_before_its_commit(tmp_path: Path) -> None:
    (tmp_path / "beacon.json").write_bytes(orjson.dumps({
        "id": "beacon", "tasks": [{"id": "tally", "type": "near", "target": "beacon",
                                   "count": 10}]}))
    catalog = LevelCatalog(tmp_path)
    catalog.load_all()
    store = SlowStore()
    runtime = Runtime(catalog, store)
    await runtime.open()
    await runtime.load("Steve", "beacon")
    store.gate.clear()
    event = asyncio.create_task(runtime.handle("Steve", "near", {"target": "beacon"}))
    await asyncio.sleep(0.05)  # the engine ran; the commit waits at the gate
    assert not event.done()
    seen = await runtime.peek("Steve")
    assert seen is not None and seen.session is not None
    assert seen.session.tasks["tally"].progress == 0  # not committed yet
    store.gate.set()
    await event
    after = await runtime.peek("Steve")
    assert after is not None and after.session is not None
    assert after.session.tasks["tally"].progress == 1
    await runtime.close()
