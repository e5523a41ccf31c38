"""Starting and ending level sessions (SPEC §2.2 load/end, §4.12.5)."""

from __future__ import annotations

from typing import Any

LEVEL = {
    "id": "lake", "title": "Lake",
    "world_patch": {"mc": {"tell": "Fog rolls in.", "weather": "RAIN"}},
    "tasks": [
        {"id": "greet", "type": "near", "target": "mia_npc", "title": "Greet Mia",
         "on_complete": [{"type": "set_flag", "flag": "met_mia"}]},
        {"id": "count", "type": "quest_event", "target": "enter_pier", "count": 3},
        {"id": "later", "type": "chat", "target": "ready", "after": ["greet"]},
    ],
    "rule_listeners": [{"id": "hello", "targets": ["mia_npc"], "once": True,
                        "metadata": {"dialogue": "hello"}}],
}
OTHER = {"id": "forest", "tasks": [{"id": "chop", "type": "interact_block", "target": "oak_log"}]}


def test_a_load_result_has_the_entry_patch_task_nodes_and_quest_log(play: Any) -> None:
    t = play(LEVEL, [{"load": "lake", "expect": {
        "world_patch": {"mc": {"tell": "Fog rolls in.", "weather": "RAIN"}},
        "nodes": [{"type": "task", "task_id": "greet", "title": "Greet Mia"},
                  {"type": "task", "task_id": "count"}],
        "active_tasks": {"level_id": "lake", "active_count": 2},
        "completed_tasks": [], "exit_ready": False, "summary": None}}])
    assert [n["task_id"] for n in t.last["nodes"]] == ["greet", "count"]


def test_loading_the_same_level_again_restarts_it(play: Any, ev: Any) -> None:
    t = play(LEVEL, [
        {"load": "lake"},
        ev.near("mia_npc"),
        ev.quest_event("enter_pier"),
        {"load": "lake"},
        ev.quest_event("enter_pier"),
        ev.near("mia_npc"),
    ])
    assert [n["task_id"] for n in t.results[3]["nodes"]] == ["greet", "count"]
    assert t.results[4]["nodes"] == [{"type": "task_progress", "task_id": "count",
                                      "title": "count", "text": "count", "progress": 1,
                                      "count": 3, "remaining": 2}]
    assert t.results[5]["completed_tasks"] == ["greet"]
    assert [n.get("text") for n in t.results[5]["nodes"] if n["type"] == "npc_dialogue"] \
        == ["hello"]  # once: true is per level session
    assert "met_mia" in t.state()["flags"]  # player state outlives sessions


def test_loading_another_level_ends_the_current_session(play: Any, ev: Any) -> None:
    t = play([LEVEL, OTHER], [
        {"load": "lake"},
        {"load": "forest"},
        {**ev.near("mia_npc"), "expect": None},
        {"event_type": "interact_block", "payload": {"block_type": "oak_log"},
         "expect": {"completed_tasks": ["chop"], "exit_ready": True}},
    ])
    assert t.state()["session"]["level_id"] == "forest"


def test_an_unknown_level_is_refused_and_changes_nothing(play: Any, ev: Any) -> None:
    t = play(LEVEL, [
        {"load": "lake"},
        ev.quest_event("enter_pier"),
        {"load": "lakee", "expect": {"error": {"code": "unknown_level"}}},
        {**ev.quest_event("enter_pier"), "expect": {"nodes": [
            {"type": "task_progress", "task_id": "count", "progress": 2}]}},
    ])
    assert t.error(2) == {"code": "unknown_level", "status": 404,
                          "message": "unknown level 'lakee'"}
    assert t.state()["session"]["level_id"] == "lake"


def test_an_unknown_level_for_a_new_player_leaves_no_session(play: Any, ev: Any) -> None:
    t = play(LEVEL, [{"load": "nowhere"}, {**ev.near("mia_npc"), "expect": None}])
    assert t.error(0)["status"] == 404
    assert t.states["Steve"] is None or t.states["Steve"]["session"] is None


def test_end_closes_the_session_and_keeps_player_state(play: Any, ev: Any) -> None:
    t = play(LEVEL, [
        {"load": "lake"},
        ev.near("mia_npc"),
        {"end": True, "expect": None},
        {**ev.near("mia_npc"), "expect": None},
        {**ev.quest_event("enter_pier"), "expect": None},
    ])
    state = t.state()
    assert state["session"] is None
    assert state["exit_ready"] is False
    assert "met_mia" in state["flags"]


def test_a_default_level_is_loaded_for_a_player_without_a_session(play: Any, ev: Any) -> None:
    t = play(LEVEL, [{**ev.near("mia_npc"), "expect": {
        "world_patch": {"mc": {"tell": "Fog rolls in."}},
        "completed_tasks": ["greet"]}}], default_level="lake")
    assert [(n["type"], n.get("task_id")) for n in t.last["nodes"]][:3] == [
        ("task", "greet"), ("task", "count"), ("task_complete", "greet")]
