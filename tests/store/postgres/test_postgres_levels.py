"""Level generations across instances: ``levels publish`` validates a folder and stores
it as the next generation; every serving instance swaps to it; a player who played a
newer generation is never served an older one (the instance reloads first)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from http_helpers import counter_level, near_event, write_level
from pg_procs import get_json, post

from quest_runtime.store.base import Commit, LevelsBehind
from quest_runtime.store.postgres import PostgresStore


def publish(folder: Path, dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quest_runtime", "levels", "publish",
                           str(folder), "--dsn", dsn], capture_output=True, text=True,
                          timeout=60, check=False)


async def titles(session: aiohttp.ClientSession, proc: Any) -> set[str]:
    body = await get_json(session, proc, "/admin/levels")
    return {f["title"] for f in body["levels"] if f["serving"]}


async def test_a_published_generation_reaches_both_serving_instances(
        dsn: str, instances: Any, tmp_path: Path) -> None:
    a, b = await instances(counter_level(), dsn, 2)
    async with aiohttp.ClientSession() as session:
        assert await titles(session, a) == await titles(session, b) == {"Counter"}
        status, body, _ = await post(session, a, "/world/story/load",
                                     {"player_id": "p", "level_id": "counter"})
        assert status == 200, body

        broken = tmp_path / "broken"
        write_level(broken, {"id": "counter", "title": "Broken", "format": 1, "tasks": 7})
        refused = publish(broken, dsn)
        assert refused.returncode == 1 and "nothing published" in refused.stderr

        newer = tmp_path / "v2"
        write_level(newer, counter_level(title="Counter v2"))
        done = publish(newer, dsn)
        assert done.returncode == 0, done.stderr
        assert "generation 1" in done.stdout
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if await titles(session, a) == await titles(session, b) == {"Counter v2"}:
                break
            await asyncio.sleep(0.1)
        assert await titles(session, a) == await titles(session, b) == {"Counter v2"}
        # both go on serving the player, on the new generation
        for proc, eid in ((b, "e1"), (a, "e2")):
            status, body, _ = await post(session, proc, "/world/story/rule-event",
                                         near_event("p", event_id=eid))
            assert status == 200, body
        state = (await get_json(session, a, "/world/story/p/state"))["state"]
        assert state["session"]["tasks"]["tally"]["progress"] == 2


async def test_an_instance_behind_reloads_before_serving_a_newer_player(dsn: str) -> None:
    ahead, behind = PostgresStore(dsn), PostgresStore(dsn)
    await ahead.open()
    await behind.open()
    reloads: list[int] = []

    async def reload() -> None:
        reloads.append(1)
        behind.level_generation = 2

    try:
        ahead.level_generation, behind.level_generation = 2, 1
        behind.on_levels_behind = reload
        assert await behind.commit(Commit("p", b"{}", 0, None)) == 1
        assert await ahead.commit(Commit("p", b'{"n": 2}', 1, None)) == 2  # played gen 2
        try:
            await behind.commit(Commit("p", b'{"n": 3}', 2, None))
        except LevelsBehind:
            pass
        else:
            raise AssertionError("a commit on older levels must be refused")
        assert reloads == [1], "the instance reloaded before the error came back"
        assert await behind.read_player("p") == (b'{"n": 2}', 2)  # nothing stored
        assert await behind.commit(Commit("p", b'{"n": 3}', 2, None)) == 3
        # an instance serving a newer generation is never refused
        assert await ahead.commit(Commit("p", b'{"n": 4}', 3, None)) == 4
    finally:
        await ahead.close()
        await behind.close()


def test_published_files_are_the_folder_s_level_files(tmp_path: Path) -> None:
    from quest_runtime.store.postgres_levels import read_generation, write_generation

    src = tmp_path / "src"
    write_level(src, counter_level())
    write_level(src / "more", counter_level("second"))
    (src / ".hidden").mkdir()
    (src / ".hidden" / "x.json").write_text("{}")
    files = read_generation(src)
    assert sorted(files) == ["counter.json", "more/second.json"]
    dest = tmp_path / "dest"
    write_level(dest, counter_level("stale"))
    write_generation(dest, files)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*.json")) == sorted(files)
    assert orjson.loads((dest / "counter.json").read_bytes())["id"] == "counter"
