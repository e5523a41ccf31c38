"""``GET /world/story/stream``: results produced without a request, pushed on a WebSocket
(SPEC §2.2, §4.7, §4.12.1).

Each message is one text frame ``{"player_id": P, "result": R}`` where ``R`` has the
shape of a rule-event result; one message per timer firing, in due order. The
connection is authorised like every endpoint (``Authorization: Bearer <token>`` when a
token is set). ``?player_id=A&player_id=B`` limits a connection to those players;
without it a connection gets every player's results (one plugin, one stream).

A result counts as delivered once it has been written to at least one open connection;
then it leaves the player's outbox (a commit). Results that no connection took stay in
the outbox: they are sent when a client connects, or merged into the player's next
rule-event response (position (4) of §4.8), whichever comes first, once.

``setup_stream(app)`` adds the route (``routes``), the timer scheduler (started after the store
opens, stopped before it closes) and closes open streams on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import Counter, Gauge

from bridge_protocol import StreamMessage
from bridge_protocol.openapi import PLAYER_PARAM, Operation, Param, describe
from bridge_protocol.requests import player_id_problem
from quest_runtime.errors import ProtocolError
from quest_runtime.scheduler import Scheduler
from quest_runtime.server.hub import StreamHub
from quest_runtime.server.keys import METRICS, RUNTIME, SCHEDULER, STREAM_HUB

log = logging.getLogger(__name__)

PATH = "/world/story/stream"
HEARTBEAT_SECONDS = 30.0


routes = web.RouteTableDef()


@routes.get(PATH)
@describe(Operation(
    "WebSocket: results produced without a request (timers), as StreamMessage text "
    "frames", status=101, frames=StreamMessage, errors=(400, 422),
    description="The WebSocket handshake (RFC 6455); without it, or with a malformed "
                "one, the answer is 400.",
    params=(Param("player_id", "query",
                  {"type": "array", "items": PLAYER_PARAM.schema},
                  "Only these players' results (repeatable); all players without it",
                  explode=True),
            Param("Upgrade", "header", {"type": "string", "enum": ["websocket"]},
                  required=True),
            Param("Connection", "header", {"type": "string", "enum": ["Upgrade"]},
                  required=True),
            Param("Sec-WebSocket-Version", "header", {"type": "string", "enum": ["13"]},
                  required=True),
            Param("Sec-WebSocket-Key", "header",
                  {"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$"},
                  "16 random bytes, base64", required=True))))
async def stream(request: web.Request) -> web.StreamResponse:
    players = request.query.getall("player_id", [])
    for player in players:
        problem = player_id_problem(player)
        if problem is not None:
            raise ProtocolError(problem, details=[{"loc": "query.player_id",
                                                   "message": problem}])
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
    await ws.prepare(request)
    app = request.app
    hub = app[STREAM_HUB]
    client = hub.add(ws, frozenset(players) if players else None)
    app[SCHEDULER].flush_soon(players or None)  # what waited for a client
    try:
        async for _ in ws:
            pass  # clients have nothing to say; pings are answered by aiohttp
    finally:
        hub.remove(client)
    return ws


async def _timers(app: web.Application) -> AsyncIterator[None]:
    scheduler = app[SCHEDULER]
    await scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()


async def _close_streams(app: web.Application) -> None:
    await app[STREAM_HUB].close_all()


def setup_stream(app: web.Application) -> None:
    """Route, hub, scheduler and metrics. Call after the lifecycle that opens the store
    is registered (the scheduler reads the store when it starts)."""
    hub = StreamHub()
    registry = app[METRICS].registry
    pushed = Counter("quest_runtime_pushed_results", "Timer results pushed on the stream",
                     ["outcome"], registry=registry)
    hub.delivered = pushed.labels("delivered")
    hub.kept = pushed.labels("kept")
    clients = Gauge("quest_runtime_stream_clients", "Open stream connections",
                    registry=registry)
    clients.set_function(lambda: len(hub.clients))
    app[STREAM_HUB] = hub
    violations = app[METRICS].ensures_violations
    app[SCHEDULER] = Scheduler(app[RUNTIME], hub.push, wants=hub.wants,
                               on_ensures=lambda failures: violations.inc(len(failures)))
    app.add_routes(routes)
    app.cleanup_ctx.append(_timers)
    app.on_shutdown.append(_close_streams)
