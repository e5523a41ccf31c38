"""Player-global state (SPEC §5.1, §3 ``requires``, §4.12.5, §4.12.6): flags, vars, items
(the quest ledger) and completed levels outlive a level session, are stored by the
store, and gate other levels: ``level_completed`` works across levels, and a level whose
``requires`` fails refuses the load with 409 ``level_blocked`` and its ``blocked_text``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestServer

from quest_runtime import views
from quest_runtime.clock import FakeClock
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.server.app import create_app
from quest_runtime.settings import Settings
from quest_runtime.store.sqlite import SQLiteStore

FARM = {
    "id": "farm",
    "title": "The Farm",
    "tasks": [{"id": "feed_hens", "type": "near", "target": "coop",
               "on_complete": [{"type": "set_flag", "flag": "hens_fed"},
                               {"type": "gain_item", "item": "egg", "count": 3},
                               {"type": "modify_var", "var": "reputation", "delta": 2}]}],
}
MARKET = {
    "id": "market",
    "requires": {"type": "level_completed", "level": "farm"},
    "blocked_text": "The market opens once the hens are fed.",
    "tasks": [{"id": "sell_eggs", "type": "near", "target": "stall",
               "requires": {"type": "all_of", "conditions": [
                   {"type": "flag_set", "flag": "hens_fed"},
                   {"type": "has_item", "item": "egg", "count": 3},
                   {"type": "var_at_least", "var": "reputation", "value": 2}]},
               "on_complete": [{"type": "lose_item", "item": "egg", "count": 3}]}],
}
VAULT = {"id": "vault", "requires": {"type": "flag_set", "flag": "never"},
         "tasks": [{"id": "open", "type": "near", "target": "vault"}]}
COOP = {"event_type": "near", "payload": {"target": "coop"}}


def test_global_state_outlives_the_session_and_gates_the_next_level(play: Any) -> None:
    t = play([FARM, MARKET], [
        {"load": "market"},                       # 1: blocked: farm not completed
        {"load": "farm"},
        COOP,                                      # 3: farm completes
        {"load": "market"},                        # 4: now open; sell_eggs's requires holds
        {"event_type": "near", "payload": {"target": "stall"}},
    ])
    assert t.results[0] is None
    assert t.error(0) == {"code": "level_blocked", "status": 409,
                          "message": "The market opens once the hens are fed."}
    assert t.results[2]["exit_ready"] is True
    assert [n.get("task_id") for n in t.results[3]["nodes"]] == ["sell_eggs"]
    assert t.results[3]["active_tasks"]["tasks"][0]["status"] == "issued"
    assert t.last["completed_tasks"] == ["sell_eggs"]
    state = t.state()
    assert state["flags"] == ["hens_fed"]
    assert state["vars"] == {"reputation": 2}
    assert state["items"] == {"egg": 0}
    assert state["completed_levels"] == ["farm", "market"]
    assert state["session"]["level_id"] == "market"


def test_a_refused_load_changes_nothing(play: Any) -> None:
    t = play([FARM, VAULT], [{"load": "farm"}, {"load": "vault"}, {"load": "nowhere"}, COOP])
    assert t.error(1) == {"code": "level_blocked", "status": 409,
                          "message": "level 'vault' is not open yet"}
    assert t.error(2)["code"] == "unknown_level" and t.error(2)["status"] == 404
    assert t.last["completed_tasks"] == ["feed_hens"]  # still in the farm session
    assert t.state()["session"]["level_id"] == "farm"


def test_ending_and_reloading_keeps_player_state_but_not_session_state(play: Any) -> None:
    t = play([FARM], [{"load": "farm"}, COOP, {"end": True}, {"load": "farm"}])
    state = t.state()
    assert state["flags"] == ["hens_fed"] and state["items"] == {"egg": 3}
    assert state["completed_levels"] == ["farm"]  # recorded once
    assert state["session"]["tasks"]["feed_hens"]["status"] == "issued"  # a new session
    assert state["session"]["exit_ready"] is False


def test_player_state_is_stored_and_survives_a_restart(tmp_path: Path) -> None:
    levels = tmp_path / "levels"
    levels.mkdir()
    for level in (FARM, MARKET):
        (levels / f"{level['id']}.json").write_bytes(orjson.dumps(level))
    db = tmp_path / "state.db"

    def runtime() -> Runtime:
        catalog = LevelCatalog(levels)
        catalog.load_all()
        return Runtime(catalog, SQLiteStore(db), clock=FakeClock())

    async def first() -> None:
        rt = runtime()
        await rt.open()
        try:
            await rt.load("Steve", "farm")
            await rt.handle("Steve", "near", {"target": "coop"})
            await rt.end("Steve")
        finally:
            await rt.close()

    async def second() -> tuple[dict[str, Any] | None, Any]:
        rt = runtime()
        await rt.open()
        try:
            view = await views.state_view(rt, "Steve")
            loaded = await rt.load("Steve", "market")
            return view, loaded.result
        finally:
            await rt.close()

    asyncio.run(first())
    view, loaded = asyncio.run(second())
    assert view is not None and view["session"] is None
    assert (view["flags"], view["vars"], view["items"], view["completed_levels"]) == (
        ["hens_fed"], {"reputation": 2}, {"egg": 3}, ["farm"])
    assert [n.get("task_id") for n in loaded["nodes"]] == ["sell_eggs"]


def test_a_blocked_load_over_http_is_409_with_the_blocked_text(tmp_path: Path) -> None:
    levels = tmp_path / "levels"
    levels.mkdir()
    for level in (FARM, MARKET):
        (levels / f"{level['id']}.json").write_bytes(orjson.dumps(level))
    settings = Settings(levels=levels, db=tmp_path / "state.db", watch=False,
                        rate_limit_per_second=0, log_level="warning")

    async def go() -> list[tuple[int, Any]]:
        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        out = []
        try:
            async with aiohttp.ClientSession() as http:
                async def post(path: str, body: dict[str, Any]) -> None:
                    async with http.post(f"http://127.0.0.1:{server.port}{path}",
                                         json=body) as r:
                        out.append((r.status, await r.json()))

                await post("/world/story/load", {"player_id": "Steve", "level_id": "market"})
                await post("/world/story/load", {"player_id": "Steve", "level_id": "farm"})
                await post("/world/story/rule-event", {"player_id": "Steve",
                                                        "event_type": "near",
                                                        "payload": {"target": "coop"}})
                await post("/world/story/load", {"player_id": "Steve", "level_id": "market"})
        finally:
            await server.close()
        return out

    (blocked_status, blocked), *_, (open_status, opened) = asyncio.run(go())
    assert blocked_status == 409
    assert blocked["status"] == "error"
    assert blocked["error"]["code"] == "level_blocked"
    assert blocked["error"]["message"] == "The market opens once the hens are fed."
    assert open_status == 200
    assert [n["task_id"] for n in opened["result"]["nodes"]] == ["sell_eggs"]
