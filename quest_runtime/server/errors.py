"""The one place where exceptions become HTTP error responses (SPEC §2.1, STYLE 9).

Every error body is ``{"status": "error", "error": {code, message, details}}``.
``QuestError`` subclasses carry their code and status; pydantic ``ValidationError``s
become 422 with one detail per field (400 when the body is not JSON at all); aiohttp's
own HTTP errors (404 route, 405 method, 413 body) keep their status with a JSON body.
Anything else is a bug: logged with its traceback and answered 500 ``internal_error``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from quest_runtime.errors import QuestError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type", 429: "rate_limited", 503: "unavailable"}


def error_response(status: int, code: str, message: str,
                   details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    body = {"status": "error", "error": {"code": code, "message": message,
                                         "details": details or []}}
    return web.Response(body=orjson.dumps(body), status=status,
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


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except QuestError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    except ValidationError as exc:
        return validation_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason or code,
                              headers={k: v for k, v in exc.headers.items()
                                       if k.lower() == "allow"})
    except Exception:
        log.exception("internal error while handling %s %s", request.method, request.path)
        return error_response(500, "internal_error",
                              "quest-runtime hit an internal error; the event was not applied")
