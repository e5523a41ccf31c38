"""Fixtures of the service tests (helpers and docs: ``http_helpers.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_helpers import (
    Proc,
    Running,
    Serve,
    Spawn,
    copy_demo_levels,
    start_service,
    stop_services,
)


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
        running = await start_service(overrides)
        started.append(running)
        return running

    try:
        yield start
    finally:
        await stop_services(started)



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
