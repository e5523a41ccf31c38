"""Fixtures of the plugin-model tests: the service on a real socket (``tests/server``'s
helpers), driven with the DriftSystem plugin's exact paths and request shapes."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from http_helpers import Running, start_service, stop_services


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Any]:
    """``await service(levels, clock=None) -> Running`` with a fresh SQLite file."""
    started: list[Running] = []

    async def start(levels: Path, clock: Any = None) -> Running:
        running = await start_service({"levels": levels,
                                       "db": tmp_path / f"state_{len(started)}.db"},
                                      clock=clock)
        started.append(running)
        return running

    try:
        yield start
    finally:
        await stop_services(started)
