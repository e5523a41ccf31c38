"""A batch's store calls: ``commit_many`` (one request, per-commit outcomes) and
``find_results`` (one look-up for every event_id of a batch), in both stores."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from quest_runtime.store import Commit, JournalEntry, SQLiteStore, StoreError
from quest_runtime.store.memory import MemoryStore


def commit(player: str, version: int, event_id: str | None = None) -> Commit:
    entry = JournalEntry(player, event_id, "near", 1.0, {}, f'"r-{event_id}"'.encode(), "d")
    return Commit(player, b'{"player_id": "%s"}' % player.encode(), version, entry)


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path
                ) -> AsyncIterator[SQLiteStore | MemoryStore]:
    s = SQLiteStore(tmp_path / "s.db") if request.param == "sqlite" else MemoryStore()
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def test_commit_many_gives_each_commit_its_outcome(store: SQLiteStore | MemoryStore
                                                         ) -> None:
    out = await store.commit_many([commit("a", 0, "e1"), commit("b", 0, "e2"),
                                   commit("a", 1, "e3"), commit("b", 5, "e4"),  # conflict
                                   commit("c", 0, "e1")])
    assert out[:3] == [1, 1, 2] and out[4] == 1
    assert isinstance(out[3], StoreError) and "version" in str(out[3])
    assert (await store.read_player("a")) is not None
    assert [e["event_id"] for e in await store.journal("b", 10)] == ["e2"]


async def test_find_results_looks_up_a_whole_batch(store: SQLiteStore | MemoryStore) -> None:
    await store.commit_many([commit(f"p{i}", 0, f"e{i}") for i in range(1000)])
    keys = [(f"p{i}", f"e{i}") for i in range(0, 1000, 3)] + [("p1", "e2"), ("nobody", "e1")]
    found = await store.find_results(keys)
    assert found == {(f"p{i}", f"e{i}"): f'"r-e{i}"'.encode() for i in range(0, 1000, 3)}


def test_the_batch_look_up_uses_the_event_id_index(tmp_path: Path) -> None:
    import asyncio

    async def make() -> None:
        s = SQLiteStore(tmp_path / "plan.db")
        await s.open()
        await s.close()

    asyncio.run(make())
    conn = sqlite3.connect(tmp_path / "plan.db")
    plan = " ".join(str(row) for row in conn.execute(
        "EXPLAIN QUERY PLAN SELECT player_id, event_id, result FROM journal WHERE event_id "
        "IS NOT NULL AND (player_id, event_id) IN (VALUES (?, ?), (?, ?))", ("a", "1", "b", "2")))
    conn.close()
    assert "journal_event_id" in plan, plan
