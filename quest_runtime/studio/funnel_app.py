"""``/studio`` on ``quest-runtime serve``: the funnel page, read-only, behind the admin token.

``mount_studio(app)`` is the service's one hook: it wraps the runtime's store in
``funnel.ObservedStore`` (the aggregate is rebuilt from the journal in the background when
the funnel is first asked for, page or JSON, and fed by each commit from then on) and adds
this sub-application at ``/studio``:

- ``GET /studio/`` the page (``static/funnel.html``), ``GET /studio/static/...`` its files;
- ``GET /studio/api/funnel`` per level and per task: issued, completed, failed, median
  issue → completion seconds, players stopped there (``Funnel.report``).

Every ``/studio`` request needs the admin token (``admin_token``, else ``token``; open
when neither is set, like ``/admin``): ``Authorization: Bearer <token>``, or HTTP Basic
with the token as the password, so a browser asks for it by itself (a 401 carries
``WWW-Authenticate: Basic``). The service's gate leaves ``/studio`` to this check.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from pathlib import Path

import orjson
from aiohttp import web

from quest_runtime.errors import Unauthorized
from quest_runtime.server.errors import Handler
from quest_runtime.server.keys import CATALOG, RUNTIME, SETTINGS
from quest_runtime.studio.funnel import Funnel, ObservedStore

STATIC = Path(__file__).parent / "static"
FUNNEL = web.AppKey("studio_funnel", Funnel)
OBSERVED = web.AppKey("studio_store", ObservedStore)
PREFIX = "/studio"


def token_matches(header: str | None, token: str) -> bool:
    """``Bearer <token>``, or ``Basic base64(user:<token>)`` (any user name)."""
    if header is None:
        return False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def _auth(token: str | None) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is not None and not token_matches(request.headers.get("Authorization"),
                                                   token):
            error = Unauthorized("the studio needs the admin token",
                                 details=[{"loc": "header.Authorization",
                                           "message": "expected 'Bearer <admin token>' "
                                                      "(or Basic auth with it as password)"}])
            error.headers = {"WWW-Authenticate": 'Basic realm="quest-runtime studio"'}
            raise error
        return await handler(request)

    return check


async def page(request: web.Request) -> web.FileResponse:
    request.app[OBSERVED].start_rebuild()  # the first view starts the count
    return web.FileResponse(STATIC / "funnel.html")


async def funnel_report(request: web.Request) -> web.Response:
    catalog = request.app[CATALOG]

    def order(level_id: str) -> list[str]:
        level = catalog.get(level_id)
        return [t.id for t in level.tasks] if level is not None else []

    def title(level_id: str, task_id: str) -> str | None:
        level = catalog.get(level_id)
        if level is None:
            return None
        return next((t.title for t in level.tasks if t.id == task_id), None)

    request.app[OBSERVED].start_rebuild()
    report = request.app[FUNNEL].report(order, title)
    for entry in report["levels"]:
        level = catalog.get(entry["level_id"])
        entry["title"] = level.title if level is not None else None
    return web.Response(body=orjson.dumps(report), content_type="application/json")


def mount_studio(app: web.Application) -> Funnel:
    """Wrap the runtime's store and add ``/studio`` (call once, in ``create_app``)."""
    settings = app[SETTINGS]
    runtime = app[RUNTIME]
    funnel = Funnel()
    observed = ObservedStore(runtime.store, funnel, settings.journal_limit, lazy=True)
    runtime.store = observed
    sub = web.Application(middlewares=[_auth(settings.admin_token or settings.token)])
    sub[FUNNEL] = funnel
    sub[OBSERVED] = observed
    sub[CATALOG] = app[CATALOG]
    sub.router.add_get("/", page)
    sub.router.add_static("/static", STATIC)
    sub.router.add_get("/api/funnel", funnel_report)
    app.router.add_get(PREFIX, _to_page)  # /studio → /studio/ (the page's links are relative)
    app.add_subapp(PREFIX, sub)
    return funnel


async def _to_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(PREFIX + "/")
