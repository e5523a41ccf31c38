"""Time-driven task features (SPEC §3.1, §4.3, §4.12.2, §4.12.3), on the injectable clock:
quest chains, repeatable tasks with a cooldown, time limits with ``task_failed`` and
``on_fail``, failed repeatable tasks, eligibility re-checked after timer results.

Levels are played by the preview's runner with a fake clock at 0; ``advance_seconds``
moves it and shows the pushed results.
"""

from __future__ import annotations

from typing import Any


def near(target: str, **extra: Any) -> dict[str, Any]:
    return {"event_type": "near", "payload": {"target": target}, **extra}


def nodes(result: Any, node_type: str | None = None) -> list[dict[str, Any]]:
    if result is None:
        return []
    if isinstance(result, list):
        return [n for pushed in result for n in nodes(pushed["result"], node_type)]
    return [n for n in result.get("nodes", []) if node_type in (None, n["type"])]


def statuses(state: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in state["session"]["tasks"].items()}


# -- chains -----------------------------------------------------------------------------


def test_a_chain_issues_each_step_in_the_result_that_completes_the_previous(play: Any) -> None:
    lv = {"id": "chain", "tasks": [
        {"id": "wake", "type": "near", "target": "bed"},
        {"id": "dress", "type": "near", "target": "wardrobe", "after": ["wake"]},
        {"id": "leave", "type": "near", "target": "door", "after": ["dress"],
         "requires": {"type": "elapsed_at_least", "seconds": 60}},
    ]}
    t = play(lv, [
        {"load": "chain", "expect": {"nodes": [{"type": "task", "task_id": "wake"}]}},
        near("wardrobe", expect=None),  # not issued yet: no match
        near("bed", expect={"completed_tasks": ["wake"],
                            "nodes": [{"type": "task_complete"},
                                      {"type": "task", "task_id": "dress"}]}),
        near("wardrobe", expect={"completed_tasks": ["dress"]}),
        {"advance_seconds": 59.9},
        # the elapsed gate opens at 60 s: "leave" is issued by a pushed result, while
        # the player sends nothing
        {"advance_seconds": 0.1, "expect": {"nodes": [{"type": "task", "task_id": "leave"}]}},
        near("door", expect={"completed_tasks": ["leave"], "exit_ready": True}),
    ])
    assert [n["task_id"] for n in nodes(t.results[3], "task")] == []
    assert t.results[4] == []
    assert statuses(t.state()) == {"wake": "completed", "dress": "completed",
                                   "leave": "completed"}


# -- repeatable with a cooldown ------------------------------------------------------------


DAILY = {"id": "farm", "title": "Farm", "tasks": [
    {"id": "milk", "type": "near", "target": "cow", "title": "Milk the cow",
     "repeatable": {"cooldown_seconds": 3600},
     "reward": {"commands": ["give {player} milk_bucket 1"]},
     "on_complete": [{"type": "modify_var", "var": "milked", "delta": 1}]},
]}


def test_a_repeatable_task_is_reissued_when_its_cooldown_ends(play: Any) -> None:
    t = play(DAILY, [
        {"load": "farm"},
        near("cow", expect={"completed_tasks": ["milk"], "exit_ready": True,
                            "commands": ["give Steve milk_bucket 1"]}),
        near("cow", expect=None),           # closed: nothing matches during the cooldown
        {"advance_seconds": 3599},
        {"advance_seconds": 1, "expect": {
            "nodes": [{"type": "task", "task_id": "milk"}],
            "active_tasks": {"tasks": [{"task_id": "milk", "status": "issued",
                                        "progress": 0}]}}},
        near("cow", expect={"completed_tasks": ["milk"], "exit_ready": False,
                            "commands": ["give Steve milk_bucket 1"]}),
        {"advance_seconds": 3600, "expect": {"nodes": [{"type": "task"}]}},
    ])
    assert t.results[3] == []  # not a second early
    assert len(t.results[4]) == 1 and len(t.results[6]) == 1
    state = t.state()
    assert state["vars"]["milked"] == 2  # rewards and on_complete on every completion
    assert state["session"]["tasks"]["milk"]["completions"] == 2


def test_repeatable_without_cooldown_is_reissued_in_the_same_result(play: Any) -> None:
    lv = {"id": "farm", "tasks": [{"id": "milk", "type": "near", "target": "cow",
                                   "repeatable": True}]}
    t = play(lv, [{"load": "farm"},
                  near("cow", expect={"nodes": [{"type": "task_complete"},
                                                {"type": "task", "task_id": "milk"}]}),
                  {"advance_seconds": 10_000}])
    assert t.results[2] == []


# -- time limits -------------------------------------------------------------------------------


TIMED = {"id": "race", "title": "Race", "tasks": [
    {"id": "bell", "type": "near", "target": "bell", "title": "Ring the bell",
     "time_limit_seconds": 60,
     "on_fail": [{"type": "say", "text": "Too slow!"},
                 {"type": "set_flag", "flag": "late"}]},
    {"id": "prize", "type": "near", "target": "stand", "after": ["bell"]},
]}


def test_a_time_limit_fails_the_task_at_its_due_time(play: Any) -> None:
    t = play(TIMED, [
        {"load": "race"},
        {"advance_seconds": 59},
        {"advance_seconds": 1, "expect": {
            "nodes": [{"type": "task_failed", "task_id": "bell", "title": "Ring the bell"},
                      {"type": "npc_dialogue", "text": "Too slow!"}],
            "active_tasks": {"upcoming": [{"task_id": "prize"}]}}},
        near("bell", expect=None),           # failed: closed, not completed
        {"advance_seconds": 1000},
    ])
    assert t.results[1] == [] and t.results[4] == []
    [pushed] = t.results[2]
    # the log lists only open tasks: the failed one is gone, the pending one is upcoming
    assert pushed["result"]["active_tasks"]["tasks"] == []
    assert pushed["result"]["active_tasks"]["upcoming"] == [{"task_id": "prize",
                                                             "title": "prize"}]
    state = t.state()
    assert "late" in state["flags"]
    assert statuses(state) == {"bell": "failed", "prize": "pending"}  # after: never satisfied
    assert state["exit_ready"] is False


def test_completing_in_time_stops_the_time_limit(play: Any) -> None:
    t = play(TIMED, [{"load": "race"}, {"advance_seconds": 59.9},
                     near("bell", expect={"completed_tasks": ["bell"]}),
                     {"advance_seconds": 1000}])
    assert t.results[3] == []
    assert "late" not in t.state()["flags"]
    assert "timers" not in t.state()["session"]


def test_on_fail_reissues_and_the_time_limit_starts_again(play: Any) -> None:
    lv = {"id": "race", "tasks": [
        {"id": "bell", "type": "near", "target": "bell", "count": 2, "time_limit_seconds": 60,
         "on_fail": [{"type": "issue_task", "task": "bell"}]}]}
    t = play(lv, [
        {"load": "race"},
        near("bell", expect={"nodes": [{"type": "task_progress", "progress": 1}]}),
        {"advance_seconds": 60, "expect": {"nodes": [{"type": "task_failed"},
                                                     {"type": "task", "task_id": "bell"}]}},
        # progress reset on re-issue
        near("bell", expect={"nodes": [{"type": "task_progress", "progress": 1}]}),
        {"advance_seconds": 59},
        {"advance_seconds": 1, "expect": {"nodes": [{"type": "task_failed"}]}},
    ])
    assert t.results[4] == []


def test_fail_task_and_complete_task_effects_close_the_time_limit(play: Any) -> None:
    lv = {"id": "race", "tasks": [
        {"id": "a", "type": "near", "target": "a", "time_limit_seconds": 10,
         "on_fail": [{"type": "say", "text": "a failed"}]},
        {"id": "b", "type": "near", "target": "b", "time_limit_seconds": 10}],
        "rule_listeners": [{"id": "x", "type": "near", "targets": ["x"], "effects": [
            {"type": "fail_task", "task": "a"}, {"type": "complete_task", "task": "b"}]}]}
    t = play(lv, [{"load": "race"},
                  near("x", expect={"completed_tasks": ["b"],
                                    "nodes": [{"type": "task_failed", "task_id": "a"},
                                              {"text": "a failed"}]}),
                  {"advance_seconds": 100}])
    assert t.results[2] == []


def test_a_failed_repeatable_task_is_reissued_after_its_cooldown(play: Any) -> None:
    lv = {"id": "arena", "tasks": [
        {"id": "duel", "type": "near", "target": "rival", "time_limit_seconds": 30,
         "repeatable": {"cooldown_seconds": 120}}]}
    t = play(lv, [
        {"load": "arena"},
        # a task failed: the result carries a quest-log snapshot, with no open task in it
        {"advance_seconds": 30, "expect": {"nodes": [{"type": "task_failed"}],
                                           "active_tasks": {"tasks": [], "upcoming": []}}},
        near("rival", expect=None),
        {"advance_seconds": 119},
        {"advance_seconds": 1, "expect": {"nodes": [{"type": "task", "task_id": "duel"}]}},
        near("rival", expect={"completed_tasks": ["duel"], "exit_ready": True}),
    ])
    assert t.results[3] == []
    assert [n["type"] for n in nodes(t.results[1])] == ["task_failed"]  # not re-issued yet


def test_a_failed_task_blocks_level_completion_until_reissued(play: Any) -> None:
    lv = {"id": "race", "tasks": [
        {"id": "bell", "type": "near", "target": "bell", "time_limit_seconds": 5},
        {"id": "gate", "type": "near", "target": "gate"}],
        "rule_listeners": [{"id": "retry", "type": "near", "targets": ["retry"],
                            "effects": [{"type": "issue_task", "task": "bell"}]}]}
    t = play(lv, [{"load": "race"}, {"advance_seconds": 5},
                  near("gate", expect={"completed_tasks": ["gate"], "exit_ready": False}),
                  near("retry", expect={"nodes": [{"type": "task", "task_id": "bell"}]}),
                  near("bell", expect={"completed_tasks": ["bell"], "exit_ready": True})])
    assert t.state()["exit_ready"] is True
