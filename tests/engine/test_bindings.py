"""Bindings, rule refs and NPC behaviour state (SPEC §4.6, with §3.2 outputs and §4.12.4).

A listener fires when one of its tokens (``quest_event``, ``targets``) is one of the
event's tokens, or when a target is a keyword of a chat line; built-in event types other
than ``quest_event`` filter by event type; ``rule_ref`` gates; ``requires``, ``once``
and ``cooldown_seconds`` apply per player and level session.
"""

from __future__ import annotations

from typing import Any

import pytest

LOAD = {"load": "npcs"}


def level(*listeners: dict[str, Any], tasks: list[dict[str, Any]] | None = None,
          **top: Any) -> dict[str, Any]:
    return {"id": "npcs", "title": "NPCs", "tasks": tasks or [], "rule_listeners": list(listeners),
            **top}


def said(result: dict[str, Any] | None) -> list[str]:
    """The lines of the result's ``npc_dialogue`` node, in order: which listeners spoke.

    The plugin shows only the last ``npc_dialogue`` of a response, so a result carries at
    most one: several speakers become one node whose ``script`` keeps every line."""
    return [text for _, text in spoken(result)]


def spoken(result: dict[str, Any] | None) -> list[tuple[str | None, str]]:
    """``(speaker, text)`` of each line of the result's one ``npc_dialogue`` node
    (``None`` for narration)."""
    if result is None:
        return []
    dialogues = [n for n in result["nodes"] if n["type"] == "npc_dialogue"]
    assert len(dialogues) <= 1, f"several npc_dialogue nodes in one result: {dialogues}"
    if not dialogues:
        return []
    node = dialogues[0]
    if "script" not in node:
        return [(node.get("title"), line) for line in node["text"].splitlines()]
    assert node["text"] == "\n".join(e["text"] for e in node["script"])
    return [(e.get("npc") if e["op"] == "npc_say" else None, e["text"]) for e in node["script"]]


def talk(lid: str, metadata: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A listener that says its own id, so a transcript shows who fired."""
    return {"id": lid, **fields, "metadata": {"dialogue": lid, **(metadata or {})}}


# -- tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listener", "event"),
    [
        pytest.param({"quest_event": "near_mia_npc"},
                     {"event_type": "near", "payload": {"target": "x",
                                                        "quest_event": "near_mia_npc"}},
                     id="quest-token"),
        pytest.param({"targets": ["mia_npc"]},
                     {"event_type": "near", "payload": {"target": "Mia NPC"}},
                     id="target-slug"),
        pytest.param({"targets": ["Mia NPC"]},
                     {"event_type": "near", "payload": {"target": "§dmia npc"}},
                     id="target-raw-with-colour-code"),
        pytest.param({"targets": ["Tomas"]},
                     {"event_type": "interact_entity",
                      "payload": {"entity_type": "villager", "entity_name": "§eTomas"}},
                     id="entity-name"),
        pytest.param({"quest_event": "approach_grandma"},
                     {"event_type": "approach_grandma",
                      "payload": {"source": "npc_interact", "npc": "Grandma"}},
                     id="event-type-as-quest-event-name"),
        pytest.param({"targets": ["choice__intro__yes"]},
                     {"event_type": "choice__intro__yes",
                      "payload": {"choice_id": "yes", "choice_label": "Of course."}},
                     id="choice-rule-event"),
    ],
)
def test_a_listener_fires_when_a_token_matches(play: Any, listener: dict[str, Any],
                                               event: dict[str, Any]) -> None:
    t = play(level(talk("hello", **listener)), [LOAD, event])
    assert said(t.last) == ["hello"]


def test_a_listener_does_not_fire_on_other_tokens(play: Any, ev: Any) -> None:
    t = play(level(talk("hello", targets=["mia_npc"], quest_event="near_mia_npc")),
             [LOAD, {**ev.near("tomas"), "expect": None}])
    assert t.last is None


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        pytest.param("Where is the lantern?", True, id="keyword"),
        pytest.param("LANTERN", True, id="case"),
        pytest.param("lanterns everywhere", False, id="letter-after"),
        pytest.param("the old lantern-hook", True, id="hyphen-after"),
    ],
)
def test_a_chat_line_fires_a_listener_whose_target_is_a_keyword(play: Any, ev: Any, text: str,
                                                               fires: bool) -> None:
    t = play(level(talk("story", type="chat", targets=["lantern"])), [LOAD, ev.chat(text)])
    assert said(t.last) == (["story"] if fires else [])


def test_a_cjk_target_fires_as_a_substring_of_a_chat_line(play: Any, ev: Any) -> None:
    t = play(level(talk("guide", type="npc_dialogue", targets=["心悦向导"])),
             [LOAD, ev.chat("你好心悦向导！")])
    assert said(t.last) == ["guide"]


# -- event types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ltype", "fires_on_interact"),
    [
        pytest.param("near", False, id="near-filters"),
        pytest.param("chat", False, id="chat-filters"),
        pytest.param("interact_block", False, id="interact_block-filters"),
        pytest.param("interact_entity", True, id="interact_entity-filters"),
        pytest.param("choice", False, id="choice-filters"),
        pytest.param("quest_event", True, id="quest_event-does-not-filter"),
        pytest.param("npc_dialogue", True, id="npc_dialogue-does-not-filter"),
        pytest.param("story_choice", True, id="story_choice-does-not-filter"),
        pytest.param("story_event", True, id="story_event-does-not-filter"),
        pytest.param("chat_keyword", True, id="chat_keyword-does-not-filter"),
        pytest.param(None, True, id="no-type-does-not-filter"),
    ],
)
def test_builtin_types_other_than_quest_event_filter_by_event_type(
        play: Any, ltype: str | None, fires_on_interact: bool) -> None:
    listener = talk("mia", targets=["mia_npc"])
    if ltype is not None:
        listener["type"] = ltype
    click = {"event_type": "interact_entity",
             "payload": {"entity_type": "villager", "entity_name": "mia_npc",
                         "quest_event": "interact_entity_villager"}}
    t = play(level(listener), [LOAD, click])
    assert said(t.last) == (["mia"] if fires_on_interact else [])


@pytest.mark.parametrize(
    ("ltype", "event", "fires"),
    [
        pytest.param("near", {"event_type": "near", "payload": {"target": "anyone"}}, True,
                     id="near-fires-for-every-near"),
        pytest.param("near", {"event_type": "chat", "payload": {"text": "hi"}}, False,
                     id="near-not-for-chat"),
        pytest.param("chat", {"event_type": "chat", "payload": {"text": "anything at all"}},
                     True, id="chat-fires-for-every-chat"),
        pytest.param("interact_block",
                     {"event_type": "interact_block", "payload": {"block_type": "stone"}}, True,
                     id="interact_block-fires-for-every-block"),
        pytest.param("quest_event",
                     {"event_type": "quest_event", "payload": {"quest_event": "enter_pier"}},
                     False, id="quest_event-never"),
        pytest.param("npc_dialogue", {"event_type": "near", "payload": {"target": "mia"}}, False,
                     id="npc_dialogue-never"),
        pytest.param(None, {"event_type": "near", "payload": {"target": "mia"}}, False,
                     id="no-type-never"),
    ],
)
def test_a_token_less_listener_fires_for_every_event_of_its_filtering_type(
        play: Any, ltype: str | None, event: dict[str, Any], fires: bool) -> None:
    listener = talk("ambient") if ltype is None else talk("ambient", type=ltype)
    t = play(level(listener), [LOAD, event])
    assert said(t.last) == (["ambient"] if fires else [])


@pytest.mark.parametrize(
    ("ltype", "code"),
    [pytest.param("near", "wildcard_listener", id="filtering-fires-for-all"),
     pytest.param("npc_dialogue", "dead_listener", id="not-filtering-never-fires")],
)
def test_a_token_less_listener_is_a_warning(compile_level: Any, ltype: str, code: str) -> None:
    result = compile_level(level({"id": "x", "type": ltype, "metadata": {"dialogue": "x"}}))
    assert result.ok
    assert [(f.code, f.severity.value, f.pointer) for f in result.findings] == [
        (code, "warning", "/rule_listeners/0")]


# -- rule refs -------------------------------------------------------------------------

GATED = level(
    talk("ready_reply", type="chat", targets=["ready"],
         effects=[{"type": "activate_rule", "ref": "mia_gift"}]),
    talk("gift", type="near", targets=["mia_npc"], rule_ref="mia_gift",
         blocked_text="(never shown while dormant)",
         requires={"type": "flag_set", "flag": "never"}),
    talk("gift_open", type="near", targets=["mia_npc"], metadata={"rule_ref": "mia_gift"}),
    talk("gift_meta_ref", type="near", targets=["mia_npc"], metadata={"ref": "mia_gift"}),
)


def test_a_gated_listener_is_dormant_until_its_ref_is_activated(play: Any, ev: Any) -> None:
    t = play(GATED, [
        LOAD,
        {**ev.near("mia_npc"), "expect": None},  # dormant: silent, even with blocked_text
        ev.chat("I am ready"),                   # activates mia_gift
        ev.near("mia_npc"),
        ev.near("tomas"),
    ])
    assert said(t.results[2]) == ["ready_reply"]  # activation fires nothing by itself
    assert said(t.results[3]) == ["(never shown while dormant)", "gift_open", "gift_meta_ref"]
    assert t.results[4] is None  # active refs fire only on matching events
    assert t.state()["session"]["refs"] == ["mia_gift"]


def test_a_ref_activated_by_this_events_task_completion_counts_for_this_event(
        play: Any, ev: Any) -> None:
    lvl = level(
        talk("gift", type="near", targets=["mia_npc"], rule_ref="mia_gift"),
        tasks=[{"id": "greet", "type": "near", "target": "mia_npc",
                "on_complete": [{"type": "activate_rule", "ref": "mia_gift"}]}],
    )
    play(lvl, [LOAD, {**ev.near("mia_npc"), "expect": {
        "completed_tasks": ["greet"],
        "nodes": [{"type": "task_complete"}, {"type": "npc_dialogue", "text": "gift"}]}}])


def test_a_deactivated_ref_puts_the_listener_to_sleep_again(play: Any, ev: Any) -> None:
    lvl = level(
        talk("on", type="chat", targets=["on"],
             effects=[{"type": "activate_rule", "ref": "r"}]),
        talk("off", type="chat", targets=["off"],
             effects=[{"type": "deactivate_rule", "ref": "r"}]),
        talk("gated", type="near", targets=["mia_npc"], rule_ref="r"),
    )
    t = play(lvl, [LOAD, ev.chat("on"), ev.near("mia_npc"), ev.chat("off"), ev.near("mia_npc")])
    assert said(t.results[2]) == ["gated"]
    assert t.results[4] is None


# -- order and multiplicity --------------------------------------------------------------


def test_each_binding_fires_at_most_once_per_event(play: Any) -> None:
    listener = talk("mia", targets=["mia_npc", "Mia NPC", "near_mia_npc"],
                    quest_event="near_mia_npc")
    event = {"event_type": "near", "payload": {"target": "Mia NPC", "npc": "mia_npc",
                                                "quest_event": "near_mia_npc"}}
    t = play(level(listener), [LOAD, event])
    assert said(t.last) == ["mia"]


def test_bindings_fire_in_file_order_after_tasks(play: Any, ev: Any) -> None:
    lvl = level(
        talk("first", type="near", targets=["mia_npc"]),
        talk("second", quest_event="near_mia_npc"),
        tasks=[{"id": "greet", "type": "near", "target": "mia_npc",
                "reward": {"npc_dialogue": "reward"}}],
        rules={"listeners": [talk("third", type="npc_dialogue", targets=["mia_npc"])]},
    )
    t = play(lvl, [LOAD, ev.near("mia_npc")])
    assert said(t.last) == ["reward", "first", "second", "third"]
    # one node, at the place of the first dialogue, after the task's own nodes
    assert [n["type"] for n in t.last["nodes"]] == ["task_complete", "npc_dialogue"]
    assert t.last["nodes"][1]["title"] == "NPCs"  # no speaker: the level title heads it


def test_later_listeners_see_what_earlier_ones_set(play: Any, ev: Any) -> None:
    lvl = level(
        talk("setter", targets=["mia_npc"], effects=[{"type": "set_flag", "flag": "warm"}]),
        talk("reader", targets=["mia_npc"], requires={"type": "flag_set", "flag": "warm"}),
    )
    t = play(lvl, [LOAD, ev.near("mia_npc")])
    assert said(t.last) == ["setter", "reader"]


# -- requires, blocked_text, once, cooldown ---------------------------------------------

GUARDED = level(
    talk("door", type="near", targets=["door"], once=True, blocked_text="The door is locked.",
         requires={"type": "flag_set", "flag": "has_key"}),
    talk("key", type="chat", targets=["key"], effects=[{"type": "set_flag", "flag": "has_key"}]),
)


def test_requires_must_hold_and_blocked_text_answers_instead(play: Any, ev: Any) -> None:
    t = play(GUARDED, [
        LOAD,
        {**ev.near("door"), "expect": {"nodes": [{"type": "npc_dialogue",
                                                  "text": "The door is locked."}]}},
        {**ev.near("door"), "expect": {"nodes": [{"text": "The door is locked."}]}},
        ev.chat("key"),
        ev.near("door"),  # the blocked attempts did not use up `once`
        {**ev.near("door"), "expect": None},
    ])
    assert said(t.results[4]) == ["door"]
    assert t.results[1]["commands"] == []


def test_blocked_text_may_sit_in_metadata_and_without_it_nothing_shows(play: Any,
                                                                      ev: Any) -> None:
    lvl = level(
        talk("meta", targets=["door"], metadata={"blocked_text": "Not yet."},
             requires={"type": "flag_set", "flag": "never"}),
        talk("mute", targets=["gate"], requires={"type": "flag_set", "flag": "never"}),
    )
    t = play(lvl, [LOAD, ev.near("door"), {**ev.near("gate"), "expect": None}])
    assert said(t.results[1]) == ["Not yet."]


@pytest.mark.parametrize(
    ("once", "after_restart"),
    [pytest.param(True, ["hello"], id="session"),
     pytest.param("player", [], id="player")],
)
def test_once_is_per_session_or_per_player(play: Any, ev: Any, once: Any,
                                           after_restart: list[str]) -> None:
    t = play(level(talk("hello", targets=["mia_npc"], once=once)), [
        LOAD, ev.near("mia_npc"), ev.near("mia_npc"), LOAD, ev.near("mia_npc"),
    ])
    assert said(t.results[1]) == ["hello"]
    assert t.results[2] is None
    assert said(t.results[4]) == after_restart


def test_once_player_is_per_player(play: Any, ev: Any) -> None:
    t = play(level(talk("hello", targets=["mia_npc"], once="player")), [
        LOAD, ev.near("mia_npc"), {**LOAD, "player": "Alex"},
        {**ev.near("mia_npc"), "player": "Alex"},
    ])
    assert said(t.results[3]) == ["hello"]


def test_cooldown_counts_from_the_last_firing(play: Any, ev: Any) -> None:
    lvl = level(talk("hello", targets=["mia_npc"], cooldown_seconds=30,
                     blocked_text="never during a cooldown",
                     requires={"type": "flag_not_set", "flag": "grumpy"}))
    t = play(lvl, [
        LOAD,
        ev.near("mia_npc"),          # t=0: fires
        {"advance_seconds": 29},
        {**ev.near("mia_npc"), "expect": None},  # t=29: cooling down, nothing shown
        {"advance_seconds": 1},
        ev.near("mia_npc"),          # t=30: fires again
        {"advance_seconds": 10},
        {**ev.near("mia_npc"), "expect": None},  # t=40: 10 s since the last firing
    ])
    assert said(t.results[1]) == said(t.results[5]) == ["hello"]


def test_cooldown_is_per_player(play: Any, ev: Any) -> None:
    t = play(level(talk("hello", targets=["mia_npc"], cooldown_seconds=30)), [
        LOAD, ev.near("mia_npc"), {**LOAD, "player": "Alex"},
        {**ev.near("mia_npc"), "player": "Alex"},
    ])
    assert said(t.results[3]) == ["hello"]


# -- outputs and NPC behaviour state ------------------------------------------------------


def test_listener_outputs(play: Any, ev: Any) -> None:
    lvl = level({
        "id": "mia", "type": "near", "targets": ["mia_npc"],
        "metadata": {"dialogue": {"title": "Mia", "text": "Ready for adventure?"},
                     "world_patch": {"tell": "Mia waves at you."},
                     "commands": ["title {player} subtitle Mia's voice"]},
        "effects": [{"type": "set_flag", "flag": "waved_at"},
                    {"type": "say", "title": "Narrator", "text": "The wind turns."}],
    }, {"id": "lines", "targets": ["tomas"], "dialogue": ["Hm.", "The nets are torn."]})
    t = play(lvl, [
        LOAD,
        {**ev.near("mia_npc"), "expect": {
            "nodes": [{"type": "npc_dialogue", "title": "Mia",
                       "text": "Ready for adventure?\nThe wind turns.",
                       "script": [{"op": "npc_say", "npc": "Mia",
                                   "text": "Ready for adventure?"},
                                  {"op": "npc_say", "npc": "Narrator",
                                   "text": "The wind turns."}]}],
            "world_patch": {"tell": "Mia waves at you."},
            "commands": ["title Steve subtitle Mia's voice"]}},
        {**ev.near("tomas"), "expect": {"nodes": [{"type": "npc_dialogue",
                                                   "text": "Hm.\nThe nets are torn."}]}},
    ])
    assert spoken(t.results[1]) == [("Mia", "Ready for adventure?"),
                                    ("Narrator", "The wind turns.")]
    assert len(t.results[1]["nodes"]) == 1
    assert "waved_at" in t.state()["flags"]


def test_update_behaviors_are_keyed_so_repeats_replace(play: Any, ev: Any) -> None:
    lvl = level(
        {"id": "glow", "targets": ["mia_npc"], "metadata": {"update_behaviors": [
            {"type": "particle", "particle": "heart"},
            {"type": "follow", "id": "mia_follow", "speed": 1}]}},
        {"id": "faster", "targets": ["tomas"], "metadata": {"update_behaviors": [
            {"type": "follow", "id": "mia_follow", "speed": 2},
            {"type": "particle", "particle": "glow"}]}},
    )
    t = play(lvl, [LOAD, ev.near("mia_npc"), ev.near("mia_npc"), ev.near("tomas")])
    assert t.results[1]["updated_behaviors"] == [
        {"type": "particle", "particle": "heart"},
        {"type": "follow", "id": "mia_follow", "speed": 1}]
    assert t.results[3]["updated_behaviors"] == [
        {"type": "follow", "id": "mia_follow", "speed": 2},
        {"type": "particle", "particle": "glow"}]
    behaviors = t.state()["session"]["behaviors"]
    assert sorted(behaviors.values(), key=str) == sorted([
        {"type": "particle", "particle": "heart"},
        {"type": "follow", "id": "mia_follow", "speed": 2},
        {"type": "particle", "particle": "glow"}], key=str)
