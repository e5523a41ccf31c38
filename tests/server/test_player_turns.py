"""A player's turn (``Runtime._locked`` / ``_release``): one event of a player at a time,
in the order they came, and a caller cancelled while it waits never keeps the player
locked.

The store holds every commit until the test lets it go, so the events of one player
queue up behind the first for real."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from http_helpers import counter_level, write_level

from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Reply, Runtime
from quest_runtime.store.base import Commit
from quest_runtime.store.memory import MemoryStore

NEAR = {"target": "beacon", "quest_event": "near_beacon"}


class HeldStore(MemoryStore):
    """Commits wait until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def commit(self, commit: Commit) -> int:
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        return await super().commit(commit)

    async def commit_many(self, commits: list[Commit]) -> list[Any]:
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        return await super().commit_many(commits)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    write_level(tmp_path / "levels", counter_level())
    catalog = LevelCatalog(tmp_path / "levels")
    catalog.load_all()
    store = HeldStore()
    store.gate.set()
    rt = Runtime(catalog, store)
    await rt.open()
    await rt.load("Steve", "counter")
    await rt.load("Alex", "counter")
    store.gate.clear()
    try:
        yield rt
    finally:
        store.gate.set()
        await rt.close()


def progress(reply: Reply) -> int:
    assert reply.result is not None
    (node,) = [n for n in reply.result["nodes"] if n["type"] == "task_progress"]
    return int(node["progress"])


async def until(check: Any) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def three_in_a_row(runtime: Runtime, store: HeldStore) -> list[asyncio.Task[Reply]]:
    """Three events of Steve: the first held in the store, two waiting for their turn."""
    first = asyncio.create_task(runtime.handle("Steve", "near", NEAR))
    await until(lambda: store.waiting == 1)
    rest = [asyncio.create_task(runtime.handle("Steve", "near", NEAR)) for _ in range(2)]
    for _ in range(5):
        await asyncio.sleep(0)
    return [first, *rest]


async def test_events_of_one_player_take_turns_in_order(runtime: Runtime) -> None:
    store = runtime.store
    assert isinstance(store, HeldStore)
    tasks = [asyncio.create_task(runtime.handle("Steve", "near", NEAR)) for _ in range(4)]
    await until(lambda: store.waiting == 1)
    for _ in range(20):
        await asyncio.sleep(0)
    assert store.waiting == 1  # the other three wait for Steve's turn, not in the store
    store.gate.set()
    replies = await asyncio.gather(*tasks)
    assert [progress(r) for r in replies] == [1, 2, 3, 4]
    assert runtime._locks == {}


async def test_a_caller_cancelled_while_it_waits_leaves_the_turns_going(
        runtime: Runtime) -> None:
    store = runtime.store
    assert isinstance(store, HeldStore)
    first, second, third = await three_in_a_row(runtime, store)
    second.cancel()
    store.gate.set()
    assert progress(await first) == 1
    assert progress(await third) == 2  # the cancelled one never ran
    with pytest.raises(asyncio.CancelledError):
        await second
    assert runtime._locks == {}


async def test_a_caller_cancelled_as_its_turn_comes_passes_the_turn_on(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    store = runtime.store
    assert isinstance(store, HeldStore)
    first, second, third = await three_in_a_row(runtime, store)
    release = runtime._release
    handed: list[bool] = []

    def release_then_cancel(player_id: str, entry: Any) -> None:
        release(player_id, entry)  # hands the turn to the second caller ...
        if not handed:
            handed.append(True)
            second.cancel()  # ... which is cancelled before it could run

    monkeypatch.setattr(runtime, "_release", release_then_cancel)
    store.gate.set()
    assert progress(await first) == 1
    with pytest.raises(asyncio.CancelledError):
        await second
    assert progress(await asyncio.wait_for(third, 5)) == 2
    assert runtime._locks == {}


async def test_a_batch_cancelled_while_it_waits_frees_the_players_it_holds(
        runtime: Runtime) -> None:
    store = runtime.store
    assert isinstance(store, HeldStore)
    steve = asyncio.create_task(runtime.handle("Steve", "near", NEAR))
    await until(lambda: store.waiting == 1)
    # the batch takes Alex's turn (sorted first), then waits for Steve's
    batch = asyncio.create_task(runtime.handle_batch(
        [("Alex", "near", NEAR, None), ("Steve", "near", NEAR, None)]))
    await until(lambda: "Alex" in runtime._locks)
    for _ in range(5):
        await asyncio.sleep(0)
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    store.gate.set()
    assert progress(await steve) == 1
    alex = await asyncio.wait_for(runtime.handle("Alex", "near", NEAR), 5)
    assert progress(alex) == 1  # Alex was freed and the batch changed nothing
    assert runtime._locks == {}
