"""Failures under load with several instances on one database: an instance SIGKILLed
(every event answered 200 is stored, once), and the database restarted (503 with
Retry-After meanwhile, never 500; no acknowledged event lost; recovers by itself)."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import aiohttp
from http_helpers import counter_level, near_event
from pg_cluster import Cluster
from pg_procs import get_json, post

PLAYERS = 8
#: Events per player at most: a journal read returns 1,000 entries at most.
MAX_EVENTS = 1000


async def load_all(session: aiohttp.ClientSession, proc: Any) -> None:
    for n in range(PLAYERS):
        status, body, _ = await post(session, proc, "/world/story/load",
                                     {"player_id": f"p{n}", "level_id": "counter"})
        assert status == 200, body


async def stored(session: aiohttp.ClientSession, proc: Any, pid: str) -> tuple[list[str], int]:
    journal = await get_json(session, proc, f"/world/story/{pid}/journal?limit=1000")
    state = (await get_json(session, proc, f"/world/story/{pid}/state"))["state"]
    ids = [e["event_id"] for e in journal["entries"] if e["event_id"]]
    return ids, int(state["session"]["tasks"]["tally"]["progress"])


async def check_stored(session: aiohttp.ClientSession, proc: Any,
                       acked: dict[str, set[str]]) -> None:
    """Every acknowledged event is in its player's journal, and counted exactly once."""
    for pid, ids in acked.items():
        journal, progress = await stored(session, proc, pid)
        assert ids <= set(journal), f"{pid}: acknowledged events missing"
        assert len(journal) == len(set(journal)) == progress, f"{pid}: counted twice"


async def test_sigkill_of_one_instance_loses_no_acknowledged_event(dsn: str,
                                                                   instances: Any) -> None:
    a, b = await instances(counter_level(), dsn, 2)
    acked: dict[str, set[str]] = {f"p{n}": set() for n in range(PLAYERS)}
    stop = asyncio.Event()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await load_all(session, a)

        async def player(n: int) -> None:
            pid = f"p{n}"
            for k in range(MAX_EVENTS):  # what one journal read returns
                if stop.is_set():
                    return
                event = near_event(pid, event_id=f"{pid}-{k}")
                for proc in itertools.cycle((a, b) if k % 2 else (b, a)):  # the proxy's
                    try:  # failover: a refused or cut request goes to the other one
                        status, _, _ = await post(session, proc, "/world/story/rule-event",
                                                  event)
                    except (aiohttp.ClientError, OSError):
                        continue
                    if status == 200:
                        acked[pid].add(event["event_id"])
                        break
                    assert status == 503, status
                    await asyncio.sleep(0.02)

        tasks = [asyncio.create_task(player(n)) for n in range(PLAYERS)]
        await asyncio.sleep(1.5)
        a.kill()  # SIGKILL mid-load
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*tasks)
        await check_stored(session, b, acked)
        assert sum(map(len, acked.values())) > 20, "too little load to mean anything"


async def test_a_database_restart_answers_503_then_recovers(dsn: str, instances: Any,
                                                            cluster: Cluster) -> None:
    (a,) = await instances(counter_level(), dsn, 1)
    acked: dict[str, set[str]] = {f"p{n}": set() for n in range(PLAYERS)}
    statuses: list[int] = []
    retry_after: set[str] = set()
    stop = asyncio.Event()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        await load_all(session, a)

        async def player(n: int) -> None:
            pid = f"p{n}"
            for k in range(MAX_EVENTS):  # what one journal read returns
                if stop.is_set():
                    return
                event = near_event(pid, event_id=f"{pid}-{k}")
                while True:  # a plugin retries a 503 with the same event_id
                    status, _, headers = await post(session, a, "/world/story/rule-event",
                                                    event)
                    statuses.append(status)
                    if status == 200:
                        acked[pid].add(event["event_id"])
                        break
                    assert status == 503, status
                    retry_after.add(headers.get("Retry-After", ""))
                    await asyncio.sleep(0.05)

        tasks = [asyncio.create_task(player(n)) for n in range(PLAYERS)]
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.restart, 1.5)
        restarted = time.monotonic()
        before = len(statuses)
        while time.monotonic() - restarted < 30:
            await asyncio.sleep(0.2)
            if statuses[-PLAYERS:] == [200] * PLAYERS and len(statuses) > before + 50:
                break
        stop.set()
        await asyncio.gather(*tasks)
        assert 503 in statuses, "the outage was not seen"
        assert "" not in retry_after, "every 503 carries Retry-After"
        assert statuses[-1] == 200, "recovered by itself"
        async with session.get(a.url("/ready")) as r:
            assert r.status == 200
        await check_stored(session, a, acked)


async def test_ready_reflects_the_database(dsn: str, instances: Any, cluster: Cluster) -> None:
    (a,) = await instances(counter_level(), dsn, 1)
    async with aiohttp.ClientSession() as session:
        async with session.get(a.url("/ready")) as r:
            assert r.status == 200
        await asyncio.to_thread(cluster.stop, "immediate")
        try:
            async with session.get(a.url("/ready")) as r:
                assert r.status == 503
                assert (await r.json())["store_failing"] is True
            status, body, headers = await post(session, a, "/world/story/rule-event",
                                               near_event("p0", event_id="x"))
            assert status == 503 and "Retry-After" in headers, body
        finally:
            await asyncio.to_thread(cluster.pg_ctl_start)
        for _ in range(50):
            async with session.get(a.url("/ready")) as r:
                if r.status == 200:
                    break
            await asyncio.sleep(0.2)
        assert r.status == 200
