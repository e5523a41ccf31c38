"""Two commits of one player from two instances, interleaved step by step (no timing
luck): the second writer of a version loses with ``VersionConflict`` and changes
nothing; a runtime that lost re-reads and re-runs, so both events count once."""

from __future__ import annotations

from pathlib import Path

import pytest
from http_helpers import counter_level, write_level

from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.store.base import Commit, DuplicateEvent, JournalEntry, VersionConflict
from quest_runtime.store.postgres import PostgresStore


def entry(player: str, event_id: str) -> JournalEntry:
    return JournalEntry(player, event_id, "near", 1.0, {}, b'"r"', "d")


async def test_the_second_writer_of_a_version_loses_and_changes_nothing(dsn: str) -> None:
    a, b = PostgresStore(dsn), PostgresStore(dsn)
    await a.open()
    await b.open()
    try:
        assert await a.commit(Commit("alex", b'{"n": 1}', 0, entry("alex", "e1"))) == 1
        # both instances read version 1 ...
        seen_a, seen_b = await a.read_player("alex"), await b.read_player("alex")
        assert seen_a is not None and seen_b is not None and seen_a[1] == seen_b[1] == 1
        # ... b commits first, then a's commit of the same version must lose
        assert await b.commit(Commit("alex", b'{"n": 2}', 1, entry("alex", "e2"))) == 2
        with pytest.raises(VersionConflict):
            await a.commit(Commit("alex", b'{"n": 2}', 1, entry("alex", "e3")))
        # the same event done by both: the late one is a duplicate, not a second effect
        with pytest.raises(DuplicateEvent):
            await a.commit(Commit("alex", b'{"n": 3}', 2, entry("alex", "e2")))
        assert await a.read_player("alex") == (b'{"n": 2}', 2)
        assert [e["event_id"] for e in await b.journal("alex", 10)] == ["e1", "e2"]
        # a new player created by both: one insert wins
        assert await a.commit(Commit("sam", b"{}", 0, None)) == 1
        with pytest.raises(VersionConflict):
            await b.commit(Commit("sam", b"{}", 0, None))
    finally:
        await a.close()
        await b.close()


async def runtime(dsn: str, levels: Path) -> Runtime:
    catalog = LevelCatalog(levels)
    catalog.load_all()
    rt = Runtime(catalog, PostgresStore(dsn))
    await rt.open()
    return rt


async def progress(rt: Runtime, player: str) -> int:
    state = await rt.peek(player)
    assert state is not None and state.session is not None
    return int(state.session.tasks["tally"].progress)


async def test_runtimes_interleaved_on_one_player_count_every_event(dsn: str,
                                                                    tmp_path: Path) -> None:
    write_level(tmp_path / "levels", counter_level())
    one, two = await runtime(dsn, tmp_path / "levels"), await runtime(dsn, tmp_path / "levels")
    try:
        await one.load("alex", "counter")
        near = {"target": "beacon"}
        for n in range(6):  # alternate: each runtime's cached state is stale every time
            rt = one if n % 2 == 0 else two
            reply = await rt.handle("alex", "near", near, event_id=f"e{n}")
            assert not reply.replayed
        assert one.conflicts >= 2 and two.conflicts >= 1, "the cached states were stale"
        assert await progress(one, "alex") == await progress(two, "alex") == 6
        # the same event_id on the other instance: a replay, byte for byte
        first = await one.handle("alex", "near", near, event_id="x")
        again = await two.handle("alex", "near", near, event_id="x")
        assert again.replayed and again.raw == first.raw
        # a batch on a stale instance: re-run, one event each
        replies = await two.handle_batch([("alex", "near", near, "b1"), ("bo", "near", near,
                                                                          None),
                                          ("alex", "near", near, "b2")])
        assert [r.replayed for r in replies] == [False, False, False]
        assert await progress(one, "alex") == 9  # peek reads the store (shared)
    finally:
        await one.close()
        await two.close()
