"""JSON error bodies for what aiohttp answers before the application sees a request.

A bad request line, malformed or oversized headers and the like are refused by
aiohttp's HTTP parser; its ``RequestHandler.handle_error`` writes a plain-text body,
and no middleware runs. ``JsonErrorRunner`` is an ``AppRunner`` whose connections use
``JsonErrorRequestHandler``, which answers the same status with the service's
``ErrorResponse`` body (``server/errors.py``). ``main.py`` serves through it.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from quest_runtime.server.errors import HTTP_CODES, error_body


class JsonErrorRequestHandler(RequestHandler):
    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        plain = super().handle_error(request, status, exc, message)  # logs; checks
        code = HTTP_CODES.get(status, "http_error")
        if status >= 500:
            text = "quest-runtime hit an internal error"
        else:
            reason = " ".join((message or "").split())[:300]
            text = f"the request is not valid HTTP: {reason}" if reason else \
                "the request is not valid HTTP"
        resp = web.Response(status=status, body=error_body(code, text),
                            content_type="application/json", headers=None)
        del plain
        resp.force_close()
        return resp


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    """``AppRunner`` whose parser-level errors are JSON bodies."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _JsonErrorServer  # the same object; only its handler class
        return server
