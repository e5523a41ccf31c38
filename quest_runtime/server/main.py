"""``quest-runtime serve``: read settings once, configure logs, run the app until stopped.

aiohttp's runner handles SIGINT/SIGTERM: it stops accepting connections, lets in-flight
events finish (``shutdown_timeout``), then runs the cleanup context, which flushes the
store. New requests arriving during shutdown get 503.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys

from aiohttp import web

from quest_runtime.logs import configure_logging
from quest_runtime.settings import Settings, SettingsError
from quest_runtime.store.base import StoreError

_CLI_FIELDS = ("host", "port", "levels", "db", "token", "admin_token", "store", "synchronous",
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
    # the collector every few requests. Start-up objects are frozen in ``lifecycle``.
    gc.set_threshold(50_000, 20, 100)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from quest_runtime.server.app import create_app

    try:
        web.run_app(create_app(settings), host=settings.host, port=settings.port,
                    shutdown_timeout=settings.shutdown_timeout, access_log=None,
                    print=lambda msg: print(msg, file=sys.stderr))
    except StoreError as exc:
        print(f"quest-runtime: the state store cannot be opened: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"quest-runtime: cannot serve on {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)
        return 1
    return 0
