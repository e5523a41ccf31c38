"""The service with an application that costs nothing: the ceiling of its HTTP layer.

A diagnostic for ``bench/http_bench.py``, not a benchmark of the product: it serves the
real service (``quest-runtime serve``: the same aiohttp app, middleware, routes, body
checks, request validation, rate limiter and metrics), but ``Runtime.handle`` and
``Runtime.handle_batch`` answer a null result at once, without the engine or the store.
Its req/s over the floor's is the most the service could reach if the engine, the
encoding and the store cost nothing::

    .venv/bin/python bench/http_bench.py --lakeside-connections '' \\
        --history-connections '' --target-cmd \\
        '{python} bench/ceiling_server.py serve --port {port} --db {db} --levels {levels}'

(the loads of the bench's preload still run for real). docs/operating.md "Performance"
quotes it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from quest_runtime.cli import main
from quest_runtime.runtime import Reply, Runtime

_NULL = Reply(None, b"null")


async def _handle(self: Runtime, player_id: str, event_type: str | None,
                  payload: Mapping[str, Any], event_id: str | None = None) -> Reply:
    return _NULL


async def _handle_batch(self: Runtime, events: list[tuple[str, str | None, Mapping[str, Any],
                                                          str | None]]) -> list[Reply]:
    return [_NULL] * len(events)


if __name__ == "__main__":
    Runtime.handle = _handle  # type: ignore[method-assign]
    Runtime.handle_batch = _handle_batch  # type: ignore[method-assign]
    sys.exit(main(sys.argv[1:]))
