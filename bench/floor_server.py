"""The floor: the cheapest aiohttp server that speaks the rule-event wire shape.

It is what ``bench/http_bench.py`` measures the real service against, in the same run:
whatever the service costs above this server is the application (validation, engine,
store); everything up to it is the HTTP stack, which the service cannot beat.

Endpoints (no validation, no engine, no store, no access log):

- ``POST /world/story/rule-event``: reads the body, ``orjson.loads`` it, answers the fixed
  ``{"status":"ok","result":null}``.
- ``POST /world/story/rule-events``: the same for a batch ``{"events": [...]}``, answering
  ``{"status":"ok","results":[null, ...]}`` with one ``null`` per event.
- ``POST /world/story/load``: reads and parses the body, answers ``{"status":"ok","result":null}``
  (so the bench's player preload runs the same way against the floor and the service).
- ``POST /story/load/{player}/{level}`` (the plugin's level start): the same as
  ``/world/story/load``; ``GET /world/story/{player}/quest-log``: the fixed
  ``{"status":"ok","active_tasks":null}`` (the bench's plugin-shaped traffic).
- ``GET /health``: ``{"status":"ok","loop":"uvloop"|"asyncio"}``.

Run it by hand::

    .venv/bin/python bench/floor_server.py --port 8766 [--host 127.0.0.1] [--uvloop auto|on|off]

``--uvloop auto`` (the default) uses uvloop when it can be imported, else asyncio's default
loop, which is the choice the service makes; ``on`` fails when uvloop is missing; ``off``
never uses it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

OK_NULL = orjson.dumps({"status": "ok", "result": None})
NO_QUEST_LOG = orjson.dumps({"status": "ok", "active_tasks": None})
JSON = "application/json"


async def rule_event(request: web.Request) -> web.Response:
    orjson.loads(await request.read())
    return web.Response(body=OK_NULL, content_type=JSON)


async def rule_events(request: web.Request) -> web.Response:
    data = orjson.loads(await request.read())
    events = data.get("events") if isinstance(data, dict) else None
    n = len(events) if isinstance(events, list) else 0
    body = orjson.dumps({"status": "ok", "results": [None] * n})
    return web.Response(body=body, content_type=JSON)


async def quest_log(_request: web.Request) -> web.Response:
    return web.Response(body=NO_QUEST_LOG, content_type=JSON)


def make_app(loop_name: str) -> web.Application:
    health = orjson.dumps({"status": "ok", "loop": loop_name})

    async def health_handler(_request: web.Request) -> web.Response:
        return web.Response(body=health, content_type=JSON)

    app = web.Application()
    app.router.add_post("/world/story/rule-event", rule_event)
    app.router.add_post("/world/story/rule-events", rule_events)
    app.router.add_post("/world/story/load", rule_event)
    app.router.add_post("/story/load/{player}/{level}", rule_event)
    app.router.add_get("/world/story/{player}/quest-log", quest_log)
    app.router.add_get("/health", health_handler)
    return app


def pick_loop(mode: str) -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """Return (loop name, loop factory or None for asyncio's default)."""
    if mode == "off":
        return "asyncio", None
    try:
        import uvloop
    except ImportError:
        if mode == "on":
            sys.exit("floor_server: --uvloop on, but uvloop cannot be imported")
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


async def serve(host: str, port: int, loop_name: str) -> None:
    runner = web.AppRunner(make_app(loop_name), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    print(f"floor_server: listening on http://{host}:{port} loop={loop_name}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bare aiohttp floor server for the HTTP bench.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--uvloop", choices=("auto", "on", "off"), default="auto")
    args = parser.parse_args(argv)
    loop_name, factory = pick_loop(args.uvloop)
    kwargs: dict[str, Any] = {"loop_factory": factory} if factory is not None else {}
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(**kwargs) as runner:
        runner.run(serve(args.host, args.port, loop_name))


if __name__ == "__main__":
    main()
