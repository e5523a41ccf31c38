"""The quest-log snapshot, ``active_tasks`` (SPEC §4.10, PLUGIN.md §3).

The plugin prints the whole log again whenever the snapshot changes and ignores each
task's ``status``: so ``tasks`` lists only issued tasks (pending ones are ``upcoming``),
``progress`` never reads as finished while a task is open, and a result carries the
snapshot only when a task was issued, completed or failed (or on load), not on progress.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from quest_runtime import views
from quest_runtime.designer.scenario import ScenarioRunner, Step
from quest_runtime.engine.shapes import QuestLog
from quest_runtime.levels.catalog import LevelCatalog

PLAYER = "Steve"


def quest_log_after(folder: Path, level: dict[str, Any],
                    steps: list[dict[str, Any]]) -> QuestLog | None:
    """The snapshot ``GET …/quest-log`` shows after ``steps`` (played by Steve)."""
    folder.mkdir(parents=True)
    (folder / f"{level['id']}.json").write_text(json.dumps(level), encoding="utf-8")
    catalog = LevelCatalog(folder)
    catalog.load_all()
    runner = ScenarioRunner(catalog)

    async def go() -> QuestLog | None:
        await runner.runtime.open()
        try:
            for n, step in enumerate(steps, start=1):
                await runner.run_step(Step(n, n, {"player": PLAYER, **step}))
            return await views.quest_log(runner.runtime, PLAYER)
        finally:
            await runner.runtime.close()

    return asyncio.run(go())

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
        ],
        "upcoming": [  # pending (after / requires): apart, in file order
            {"task_id": "boathouse", "title": "Find the boathouse"},
            {"task_id": "brave", "title": "Be brave"},
        ],
        "cooldowns": [],
        "task_titles": ["Greet Mia"],
        "milestone_names": [],
        "active_count": 1,
        "remaining_total": 1,
        "milestone_count": 0,
    }


def test_the_snapshot_follows_progress_and_drops_completed_tasks(play: Any, ev: Any,
                                                                 tmp_path: Path) -> None:
    steps = [{"load": "log"}, ev.near("mia_npc"), ev.quest_event("enter_pier")]
    t = play(LEVEL, steps)
    issued = t.results[1]["active_tasks"]  # greet completed, boathouse issued
    assert [(x["task_id"], x["status"]) for x in issued["tasks"]] == [("boathouse", "issued")]
    assert issued["upcoming"] == [{"task_id": "brave", "title": "Be brave"}]
    assert t.last["milestones"] == ["pier"]
    assert t.last["active_tasks"] is None  # mere progress: the log is not printed again
    log = quest_log_after(tmp_path / "log", LEVEL, steps)  # the quest-log endpoint
    assert log is not None
    assert [(x["task_id"], x["status"]) for x in log["tasks"]] == [("boathouse", "issued")]
    assert log["upcoming"] == [{"task_id": "brave", "title": "Be brave"}]
    boathouse = log["tasks"][0]
    assert (boathouse["progress"], boathouse["count"], boathouse["remaining"]) == (1, 3, 2)
    assert [(m["milestone_id"], m["status"], m["progress"]) for m in boathouse["milestones"]] \
        == [("pier", "completed", 1), ("door", "open", 0)]
    assert log["task_titles"] == ["Find the boathouse"]
    assert log["milestone_names"] == ["The door"]
    assert (log["active_count"], log["remaining_total"], log["milestone_count"]) == (1, 2, 1)
    assert "timestamp" not in log and "updated_at" not in log


def test_progress_never_reads_as_finished_while_the_task_is_open(play: Any, ev: Any,
                                                                 tmp_path: Path) -> None:
    """``progress`` is ``count - remaining``: a task whose count is reached but whose
    milestones are open shows less than ``count``."""
    lvl = {"id": "log", "tasks": [
        {"id": "lamp", "type": "quest_event", "count": 2,
         "milestones": [{"id": "oil", "target": "oil"}, {"id": "wick", "target": "wick"},
                        {"id": "flint", "target": "flint"}]}]}
    steps = [{"load": "log"}, ev.quest_event("oil"), ev.quest_event("wick")]
    t = play(lvl, steps)
    [node] = t.nodes(2, "task_progress")
    assert (node["progress"], node["count"], node["remaining"]) == (1, 2, 1)
    log = quest_log_after(tmp_path / "log", lvl, steps)
    assert log is not None
    [lamp] = log["tasks"]
    assert (lamp["progress"], lamp["count"], lamp["remaining"]) == (1, 2, 1)


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
    # an untitled line takes the level title as its headline
    assert t.results[1]["nodes"] == [{"type": "npc_dialogue", "text": "Mia hums.",
                                      "title": "The Lakeside Log"}]
    assert t.results[1]["active_tasks"] is None
    assert t.results[2]["active_tasks"] is not None
    assert [n["type"] for n in t.results[3]["nodes"]] == ["task_progress"]
    assert t.results[3]["nodes"][0]["task_id"] == "boathouse"
    assert t.results[3]["active_tasks"] is None  # progress only: no snapshot


def test_a_failed_task_shows_as_failed(play: Any, ev: Any, assert_subset: Any) -> None:
    lvl = {"id": "log", "tasks": [
        {"id": "race", "type": "quest_event", "target": "finish_line"},
        {"id": "other", "type": "near", "target": "mia_npc"}],
        "rule_listeners": [{"id": "trip", "targets": ["rock"],
                            "effects": [{"type": "fail_task", "task": "race"}]}]}
    t = play(lvl, [{"load": "log"}, ev.near("rock")])
    # the failure is told by its node; the log (printed again, as a task failed) lists
    # only what is still open: the plugin would draw a failed task as one to do
    assert_subset({"nodes": [{"type": "task_failed", "task_id": "race"}],
                   "active_tasks": {"tasks": [{"task_id": "other", "status": "issued"}],
                                    "upcoming": []}},
                  t.last)
    assert [x["task_id"] for x in t.last["active_tasks"]["tasks"]] == ["other"]
