"""The quest-log snapshot, ``active_tasks`` (SPEC §4.10)."""

from __future__ import annotations

from typing import Any

LEVEL = {
    "id": "log", "title": "The Lakeside Log",
    "tasks": [
        {"id": "greet", "type": "near", "target": "mia_npc", "title": "Greet Mia",
         "hint": "She is by the lake."},
        {"id": "boathouse", "type": "quest_event", "title": "Find the boathouse",
         "after": ["greet"],
         "milestones": [{"id": "pier", "title": "The pier", "target": "enter_pier"},
                        {"id": "door", "title": "The door", "target": "enter_boathouse",
                         "count": 2}]},
        {"id": "brave", "type": "chat", "target": "brave", "title": "Be brave",
         "requires": {"type": "flag_set", "flag": "courage"}},
    ],
    "rule_listeners": [{"id": "hum", "type": "chat", "targets": ["hum"],
                        "metadata": {"dialogue": "Mia hums."}}],
}


def test_the_snapshot_after_load(play: Any) -> None:
    t = play(LEVEL, [{"load": "log"}])
    assert t.last["active_tasks"] == {
        "player_id": "Steve",
        "level_id": "log",
        "level_title": "The Lakeside Log",
        "tasks": [
            {"task_id": "greet", "title": "Greet Mia", "hint": "She is by the lake.",
             "status": "issued", "progress": 0, "count": 1, "remaining": 1, "type": "near",
             "milestones": []},
            {"task_id": "boathouse", "title": "Find the boathouse", "hint": None,
             "status": "pending", "progress": 0, "count": 3, "remaining": 3,
             "type": "quest_event",
             "milestones": [
                 {"milestone_id": "pier", "title": "The pier", "status": "open",
                  "progress": 0, "count": 1},
                 {"milestone_id": "door", "title": "The door", "status": "open",
                  "progress": 0, "count": 2}]},
            {"task_id": "brave", "title": "Be brave", "hint": None, "status": "pending",
             "progress": 0, "count": 1, "remaining": 1, "type": "chat", "milestones": []},
        ],
        "task_titles": ["Greet Mia"],
        "milestone_names": [],
        "active_count": 1,
        "remaining_total": 1,
        "milestone_count": 0,
    }


def test_the_snapshot_follows_progress_and_drops_completed_tasks(play: Any, ev: Any) -> None:
    t = play(LEVEL, [{"load": "log"}, ev.near("mia_npc"), ev.quest_event("enter_pier")])
    log = t.last["active_tasks"]
    assert [(x["task_id"], x["status"]) for x in log["tasks"]] == [("boathouse", "issued"),
                                                                   ("brave", "pending")]
    boathouse = log["tasks"][0]
    assert (boathouse["progress"], boathouse["count"], boathouse["remaining"]) == (1, 3, 2)
    assert [(m["milestone_id"], m["status"], m["progress"]) for m in boathouse["milestones"]] \
        == [("pier", "completed", 1), ("door", "open", 0)]
    assert log["task_titles"] == ["Find the boathouse"]
    assert log["milestone_names"] == ["The door"]
    assert (log["active_count"], log["remaining_total"], log["milestone_count"]) == (1, 2, 1)
    assert "timestamp" not in log and "updated_at" not in log


def test_the_snapshot_is_null_when_every_task_is_completed(play: Any, ev: Any) -> None:
    lvl = {"id": "log", "tasks": [{"id": "greet", "type": "near", "target": "mia_npc"}]}
    t = play(lvl, [{"load": "log"}, ev.near("mia_npc")])
    assert t.last["completed_tasks"] == ["greet"]
    assert t.last["active_tasks"] is None


def test_the_snapshot_is_present_only_when_task_state_changed(play: Any, ev: Any) -> None:
    t = play(LEVEL, [
        {"load": "log"},
        ev.chat("hum"),                    # only a listener fires
        ev.near("mia_npc"),                # a task completes, another is issued
        ev.quest_event("enter_boathouse"),  # progress on a milestone
    ])
    assert t.results[1]["nodes"] == [{"type": "npc_dialogue", "text": "Mia hums."}]
    assert t.results[1]["active_tasks"] is None
    assert t.results[2]["active_tasks"] is not None
    assert t.results[3]["active_tasks"]["tasks"][0]["milestones"][1]["progress"] == 1


def test_a_failed_task_shows_as_failed(play: Any, ev: Any, assert_subset: Any) -> None:
    lvl = {"id": "log", "tasks": [
        {"id": "race", "type": "quest_event", "target": "finish_line"},
        {"id": "other", "type": "near", "target": "mia_npc"}],
        "rule_listeners": [{"id": "trip", "targets": ["rock"],
                            "effects": [{"type": "fail_task", "task": "race"}]}]}
    t = play(lvl, [{"load": "log"}, ev.near("rock")])
    assert_subset({"nodes": [{"type": "task_failed", "task_id": "race"}],
                   "active_tasks": {"tasks": [{"task_id": "race", "status": "failed"},
                                              {"task_id": "other", "status": "issued"}]}},
                  t.last)
    assert len(t.last["active_tasks"]["tasks"]) == 2
