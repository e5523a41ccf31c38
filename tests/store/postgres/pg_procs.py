"""Instances of ``quest-runtime serve --store postgres`` as separate processes, all on
one database (the race, failover and restart tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from http_helpers import HOST, Proc, free_port, write_level

BLIND = Path(__file__).resolve().parent / "blind_store.py"


@dataclass
class PgProc(Proc):
    """A ``Proc`` on PostgreSQL: ``dsn``; ``blind`` runs the blind test store."""

    dsn: str = ""
    blind: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        assert self.popen is None or self.popen.poll() is not None
        self.port = free_port()
        launcher = [str(BLIND)] if self.blind else ["-m", "quest_runtime"]
        cmd = [sys.executable, *launcher, "serve", "--host", HOST, "--port", str(self.port),
               "--levels", str(self.levels), "--store", "postgres", "--no-watch", *self.args]
        env = {**os.environ, "QUEST_RUNTIME_LOG_LEVEL": "warning",
               "QUEST_RUNTIME_RATE_LIMIT_PER_SECOND": "0", "QUEST_RUNTIME_DSN": self.dsn,
               # the tests read whole journals (up to 1,000 entries): none trimmed
               "QUEST_RUNTIME_JOURNAL_LIMIT": "100000",
               **self.extra_env}
        env.pop("QUEST_RUNTIME_CONFIG", None)
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(cmd, cwd=self.levels.parent, env=env,
                                          stdout=log, stderr=log, stdin=subprocess.DEVNULL)


@pytest.fixture
def instances(tmp_path: Path) -> Iterator[Any]:
    """``instances(level, dsn, n, blind=False) -> list[PgProc]`` (started, healthy)."""
    procs: list[PgProc] = []

    async def make(level: dict[str, Any], dsn: str, n: int, blind: bool = False,
                   args: list[str] | None = None) -> list[PgProc]:
        made = []
        for k in range(len(procs), len(procs) + n):  # each instance its own folder
            folder = tmp_path / f"levels_{k}"
            write_level(folder, level)
            made.append(PgProc(levels=folder, db=tmp_path / "unused.db",
                               log=tmp_path / f"server_{k}.log", dsn=dsn, blind=blind,
                               args=list(args or [])))
        procs.extend(made)
        for proc in made:
            proc.start()
        await asyncio.gather(*(proc.wait_healthy(30) for proc in made))
        return made

    try:
        yield make
    finally:
        for proc in procs:
            proc.kill()


async def post(session: aiohttp.ClientSession, proc: Proc, path: str,
               body: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
    async with session.post(proc.url(path), data=orjson.dumps(body),
                            headers={"Content-Type": "application/json"}) as r:
        return r.status, await r.read(), dict(r.headers)


async def get_json(session: aiohttp.ClientSession, proc: Proc, path: str) -> Any:
    async with session.get(proc.url(path)) as r:
        assert r.status == 200, (r.status, await r.text())
        return orjson.loads(await r.read())
