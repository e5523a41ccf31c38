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
    findings: list[dict[str, Any]] = entry["findings"]
    return findings


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
        lags: list[float] = []
        for _ in range(3):  # a stall the code causes repeats; a busy host's scheduling does not
            async with loop_lag_probe() as worst:
                status, body = await srv.post("/admin/reload", b"")
            assert status == 200, body[:300]  # before: 500
            report = orjson.loads(body)
            assert report["loaded"] == ["counter"]
            assert [f["code"] for f in report["findings"]] == ["too_deep"]
            lags.append(worst[0])
            if worst[0] < MAX_STALL:
                break
        assert min(lags) < MAX_STALL, lags
    assert await srv.load("Steve", "counter") is not None
    status, body = await srv.post("/world/story/explain", near_event("Steve"))
    assert status == 200, body[:300]


# -- item 2: one request must not stall every player -------------------------------------


def chat_level(phrases: int = 50) -> dict[str, Any]:
    """Chat tasks whose multi-word phrases all start with the word a hostile line repeats,
    a chat listener, and a ``near`` task for the other players."""
    return {"id": "talk", "format": 1, "tasks": [
        *({"id": f"say{i}", "type": "chat", "target": [f"hello world {i}", f"hello mia {i}"]}
          for i in range(phrases)),
        {"id": "tally", "type": "near", "target": "beacon", "count": 10**6}],
        "rule_listeners": [{"id": "wave", "type": "chat", "targets": ["hello there friend"]}]}


def chat(player: str, text: str) -> dict[str, Any]:
    return {"player_id": player, "event_type": "chat", "payload": {"text": text}}


async def test_chat_lines_are_matched_in_linear_time_without_stalling(
        serve: Serve, tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    write_level(folder, chat_level())
    srv = await serve(levels=folder)
    for player in ("Steve", "Alex"):
        await srv.load(player, "talk")
    longest = ("hello " * 700)[:4096]  # the longest line accepted, every word a candidate
    async with loop_lag_probe() as worst:
        started = time.perf_counter()
        for path in (EVENT, "/world/story/explain"):
            for _ in range(5):
                status, body = await srv.post(path, chat("Steve", longest))
                assert status == 200, body[:300]
        status, body = await srv.post("/world/story/rule-events",
                                      {"events": [chat("Steve", longest)] * 15})
        assert status == 200, body[:300]
        elapsed = time.perf_counter() - started
        assert await srv.event(near_event("Alex")) is not None  # the others still play
    print(f"11 requests (25 events) with a 4096-character chat line: {elapsed:.3f} s, "
          f"worst loop lag {worst[0] * 1000:.1f} ms")
    assert elapsed < 1.0, elapsed
    assert worst[0] < MAX_STALL, worst
    # and the matching is still right
    result = await srv.event(chat("Steve", longest + " hello world 7"[: 4096 - len(longest)]))
    assert result is None or "say7" not in str(result)  # cut: "hello world 7" does not fit
    result = await srv.event(chat("Steve", "well, hello world 7!"))
    assert result is not None and "say7" in orjson.dumps(result).decode()


async def test_a_chat_line_over_the_bound_is_a_clear_422(serve: Serve, tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    write_level(folder, chat_level())
    srv = await serve(levels=folder)
    await srv.load("Steve", "talk")
    hostile = ("hello " * 10_000)[:60_000]  # under the 64 KiB body limit
    async with loop_lag_probe() as worst:
        for path, body in ((EVENT, chat("Steve", hostile)),
                           ("/world/story/explain", chat("Steve", hostile)),
                           ("/world/story/rule-events", {"events": [chat("Steve", hostile)]})):
            started = time.perf_counter()
            status, raw = await srv.post(path, body)
            assert time.perf_counter() - started < 0.5
            assert status == 422, (path, status, raw[:300])
            error = orjson.loads(raw)["error"]
            assert error["code"] == "invalid_request" and "4096" in error["message"]
    assert worst[0] < MAX_STALL, worst
    assert await srv.event(chat("Steve", "x" * 4096)) is None  # exactly the bound: fine


async def test_hostile_level_files_give_findings_without_stalling(
        serve: Serve, tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    write_level(folder, counter_level())
    srv = await serve(levels=folder)
    await srv.load("Alex", "counter")
    # 8,000 duplicate keys in a file of 1,000 tasks (each later "title" replaces the
    # earlier one, as in orjson), and a mistyped value so a position is looked up
    tasks = ", ".join(f'{{"id": "t{i}", ' + ", ".join(['"title": "x"'] * 9)
                      + ', "type": "near", "target": "b", "rule_refs": ["r", "r", "r", "r", '
                      '"r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"]}'
                      for i in range(1000))
    (folder / "dups.json").write_text('{"id": "dups", "title": 5, "tasks": [' + tasks + "]}")
    (folder / "phrase.json").write_text(orjson.dumps(
        {"id": "phrase", "tasks": [{"id": "t", "type": "chat", "target": "word " * 20_000}]}
    ).decode())
    (folder / "tick.json").write_text(orjson.dumps(
        {"id": "tick", "tasks": [], "timers": {"t": {"repeat_seconds": 0.001, "effects": [
            {"type": "say", "text": "tick"}]}}}).decode())
    (folder / "deep.json").write_text(deep_level_text(1000))
    lags: list[float] = []
    for _ in range(3):  # a stall the code causes repeats; a busy host's scheduling does not
        async with loop_lag_probe() as worst:
            started = time.perf_counter()
            reload = asyncio.ensure_future(srv.post("/admin/reload", b""))
            while not reload.done():  # other players are served while it runs
                assert await srv.event(near_event("Alex")) is not None
                await asyncio.sleep(0.01)
            status, body = await reload
            elapsed = time.perf_counter() - started
        assert status == 200, body[:300]
        assert elapsed < 3.0, elapsed  # before: the duplicate keys alone took 15 s
        lags.append(worst[0])
        if worst[0] < MAX_STALL:
            break
    print(f"reload of hostile files: {elapsed:.3f} s, worst loop lag per try "
          f"{[round(lag * 1000, 1) for lag in lags]} ms")
    assert min(lags) < MAX_STALL, lags
    report = orjson.loads(body)
    assert report["loaded"] == ["counter"]
    codes = {f["file"].rsplit("/", 1)[-1]: f["code"] for f in report["findings"]
             if f["severity"] == "error"}
    assert codes == {"dups.json": "duplicate_key", "phrase.json": "too_long",
                     "tick.json": "short_period", "deep.json": "too_deep"}


# -- item 4: player ids are checked whole ----------------------------------------------


def reward_level() -> dict[str, Any]:
    return {"id": "gift", "format": 1, "tasks": [
        {"id": "take", "type": "near", "target": "chest",
         "reward": {"commands": ["give {player} bread 1"]}}]}


async def test_a_player_id_with_a_control_character_is_a_422_everywhere(
        serve: Serve, tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    write_level(folder, reward_level())
    srv = await serve(levels=folder)
    for bad in ("Steve\n", "Steve\r\n", "St\x00eve", "Steve\t", "\x85Steve"):
        event = near_event(bad, "chest")
        for path, body in ((EVENT, event), ("/world/story/rule-events", {"events": [event]}),
                           ("/world/story/explain", event),
                           ("/world/story/load", {"player_id": bad, "level_id": "gift"}),
                           ("/world/story/end", {"player_id": bad})):
            status, raw = await srv.post(path, body)
            assert status == 422, (path, bad, status, raw[:200])
            error = orjson.loads(raw)["error"]
            assert error["code"] == "invalid_request"
            assert "control characters" in error["message"], error
    quoted = "Steve%0A"
    for read in ("state", "quest-log", "journal"):
        status, raw = await srv.get(f"/world/story/{quoted}/{read}")
        assert status == 422, (read, status, raw[:200])
    status, _ = await srv.get("/world/story/stream?player_id=Steve%0A")
    assert status == 422
    # nothing reached the engine: no state, and the real Steve gets his own command
    status, _ = await srv.get("/world/story/Steve/state")
    assert status == 404
    await srv.load("Steve", "gift")
    result = await srv.event(near_event("Steve", "chest"))
    assert result is not None and result["commands"] == ["give Steve bread 1"]


# -- item 5: small ones --------------------------------------------------------------


async def test_a_journal_limit_that_is_not_ascii_digits_is_a_422(serve: Serve) -> None:
    srv = await serve()
    for limit in ("%C2%B2", "%D9%A3", "0", "1001", "-1", "1.5", ""):  # ², Arabic-Indic 3
        status, raw = await srv.get(f"/world/story/Steve/journal?limit={limit}")
        assert status == 422, (limit, status, raw[:200])  # "²" was a 500
        assert orjson.loads(raw)["error"]["code"] == "invalid_request"
    status, _ = await srv.get("/world/story/Steve/journal?limit=1000")
    assert status == 200


async def test_numbers_in_request_bodies_must_be_finite(serve: Serve) -> None:
    srv = await serve()
    await srv.load("Steve", "lakeside")
    for number in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        body = (b'{"player_id": "Steve", "event_type": "near", "payload": {"target": "mia_npc",'
                b' "location": {"world": "world", "x": ' + number + b', "y": 64, "z": 0}}}')
        for path, raw in ((EVENT, body), ("/world/story/explain", body),
                          ("/world/story/rule-events", b'{"events": [' + body + b"]}")):
            status, out = await srv.post(path, raw)
            assert status == 422, (path, number, status, out[:200])
            error = orjson.loads(out)["error"]
            assert "payload.location.x is not a finite number" in error["message"], error
    status, raw = await srv.get("/world/story/Steve/journal")
    assert [e["event_type"] for e in orjson.loads(raw)["entries"]] == ["load"]


async def test_player_ids_with_braces_are_refused(serve: Serve) -> None:
    srv = await serve()
    for bad in ("{player}", "a}b", "{"):
        for path, body in ((EVENT, near_event(bad)),
                           ("/world/story/load", {"player_id": bad, "level_id": "lakeside"})):
            status, raw = await srv.post(path, body)
            assert status == 422, (path, bad, status, raw[:200])
            assert "braces" in orjson.loads(raw)["error"]["message"]
    status, _ = await srv.get("/world/story/%7Bplayer%7D/state")
    assert status in (404, 422)  # never a state: such an id is never stored


async def test_end_for_a_player_never_seen_creates_nothing(serve: Serve) -> None:
    srv = await serve()
    status, raw = await srv.post("/world/story/end", {"player_id": "Nobody"})
    assert status == 200 and orjson.loads(raw) == {"status": "ok", "result": None,
                                                   "world_patch": {}}
    status, _ = await srv.get("/world/story/Nobody/state")
    assert status == 404  # before: a state document was created
    status, raw = await srv.get("/world/story/Nobody/journal")
    assert orjson.loads(raw)["entries"] == []
    await srv.load("Steve", "lakeside")  # a known player's end is journaled as before
    status, _ = await srv.post("/world/story/end", {"player_id": "Steve"})
    status, raw = await srv.get("/world/story/Steve/journal")
    assert [e["event_type"] for e in orjson.loads(raw)["entries"]] == ["load", "end"]
