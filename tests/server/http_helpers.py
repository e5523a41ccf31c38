"""Helpers of the service tests: real servers on real 127.0.0.1 sockets.

Two ways to run the service:

- ``serve(**settings)`` (fixture in ``conftest.py``, in-process):
  ``create_app(Settings(...))`` behind aiohttp's ``TestServer`` on a free port, with a
  real SQLite file in ``tmp_path``; returns a ``Running`` with a keep-alive
  ``ClientSession`` and ``url(path)``. Fast; used by most tests.
- ``spawn(...)`` (fixture, subprocess): ``python -m quest_runtime serve --port P ...``; returns a
  ``Proc`` that can be SIGKILLed, SIGHUPed and restarted on the same database file.
  ``bench/crash_campaign.py`` uses ``Proc`` and ``Ledger`` too (outside pytest).

Both are torn down by their fixture: sessions closed, servers stopped, processes killed
and reaped, whatever the test did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge_protocol import ErrorResponse, RuleEventResponse
from quest_runtime.server.app import create_app
from quest_runtime.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_LEVELS = REPO_ROOT / "levels"
HOST = "127.0.0.1"


# -- small helpers ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def write_level(folder: Path, level: dict[str, Any], name: str | None = None) -> Path:
    """Write ``level`` atomically (temp file + rename, as careful editors do)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or level['id']}.json"
    tmp = folder / f".{path.name}.tmp"
    tmp.write_bytes(orjson.dumps(level, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)
    return path


def counter_level(level_id: str = "counter", target: str = "beacon",
                  count: int = 10**6, **extra: Any) -> dict[str, Any]:
    """A level whose one task counts ``near <target>`` events: progress == events."""
    return {
        "id": level_id,
        "title": "Counter",
        "format": 1,
        "tasks": [{"id": "tally", "type": "near", "target": target, "count": count,
                   "title": "Tally", "hint": "walk near the beacon"}],
        **extra,
    }


def near_event(player: str, target: str = "beacon", **extra: Any) -> dict[str, Any]:
    """A ``near`` rule event shaped exactly like the DriftSystem plugin's (SPEC §2.1)."""
    return {"player_id": player, "event_type": "near",
            "payload": {"target": target, "quest_event": f"near_{target}",
                        "location": {"world": "world", "x": 12.5, "y": 64.0, "z": -28.5}},
            **extra}


def copy_demo_levels(dest: Path) -> Path:
    shutil.copytree(DEMO_LEVELS, dest)
    return dest


def validate_ok(body: bytes) -> RuleEventResponse:
    return RuleEventResponse.model_validate_json(body)


def validate_error(body: bytes) -> ErrorResponse:
    return ErrorResponse.model_validate_json(body)


@dataclass
class Ledger:
    """What one client knows about one player's events (the SIGKILL tests and
    ``bench/crash_campaign.py``)."""

    player: str
    acked: dict[str, bytes] = field(default_factory=dict)
    """event_id -> the exact response body answered 200."""
    unknown: list[str] = field(default_factory=list)
    """Sent, but the connection died before an answer: may or may not be applied."""
    rejected: list[str] = field(default_factory=list)
    """Answered 503 (shutting down): must not be applied."""


# -- in-process servers ----------------------------------------------------------------


@dataclass
class Running:
    """One in-process service on a real socket, with a keep-alive client session."""

    server: TestServer
    session: aiohttp.ClientSession
    settings: Settings
    app: web.Application

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.server.port}"

    def url(self, path: str) -> str:
        return self.base + path

    async def post(self, path: str, data: Any, **kw: Any) -> tuple[int, bytes]:
        body = data if isinstance(data, bytes) else orjson.dumps(data)
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        async with self.session.post(self.url(path), data=body, headers=headers, **kw) as r:
            return r.status, await r.read()

    async def get(self, path: str, **kw: Any) -> tuple[int, bytes]:
        async with self.session.get(self.url(path), **kw) as r:
            return r.status, await r.read()

    async def event(self, event: dict[str, Any], **kw: Any) -> dict[str, Any] | None:
        """POST one rule event; assert 200 and the protocol shape; return ``result``."""
        status, body = await self.post("/world/story/rule-event", event, **kw)
        assert status == 200, (status, body[:500])
        validate_ok(body)
        result: dict[str, Any] | None = orjson.loads(body)["result"]
        return result

    async def load(self, player: str, level_id: str, **kw: Any) -> dict[str, Any] | None:
        status, body = await self.post("/world/story/load",
                                       {"player_id": player, "level_id": level_id}, **kw)
        assert status == 200, (status, body[:500])
        validate_ok(body)
        result: dict[str, Any] | None = orjson.loads(body)["result"]
        return result

    async def state(self, player: str, **kw: Any) -> dict[str, Any]:
        status, body = await self.get(f"/world/story/{player}/state", **kw)
        assert status == 200, (status, body[:500])
        state: dict[str, Any] = orjson.loads(body)["state"]
        return state

    async def progress(self, player: str, task: str = "tally") -> int:
        session = (await self.state(player))["session"]
        return int(session["tasks"][task]["progress"])


# -- subprocess servers ----------------------------------------------------------------


@dataclass
class Proc:
    """``quest-runtime serve`` in a subprocess; restartable on the same files."""

    levels: Path
    db: Path
    log: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    popen: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> None:
        assert self.popen is None or self.popen.poll() is not None
        self.port = free_port()
        cmd = [sys.executable, "-m", "quest_runtime", "serve", "--host", HOST,
               "--port", str(self.port), "--levels", str(self.levels), "--db", str(self.db),
               *self.args]
        env = {**os.environ, "QUEST_RUNTIME_LOG_LEVEL": "warning", **self.env}
        env.pop("QUEST_RUNTIME_CONFIG", None)
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(cmd, cwd=self.levels.parent, env=env,
                                          stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    async def wait_healthy(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.popen is not None
                if self.popen.poll() is not None:
                    raise AssertionError(f"the server exited with {self.popen.returncode}:\n"
                                         + self.log.read_text(errors="replace")[-3000:])
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.url("/health")) as r:
                        if r.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise AssertionError("the server did not answer /health in time:\n"
                                         + self.log.read_text(errors="replace")[-3000:])
                await asyncio.sleep(0.03)

    async def restart(self) -> None:
        self.start()
        await self.wait_healthy()

    def signal(self, sig: signal.Signals) -> None:
        assert self.popen is not None and self.popen.poll() is None
        self.popen.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL and reap (no-op when already gone)."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after 10 s; reaped either way."""
        if self.popen is None or self.popen.poll() is not None:
            self.kill()
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()




Serve = Callable[..., Awaitable[Running]]
"""The ``serve`` fixture: ``await serve(level=None, **settings) -> Running``."""
Spawn = Callable[..., Proc]
"""The ``spawn`` fixture: ``spawn(level=None, levels=None, db=None, args=[], env={})``."""


async def start_service(overrides: dict[str, Any], clock: Any = None) -> Running:
    """The service in-process on a real 127.0.0.1 socket (watching and rate limiting off,
    warnings only, unless ``overrides`` say otherwise)."""
    overrides.setdefault("watch", False)
    overrides.setdefault("rate_limit_per_second", 0)
    overrides.setdefault("log_level", "warning")
    settings = Settings(**overrides)
    app = create_app(settings, clock=clock)
    server = TestServer(app, host=HOST)
    await server.start_server()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
    return Running(server, session, settings, app)


async def stop_services(started: list[Running]) -> None:
    for running in reversed(started):
        await running.session.close()
        await running.server.close()


# -- the fixtures (one definition; tests/server and tests/timers conftests import them) ---


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """``await serve(level=None, **settings) -> Running``: the service in-process on a
    real 127.0.0.1 socket with a fresh SQLite file in ``tmp_path``. Its levels: ``level``
    (a level dict, written to a folder of its own), else ``levels=``, else a copy of the
    demo ``levels/``; watching and rate limiting off unless asked; ``clock=`` a fake
    clock."""
    started: list[Running] = []

    async def start(level: dict[str, Any] | None = None, **overrides: Any) -> Running:
        n = len(started) + 1
        if level is not None:
            write_level(tmp_path / f"levels_{n}", level)
            overrides["levels"] = tmp_path / f"levels_{n}"
        elif "levels" not in overrides:
            overrides["levels"] = copy_demo_levels(tmp_path / f"levels_{n}")
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
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """``spawn(level=None, levels=None, db=None, args=[], env={}) -> Proc``: a real
    ``quest-runtime serve`` process (not started yet: call ``await proc.restart()``),
    on ``level``, else ``levels``, else a copy of the demo; killed and reaped in
    teardown."""
    procs: list[Proc] = []

    def make(level: dict[str, Any] | None = None, levels: Path | None = None,
             db: Path | None = None, args: list[str] | None = None,
             env: dict[str, str] | None = None) -> Proc:
        n = len(procs) + 1
        if level is not None:
            levels = tmp_path / f"plevels_{n}"
            write_level(levels, level)
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
