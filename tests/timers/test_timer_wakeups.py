"""Start-up finds the players with timers from the store's wakeup index, not by reading
every player document (issue: a million players must not cost a scan at start-up)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from http_helpers import write_level
from timer_helpers import storm_level

from quest_runtime.clock import FakeClock
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.store.memory import MemoryStore
from quest_runtime.store.sqlite import MIGRATIONS, SQLiteStore, migrate

P = "Steve"


def near(target: str) -> dict[str, Any]:
    return {"target": target, "quest_event": f"near_{target}"}


def catalog_of(tmp_path: Path) -> LevelCatalog:
    write_level(tmp_path / "levels", storm_level(delay=30))
    catalog = LevelCatalog(tmp_path / "levels")
    catalog.load_all()
    return catalog


class CountingStore(SQLiteStore):
    reads = 0

    async def read_player(self, player_id: str) -> tuple[bytes, int] | None:
        CountingStore.reads += 1
        return await super().read_player(player_id)


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
async def test_the_store_keeps_who_has_a_timer(tmp_path: Path, kind: str) -> None:
    store = SQLiteStore(tmp_path / "s.db") if kind == "sqlite" else MemoryStore()
    runtime = Runtime(catalog_of(tmp_path), store, clock=FakeClock(1000.0))
    await runtime.open()
    try:
        for player in ("a", "b", "c"):
            await runtime.load(player, "storm")
        await runtime.handle("b", "near", near("sky"))      # b's storm due at 1030
        assert [(w.player_id, w.due, w.outbox) for w in await store.wakeups()] == [
            ("b", 1030.0, False)]
        await runtime.handle("b", "near", near("hush"))     # cancelled
        assert await store.wakeups() == []
    finally:
        await runtime.close()


async def test_start_up_reads_no_document_of_a_player_without_timers(tmp_path: Path) -> None:
    catalog, path = catalog_of(tmp_path), tmp_path / "s.db"
    runtime = Runtime(catalog, SQLiteStore(path), clock=FakeClock(1000.0))
    await runtime.open()
    for i in range(200):
        await runtime.load(f"p{i}", "storm")
    await runtime.handle("p7", "near", near("sky"))
    await runtime.close()
    store = CountingStore(path)
    fresh = Runtime(catalog, store, clock=FakeClock(1000.0))
    await fresh.open()
    try:
        CountingStore.reads = 0
        assert await fresh.index_timers() == 1
        assert CountingStore.reads == 0
        assert fresh.timers.due_of("p7") == 1030.0
    finally:
        await fresh.close()


async def test_a_version_1_file_is_read_once_and_then_indexed(tmp_path: Path) -> None:
    """A store file from before the wakeup index: its rows are marked unknown, their
    documents are read at start-up, and their next commit records them."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, str(path), MIGRATIONS[:1])
    doc = {"v": 2, "player_id": P, "flags": [], "vars": {}, "items": {},
           "completed_levels": [], "once_marks": [],
           "session": {"level_id": "storm", "level_version": "", "started_at": 1000.0,
                       "tasks": {}, "refs": [], "listeners": {}, "behaviors": {},
                       "summary_emitted": False, "exit_ready": False,
                       "timers": {"pending": {"storm": 1030.0}}}}
    conn.execute("INSERT INTO players VALUES (?, ?, 1, 0)", (P, orjson.dumps(doc)))
    conn.execute("INSERT INTO players VALUES ('quiet', ?, 1, 0)",
                 (orjson.dumps({**doc, "player_id": "quiet", "session": None}),))
    conn.close()
    store = SQLiteStore(path)
    runtime = Runtime(catalog_of(tmp_path), store, clock=FakeClock(1000.0))
    await runtime.open()
    try:
        assert sorted((w.player_id, w.known) for w in await store.wakeups()) == [
            (P, False), ("quiet", False)]
        assert await runtime.index_timers() == 1
        assert runtime.timers.due_of(P) == 1030.0
        await runtime.handle(P, "near", near("bell"))
        await runtime.handle("quiet", "near", near("bell"))
        assert [(w.player_id, w.due, w.known) for w in await store.wakeups()] == [
            (P, 1030.0, True)]
    finally:
        await runtime.close()
