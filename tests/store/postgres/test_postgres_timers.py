"""Timers across instances: three instances sweep one database for due timers; each
timer fires exactly once (the firing is the conditional write), also when the instance
that scheduled it is SIGKILLed before it is due, and its result is pushed on the
instance that holds the player's stream, wherever the timer fired."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from http_helpers import near_event
from pg_procs import get_json, post

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "timers"))

from timer_helpers import storm_level, texts

PLAYERS = 6


async def test_a_timer_fires_once_with_three_instances_sweeping(dsn: str,
                                                                instances: Any) -> None:
    a, b, c = await instances(storm_level(delay=1.0), dsn, 3)
    players = [f"p{n}" for n in range(PLAYERS)]
    pushed: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        query = "&".join(f"player_id={p}" for p in players)
        async with session.ws_connect(c.url(f"/world/story/stream?{query}")) as ws:

            async def receive() -> None:
                async for message in ws:
                    pushed.append(orjson.loads(message.data))

            reader = asyncio.create_task(receive())
            for n, player in enumerate(players):
                proc = a if n < PLAYERS // 2 else b
                status, body, _ = await post(session, proc, "/world/story/load",
                                             {"player_id": player, "level_id": "storm"})
                assert status == 200, body
                status, body, _ = await post(session, proc, "/world/story/rule-event",
                                             near_event(player, target="sky",
                                                        event_id=f"{player}-sky"))
                assert status == 200, body
            b.kill()  # its players' timers must be fired by a or c (their sweeps)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and len(pushed) < PLAYERS:
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.5)  # a second firing or push would arrive by now
            reader.cancel()
        for player in players:
            state = (await get_json(session, a, f"/world/story/{player}/state"))["state"]
            assert state["vars"]["storms"] == 1 and "outbox" not in state, (player, state)
    by_player: dict[str, list[str]] = {}
    for message in pushed:
        by_player.setdefault(message["player_id"], []).extend(texts(message["result"]))
    assert by_player == {p: ["Thunder!"] for p in players}, "pushed once, on c's stream"
