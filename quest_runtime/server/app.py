"""The aiohttp application: typed app keys, middlewares, routes, one lifecycle context.

``create_app(settings)`` builds everything from frozen ``Settings``; the
``lifecycle`` cleanup context loads the levels, opens the store, starts the level
watcher and the SIGHUP handler, and on the way out stops the watcher and flushes the
store (STYLE 14). ``app.startup()``/``app.cleanup()`` drive it in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from quest_runtime.clock import Clock
from quest_runtime.errors import Unauthorized, Unavailable
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.server.errors import Handler, error_middleware
from quest_runtime.server.limits import RateLimiter
from quest_runtime.server.metrics import Metrics
from quest_runtime.server.reload import Reloader
from quest_runtime.settings import Settings
from quest_runtime.store.base import StateStore
from quest_runtime.store.memory import MemoryStore
from quest_runtime.store.sqlite import SQLiteStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Lifecycle:
    """Mutable service status read by middlewares and /ready."""

    started: bool = False
    shutting_down: bool = False


SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)
CATALOG = web.AppKey("catalog", LevelCatalog)
METRICS = web.AppKey("metrics", Metrics)
RELOADER = web.AppKey("reloader", Reloader)
LIMITER = web.AppKey("limiter", RateLimiter)
STATUS = web.AppKey("status", Lifecycle)

PUBLIC_PATHS = frozenset({"/health"})


def make_store(settings: Settings) -> StateStore:
    if settings.store == "memory":
        return MemoryStore(journal_limit=settings.journal_limit)
    return SQLiteStore(settings.db, synchronous=settings.synchronous,
                       journal_limit=settings.journal_limit)


def _authorised(header: str | None, token: str) -> bool:
    if header is None:
        return False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def _studio_path(path: str) -> bool:
    """``/studio`` checks the admin token itself (``studio/funnel_app.py``)."""
    return path == "/studio" or path.startswith("/studio/")


def _gate_middleware(settings: Settings, status: Lifecycle) -> web.middleware:  # type: ignore[valid-type]
    token = settings.token
    admin_token = settings.admin_token or settings.token

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if status.shutting_down and path not in PUBLIC_PATHS:
            raise Unavailable("quest-runtime is shutting down; retry on the next instance")
        if path not in PUBLIC_PATHS and not _studio_path(path):
            needed = admin_token if path.startswith("/admin/") else token
            if needed is not None and not _authorised(request.headers.get("Authorization"),
                                                      needed):
                raise Unauthorized("missing or wrong bearer token",
                                   details=[{"loc": "header.Authorization",
                                             "message": "expected 'Bearer <token>'"}])
        return await handler(request)

    return gate


def create_app(settings: Settings, *, store: StateStore | None = None,
               clock: Clock | None = None) -> web.Application:
    from quest_runtime.server.plugin_routes import add_plugin_routes
    from quest_runtime.server.routes import add_routes
    from quest_runtime.server.stream import setup_stream

    status = Lifecycle()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[error_middleware, _gate_middleware(settings, status)],
    )
    catalog = LevelCatalog(settings.levels, strict=settings.strict)
    metrics = Metrics()
    runtime = Runtime(catalog, store or make_store(settings),
                      clock=clock,
                      default_level=settings.default_level,
                      on_commit=metrics.commit_latency.observe)
    app[SETTINGS] = settings
    app[STATUS] = status
    app[CATALOG] = catalog
    app[METRICS] = metrics
    app[RUNTIME] = runtime
    app[RELOADER] = Reloader(catalog, metrics)
    app[LIMITER] = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    metrics.active_sessions.set_function(lambda: runtime.active_sessions())
    add_routes(app)
    add_plugin_routes(app)
    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(_on_shutdown)
    setup_stream(app)  # the push stream and the timer scheduler (after the store opens)
    from quest_runtime.studio.funnel_app import mount_studio

    mount_studio(app)  # /studio: the funnel page (read-only, admin token)
    return app


async def _on_shutdown(app: web.Application) -> None:
    app[STATUS].shutting_down = True


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Load levels, open the store, start the watcher; then stop and flush."""
    settings = app[SETTINGS]
    reloader = app[RELOADER]
    report = await reloader.reload_all()
    log.info("quest-runtime starting", extra={"settings": settings.describe(),
                                              "levels": list(report.loaded),
                                              "failed": list(report.failed)})
    await app[RUNTIME].open()
    if settings.watch:
        reloader.start()
    loop = asyncio.get_running_loop()
    hup = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP,
                                lambda: asyncio.ensure_future(reloader.reload_all()))
        hup = True
    gc.collect()
    gc.freeze()  # levels and start-up objects: never scanned by the collector again
    app[STATUS].started = True
    try:
        yield
    finally:
        app[STATUS].shutting_down = True
        if hup:
            loop.remove_signal_handler(signal.SIGHUP)
        await reloader.stop()
        await app[RUNTIME].close()
        log.info("quest-runtime stopped; store flushed")
