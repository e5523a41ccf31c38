"""The DriftSystem plugin's own calls over a real socket (PLUGIN.md §2; issue 8).

Each answer is validated against its ``bridge_protocol`` model and checked for the root
fields the plugin reads: ``msg``/``bootstrap_patch`` of a load, ``exit_profile`` of the
world state, ``world_patch.exit_summary`` of an end, ``node.text``/``world_patch`` of an
advance, the debug listing and the recommendations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from http_helpers import Serve, copy_demo_levels, write_level

from bridge_protocol import (
    AdvanceResponse,
    DebugTasksResponse,
    EndResponse,
    ErrorResponse,
    PluginLoadResponse,
    RecommendationsResponse,
    WorldStateResponse,
)

PLUGIN_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def chapter(level_id: str, nxt: str | None = None, *, requires: Any = None) -> dict[str, Any]:
    level: dict[str, Any] = {
        "id": level_id, "title": f"Chapter {level_id}",
        "tasks": [{"id": "ring", "type": "interact_block", "target": "bell",
                   "title": "Ring the bell", "hint": "Right-click the bell."}],
        "exit": {"phrase_aliases": ["回到白天"], "return_spawn": "Hub",
                 "teleport": {"x": 1.5, "y": 70, "z": -2.5}, "farewell": "Bye."},
    }
    if nxt is not None:
        level["exit"]["next_level"] = nxt
    if requires is not None:
        level["requires"] = requires
        level["blocked_text"] = "Finish chapter one first."
    return level


BELL = {"event_type": "interact_block",
        "payload": {"action": "right_click_block", "block_type": "bell",
                    "quest_event": "interact_block_bell"}}


async def test_level_start_the_plugins_way(serve: Serve) -> None:
    svc = await serve()
    status, body = await svc.post("/story/load/Steve/lakeside", {}, headers=PLUGIN_HEADERS)
    assert status == 200
    answer = PluginLoadResponse.model_validate_json(body)
    assert answer.status == "ok" and answer.msg == "Lakeside Lantern loaded"
    tells = answer.bootstrap_patch["mc"]["tell"]
    assert any("Greet Mia" in line for line in tells)  # the first task's card
    assert answer.bootstrap_patch["mc"]["title"]["main"] == "§6Lakeside Lantern"
    assert answer.result is not None and answer.result.nodes[0].task_id == "greet_mia"
    # the quest log the plugin did not read comes with the next rule event
    nxt = await svc.event({"player_id": "Steve", "event_type": "chat",
                           "payload": {"text": "hello"}})
    assert nxt is not None and nxt["active_tasks"]["tasks"][0]["task_id"] == "greet_mia"
    again = await svc.event({"player_id": "Steve", "event_type": "chat",
                             "payload": {"text": "hello"}})
    assert again is None  # delivered once


async def test_an_empty_body_starts_the_level_too(serve: Serve) -> None:
    svc = await serve()
    status, body = await svc.post("/story/load/Alex/lakeside", b"")
    assert status == 200, body
    assert orjson.loads(body)["status"] == "ok"


async def test_an_unknown_level_is_a_json_error_and_changes_nothing(serve: Serve) -> None:
    svc = await serve()
    await svc.post("/story/load/Steve/lakeside", {})
    before = await svc.state("Steve")
    status, body = await svc.post("/story/load/Steve/nowhere", {})
    assert status == 404
    assert ErrorResponse.model_validate_json(body).error.code == "unknown_level"
    assert await svc.state("Steve") == before


async def test_a_non_object_body_is_refused(serve: Serve) -> None:
    svc = await serve()
    status, body = await svc.post("/story/load/Steve/lakeside", b"[1, 2]")
    assert status == 422, body
    status, _ = await svc.get("/world/story/Steve/state")
    assert status == 404  # nothing was stored


async def test_exit_profile_and_end_carry_the_levels_exit(serve: Serve,
                                                           tmp_path: Path) -> None:
    levels = copy_demo_levels(tmp_path / "levels")
    write_level(levels, chapter("one"))
    svc = await serve(levels=levels)
    status, body = await svc.get("/world/state/Nobody")
    assert status == 200
    assert WorldStateResponse.model_validate_json(body).exit_profile.aliases == []
    await svc.post("/story/load/Steve/one", {})
    status, body = await svc.get("/world/state/Steve")
    state = WorldStateResponse.model_validate_json(body)
    assert state.exit_profile.aliases == ["回到白天"]
    assert state.world_state["exit_profile"] == state.exit_profile
    status, body = await svc.post("/world/story/end", {"player_id": "Steve"})
    assert status == 200
    summary = EndResponse.model_validate_json(body).world_patch["exit_summary"]
    assert summary["farewell"] == "Bye."
    assert summary["hub"] == {"world": "Hub", "x": 1.5, "y": 70, "z": -2.5}
    assert summary["aliases"] == ["回到白天"]


async def test_advance_moves_a_finished_player_on_and_says_what_is_left(
        serve: Serve, tmp_path: Path) -> None:
    levels = copy_demo_levels(tmp_path / "levels")
    write_level(levels, chapter("one", "two"))
    write_level(levels, chapter("two", requires={"type": "level_completed", "level": "one"}))
    svc = await serve(levels=levels)
    status, body = await svc.post("/story/advance/Steve", {})
    assert status == 200
    assert "not in a level" in AdvanceResponse.model_validate_json(body).node.text
    await svc.post("/story/load/Steve/one", {})
    status, body = await svc.post("/story/advance/Steve", {})
    early = AdvanceResponse.model_validate_json(body)
    assert early.status == "unchanged" and "Ring the bell" in early.node.text
    assert (await svc.state("Steve"))["session"]["level_id"] == "one"
    done = await svc.event({"player_id": "Steve", **BELL})
    assert done is not None and done["exit_ready"] is True
    status, body = await svc.post("/story/advance/Steve", {})
    moved = AdvanceResponse.model_validate_json(body)
    assert moved.status == "ok" and "Chapter two" in moved.node.text
    assert any("Ring the bell" in t for t in moved.world_patch["mc"]["tell"])
    assert (await svc.state("Steve"))["session"]["level_id"] == "two"
    status, body = await svc.post("/story/advance/Steve", {})  # a second /advance
    assert AdvanceResponse.model_validate_json(body).status == "unchanged"
    assert (await svc.state("Steve"))["session"]["level_id"] == "two"


async def test_a_blocked_level_start_tells_the_player_why(serve: Serve,
                                                           tmp_path: Path) -> None:
    levels = copy_demo_levels(tmp_path / "levels")
    write_level(levels, chapter("two", requires={"type": "level_completed", "level": "one"}))
    svc = await serve(levels=levels)
    status, body = await svc.post("/story/load/Steve/two", {})
    assert status == 200
    answer = PluginLoadResponse.model_validate_json(body)
    assert answer.status == "blocked" and answer.msg == "Finish chapter one first."


async def test_debug_tasks_and_recommendations(serve: Serve, tmp_path: Path) -> None:
    levels = copy_demo_levels(tmp_path / "levels")
    write_level(levels, chapter("one"))
    write_level(levels, chapter("two", requires={"type": "level_completed", "level": "one"}))
    svc = await serve(levels=levels)
    status, body = await svc.get("/world/story/Steve/recommendations")
    assert status == 200
    found = RecommendationsResponse.model_validate_json(body).recommendations
    assert [r.level_id for r in found] == ["lakeside", "one"]  # two is not open yet
    await svc.post("/story/load/Steve/lakeside", {})
    status, body = await svc.get("/world/story/Steve/debug/tasks")
    assert status == 200
    listing = DebugTasksResponse.model_validate_json(body)
    by_id = {t.task_id: t for t in listing.tasks}
    assert by_id["greet_mia"].status == "issued"
    assert by_id["greet_mia"].why is not None and "near" in by_id["greet_mia"].why
    assert by_id["say_ready"].why is not None and "after 'greet_mia'" in by_id["say_ready"].why


async def test_the_plugins_other_features_get_a_json_404(serve: Serve) -> None:
    svc = await serve()
    for path in ("/tutorial/start/Steve", "/ai/intent", "/story/inject", "/world/apply",
                 "/world/apply/report", "/minimap/Steve", "/story/state/Steve"):
        status, body = await svc.post(path, {})
        assert status == 404, path
        error = ErrorResponse.model_validate_json(body).error
        assert error.code == "outside_quest_runtime" and path in error.message
