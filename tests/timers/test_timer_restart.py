"""Timers are persisted (SPEC §4.7, §5.1): a ``quest-runtime serve`` subprocess is SIGKILLed
while a timer is pending, stays down past the due time, and is restarted on the same
SQLite file: the overdue timer fires exactly once — one ``timer`` journal entry, the
effect applied once — and stays fired across a further SIGKILL and restart. Its result,
which no stream client took, comes with the player's next rule-event response, once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
from http_helpers import Proc
from timer_helpers import storm_level

JSON = {"Content-Type": "application/json"}
DELAY = 1.5


async def call(session: aiohttp.ClientSession, proc: Proc, method: str, path: str,
               body: Any = None) -> Any:
    data = None if body is None else orjson.dumps(body)
    async with session.request(method, proc.url(path), data=data, headers=JSON) as r:
        raw = await r.read()
        assert r.status == 200, (r.status, raw[:300])
        return orjson.loads(raw)


async def timer_entries(session: aiohttp.ClientSession, proc: Proc) -> list[dict[str, Any]]:
    body = await call(session, proc, "GET", "/world/story/Steve/journal?limit=100")
    return [e for e in body["entries"] if e["event_type"] == "timer"]


async def test_an_overdue_timer_fires_exactly_once_after_sigkill_and_restart(
        spawn: Any) -> None:
    proc: Proc = spawn(storm_level(delay=DELAY))
    await proc.restart()
    async with aiohttp.ClientSession() as session:
        await call(session, proc, "POST", "/world/story/load",
                   {"player_id": "Steve", "level_id": "storm"})
        scheduled = time.time()
        await call(session, proc, "POST", "/world/story/rule-event",
                   {"player_id": "Steve", "event_type": "near", "payload": {"target": "sky"}})
        proc.kill()  # SIGKILL well before the due time
        assert time.time() - scheduled < DELAY, "too slow to kill before the due time"
        await asyncio.sleep(max(0.0, scheduled + DELAY + 0.5 - time.time()))

        await proc.restart()  # the timer is overdue now
        deadline = time.monotonic() + 10
        while not await timer_entries(session, proc):
            assert time.monotonic() < deadline, "the overdue timer never fired"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # room for a (wrong) second firing

        async def check_fired_once() -> dict[str, Any]:
            [entry] = await timer_entries(session, proc)
            assert entry["effects"]["timers_fired"] == ["storm"]
            state: dict[str, Any] = (
                await call(session, proc, "GET", "/world/story/Steve/state"))["state"]
            assert state["vars"]["storms"] == 1
            assert state["session"]["timers"] == {"fired": ["storm"]}
            assert len(state["outbox"]) == 1  # nobody was listening
            return state

        before = await check_fired_once()
        assert before["outbox"][0]["at"] >= scheduled + DELAY - 0.01

        proc.kill()  # again, after the firing: nothing may fire twice
        await proc.restart()
        await asyncio.sleep(0.5)
        await check_fired_once()

        result = (await call(session, proc, "POST", "/world/story/rule-event", {
            "player_id": "Steve", "event_type": "near",
            "payload": {"target": "nothing"}}))["result"]
        assert [n["text"] for n in result["nodes"]] == ["Thunder!"]
        assert result["commands"] == ["weather Steve rain"]
        again = (await call(session, proc, "POST", "/world/story/rule-event", {
            "player_id": "Steve", "event_type": "near",
            "payload": {"target": "nothing"}}))["result"]
        assert again is None
    proc.stop()
