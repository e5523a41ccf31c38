"""The open stream connections (``GET /world/story/stream``) and how results reach them.

``StreamHub.push`` is the runtime's ``Push``: it sends a player's results, in order, to
every connection that wants that player and stops at the first result no connection
took (that one stays in the player's outbox). The route itself is in ``stream.py``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import orjson
from aiohttp import WSCloseCode, web
from prometheus_client import Counter

from quest_runtime.engine.shapes import Result

log = logging.getLogger(__name__)

#: A client that does not take a message within this time is dropped.
SEND_TIMEOUT_SECONDS = 2.0


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

    def wants(self, player_id: str) -> bool:
        """Some open connection here takes this player's results (a network's instances
        push only the players whose stream they hold: ``Scheduler`` sweeps)."""
        return any(c.wants(player_id) for c in self.clients)

    async def push(self, player_id: str, results: list[Result]) -> int:
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

