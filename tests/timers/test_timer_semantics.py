"""Timers (SPEC §4.7, §4.12.1, §4.12.9), driven by the preview's fake clock.

Every test plays a level through ``quest_runtime.designer.scenario.ScenarioRunner`` (the
service's engine with an in-memory store and a fake clock at 0): an
``advance_seconds`` step moves the clock and prints the pushed results as
``[{"player_id", "result"}, ...]``, in due order; they count as delivered.
"""

from __future__ import annotations

from typing import Any

import pytest
from timer_helpers import texts

from quest_runtime.engine import timers as timer_module

SAY = "npc_dialogue"



def level(timers: dict[str, Any], listeners: list[dict[str, Any]] | None = None,
          tasks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": "clockwork", "title": "Clockwork", "timers": timers,
            "tasks": tasks if tasks is not None else [
                {"id": "bell", "type": "near", "target": "bell", "title": "Ring the bell"}],
            "rule_listeners": listeners or [], **extra}


def on(target: str, *effects: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A listener on ``near <target>`` running ``effects``."""
    return {"id": f"on_{target}", "type": "near", "targets": [target],
            "effects": list(effects), **extra}


def say(text: str) -> dict[str, Any]:
    return {"type": "say", "text": text}


def near(target: str, **extra: Any) -> dict[str, Any]:
    return {"event_type": "near", "payload": {"target": target}, **extra}


STORM = {"storm": {"delay_seconds": 30, "effects": [say("Thunder!")]}}


def test_a_timer_fires_at_its_due_time_as_a_pushed_result(play: Any) -> None:
    t = play(level(STORM, [on("sky", {"type": "schedule_timer", "timer": "storm"})]), [
        {"load": "clockwork"},
        near("sky"),
        {"advance_seconds": 29.5, "expect": None},
        {"advance_seconds": 0.5, "expect": {"nodes": [{"type": SAY, "text": "Thunder!"}]}},
        {"advance_seconds": 100},
    ])
    assert t.results[2] == []  # nothing is due before 30 s
    assert t.results[3] == [{"player_id": "Steve", "result": {  # untitled: the level title
        "world_patch": {}, "nodes": [{"type": SAY, "text": "Thunder!", "title": "Clockwork"}],
        "completed_tasks": [], "milestones": [], "commands": [], "exit_ready": False,
        "summary": None, "active_tasks": None}}]
    assert t.results[4] == []  # a one-shot timer fires once
    timers = t.state()["session"]["timers"]
    assert timers == {"fired": ["storm"]}


def test_the_effect_delay_overrides_the_timer_delay(play: Any) -> None:
    t = play(level(STORM, [on("sky", {"type": "schedule_timer", "timer": "storm",
                                      "delay_seconds": 5})]), [
        {"load": "clockwork"}, near("sky"), {"advance_seconds": 5}])
    assert texts(t.results[2]) == ["Thunder!"]


def test_a_zero_delay_fires_within_the_current_result_at_position_4(play: Any) -> None:
    """§4.12.9 and §4.8: task nodes (1), issued tasks (2), listener nodes (3), then the
    timer's nodes (4)."""
    lv = level({"flash": {"effects": [say("Flash!")]}},
               [on("bell", say("Listener speaks"),
                   {"type": "schedule_timer", "timer": "flash", "delay_seconds": 0})],
               tasks=[{"id": "bell", "type": "near", "target": "bell"},
                      {"id": "next", "type": "near", "target": "x", "after": ["bell"]}])
    t = play(lv, [{"load": "clockwork"}, near("bell"), {"advance_seconds": 1000}])
    # the listener's line (3) and the timer's (4): one npc_dialogue node, in that order
    assert [n["type"] for n in t.results[1]["nodes"]] == ["task_complete", "task", SAY]
    assert texts(t.results[1])[2:] == ["Listener speaks", "Flash!"]
    assert t.results[1]["nodes"][2]["script"] == [{"op": "narrate", "text": "Listener speaks"},
                                                  {"op": "narrate", "text": "Flash!"}]
    assert t.results[2] == []
    assert t.state()["session"]["timers"] == {"fired": ["flash"]}


def test_scheduling_a_pending_timer_replaces_it(play: Any) -> None:
    t = play(level(STORM, [on("sky", {"type": "schedule_timer", "timer": "storm"})]), [
        {"load": "clockwork"},
        near("sky"),                   # due at 30
        {"advance_seconds": 20},
        near("sky"),                   # replaced: due at 50
        {"advance_seconds": 20},       # t = 40: nothing
        {"advance_seconds": 10},       # t = 50: once
        {"advance_seconds": 100},
    ])
    assert [texts(r) for r in t.results[2:]] == [[], [], [], ["Thunder!"], []]


def test_cancel_timer_stops_a_pending_timer(play: Any) -> None:
    t = play(level(STORM, [on("sky", {"type": "schedule_timer", "timer": "storm"}),
                           on("hush", {"type": "cancel_timer", "timer": "storm"})]), [
        {"load": "clockwork"}, near("sky"), near("hush"), {"advance_seconds": 1000}])
    assert t.results[3] == []
    assert "timers" not in t.state()["session"]


def test_fire_timer_fires_now_and_spends_the_pending_instance(play: Any) -> None:
    t = play(level(STORM, [on("sky", {"type": "schedule_timer", "timer": "storm"}),
                           on("now", {"type": "fire_timer", "timer": "storm"})]), [
        {"load": "clockwork"}, near("sky"),
        near("now", expect={"nodes": [{"text": "Thunder!"}]}),
        {"advance_seconds": 1000}])
    assert t.results[3] == []


def test_a_repeating_timer_fires_each_due_instance_in_order(play: Any) -> None:
    """Advancing past several periods catches up: one pushed result per instance."""
    timers = {"drip": {"delay_seconds": 10, "repeat_seconds": 10,
                       "effects": [{"type": "modify_var", "var": "drips", "delta": 1},
                                   say("drip")]},
              "storm": {"delay_seconds": 25, "effects": [say("Thunder!")]}}
    t = play(level(timers, [on("sky", {"type": "schedule_timer", "timer": "drip"},
                               {"type": "schedule_timer", "timer": "storm"})]), [
        {"load": "clockwork"}, near("sky"),
        {"advance_seconds": 35},
        {"advance_seconds": 5},
    ])
    assert texts(t.results[2]) == ["drip", "drip", "Thunder!", "drip"]  # 10, 20, 25, 30
    assert texts(t.results[3]) == ["drip"]                              # 40
    assert t.state()["vars"]["drips"] == 4
    assert t.state()["session"]["timers"]["pending"] == {"drip": 50.0}


def test_catch_up_is_bounded(play: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timer_module, "MAX_CATCH_UP", 3)
    timers = {"tick": {"delay_seconds": 1, "repeat_seconds": 1, "effects": [say("tick")]}}
    t = play(level(timers, [on("go", {"type": "schedule_timer", "timer": "tick"})]), [
        {"load": "clockwork"}, near("go"), {"advance_seconds": 10_000}])
    assert texts(t.results[2]) == ["tick"] * 3
    assert t.state()["session"]["timers"]["pending"] == {"tick": 10_001.0}


def test_results_of_several_players_come_in_due_order(play: Any) -> None:
    lv = level(STORM, [on("sky", {"type": "schedule_timer", "timer": "storm"}),
                       on("soon", {"type": "schedule_timer", "timer": "storm",
                                   "delay_seconds": 10})])
    t = play(lv, [
        {"player": "Alex", "load": "clockwork"},
        {"player": "Steve", "load": "clockwork"},
        {"player": "Alex", **near("sky")},          # Alex: due 30
        {"advance_seconds": 5},
        {"player": "Steve", **near("soon")},        # Steve: due 15
        {"advance_seconds": 100},
    ])
    assert [p["player_id"] for p in t.results[5]] == ["Steve", "Alex"]


def test_ending_the_session_cancels_its_timers(play: Any) -> None:
    t = play(level(STORM, [on("sky", {"type": "schedule_timer", "timer": "storm"})]), [
        {"load": "clockwork"}, near("sky"), {"end": True}, {"advance_seconds": 100},
        {"load": "clockwork"}, near("sky"), {"load": "clockwork"},  # a restart too
        {"advance_seconds": 100}])
    assert t.results[3] == [] and t.results[7] == []


def test_an_end_level_timer_is_still_heard(play: Any) -> None:
    """A timer whose effects end the level: its result (with the next level's load
    merged in) is pushed; the next level's session goes on."""
    first = level({"closing": {"delay_seconds": 60, "effects": [
        say("The museum closes."), {"type": "end_level", "next_level": "street"}]}},
        [on("door", {"type": "schedule_timer", "timer": "closing"})])
    street = {"id": "street", "title": "Street",
              "tasks": [{"id": "walk", "type": "near", "target": "home", "title": "Go home"}]}
    t = play([first, street], [{"load": "clockwork"}, near("door"),
                               {"advance_seconds": 60}, near("home")])
    [pushed] = t.results[2]
    assert texts(pushed["result"])[0] == "The museum closes."
    assert pushed["result"]["active_tasks"]["level_id"] == "street"
    assert t.results[3]["completed_tasks"] == ["walk"]


def test_timer_fired_and_timer_pending_conditions(play: Any) -> None:
    lv = level(STORM, [
        on("sky", {"type": "schedule_timer", "timer": "storm"}),
        on("ask", {"type": "if", "condition": {"type": "timer_pending", "timer": "storm"},
                   "then": [say("pending")], "else": [say("not pending")]}),
        on("after", say("after the storm"),
           requires={"type": "timer_fired", "timer": "storm"}, blocked_text="not yet"),
    ])
    t = play(lv, [{"load": "clockwork"}, near("ask"), near("sky"), near("ask"),
                  near("after"), {"advance_seconds": 30}, near("ask"), near("after"),
                  near("sky"), near("after")])
    assert [texts(r) for r in t.results[1:]] == [
        ["not pending"], [], ["pending"], ["not yet"], ["Thunder!"], ["not pending"],
        ["after the storm"], [], ["after the storm"]]  # timer_fired stays true


def test_a_task_gated_by_timer_fired_is_issued_in_the_timer_result(play: Any) -> None:
    lv = level(STORM, [on("sky", {"type": "schedule_timer", "timer": "storm"})], tasks=[
        {"id": "bell", "type": "near", "target": "bell"},
        {"id": "shelter", "type": "near", "target": "barn", "title": "Find shelter",
         "requires": {"type": "timer_fired", "timer": "storm"}}])
    t = play(lv, [{"load": "clockwork"}, near("sky"),
                  {"advance_seconds": 30, "expect": {"nodes": [
                      {"type": SAY, "text": "Thunder!"}, {"type": "task", "task_id": "shelter"}],
                      "active_tasks": {"tasks": [{"task_id": "bell"},
                                                 {"task_id": "shelter", "status": "issued"}]}}}])
    assert len(t.results[2]) == 1


def test_a_task_gated_by_elapsed_at_least_is_issued_at_its_due_time(play: Any) -> None:
    lv = level({}, tasks=[
        {"id": "bell", "type": "near", "target": "bell"},
        {"id": "dusk", "type": "near", "target": "lamp", "title": "Light the lamps",
         "requires": {"type": "all_of", "conditions": [
             {"type": "elapsed_at_least", "seconds": 0.7},
             {"type": "flag_not_set", "flag": "never"}]}}])
    t = play(lv, [{"load": "clockwork"},
                  {"advance_seconds": 0.1}, {"advance_seconds": 0.5},
                  {"advance_seconds": 0.1, "expect": {"nodes": [{"type": "task",
                                                                 "task_id": "dusk"}]}},
                  {"advance_seconds": 100}])
    assert t.results[1] == [] and t.results[2] == [] and t.results[4] == []


@pytest.mark.parametrize(("clause", "where"), [
    ({"type": "schedule_timer", "timer": "strom"}, "/rule_listeners/0/effects/0/timer"),
    ({"type": "if", "condition": {"type": "timer_fired", "timer": "strom"},
      "then": [say("x")]}, "/rule_listeners/0/effects/0/condition/timer"),
    ({"type": "if", "condition": {"type": "flag_set", "flag": "f"},
      "then": [{"type": "fire_timer", "timer": "strom"}]},
     "/rule_listeners/0/effects/0/then/0/timer"),
])
def test_an_unknown_timer_name_is_an_error_with_did_you_mean(
        compile_level: Any, clause: dict[str, Any], where: str) -> None:
    loaded = compile_level(level(STORM, [on("sky", clause)]))
    assert loaded.level is None
    [finding] = [f for f in loaded.findings if f.code == "unknown_timer"]
    assert finding.pointer == where
    assert "strom" in finding.message and finding.hint == "did you mean 'storm'?"


def test_timer_names_in_requires_and_timer_effects_are_checked(compile_level: Any) -> None:
    lv = level({"storm": {"delay_seconds": 1, "effects": [
        {"type": "cancel_timer", "timer": "nope"}]}},
        tasks=[{"id": "t", "type": "near", "target": "x",
                "requires": {"type": "timer_pending", "timer": "stomr"}}])
    loaded = compile_level(lv)
    assert sorted(f.pointer for f in loaded.findings if f.code == "unknown_timer") == [
        "/tasks/0/requires/timer", "/timers/storm/effects/0/timer"]


def test_timer_effects_are_no_longer_reported_as_inactive(compile_level: Any) -> None:
    loaded = compile_level(level(STORM, [on("sky", {"type": "schedule_timer",
                                                    "timer": "storm"},
                                            {"type": "fire_timer", "timer": "storm"},
                                            {"type": "cancel_timer", "timer": "storm"})]))
    assert loaded.level is not None
    assert not [f for f in loaded.findings if f.code == "inactive_effect"]
    assert loaded.level.timers["storm"].delay_seconds == 30


def test_bad_timer_effects_are_compiled_and_reported(compile_level: Any) -> None:
    loaded = compile_level(level({"storm": {"delay_seconds": 1, "efects": [],
                                            "effects": [{"type": "say"}]}}))
    assert loaded.level is None
    codes = {f.code for f in loaded.findings}
    assert {"missing_field", "unknown_key"} <= codes
