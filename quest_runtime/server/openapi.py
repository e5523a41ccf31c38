"""``GET /openapi.json``: the OpenAPI document generated from the route tables.

Every documented route handler carries its ``bridge_protocol.openapi.Operation``
(``@describe``); :func:`operations` walks the same ``RouteTableDef``s the application
is built from, so the document and the routes cannot drift. Whether operations need a
bearer token follows the settings (``token``, ``admin_token``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

from bridge_protocol.openapi import Operation, describe, described, openapi
from quest_runtime import __version__
from quest_runtime.server import plugin_routes, routes, stream
from quest_runtime.server.keys import SETTINGS
from quest_runtime.settings import Settings

docs_routes = web.RouteTableDef()

ADMIN_PREFIX = "/admin"


def tables() -> tuple[tuple[str, web.RouteTableDef], ...]:
    """``(prefix, table)`` of every route table of the service, in the order the
    application adds them (``/admin`` is a sub-application)."""
    return (("", routes.routes), ("", plugin_routes.routes), ("", stream.routes),
            ("", docs_routes), (ADMIN_PREFIX, routes.admin_routes))


def operations() -> Iterator[tuple[str, str, Operation]]:
    """``(method, path, Operation)`` of every documented route (the DriftSystem calls
    quest-runtime does not provide are routes without an Operation: not documented)."""
    for prefix, table in tables():
        for route in table:
            if isinstance(route, web.RouteDef):
                op = described(route.handler)
                if op is not None:
                    yield route.method, prefix + route.path, op


@functools.lru_cache(maxsize=4)
def _rendered(token: bool, admin_token: bool) -> bytes:
    return orjson.dumps(openapi(__version__, operations(), token=token,
                                admin_token=admin_token))


def document(settings: Settings | None = None) -> dict[str, Any]:
    """The document for ``settings`` (no settings: as with a token configured, every
    401 shown, which is what docs/protocol.md lists)."""
    token, admin = _auth(settings)
    return openapi(__version__, operations(), token=token, admin_token=admin)


def _auth(settings: Settings | None) -> tuple[bool, bool]:
    if settings is None:
        return True, True
    return settings.token is not None, (settings.admin_token or settings.token) is not None


@docs_routes.get("/openapi.json")
@describe(Operation("This document"))
async def openapi_json(request: web.Request) -> web.Response:
    token, admin = _auth(request.app[SETTINGS])
    return web.Response(body=_rendered(token, admin), content_type="application/json")
