"""The ``StateStore`` contract, checked on ``MemoryStore`` and, side by side, ``SQLiteStore``.

Running the same table against both keeps the preview tool's store honest: whatever
passes here behaves the same on disk. Durability, group commit and migrations are
SQLite matters and live in ``test_sqlite_store.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from quest_runtime.store import (
    Commit,
    JournalEntry,
    MemoryStore,
    SQLiteStore,
    StateStore,
    StoreError,
)

JOURNAL_LIMIT = 5


def entry(player: str, event_id: str | None, n: int = 0) -> JournalEntry:
    return JournalEntry(
        player_id=player,
        event_id=event_id,
        event_type="block_break",
        received_at=1700000000.0 + n,
        effects={"progressed": ["fetch_wood"], "n": n},
        result=orjson.dumps({"ok": True, "n": n}),
        digest=f"d{n}",
    )


def commit(player: str, version: int, event_id: str | None = None, n: int = 0) -> Commit:
    journal = entry(player, event_id, n) if event_id is not None else None
    return Commit(player, orjson.dumps({"v": version + 1}), version, journal)


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    instance: StateStore
    if request.param == "memory":
        instance = MemoryStore(journal_limit=JOURNAL_LIMIT)
    else:
        instance = SQLiteStore(tmp_path / "state.db", journal_limit=JOURNAL_LIMIT)
    await instance.open()
    yield instance
    await instance.close()


async def test_round_trip(store: StateStore) -> None:
    assert await store.read_player("alex") is None
    assert await store.commit(commit("alex", 0, "e1")) == 1
    assert await store.read_player("alex") == (orjson.dumps({"v": 1}), 1)
    assert await store.players() == ["alex"]
    [row] = await store.journal("alex", 10)
    assert row == {
        "seq": 1,
        "event_id": "e1",
        "event_type": "block_break",
        "received_at": 1700000000.0,
        "effects": {"progressed": ["fetch_wood"], "n": 0},
        "digest": "d0",
        "result": {"ok": True, "n": 0},
    }


async def test_versions_increase_by_one_per_commit(store: StateStore) -> None:
    version = 0
    for n in range(4):
        version = await store.commit(commit("alex", version, f"e{n}", n))
    assert version == 4
    assert await store.read_player("alex") == (orjson.dumps({"v": 4}), 4)


async def test_chained_commits_awaited_together_apply_in_call_order(store: StateStore) -> None:
    # The runtime's batch path gathers v0->1, v1->2, v2->3 of one player at once.
    chained = [commit("alex", n, f"e{n}", n) for n in range(3)]
    assert await asyncio.gather(*(store.commit(c) for c in chained)) == [1, 2, 3]
    assert [row["seq"] for row in await store.journal("alex", 10)] == [1, 2, 3]


async def test_commit_without_journal_entry(store: StateStore) -> None:
    assert await store.commit(commit("alex", 0)) == 1
    assert await store.journal("alex", 10) == []
    assert await store.read_player("alex") == (orjson.dumps({"v": 1}), 1)


@pytest.mark.parametrize(
    "version",
    [pytest.param(0, id="new-player-exists"), pytest.param(1, id="stale-version")],
)
async def test_version_conflict_changes_nothing(store: StateStore, version: int) -> None:
    await store.commit(commit("alex", 0, "e0"))
    await store.commit(commit("alex", 1, "e1", 1))
    with pytest.raises(StoreError, match="version conflict"):
        await store.commit(commit("alex", version, "e9", 9))
    assert await store.read_player("alex") == (orjson.dumps({"v": 2}), 2)
    assert [row["event_id"] for row in await store.journal("alex", 10)] == ["e0", "e1"]
    assert await store.find_result("alex", "e9") is None


async def test_repeated_event_id_fails_that_commit_only(store: StateStore) -> None:
    await store.commit(commit("alex", 0, "e1"))
    with pytest.raises(StoreError, match="already in the journal"):
        await store.commit(commit("alex", 1, "e1", 5))
    assert await store.read_player("alex") == (orjson.dumps({"v": 1}), 1)
    assert await store.commit(commit("steve", 0, "e1")) == 1  # event ids are per player


async def test_journal_is_ordered_oldest_first_and_bounded(store: StateStore) -> None:
    for n in range(12):
        await store.commit(commit("alex", n, f"e{n}", n))
    rows = await store.journal("alex", 100)
    assert [row["seq"] for row in rows] == [8, 9, 10, 11, 12]
    assert [row["event_id"] for row in rows] == ["e7", "e8", "e9", "e10", "e11"]
    assert [row["seq"] for row in await store.journal("alex", 2)] == [11, 12]
    assert await store.journal("alex", 0) == []
    assert await store.journal("nobody", 10) == []


async def test_find_result(store: StateStore) -> None:
    for n in range(7):
        await store.commit(commit("alex", n, f"e{n}", n))
    assert await store.find_result("alex", "e6") == orjson.dumps({"ok": True, "n": 6})
    assert await store.find_result("alex", "e1") is None, "fell out of retention"
    assert await store.find_result("steve", "e6") is None
    assert await store.find_result("alex", "unknown") is None


async def test_players_are_listed_sorted(store: StateStore) -> None:
    for player in ("steve", "alex", "notch"):
        await store.commit(commit(player, 0))
    assert await store.players() == ["alex", "notch", "steve"]


async def test_effects_that_are_not_json_fail_at_commit(store: StateStore) -> None:
    bad = Commit("alex", b"{}", 0, replace(entry("alex", "e1"), effects={"x": object()}))
    with pytest.raises(StoreError, match="not JSON"):
        await store.commit(bad)
    assert await store.read_player("alex") is None


async def test_closed_store_refuses_reads_and_commits(store: StateStore) -> None:
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError):
        await store.commit(commit("alex", 0))
    with pytest.raises(StoreError):
        await store.read_player("alex")


async def test_unopened_memory_store_refuses_work() -> None:
    store = MemoryStore()
    with pytest.raises(StoreError, match="not open"):
        await store.read_player("alex")
    with pytest.raises(ValueError, match="journal_limit"):
        MemoryStore(journal_limit=0)
