"""Fixtures of the service tests (helpers and docs: ``http_helpers.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from http_helpers import HOST, Proc, Running, Serve, Spawn, copy_demo_levels

from quest_runtime.server.app import create_app
from quest_runtime.settings import Settings


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """``await serve(levels=..., db=..., **settings) -> Running``.

    Defaults: a copy of the demo ``levels/`` and a fresh SQLite file in ``tmp_path``,
    watching off, rate limiting off (tests that need either turn it on).
    """
    started: list[Running] = []
    n = 0

    async def start(**overrides: Any) -> Running:
        nonlocal n
        n += 1
        if "levels" not in overrides:
            overrides["levels"] = copy_demo_levels(tmp_path / f"levels_{n}")
        overrides.setdefault("db", tmp_path / f"state_{n}.db")
        overrides.setdefault("watch", False)
        overrides.setdefault("rate_limit_per_second", 0)
        overrides.setdefault("log_level", "warning")
        settings = Settings(**overrides)
        app = create_app(settings)
        server = TestServer(app, host=HOST)
        await server.start_server()
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        running = Running(server, session, settings, app)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in reversed(started):
            await running.session.close()
            await running.server.close()



@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """``spawn(levels=None, db=None, args=[], env={}) -> Proc`` (not started yet: call
    ``await proc.restart()``). Every process is killed and reaped in teardown."""
    procs: list[Proc] = []

    def make(levels: Path | None = None, db: Path | None = None,
             args: list[str] | None = None, env: dict[str, str] | None = None) -> Proc:
        n = len(procs) + 1
        folder = levels if levels is not None else copy_demo_levels(tmp_path / f"plevels_{n}")
        proc = Proc(levels=folder, db=db or tmp_path / f"pstate_{n}.db",
                    log=tmp_path / f"server_{n}.log", args=list(args or []),
                    env=dict(env or {}))
        procs.append(proc)
        return proc

    try:
        yield make
    finally:
        for proc in procs:
            proc.kill()
