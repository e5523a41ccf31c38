"""Fixtures of the timer tests: levels with timers, real servers on real sockets.

The service helpers (``Running``, ``Proc``) live beside the service tests in
``tests/server/http_helpers.py``; that folder is put on ``sys.path`` here so this folder
also runs on its own (``pytest tests/timers``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from http_helpers import Proc, Running, start_service, stop_services, write_level

Serve = Callable[..., Awaitable[Running]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """``await serve(level, **settings) -> Running``: the service in-process on a real
    127.0.0.1 socket, with a SQLite file in ``tmp_path``."""
    started: list[Running] = []

    async def start(level: dict[str, Any], **overrides: Any) -> Running:
        n = len(started) + 1
        folder = tmp_path / f"levels_{n}"
        write_level(folder, level)
        overrides.setdefault("levels", folder)
        overrides.setdefault("db", tmp_path / f"state_{n}.db")
        clock = overrides.pop("clock", None)
        running = await start_service(overrides, clock)
        started.append(running)
        return running

    try:
        yield start
    finally:
        await stop_services(started)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """``spawn(level) -> Proc`` (call ``await proc.restart()``); killed in teardown."""
    procs: list[Proc] = []

    def make(level: dict[str, Any], args: list[str] | None = None) -> Proc:
        n = len(procs) + 1
        folder = tmp_path / f"plevels_{n}"
        write_level(folder, level)
        proc = Proc(levels=folder, db=tmp_path / f"pstate_{n}.db",
                    log=tmp_path / f"server_{n}.log", args=list(args or []))
        procs.append(proc)
        return proc

    try:
        yield make
    finally:
        for proc in procs:
            proc.kill()
