"""Fixtures of the timer tests: real servers on real sockets (``serve(level)``,
``spawn(level)``), the same fixtures as the service tests'.

They live beside the service tests in ``tests/server/http_helpers.py``; that folder is
put on ``sys.path`` here so this folder also runs on its own (``pytest tests/timers``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from http_helpers import serve, spawn

__all__ = ["serve", "spawn"]
