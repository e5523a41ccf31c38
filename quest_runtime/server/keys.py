"""The typed keys of the aiohttp application and the service status (a leaf module).

Every module of the service reads shared objects through these keys; this module
imports no other ``server`` module that reads them, so none of them import each other
to find a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.scheduler import Scheduler
from quest_runtime.server.hub import StreamHub
from quest_runtime.server.limits import RateLimiter
from quest_runtime.server.metrics import Metrics
from quest_runtime.server.reload import Reloader
from quest_runtime.settings import Settings


@dataclass(slots=True)
class Lifecycle:
    """Mutable service status read by middlewares and /ready."""

    started: bool = False
    shutting_down: bool = False
    #: ``Runtime.store_failures`` at the last ``/ready``: more since then is "failing".
    store_failures_seen: int = 0


SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)
CATALOG = web.AppKey("catalog", LevelCatalog)
METRICS = web.AppKey("metrics", Metrics)
RELOADER = web.AppKey("reloader", Reloader)
LIMITER = web.AppKey("limiter", RateLimiter)
STATUS = web.AppKey("status", Lifecycle)
STREAM_HUB = web.AppKey("stream_hub", StreamHub)
SCHEDULER = web.AppKey("scheduler", Scheduler)
