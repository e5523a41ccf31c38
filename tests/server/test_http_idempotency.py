"""Idempotency and per-player ordering over HTTP (SPEC §5.3).

- A repeated ``event_id`` (body field or ``Idempotency-Key`` header), sent again later,
  concurrently, or inside a batch, is applied once and answered with the same bytes.
- Events of one player are processed strictly one after another: 100 concurrent events
  whose outcome depends on their order leave exactly the state (and the per-event
  results) that sending them one by one, in the order the server took them, gives on a
  fresh server.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import orjson
from http_helpers import Running, Serve, counter_level, near_event, validate_ok, write_level

from bridge_protocol import BatchResponse

EVENT = "/world/story/rule-event"
BATCH = "/world/story/rule-events"
JSON = {"Content-Type": "application/json"}


async def counter_server(serve: Serve, tmp_path_factory: Any, **settings: Any) -> Running:
    levels = tmp_path_factory.mktemp("levels")
    write_level(levels, counter_level())
    srv = await serve(levels=levels, **settings)
    return srv


async def raw_event(srv: Running, event: dict[str, Any],
                    headers: dict[str, str] | None = None) -> bytes:
    status, body = await srv.post(EVENT, event, headers=headers or {})
    assert status == 200, body
    validate_ok(body)
    return body


async def test_same_event_id_twice_counts_once(serve: Serve, tmp_path_factory: Any) -> None:
    srv = await counter_server(serve, tmp_path_factory)
    await srv.load("Steve", "counter")
    first = await raw_event(srv, near_event("Steve", event_id="e-1"))
    again = await raw_event(srv, near_event("Steve", event_id="e-1"))
    assert again == first
    assert orjson.loads(first)["result"]["nodes"][0]["progress"] == 1
    assert await srv.progress("Steve") == 1

    # the replay is answered from the journal even with a different body
    other = near_event("Steve", "somewhere_else", event_id="e-1")
    assert await raw_event(srv, other) == first
    assert await srv.progress("Steve") == 1

    # a new id counts; the same id of another player is another event
    await raw_event(srv, near_event("Steve", event_id="e-2"))
    await srv.load("Alex", "counter")
    await raw_event(srv, near_event("Alex", event_id="e-1"))
    assert await srv.progress("Steve") == 2
    assert await srv.progress("Alex") == 1

    _, body = await srv.get("/world/story/Steve/journal")
    ids = [e["event_id"] for e in orjson.loads(body)["entries"]]
    assert ids == [None, "e-1", "e-2"]

    async with srv.session.get(srv.url("/metrics")) as r:
        text = await r.text()
    assert "quest_runtime_idempotent_replays_total 2.0" in text


async def test_same_event_id_concurrently_counts_once(serve: Serve,
                                                      tmp_path_factory: Any) -> None:
    srv = await counter_server(serve, tmp_path_factory)
    await srv.load("Steve", "counter")
    for round_ in range(5):
        eid = f"burst-{round_}"
        bodies = await asyncio.gather(*(raw_event(srv, near_event("Steve", event_id=eid))
                                        for _ in range(25)))
        assert len(set(bodies)) == 1, "every copy must get the same bytes"
        assert await srv.progress("Steve") == round_ + 1


async def test_idempotency_key_header(serve: Serve, tmp_path_factory: Any) -> None:
    srv = await counter_server(serve, tmp_path_factory)
    await srv.load("Steve", "counter")
    key = {"Idempotency-Key": "hdr-1"}
    first = await raw_event(srv, near_event("Steve"), key)
    assert await raw_event(srv, near_event("Steve"), key) == first
    bodies = await asyncio.gather(*(raw_event(srv, near_event("Steve"), key)
                                    for _ in range(20)))
    assert set(bodies) == {first}
    assert await srv.progress("Steve") == 1

    # the header and the body field name the same key
    assert await raw_event(srv, near_event("Steve", event_id="hdr-1")) == first
    assert await srv.progress("Steve") == 1

    concurrent = await asyncio.gather(*(raw_event(srv, near_event("Steve"),
                                                  {"Idempotency-Key": "hdr-2"})
                                        for _ in range(20)))
    assert len(set(concurrent)) == 1
    assert await srv.progress("Steve") == 2

    # without any key every event counts
    await raw_event(srv, near_event("Steve"))
    await raw_event(srv, near_event("Steve"))
    assert await srv.progress("Steve") == 4


async def test_batch_with_repeated_event_id(serve: Serve, tmp_path_factory: Any) -> None:
    srv = await counter_server(serve, tmp_path_factory)
    await srv.load("Steve", "counter")
    await srv.load("Alex", "counter")
    single = await raw_event(srv, near_event("Steve", event_id="s-0"))
    events = [
        near_event("Steve", event_id="s-1"),
        near_event("Steve", event_id="s-2"),
        near_event("Steve", event_id="s-1"),   # repeated inside the batch
        near_event("Alex", event_id="s-1"),    # same id, another player: counts
        near_event("Steve", event_id="s-0"),   # processed before the batch
        near_event("Steve", event_id="s-2"),
        near_event("Steve"),                   # no id: counts
    ]
    status, body = await srv.post(BATCH, {"events": events})
    assert status == 200, body
    BatchResponse.model_validate_json(body)
    results = [orjson.dumps(r) for r in orjson.loads(body)["results"]]
    assert results[2] == results[0]
    assert results[5] == results[1]
    assert b'{"status":"ok","result":' + results[4] + b"}" == single
    assert results[0] != results[1]
    assert await srv.progress("Steve") == 4  # s-0, s-1, s-2, the one without id
    assert await srv.progress("Alex") == 1

    # the whole batch again: all replays, byte for byte, nothing counts
    status, again = await srv.post(BATCH, {"events": events[:6]})
    assert status == 200
    assert orjson.loads(again)["results"] == orjson.loads(body)["results"][:6]
    assert await srv.progress("Steve") == 4
    # and a single request replays what the batch answered
    replay = await raw_event(srv, near_event("Steve", event_id="s-2"))
    assert replay == b'{"status":"ok","result":' + results[1] + b"}"


# -- ordering ------------------------------------------------------------------------

STEPS = 40


def chain_level() -> dict[str, Any]:
    """A chain of ``near`` steps alternating targets a/b: each step is issued only when
    the one before it completes, so which events advance it depends on their order.
    Two tallies count every a and b event whatever the order (lost updates show)."""
    tasks: list[dict[str, Any]] = [
        {"id": "tally_a", "type": "near", "target": "a", "count": 10**6, "title": "A"},
        {"id": "tally_b", "type": "near", "target": "b", "count": 10**6, "title": "B"},
    ]
    for i in range(STEPS):
        step: dict[str, Any] = {"id": f"step_{i}", "type": "near",
                                "target": "a" if i % 2 == 0 else "b",
                                "count": 1 + i % 3, "title": f"Step {i}"}
        if i:
            step["after"] = [f"step_{i - 1}"]
        tasks.append(step)
    return {"id": "chain", "title": "Chain", "format": 1, "tasks": tasks,
            "rule_listeners": [{"id": "echo_b", "type": "near", "targets": ["b"],
                                "cooldown_seconds": 0,
                                "metadata": {"commands": ["say {player} b"]}}]}


def without_times(value: Any) -> Any:
    """The state minus wall-clock stamps, which differ between two runs."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items()
                if not k.endswith("_at") and k != "last_fired"}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


async def test_concurrent_events_of_one_player_run_as_if_one_by_one(
        serve: Serve, tmp_path_factory: Any) -> None:
    levels = tmp_path_factory.mktemp("chain_levels")
    write_level(levels, chain_level())
    live = await serve(levels=levels)
    await live.load("Steve", "chain")

    rng = random.Random(7)
    targets = ["a", "b"] * 50
    rng.shuffle(targets)
    events = {f"ev-{i:03d}": near_event("Steve", t, event_id=f"ev-{i:03d}")
              for i, t in enumerate(targets)}
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(event: dict[str, Any]) -> bytes:
            async with session.post(live.url(EVENT), data=orjson.dumps(event),
                                    headers=JSON) as r:
                body = await r.read()
                assert r.status == 200, body
                return body

        answers = dict(zip(events, await asyncio.gather(*(send(e) for e in events.values())),
                           strict=True))

    state = await live.state("Steve")
    tasks = state["session"]["tasks"]
    assert tasks["tally_a"]["progress"] == 50
    assert tasks["tally_b"]["progress"] == 50

    # the order the server took them in
    _, body = await live.get("/world/story/Steve/journal?limit=1000")
    order = [e["event_id"] for e in orjson.loads(body)["entries"] if e["event_id"]]
    assert sorted(order) == sorted(events)

    # the same events one by one, in that order, on a fresh server
    fresh = await serve(levels=levels)
    await fresh.load("Steve", "chain")
    for eid in order:
        body = await raw_event(fresh, events[eid])
        assert body == answers[eid], f"{eid} answered differently than one by one"
    assert without_times(await fresh.state("Steve")) == without_times(state)
    _, live_log = await live.get("/world/story/Steve/quest-log")
    _, fresh_log = await fresh.get("/world/story/Steve/quest-log")
    assert live_log == fresh_log


async def test_order_matters_in_the_chain_level(serve: Serve, tmp_path_factory: Any) -> None:
    """The oracle above is only worth something if order changes the outcome."""
    levels = tmp_path_factory.mktemp("chain_levels")
    write_level(levels, chain_level())
    srv = await serve(levels=levels)
    outcomes = []
    in_order = ["a", "b", "b", "a", "a", "a", "b", "a", "a"]  # what steps 0-4 consume
    for player, targets in (("Ordered", in_order), ("Reversed", in_order[::-1])):
        await srv.load(player, "chain")
        for t in targets:
            await srv.event(near_event(player, t))
        tasks = (await srv.state(player))["session"]["tasks"]
        outcomes.append(sorted(k for k, v in tasks.items() if v["status"] == "completed"))
    assert outcomes[0] == [f"step_{i}" for i in range(5)]
    assert outcomes[0] != outcomes[1]
