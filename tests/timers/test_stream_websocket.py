"""The push stream (SPEC §2.2, §4.7, §4.12.1) on a real server socket with a real aiohttp
WebSocket client: a timer fires while the player sends nothing and its result arrives
on the stream; results no client took come with the next rule-event response, once.

The service runs in-process (``serve``) on the system clock with short timer delays.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
import pytest
from http_helpers import Running, validate_ok
from timer_helpers import TOKEN, storm_level, texts

from bridge_protocol import StreamMessage

STREAM = "/world/story/stream"
AUTH = {"Authorization": f"Bearer {TOKEN}"}



async def near(srv: Running, player: str, target: str) -> dict[str, Any] | None:
    return await srv.event({"player_id": player, "event_type": "near",
                            "payload": {"target": target, "quest_event": f"near_{target}"}},
                           headers=AUTH)


async def wait_state(srv: Running, player: str, check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        state = await srv.state(player, headers=AUTH)
        if check(state):
            return state
        assert time.monotonic() < deadline, f"state never matched: {state}"
        await asyncio.sleep(0.02)


async def receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> StreamMessage:
    msg = await ws.receive(timeout=timeout)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return StreamMessage.model_validate_json(msg.data)


async def test_a_timer_result_arrives_on_the_websocket_while_the_player_is_idle(
        serve: Any) -> None:
    srv: Running = await serve(storm_level(delay=0.3), token=TOKEN)
    async with srv.session.ws_connect(srv.url(STREAM), headers=AUTH) as ws:
        await asyncio.sleep(0.05)  # the scheduler is asleep with nothing to do
        await srv.load("Steve", "storm", headers=AUTH)
        scheduled = time.monotonic()
        result = await near(srv, "Steve", "sky")
        assert texts(result) == ["The sky darkens."]  # the storm is not due yet
        message = await receive(ws)
        waited = time.monotonic() - scheduled
        assert 0.25 <= waited < 2.0, waited  # at its due time, not before, not at a poll
        assert message.player_id == "Steve"
        assert [n.text for n in message.result.nodes] == ["Thunder!"]
        assert message.result.nodes[0].title == "Sky"
        assert message.result.commands == ["weather Steve rain"]
        # delivered: the next rule-event response does not repeat it
        after = await near(srv, "Steve", "bell")
        assert after is not None and "Thunder!" not in texts(after)
        state = await srv.state("Steve", headers=AUTH)
        assert state["vars"]["storms"] == 1 and "outbox" not in state
        assert state["session"]["timers"] == {"fired": ["storm"]}
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.5)  # a one-shot timer fires once
    status, body = await srv.get("/world/story/Steve/journal", headers=AUTH)
    assert status == 200
    entries = orjson.loads(body)["entries"]
    assert [e["event_type"] for e in entries] == ["load", "near", "timer", "near"]
    assert entries[2]["effects"]["timers_fired"] == ["storm"]
    _, body = await srv.get("/metrics", headers=AUTH)
    assert b'quest_runtime_pushed_results_total{outcome="delivered"} 1.0' in body


async def test_undelivered_results_come_with_the_next_rule_event_response_once(
        serve: Any) -> None:
    srv: Running = await serve(storm_level(delay=0.2))
    await srv.load("Steve", "storm")
    await near(srv, "Steve", "sky")
    state = await wait_state(srv, "Steve", lambda s: s.get("outbox"))
    [kept] = state["outbox"]
    assert texts(kept["result"]) == ["Thunder!"]
    # the task's node (position 1) comes before the timer's (position 4)
    status, body = await srv.post("/world/story/rule-event", {
        "player_id": "Steve", "event_type": "near",
        "payload": {"target": "bell", "quest_event": "near_bell"}})
    assert status == 200
    validate_ok(body)
    result = orjson.loads(body)["result"]
    assert [n["type"] for n in result["nodes"]] == ["task_complete", "npc_dialogue"]
    assert texts(result)[-1] == "Thunder!"
    assert result["commands"] == ["weather Steve rain"]
    assert result["exit_ready"] is True
    assert "outbox" not in await srv.state("Steve")
    assert await near(srv, "Steve", "nothing") is None  # once
    _, body = await srv.get("/metrics")
    assert b'quest_runtime_pushed_results_total{outcome="kept"} 1.0' in body


async def test_a_client_that_connects_later_gets_what_was_kept(serve: Any) -> None:
    srv: Running = await serve(storm_level(delay=0.1))
    await srv.load("Steve", "storm")
    await near(srv, "Steve", "sky")
    await wait_state(srv, "Steve", lambda s: s.get("outbox"))
    async with srv.session.ws_connect(srv.url(STREAM)) as ws:
        message = await receive(ws)
        assert message.player_id == "Steve"
        assert [n.text for n in message.result.nodes] == ["Thunder!"]
        await wait_state(srv, "Steve", lambda s: "outbox" not in s)
    assert await near(srv, "Steve", "nothing") is None  # not delivered twice


async def test_a_repeating_timer_pushes_each_firing_in_order(serve: Any) -> None:
    level = storm_level(delay=0.2, repeat=1.0)  # the shortest period a level may have
    level["timers"]["storm"]["effects"].append(
        {"type": "if", "condition": {"type": "var_at_least", "var": "storms", "value": 3},
         "then": [{"type": "cancel_timer", "timer": "storm"}]})
    srv: Running = await serve(level)
    async with srv.session.ws_connect(srv.url(STREAM)) as ws:
        await srv.load("Steve", "storm")
        await near(srv, "Steve", "sky")
        got = [await receive(ws) for _ in range(3)]
        assert [m.player_id for m in got] == ["Steve"] * 3
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=1.3)  # a fourth firing would be due after 1 s
    state = await srv.state("Steve")
    assert state["vars"]["storms"] == 3 and "pending" not in state["session"]["timers"]


async def test_a_stream_can_be_limited_to_players(serve: Any) -> None:
    srv: Running = await serve(storm_level(delay=0.1))
    async with srv.session.ws_connect(srv.url(STREAM + "?player_id=Alex")) as ws:
        for player in ("Steve", "Alex"):
            await srv.load(player, "storm")
            await near(srv, player, "sky")
        message = await receive(ws)
        assert message.player_id == "Alex"
        steve = await wait_state(srv, "Steve", lambda s: s.get("outbox"))
        assert len(steve["outbox"]) == 1  # nobody listens for Steve: kept
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)


async def test_the_stream_needs_the_token(serve: Any) -> None:
    srv: Running = await serve(storm_level(), token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            async with srv.session.ws_connect(srv.url(STREAM), headers=headers):
                pass
        assert caught.value.status == 401
    status, _ = await srv.get(STREAM + "?player_id=" + "x" * 65, headers=AUTH)
    assert status == 422


async def test_shutdown_closes_open_streams(serve: Any) -> None:
    srv: Running = await serve(storm_level())
    ws = await srv.session.ws_connect(srv.url(STREAM))
    await srv.server.close()
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await ws.close()
