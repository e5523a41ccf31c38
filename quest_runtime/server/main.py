"""``quest-runtime serve``: the process around the application.

Read settings once, configure logs, pick the event loop (uvloop when installed), serve
the app through ``JsonErrorRunner`` (parser-level errors get JSON bodies too), then:
once the app has started (levels loaded, store open) freeze the start-up objects out of
the collector's reach and reload the levels on SIGHUP. SIGINT/SIGTERM stop accepting
connections, let in-flight events finish (``shutdown_timeout``), then run the cleanup
context, which flushes the store. New requests arriving during shutdown get 503.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from quest_runtime.logs import configure_logging
from quest_runtime.settings import Settings, SettingsError
from quest_runtime.store.base import StoreError

_CLI_FIELDS = ("host", "port", "levels", "db", "token", "admin_token", "store", "dsn", "pool_size",
               "synchronous",
               "default_level", "log_level", "log_format", "watch", "strict")


def serve(args: argparse.Namespace) -> int:
    cli = {name: getattr(args, name, None) for name in _CLI_FIELDS}
    try:
        settings = Settings.load(cli=cli, config_file=getattr(args, "config", None))
    except SettingsError as exc:
        print(f"quest-runtime: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    # Requests allocate many short-lived dicts; the default gen-0 threshold (700) runs
    # the collector every few requests. Start-up objects are frozen once started.
    gc.set_threshold(50_000, 20, 100)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(settings))
    except StoreError as exc:
        print(f"quest-runtime: the state store cannot be opened: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"quest-runtime: cannot serve on {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)
        return 1
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return None
    return uvloop.new_event_loop


async def _serve(settings: Settings) -> None:
    from quest_runtime.server.app import create_app
    from quest_runtime.server.keys import RELOADER
    from quest_runtime.server.protocol import JsonErrorRunner

    app = create_app(settings)
    # keepalive_timeout: what aiohttp's run_app used to pass (its own default is an hour)
    runner = JsonErrorRunner(app, access_log=None, keepalive_timeout=75.0,
                             shutdown_timeout=settings.shutdown_timeout)
    await runner.setup()  # the lifecycle: levels loaded, store open, watcher started
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        print(f"======== Running on http://{settings.host}:{settings.port} ========",
              file=sys.stderr)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        reloader = app[RELOADER]
        handled: list[signal.Signals] = []
        for sig, action in ((signal.SIGINT, stop.set), (signal.SIGTERM, stop.set),
                            (signal.SIGHUP,
                             lambda: asyncio.ensure_future(reloader.reload_all()))):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError,
                                     AttributeError):
                loop.add_signal_handler(sig, action)
                handled.append(sig)
        gc.collect()
        gc.freeze()  # levels and start-up objects: never scanned by the collector again
        await stop.wait()
        for sig in handled:
            loop.remove_signal_handler(sig)
    finally:
        await runner.cleanup()
