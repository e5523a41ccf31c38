"""The one place where exceptions become HTTP error responses (SPEC §2.1, STYLE 9).

Every error body is ``bridge_protocol.ErrorResponse``:
``{"status": "error", "error": {code, message, details}}``.
``QuestError`` subclasses carry their code and status; pydantic ``ValidationError``s
become 422 with one detail per field (400 when the body is not JSON at all); aiohttp's
own HTTP errors (404 route, 405 method, 413 body) keep their status with a JSON body.
Anything else is a bug: logged with its traceback and answered 500 ``internal_error``.
What aiohttp's HTTP parser refuses before the application sees it (a bad request line,
malformed headers) gets the same body from ``protocol.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from bridge_protocol.errors import ErrorBody, ErrorDetail, ErrorResponse
from quest_runtime.errors import QuestError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The stable ``error.code`` of an HTTP status aiohttp answers by itself.
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
              405: "method_not_allowed", 408: "request_timeout", 413: "payload_too_large",
              414: "uri_too_long", 415: "unsupported_media_type",
              431: "headers_too_large", 429: "rate_limited", 500: "internal_error",
              501: "not_implemented", 503: "unavailable"}


def error_body(code: str, message: str,
               details: list[dict[str, Any]] | None = None) -> bytes:
    """The JSON bytes of an ``ErrorResponse``."""
    body = ErrorResponse(error=ErrorBody(
        code=code, message=message,
        details=[ErrorDetail(loc=str(d.get("loc", "")), message=str(d.get("message", "")))
                 for d in details or ()]))
    return orjson.dumps(body.model_dump(mode="json"))


def error_response(status: int, code: str, message: str,
                   details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=error_body(code, message, details), status=status,
                        content_type="application/json", headers=headers)


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def validation_response(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> web.Response:
    errors = exc.errors(include_url=False)
    if errors and all(e["type"] == "json_invalid" for e in errors):
        ctx = errors[0].get("ctx") or {}
        return error_response(400, "malformed_json",
                              f"the body is not valid JSON: {ctx.get('error', 'parse error')}")
    details = [{"loc": _loc(prefix + tuple(e["loc"])) or "body", "message": e["msg"]}
               for e in errors]
    first = details[0]
    message = f"invalid request: {first['loc']}: {first['message']}"
    return error_response(422, "invalid_request", message, details)


def error_response_for(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The JSON error response of an exception raised while handling ``request``.
    An ``HTTPException`` below 400 (a redirect) is re-raised: aiohttp sends it."""
    if isinstance(exc, QuestError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, ValidationError):
        return validation_response(exc)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        code = HTTP_CODES.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason or code,
                              headers={k: v for k, v in exc.headers.items()
                                       if k.lower() == "allow"})
    log.error("internal error while handling %s %s", request.method, request.path,
              exc_info=exc)
    return error_response(500, "internal_error",
                          "quest-runtime hit an internal error; the event was not applied")

