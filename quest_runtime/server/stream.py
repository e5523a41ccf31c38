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

``setup_stream(app)`` adds the route, the timer scheduler (started after the store
opens, stopped before it closes) and closes open streams on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSCloseCode, web
from prometheus_client import Counter, Gauge

from bridge_protocol.requests import player_id_problem
from quest_runtime.errors import ProtocolError
from quest_runtime.scheduler import Scheduler
from quest_runtime.server.app import METRICS, RUNTIME

log = logging.getLogger(__name__)

PATH = "/world/story/stream"
#: A client that does not take a message within this time is dropped.
SEND_TIMEOUT_SECONDS = 2.0
HEARTBEAT_SECONDS = 30.0


@dataclass(eq=False, slots=True)
class _Client:
    ws: web.WebSocketResponse
    players: frozenset[str] | None  # None: every player

    def wants(self, player_id: str) -> bool:
        return not self.ws.closed and (self.players is None or player_id in self.players)


class StreamHub:
    """The open stream connections; ``push`` is the runtime's ``Push``."""

    def __init__(self, send_timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self.send_timeout = send_timeout
        self.clients: set[_Client] = set()
        self.delivered: Counter | None = None
        self.kept: Counter | None = None

    def add(self, ws: web.WebSocketResponse, players: frozenset[str] | None) -> _Client:
        client = _Client(ws, players)
        self.clients.add(client)
        return client

    def remove(self, client: _Client) -> None:
        self.clients.discard(client)

    async def push(self, player_id: str, results: list[dict[str, Any]]) -> int:
        """Send ``results`` in order to every client that wants the player; stop at the
        first one no client took. Returns how many were delivered."""
        delivered = 0
        clients = [c for c in self.clients if c.wants(player_id)]
        for result in results:
            text = orjson.dumps({"player_id": player_id, "result": result}).decode()
            took = False
            for client in clients:
                if client.ws.closed:
                    continue
                try:
                    await asyncio.wait_for(client.ws.send_str(text), self.send_timeout)
                except Exception as exc:  # closed under us, too slow: drop the client
                    log.info("stream client dropped", extra={"reason": repr(exc)})
                    self.clients.discard(client)
                    await _close(client.ws, WSCloseCode.POLICY_VIOLATION)
                    continue
                took = True
            if not took:
                break
            delivered += 1
        if self.delivered is not None and delivered:
            self.delivered.inc(delivered)
        if self.kept is not None and len(results) > delivered:
            self.kept.inc(len(results) - delivered)
        return delivered

    async def close_all(self) -> None:
        clients, self.clients = list(self.clients), set()
        for client in clients:
            await _close(client.ws, WSCloseCode.GOING_AWAY)


async def _close(ws: web.WebSocketResponse, code: int) -> None:
    try:
        await asyncio.wait_for(ws.close(code=code), 1.0)
    except Exception:  # already gone
        log.debug("stream close failed", exc_info=True)


STREAM_HUB = web.AppKey("stream_hub", StreamHub)
SCHEDULER = web.AppKey("scheduler", Scheduler)


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
    app[SCHEDULER] = Scheduler(app[RUNTIME], hub.push,
                               on_ensures=lambda failures: violations.inc(len(failures)))
    app.router.add_get(PATH, stream)
    app.cleanup_ctx.append(_timers)
    app.on_shutdown.append(_close_streams)
