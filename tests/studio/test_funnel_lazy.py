"""The service's funnel reads the journals when it is first asked for, not at start-up:
a service with many stored players must not pay for the rebuild in its rule events
(bench/million_players.py). Every entry still counts once: those committed before the
first view come from the journal, those after it from the commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestServer
from studio_helpers import copy_levels

from quest_runtime.server.app import create_app
from quest_runtime.server.keys import RUNTIME
from quest_runtime.settings import Settings
from quest_runtime.store.sqlite import SQLiteStore
from quest_runtime.studio.funnel import ObservedStore


class CountingStore(SQLiteStore):
    """Counts journal reads (what the funnel's rebuild does per player)."""

    reads = 0

    async def journal(self, player_id: str, limit: int) -> list[dict[str, Any]]:
        CountingStore.reads += 1
        return await super().journal(player_id, limit)


async def test_the_rebuild_waits_for_the_first_view_and_counts_each_entry_once(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr("quest_runtime.server.app.SQLiteStore", CountingStore)
    CountingStore.reads = 0
    settings = Settings(levels=copy_levels(tmp_path / "levels"), db=tmp_path / "state.db",
                        watch=False, rate_limit_per_second=0, log_level="warning")
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    try:
        observed = app[RUNTIME].store
        assert isinstance(observed, ObservedStore)
        assert isinstance(observed.inner, CountingStore)
        async with aiohttp.ClientSession() as session:
            async def load(player: str) -> None:
                async with session.post(base + "/world/story/load", data=orjson.dumps(
                        {"player_id": player, "level_id": "lakeside"}),
                        headers={"Content-Type": "application/json"}) as response:
                    assert response.status == 200, await response.text()

            for player in ("Ann", "Bob"):  # before anyone looks at the funnel
                await load(player)
            async with session.get(base + "/ready") as response:
                assert response.status == 200
            assert CountingStore.reads == 0, "the funnel read journals before it was asked"

            async def report() -> dict[str, Any]:
                for _ in range(200):
                    async with session.get(base + "/studio/api/funnel") as response:
                        assert response.status == 200
                        body: dict[str, Any] = await response.json()
                    if not body["rebuilding"]:
                        return body
                raise AssertionError("the funnel never finished reading the journal")

            first = await report()
            assert CountingStore.reads == 2  # both players' journals, once
            assert first["levels"][0]["started"] == 2
            await load("Cat")  # after the first view: counted from the commit
            second = await report()
            assert CountingStore.reads == 2
            assert second["levels"][0]["started"] == 3
            assert second["entries"] == first["entries"] + 1
    finally:
        await server.close()
