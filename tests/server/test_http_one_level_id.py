"""One level id, one file (issue 10, Deliver 2), over a running service (watcher on).

``lake`` serves from ``levels/lake.json``; a copy with the same id appears in
``levels/old/lake.json``: the original keeps serving and the copy is refused and reported
in ``/admin/levels``. After a restart the documented choice serves (the shallowest path,
then lexicographic: ``levels/lake.json``). Deleting the copy leaves the original serving;
deleting the original instead makes the copy serve at once. A client loading ``lake`` the
whole time never gets a 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from http_helpers import Proc, Spawn, write_level

JSON = {"Content-Type": "application/json"}


def lake(title: str) -> dict[str, Any]:
    return {"id": "lake", "title": title, "format": 1, "tasks": [
        {"id": "swim", "type": "near", "target": "lake", "count": 3, "title": "Swim"}]}


async def entries(proc: Proc, session: aiohttp.ClientSession) -> dict[str, dict[str, Any]]:
    async with session.get(proc.url("/admin/levels")) as r:
        assert r.status == 200
        return {e["file"]: e for e in orjson.loads(await r.read())["levels"]}


async def until(proc: Proc, session: aiohttp.ClientSession, predicate: Any,
                timeout: float = 10.0) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = await entries(proc, session)
        if predicate(found):
            return found
        assert time.monotonic() < deadline, f"not reached within {timeout} s: {found}"
        await asyncio.sleep(0.02)


class Loader:
    """Loads ``lake`` in a loop; every answer's status is kept."""

    def __init__(self, proc: Proc) -> None:
        self.proc = proc
        self.statuses: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        n = 0
        async with aiohttp.ClientSession() as session:
            while True:
                n += 1
                body = orjson.dumps({"player_id": f"P{n % 5}", "level_id": "lake"})
                async with session.post(self.proc.url("/world/story/load"), data=body,
                                        headers=JSON) as r:
                    await r.read()
                    self.statuses.append(r.status)
                await asyncio.sleep(0.005)


ORIGINAL = "levels/lake.json"
COPY = "levels/old/lake.json"


def serving(found: dict[str, dict[str, Any]], path: str, title: str) -> bool:
    e = found.get(path)
    return e is not None and e["serving"] and e["title"] == title


def refused(found: dict[str, dict[str, Any]], path: str, other: str) -> bool:
    e = found.get(path)
    return (e is not None and not e["serving"] and e["refused"] and e["errors"] == 1
            and any(f["code"] == "duplicate_level" and f["severity"] == "error"
                    and other in f["message"] for f in e["findings"]))


@pytest.mark.parametrize("delete", ["copy", "original"])
async def test_one_level_id_one_file(spawn: Spawn, tmp_path: Path, delete: str) -> None:
    folder = tmp_path / "levels"
    write_level(folder, lake("Lake"))
    proc = spawn(levels=folder)
    await proc.restart()
    loader = Loader(proc)
    async with aiohttp.ClientSession() as session:
        found = await until(proc, session, lambda f: serving(f, ORIGINAL, "Lake"))
        loader.start()

        # a copy appears: the original keeps serving, the copy is refused and reported
        write_level(folder / "old", lake("Old lake"), name="lake")
        found = await until(proc, session, lambda f: refused(f, COPY, ORIGINAL))
        assert serving(found, ORIGINAL, "Lake")
        assert found[ORIGINAL]["refused_copies"] == [COPY]
        assert found[ORIGINAL]["errors"] == 0

        # a restart: the documented choice (shallowest path first) serves
        await loader.stop()
        proc.stop()
        await proc.restart()
        loader.start()
        found = await entries(proc, session)
        assert serving(found, ORIGINAL, "Lake") and refused(found, COPY, ORIGINAL)

        # a full reload gives the same choice
        async with session.post(proc.url("/admin/reload"), data=b"") as r:
            assert r.status == 200
        found = await entries(proc, session)
        assert serving(found, ORIGINAL, "Lake") and refused(found, COPY, ORIGINAL)

        if delete == "copy":
            (folder / "old" / "lake.json").unlink()
            found = await until(proc, session, lambda f: COPY not in f)
            assert serving(found, ORIGINAL, "Lake") and found[ORIGINAL]["refused_copies"] == []
        else:
            (folder / "lake.json").unlink()
            found = await until(proc, session, lambda f: ORIGINAL not in f)
            assert serving(found, COPY, "Old lake")
            assert found[COPY]["ok"] and found[COPY]["errors"] == 0
            assert not found[COPY]["refused"]
        await asyncio.sleep(0.2)  # a few more loads after the change
        await loader.stop()
    assert len(loader.statuses) > 20
    assert set(loader.statuses) == {200}, sorted(set(loader.statuses))
