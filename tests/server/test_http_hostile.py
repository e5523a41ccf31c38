"""Hostile inputs against a real service (issue 9): each gives a finding (a level file)
or a clear JSON 4xx (a request) in bounded time; the service keeps running, the other
levels keep serving, and the event loop never stalls for more than 100 ms."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from http_helpers import Serve, Spawn, counter_level, near_event, write_level

EVENT = "/world/story/rule-event"
MAX_STALL = 0.100


def deep_level_text(depth: int, level_id: str = "deep") -> str:
    inner = '{"type": "flag_set", "flag": "x"}'
    cond = '{"type": "not", "condition": ' * (depth - 1) + inner + "}" * (depth - 1)
    return ('{"id": "' + level_id + '", "tasks": [{"id": "t", "type": "near", '
            '"target": "beacon", "requires": ' + cond + "}]}")


def findings_of(levels: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    [entry] = [lv for lv in levels if lv["file"].endswith("/" + name)]
    return entry["findings"]  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def loop_lag_probe(period: float = 0.005) -> AsyncIterator[list[float]]:
    """Measures how late the event loop wakes a sleeping task: the list holds the worst
    lateness (seconds) seen while the block ran."""
    worst = [0.0]
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(period)
            worst[0] = max(worst[0], time.perf_counter() - t - period)

    task = asyncio.create_task(probe())
    await asyncio.sleep(period * 2)
    try:
        yield worst
    finally:
        stop.set()
        await task


# -- item 1: a deep level ----------------------------------------------------------------


async def test_serve_starts_and_serves_beside_a_deep_level(spawn: Spawn, tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    write_level(folder, counter_level())
    (folder / "deep.json").write_text(deep_level_text(1000))
    proc = spawn(levels=folder, args=["--no-watch"])
    await proc.restart()  # before: RecursionError at start-up, exit 1
    async with aiohttp.ClientSession() as session:
        async with session.post(proc.url("/world/story/load"),
                                json={"player_id": "Steve", "level_id": "counter"}) as r:
            assert r.status == 200
        async with session.post(proc.url(EVENT), json=near_event("Steve")) as r:
            assert r.status == 200
        async with session.get(proc.url("/admin/levels")) as r:
            levels = orjson.loads(await r.read())["levels"]
    [finding] = findings_of(levels, "deep.json")
    assert finding["code"] == "too_deep" and "max nesting depth is 32" in finding["message"]


async def test_reload_and_explain_with_a_deep_level(serve: Serve, tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    write_level(folder, counter_level())
    srv = await serve(levels=folder)
    for depth in (950, 1000):
        (folder / "deep.json").write_text(deep_level_text(depth))
        async with loop_lag_probe() as worst:
            status, body = await srv.post("/admin/reload", b"")
        assert status == 200, body[:300]  # before: 500
        report = orjson.loads(body)
        assert report["loaded"] == ["counter"]
        assert [f["code"] for f in report["findings"]] == ["too_deep"]
        assert worst[0] < MAX_STALL, worst
    assert await srv.load("Steve", "counter") is not None
    status, body = await srv.post("/world/story/explain", near_event("Steve"))
    assert status == 200, body[:300]
