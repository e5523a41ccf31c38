"""The funnel's start-up rebuild reads every player's journal while the service runs: it
must let the event loop serve in between (the store's reads never suspend, so a loop that
never yields held /ready and every rule event until it finished: 8 s at 1M players)."""

from __future__ import annotations

import asyncio

from quest_runtime.store import Commit, JournalEntry
from quest_runtime.store.memory import MemoryStore
from quest_runtime.studio.funnel import REBUILD_YIELD_EVERY, Funnel


async def test_the_rebuild_lets_other_work_run() -> None:
    store = MemoryStore()
    await store.open()
    players = REBUILD_YIELD_EVERY * 20
    for i in range(players):
        entry = JournalEntry(f"p{i}", None, "near", 1.0, {"tasks_issued": ["t"]}, b"", "d")
        await store.commit(Commit(f"p{i}", b'{"player_id": "p%d"}' % i, 0, entry))
    funnel = Funnel()
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    read = await funnel.rebuild(store, 200)
    done.set()
    await other
    assert read == players
    assert ticks >= 10, ticks  # the ticker ran while the journals were read


async def test_a_batch_is_counted_like_single_events() -> None:
    """Rule-event batches commit through ``commit_many``: the funnel counts them too."""
    from quest_runtime.studio.funnel import ObservedStore

    def entries(player: str) -> list[Commit]:
        effects = [{"levels_loaded": ["lake"], "tasks_issued": ["greet"]},
                   {"tasks_completed": ["greet"]}]
        return [Commit(player, b'{"player_id": "%s"}' % player.encode(), v,
                       JournalEntry(player, None, "near", 10.0 * (v + 1), e, b"", f"d{v}"))
                for v, e in enumerate(effects)]

    reports = []
    for batched in (False, True):
        funnel = Funnel()
        store = ObservedStore(MemoryStore(), funnel, 200)
        await store.open()
        assert store.rebuilt is not None
        await store.rebuilt
        for player in ("a", "b"):
            if batched:
                assert all(isinstance(v, int) for v in await store.commit_many(entries(player)))
            else:
                for c in entries(player):
                    await store.commit(c)
        reports.append(funnel.report())
        await store.close()
    assert reports[0] == reports[1]
    assert "greet" in str(reports[1])
