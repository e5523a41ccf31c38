"""The aiohttp application: middlewares, the route tables, one lifecycle context.

``create_app(settings)`` builds everything from frozen ``Settings``: the main
application serves the bridge protocol (``routes``, ``plugin_routes``, ``stream``,
``openapi``) behind the service token; ``/admin`` is a sub-application with its own
token middleware (``admin_token``, else the service token). The ``lifecycle`` cleanup
context loads the levels, opens the store and starts the level watcher, and on the way
out stops the watcher and flushes the store (STYLE 14). Process concerns (the event
loop, SIGHUP, the collector) are ``main.py``'s. ``app.startup()``/``app.cleanup()``
drive it in tests. The app keys and ``Lifecycle`` live in ``keys.py`` (re-exported
here).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from quest_runtime.clock import Clock
from quest_runtime.errors import Unauthorized, Unavailable
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.server.errors import Handler, error_response_for
from quest_runtime.server.keys import (
    CATALOG,
    LIMITER,
    METRICS,
    RELOADER,
    RUNTIME,
    SCHEDULER,
    SETTINGS,
    STATUS,
    STREAM_HUB,
    Lifecycle,
)
from quest_runtime.server.limits import RateLimiter
from quest_runtime.server.metrics import Metrics
from quest_runtime.server.reload import Reloader
from quest_runtime.settings import Settings
from quest_runtime.store.base import StateStore
from quest_runtime.store.memory import MemoryStore
from quest_runtime.store.sqlite import SQLiteStore

__all__ = ["CATALOG", "LIMITER", "METRICS", "RELOADER", "RUNTIME", "SCHEDULER", "SETTINGS",
           "STATUS", "STREAM_HUB", "Lifecycle", "create_app", "make_store"]

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/health"})


def make_store(settings: Settings) -> StateStore:
    if settings.store == "memory":
        return MemoryStore(journal_limit=settings.journal_limit)
    if settings.store == "postgres":
        from quest_runtime.store.postgres import PostgresStore

        assert settings.dsn is not None  # Settings refuses postgres without a dsn
        return PostgresStore(settings.dsn, journal_limit=settings.journal_limit,
                             pool_size=settings.pool_size)
    return SQLiteStore(settings.db, synchronous=settings.synchronous,
                       journal_limit=settings.journal_limit)


def _authorised(header: str | None, token: str) -> bool:
    if header is None:
        return False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def _check_token(request: web.Request, token: str | None) -> None:
    if token is not None and not _authorised(request.headers.get("Authorization"), token):
        raise Unauthorized("missing or wrong bearer token",
                           details=[{"loc": "header.Authorization",
                                     "message": "expected 'Bearer <token>'"}])


def _studio_path(path: str) -> bool:
    """``/studio`` checks the admin token itself (``studio/funnel_app.py``)."""
    return path == "/studio" or path.startswith("/studio/")


def _front_middleware(settings: Settings, status: Lifecycle) -> web.middleware:  # type: ignore[valid-type]
    """The one middleware of the main application: the gate, then the handler, with
    every exception of either turned into its JSON error response (``errors.py``).

    The gate: shutting down, 503 on every path but ``/health``; the service token on
    every path but ``/health``, the admin token on ``/admin/*`` (the admin
    sub-application checks it again); ``/studio`` checks the admin token itself
    (``studio/funnel_app.py``). One middleware instead of two (an error one around a
    gate one) saves a layer of aiohttp's middleware chain on every request."""
    token = settings.token
    admin_token = settings.admin_token or settings.token
    tokens = token is not None or admin_token is not None  # else nothing to check

    @web.middleware
    async def front(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            path = request.path
            if path not in PUBLIC_PATHS:
                if status.shutting_down:
                    raise Unavailable("quest-runtime is shutting down; retry on the next "
                                      "instance")
                if tokens and not _studio_path(path):
                    # An unknown path under /admin/ is answered by the main router (404):
                    # it needs the admin token too, so a scan learns nothing without it.
                    _check_token(request, admin_token if path.startswith("/admin/")
                                 else token)
            return await handler(request)
        except Exception as exc:  # every error becomes a JSON body
            return error_response_for(request, exc)

    return front


def _admin_app(settings: Settings) -> web.Application:
    from quest_runtime.server.routes import admin_routes

    admin_token = settings.admin_token or settings.token

    @web.middleware
    async def admin_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        _check_token(request, admin_token)
        return await handler(request)

    admin = web.Application(client_max_size=settings.max_body_bytes,
                            middlewares=[admin_gate])
    admin.add_routes(admin_routes)
    return admin


def create_app(settings: Settings, *, store: StateStore | None = None,
               clock: Clock | None = None) -> web.Application:
    from quest_runtime.server.openapi import docs_routes
    from quest_runtime.server.plugin_routes import routes as plugin_routes
    from quest_runtime.server.routes import routes
    from quest_runtime.server.stream import setup_stream

    status = Lifecycle()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[_front_middleware(settings, status)],
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
    if hasattr(runtime.store, "transactions"):  # SQLite and PostgreSQL count their writes
        metrics.store_writes = lambda: (getattr(runtime.store, "transactions", 0),
                                        getattr(runtime.store, "committed", 0))
    app.add_routes(routes)
    app.add_routes(plugin_routes)
    app.add_routes(docs_routes)
    app.add_subapp("/admin", _admin_app(settings))
    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(_on_shutdown)
    setup_stream(app)  # the push stream and the timer scheduler (after the store opens)
    from quest_runtime.studio.funnel_app import mount_studio

    mount_studio(app)  # /studio: the funnel page (read-only, admin token)
    return app


async def _on_shutdown(app: web.Application) -> None:
    app[STATUS].shutting_down = True


async def _published_levels(app: web.Application) -> None:
    """A network's store (postgres): serve the newest published level generation
    (store/postgres_levels.py); nothing happens until one is published."""
    from quest_runtime.store.postgres import PostgresStore

    store = app[RUNTIME].store
    store = getattr(store, "inner", store)  # under the studio funnel's ObservedStore
    if isinstance(store, PostgresStore):
        from quest_runtime.store.postgres_levels import LevelSync

        await LevelSync(store, app[SETTINGS].levels, app[RELOADER].reload_all).start()


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Load levels, open the store, start the watcher; then stop and flush."""
    settings = app[SETTINGS]
    reloader = app[RELOADER]
    report = await reloader.reload_all()
    log.info("quest-runtime starting", extra={"settings": settings.describe(),
                                              "levels": list(report.loaded),
                                              "failed": list(report.failed)})
    await app[RUNTIME].open()
    await _published_levels(app)
    if settings.watch:
        reloader.start()
    app[STATUS].started = True
    try:
        yield
    finally:
        app[STATUS].shutting_down = True
        await reloader.stop()
        await app[RUNTIME].close()
        log.info("quest-runtime stopped; store flushed")
