"""Pins the plugin model (``studio/plugin_view.py``, PLUGIN.md §3–§6) on hand-written answers.

Each test feeds one or two response bodies to ``PluginModel`` and checks what the player
would see, what the plugin drops, and what it would send back.
"""

from __future__ import annotations

from typing import Any

import pytest

from quest_runtime.studio.plugin_view import (
    EXIT_READY_NOTICE,
    PluginModel,
    Shown,
    block_event,
    chat_event,
    entity_event,
    near_event,
    npc_trigger_event,
    slug,
)

P = "Steve"
LOC = {"world": "world", "x": 1.0, "y": 64.0, "z": 2.0}


def dialogue(title: Any, *lines: str, **extra: Any) -> dict[str, Any]:
    return {"type": "npc_dialogue", "title": title,
            "script": [{"op": "npc_say", "npc": "Mia", "text": t} for t in lines], **extra}


def story_choice(*labels: str, **extra: Any) -> dict[str, Any]:
    return {"type": "story_choice", "title": "Pick", "beat_id": "b1", "level_id": "meadow",
            "choices": [{"id": f"opt_{i}", "label": label, "rule_event": f"Pick_{i}"}
                        for i, label in enumerate(labels, 1)], **extra}


def respond(model: PluginModel, **result: Any) -> Shown:
    return model.apply_rule_event_response(P, {"status": "ok", "result": result})


# -- §3: reading the response ------------------------------------------------------------


def test_fields_come_from_result_first_then_root() -> None:
    model = PluginModel()
    shown = model.apply_rule_event_response(P, {
        "result": {"commands": ["say from result"]},
        "commands": ["say from root"],
        "milestones": ["m_root"],
    })
    assert shown.commands == ["say from result"]
    assert shown.chat == ["★ 阶段完成：m_root"]


@pytest.mark.parametrize("body", [{"result": None}, {"result": "x"}, [], "nope"])
def test_null_result_or_non_object_body_does_nothing(body: Any) -> None:
    shown = PluginModel().apply_rule_event_response(P, body)
    assert shown.chat == [] and shown.applied == [] and shown.choice is None


def test_non_2xx_answer_shows_nothing() -> None:
    shown = PluginModel().apply_rule_event_response(
        P, {"result": {"completed_tasks": ["t"]}}, status=429)
    assert shown.chat == []


def test_order_of_application() -> None:
    model = PluginModel()
    shown = respond(
        model,
        active_tasks={"tasks": [{"title": "Greet"}]},
        world_patch={"tell": "wind"},
        summary={"type": "task_summary", "title": "All done"},
        nodes=[{"type": "task_complete", "title": "Greet"}, dialogue("Mia", "hello")],
        completed_tasks=["greet"], milestones=["met"], commands=["give {player} apple"],
        exit_ready=True,
    )
    assert shown.chat == [
        "📘 任务更新", "📘 任务：Greet", "- 目标：Greet",
        "【心悦宇宙】 wind",
        "【总结】 All done",
        "【完成】 Greet",
        "✔ 任务完成：greet", "★ 阶段完成：met",
        EXIT_READY_NOTICE,
        "Mia", "❝ [Mia] hello",
    ]
    assert shown.commands == ["give Steve apple"]
    assert shown.actionbar == ["✔ 任务完成：Greet"]


@pytest.mark.parametrize(("value", "ready"), [
    (True, True), (1, True), ("true", True), ("TRUE", True), ("1", True),
    (False, False), (0, False), (0.5, False), ("yes", False), (None, False),
])
def test_exit_ready_values(value: Any, ready: bool) -> None:
    assert respond(PluginModel(), exit_ready=value).exit_ready is ready


# -- §3.2: the quest log -----------------------------------------------------------------


SNAPSHOT = {
    "level_title": "Meadow", "remaining_total": 2,
    "tasks": [{
        "title": "Gather", "hint": "by the lake", "status": "pending",
        "milestones": [
            {"title": "Wood", "status": "completed"},
            {"title": "Stone", "progress": 1, "count": 3, "remaining": 2},
            {"title": "Clay", "count": 2, "progress": 0},
        ],
    }],
}


def test_quest_log_printed_only_when_snapshot_changes() -> None:
    model = PluginModel()
    first = respond(model, active_tasks=SNAPSHOT)
    assert first.chat == [
        "📘 任务更新 · 剩余 2 项",
        "当前章节：Meadow",
        "📘 任务：Gather",
        "- 目标：Stone (1/3) • 剩余 2",
        "- 提示：by the lake",
        "- 阶段：Clay (0/2)",
    ]
    assert respond(model, active_tasks=dict(reversed(SNAPSHOT.items()))).chat == []
    changed = {**SNAPSHOT, "remaining_total": 1}
    assert respond(model, active_tasks=changed).chat[0] == "📘 任务更新 · 剩余 1 项"


def test_empty_active_tasks_is_not_a_snapshot() -> None:
    model = PluginModel()
    respond(model, active_tasks=SNAPSHOT)
    respond(model, active_tasks={})
    assert respond(model, active_tasks=SNAPSHOT).chat == []


# -- toasts and commands -----------------------------------------------------------------


def test_toasts_are_deduplicated_for_ever() -> None:
    model = PluginModel()
    first = respond(model, completed_tasks=["a", "a", "b"], milestones=["m"])
    assert first.chat == ["✔ 任务完成：a", "✔ 任务完成：b", "★ 阶段完成：m"]
    again = respond(model, completed_tasks=["a", {"id": "c"}], milestones=["m", None])
    assert again.chat == ["✔ 任务完成：c"]
    assert PluginModel().apply_rule_event_response("Alex", {"completed_tasks": ["a"]}).chat \
        == ["✔ 任务完成：a"]


def test_command_placeholders_are_replaced() -> None:
    shown = respond(PluginModel(), commands=[
        "give {player} bread", "tp %player% 0 64 0", "effect give @player speed", "  ", None,
        "say {player}{player}"])
    assert shown.commands == ["give Steve bread", "tp Steve 0 64 0",
                              "effect give Steve speed", "say SteveSteve"]


# -- §4: dialogue and choices ------------------------------------------------------------


def test_only_the_last_npc_dialogue_is_fully_shown() -> None:
    shown = respond(PluginModel(), nodes=[dialogue("Mia", "one", "two"),
                                          dialogue("Tom", "three")])
    assert shown.dialogue_lines == ["Tom", "[Mia] three"]
    assert shown.lost_lines == ["Mia", "[Mia] one", "[Mia] two"]
    assert shown.chat == ["Tom", "❝ [Mia] three"]


def test_null_dialogue_title_prints_a_blank_header() -> None:
    shown = respond(PluginModel(), nodes=[{"type": "npc_dialogue", "title": None,
                                           "text": "Hi there\n\n  second  "}])
    assert shown.chat == ["", "❝ Hi there", "❝ second"]
    assert shown.dialogue_lines == ["", "Hi there", "second"]


def test_script_ops() -> None:
    shown = respond(PluginModel(), nodes=[{"type": "npc_dialogue", "title": "T", "script": [
        {"op": "npc_say", "npc": "", "text": "plain"},
        {"op": "NARRATE", "text": "§7misty"},
        "a bare string",
        None,
    ]}])
    assert shown.dialogue_lines == ["T", "plain", "misty", "a bare string"]


def test_unsupported_script_op_stops_the_response() -> None:
    shown = respond(PluginModel(), nodes=[
        dialogue("Mia", "lost"),
        {"type": "npc_dialogue", "script": [{"op": "give_item", "text": "x"}]},
        {"type": "task", "title": "never drawn"},
    ], completed_tasks=["never toasted"])
    assert shown.errors and "unsupported script op" in shown.errors[0]
    assert shown.chat == []
    assert shown.lost_lines == ["Mia", "[Mia] lost"]


def test_story_choice_then_npc_dialogue_closes_the_panel() -> None:
    shown = respond(PluginModel(), nodes=[story_choice("Left", "Right"),
                                          dialogue("Mia", "hmm")])
    assert shown.choice is None
    assert shown.chat[:5] == ["━ 剧情分支 ━", "Pick", "[1] Left", "[2] Right",
                              "输入序号或选项 ID 以继续。"]
    assert any("closed by a later npc_dialogue" in d for d in shown.dropped)


def test_npc_dialogue_with_choices_opens_the_panel_after_its_lines() -> None:
    node = dialogue("Mia", "Which way?", beat_id="b2", level_id="meadow",
                    choices=[{"choice_id": "l", "text": "Left", "event": "go_left",
                              "next": "forest"},
                             {"label": "Right", "rule_event": "go_right", "tags": "brave"}])
    shown = respond(PluginModel(), nodes=[node], completed_tasks=["t"])
    assert shown.chat == ["✔ 任务完成：t", "Mia", "❝ [Mia] Which way?",
                          "━ 剧情分支 ━", "Mia", "[1] Left  → forest", "[2] Right",
                          "输入序号或选项 ID 以继续。"]
    assert shown.choice is not None
    assert [(o.index, o.id, o.label, o.rule_event) for o in shown.choice.options] == [
        (1, "l", "Left", "go_left"), (2, "choice_2", "Right", "go_right")]
    assert (shown.choice.beat_id, shown.choice.level_id) == ("b2", "meadow")


def test_story_choice_stays_open_across_other_nodes() -> None:
    model = PluginModel()
    shown = respond(model, nodes=[story_choice("A"), {"type": "task", "title": "x"}])
    assert shown.choice is not None and shown.choice.options[0].label == "A"
    assert model.state(P).choice is shown.choice


@pytest.mark.parametrize(("typed", "chosen"), [
    ("1", "opt_1"), (" 2 ", "opt_2"), ("opt_2", "opt_2"), ("OPT_1", "opt_1"),
    ("Right", "opt_2"), ("right", "opt_2"), ("pick_1", "opt_1"),
])
def test_answer_choice(typed: str, chosen: str) -> None:
    model = PluginModel()
    respond(model, nodes=[story_choice("Left", "Right")])
    answer = model.answer_choice(P, typed)
    assert answer is not None
    event_type, payload = answer
    index = chosen[-1]
    assert event_type == f"pick_{index}"
    assert payload == {"choice_id": chosen, "choice_label": ["Left", "Right"][int(index) - 1],
                       "beat_id": "b1", "level_id": "meadow", "next_level": ""}
    assert model.state(P).choice is None
    assert model.answer_choice(P, typed) is None


def test_text_not_taken_by_the_panel_is_chat() -> None:
    model = PluginModel()
    respond(model, nodes=[story_choice("Left")])
    assert model.answer_choice(P, "3") is None
    assert model.state(P).choice is not None
    assert model.type_in_chat(P, "hello", now=0.0) == [chat_event("hello")]
    assert model.type_in_chat(P, "1", now=0.1) == [
        ("pick_1", {"choice_id": "opt_1", "choice_label": "Left", "beat_id": "b1",
                    "level_id": "meadow", "next_level": ""})]


# -- task-style nodes --------------------------------------------------------------------


def test_task_nodes() -> None:
    shown = respond(PluginModel(), nodes=[
        {"type": "task_progress", "title": "Gather", "hint": "lake", "remaining": 2,
         "progress": 5, "count": 3, "text": "Gather\nmore wood\nlake"},
        {"type": "task", "text": "only text"},
        {"type": "task_milestone", "task_title": "Gather", "progress": 1, "count": 2},
        {"type": "task_failed", "title": "Oops", "remaining": 1},
        {"type": "Task", "text": ""},
    ])
    # details are de-duplicated among themselves, not against the headline
    assert shown.chat == ["【进度】 Gather", "› lake", "› 剩余 2 项 (3/3)", "› Gather",
                          "› more wood",
                          "【任务】 only text",
                          "【阶段】 任务更新",
                          "【剧情】 Oops"]
    assert shown.actionbar == ["★ 阶段完成：Gather (1/2)"]


# -- §5: world patch ---------------------------------------------------------------------


def test_list_valued_sound_under_mc_is_dropped() -> None:
    shown = respond(PluginModel(), world_patch={"mc": {
        "sound": [{"type": "BLOCK_BELL"}], "title": {"main": "Hi", "sub": "there"}}})
    assert shown.dropped == ["world_patch.mc.sound is a list"]
    assert shown.applied == [("title", {"main": "Hi", "sub": "there"})]
    assert shown.titles == [("Hi", "there")]


def test_mc_as_a_list_of_objects_is_applied_in_order() -> None:
    shown = respond(PluginModel(), world_patch={
        "tell": "top",
        "mc": [{"tell": "first", "sound": {"type": "X"}}, "junk",
               {"tell": ["second", "third"], "actionbar": "go"}],
    })
    assert shown.applied == [("tell", "top"), ("tell", "first"), ("sound", {"type": "X"}),
                             ("tell", ["second", "third"]), ("actionbar", "go")]
    assert shown.chat == ["【心悦宇宙】 top", "【心悦宇宙】 first", "【心悦宇宙】 second",
                          "【心悦宇宙】 third"]
    assert shown.actionbar == ["go"]
    assert shown.dropped == ["world_patch.mc[1] is not an object"]


def test_executor_lines_and_deferred_teleport() -> None:
    shown = respond(PluginModel(), world_patch={"mc": {
        "teleport": {"x": 1, "y": 70, "z": 2}, "weather": "rain", "time": "night",
        "spawn": [{"type": "villager", "name": "Mia"}, {"type": "cow"}],
        "particle": [{"type": "heart"}], "actionbar": ["no"]}},
        nodes=[dialogue("Mia", "hi")])
    assert shown.chat == ["✧ 细雨落下，像是心里的某种投影。", "✧ 时间被轻轻拨动，场景也随之改变。",
                          "✧ 世界召唤了一个存在：Mia", "✧ 世界召唤了一个存在：COW",
                          "✧ 你被世界轻轻挪到了一个安全的位置。", "Mia", "❝ [Mia] hi"]
    assert shown.dropped == ["world_patch.mc.particle is a list",
                             "world_patch.mc.actionbar is not a string"]


# -- /level -------------------------------------------------------------------------------


def test_load_response_reads_bootstrap_patch_and_msg_only() -> None:
    model = PluginModel()
    shown = model.apply_load_response(P, {
        "status": "ok", "msg": "meadow loaded",
        "bootstrap_patch": {"tell": "welcome", "mc": [{"title": {"main": "Meadow"}}]},
        "world_patch": {"tell": "ignored"},
        "nodes": [dialogue("Mia", "ignored")], "active_tasks": SNAPSHOT,
    })
    assert shown.chat == ["【心悦宇宙】 welcome", "✔ meadow loaded"]
    assert shown.titles == [("Meadow", "")]
    assert model.state(P).quest_log is None


def test_load_response_with_mc_object_skips_top_level_ops() -> None:
    shown = PluginModel().apply_load_response(
        P, {"world_patch": {"tell": "lost", "mc": {"tell": "kept"}}}, level="meadow")
    assert shown.chat == ["📘 正在为 Steve 加载关卡: meadow", "【心悦宇宙】 kept",
                          "✔ 关卡已加载，欢迎来到心悦宇宙的这一章。"]
    assert shown.dropped == ["world_patch.tell skipped: world_patch.mc is an object"]


# -- §6: what the plugin sends -----------------------------------------------------------


@pytest.mark.parametrize(("name", "quest_event"), [
    ("Mia", "near_mia"), ("§dMia", "near_dmia"), ("心悦向导", "near"),
    ("Old  Tom!", "near_old_tom"), (None, "near"),
])
def test_near_event_slug(name: str | None, quest_event: str) -> None:
    event_type, payload = near_event(name, LOC)
    assert event_type == "near"
    assert payload == {"target": name if name is not None else "unknown_npc",
                       "quest_event": quest_event, "location": LOC}


def test_other_request_shapes() -> None:
    assert chat_event("Hello, Mia!") == ("chat", {"text": "Hello, Mia!",
                                                  "quest_event": "chat_hello_mia"})
    assert block_event("OAK_LOG", location=LOC) == ("interact_block", {
        "action": "right_click_block", "block_type": "oak_log",
        "quest_event": "interact_block_oak_log", "location": LOC})
    assert entity_event("VILLAGER", "§aMia", LOC) == ("interact_entity", {
        "interaction": "right_click", "entity_type": "villager", "entity_name": "§aMia",
        "quest_event": "interact_entity_villager", "location": LOC})
    assert npc_trigger_event("Talk_Mia", "mia", "meadow", LOC) == ("talk_mia", {
        "source": "npc_interact", "npc": "mia", "level_id": "meadow", "location": LOC})
    assert npc_trigger_event("tutorial_complete", "guide")[0] == "tutorial_task_complete"
    assert slug("chat", "   ") == "chat"


def test_bridge_drops_identical_events_within_1_5_seconds() -> None:
    model = PluginModel()
    event = near_event("Mia", LOC)
    assert model.emit(P, event, now=10.0) == event
    assert model.emit(P, event, now=11.4) is None
    assert model.emit(P, near_event("Mia", {**LOC, "x": 1.5}), now=11.4) is not None
    assert model.emit("Alex", event, now=11.4) == event
    assert model.emit(P, event, now=11.5) == event
    assert model.emit(P, ("  NEAR ", event[1]), now=11.6) is None
