"""Dialogue programs (SPEC §3.4, §4.12.10): the demo conversation path by path, gated
options, the three ways to answer, the stack, persistence across a restart, and graph
validation.

The demo conversation is ``tomas_fog`` in ``levels/lakeside.json``: Tomas says two lines,
then asks "How do you answer Tomas?" with the options ``careful``, ``brave`` (requires
courage >= 1, which the daily task ``check_traps`` gives) and ``story`` (a line that
loops back to the same choice).

The plugin shows only the last ``npc_dialogue`` of a response (PLUGIN.md §4), so a result
carries at most one: every line of the result is in its ``script`` (speakers kept), and
a choice that follows lines is folded into it (``prompt``, ``choices``); a choice with no
line before it stays a ``story_choice`` node.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from quest_runtime import views
from quest_runtime.clock import FakeClock
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.store.memory import MemoryStore
from quest_runtime.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[2]
DEMO = json.loads((REPO / "levels" / "lakeside.json").read_text(encoding="utf-8"))

LOCATION = {"world": "world", "x": 17.6, "y": 64.0, "z": -37.2}
LOAD = {"load": "lakeside"}
GREET = {"event_type": "near", "payload": {"target": "mia_npc", "quest_event": "near_mia_npc",
                                           "location": LOCATION}}
READY = {"event_type": "chat", "payload": {"text": "I am ready", "quest_event": "chat_i_am_ready"}}
TRAPS = {"event_type": "interact_block",
         "payload": {"action": "right_click_block", "block_type": "barrel",
                     "quest_event": "interact_block_barrel", "location": LOCATION}}
TOMAS = {"event_type": "interact_entity",
         "payload": {"interaction": "right_click", "entity_type": "villager",
                     "entity_name": "§eTomas", "quest_event": "interact_entity_villager",
                     "location": LOCATION}}
TO_TOMAS: list[dict[str, Any]] = [LOAD, GREET, READY, TOMAS]
TO_TOMAS_BRAVE: list[dict[str, Any]] = [LOAD, GREET, READY, TRAPS, TOMAS]


def pick(option: str, dialogue: str = "tomas_fog", **extra: Any) -> dict[str, Any]:
    """What the plugin's choice panel sends: the option's rule event as event type."""
    return {"event_type": f"choice__{dialogue}__{option}",
            "payload": {"choice_id": option, "choice_label": option}, **extra}


def chat(text: str) -> dict[str, Any]:
    return {"event_type": "chat", "payload": {"text": text}}


def dialogue_node(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The result's one ``npc_dialogue`` node (never more than one), None without one."""
    found = [n for n in (result or {}).get("nodes", []) if n["type"] == "npc_dialogue"]
    assert len(found) <= 1, f"several npc_dialogue nodes in one result: {found}"
    return found[0] if found else None


def choice_node(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The node that shows the result's choice: the ``npc_dialogue`` node it is folded
    into (after lines), or a ``story_choice`` node (no line leads to it); never both."""
    nodes = (result or {}).get("nodes", [])
    folded = [n for n in nodes if n["type"] == "npc_dialogue" and n.get("choices")]
    alone = [n for n in nodes if n["type"] == "story_choice"]
    assert len(folded) + len(alone) <= 1, nodes
    if alone:
        assert dialogue_node(result) is None, "a story_choice next to dialogue lines"
    node: dict[str, Any] | None = (folded or alone or [None])[0]
    return node


def choices(result: Mapping[str, Any] | None) -> list[str] | None:
    """Option ids of the result's choice, None without one."""
    node = choice_node(result)
    return [c["id"] for c in node["choices"]] if node else None


def dialogue_text(result: Mapping[str, Any] | None) -> str | None:
    """All lines of the result's ``npc_dialogue`` node, joined by newlines."""
    node = dialogue_node(result)
    return None if node is None else node["text"]


def spoken(result: Mapping[str, Any] | None) -> list[tuple[str | None, str]]:
    """``(speaker, line)`` of the result's ``npc_dialogue`` node (None: narration)."""
    node = dialogue_node(result)
    if node is None:
        return []
    if "script" not in node:
        return [(node.get("title"), line) for line in node["text"].splitlines()]
    assert node["text"] == "\n".join(e["text"] for e in node["script"])
    return [(e.get("npc") if e["op"] == "npc_say" else None, e["text"])
            for e in node["script"]]


def stack(t: Any, player: str = "Steve") -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = t.state(player)["session"]["dialogue"]["stack"]
    return frames


TOMAS_LANTERN = ("The lantern? Still hanging in the boathouse, past the pier. There's lamp "
                 "oil in the chest by the door.")  # ask_tomas's reward line
FOG = ["Mind the fog out there, friend.", "It has swallowed braver souls than you."]
CAREFUL_REPLY = "Good. Slow feet come home."
BRAVE_REPLY = ("Ha! You've been hauling my traps, I can tell.\n"
               "Take my oil flask, then. That lantern is thirsty.")
STORY = "Mia's grandfather. Forty years of foggy nights, and not one boat lost."


# =====================================================================================
# the demo conversation, path by path
# =====================================================================================


@pytest.mark.parametrize(
    ("answers", "replies", "flags", "items", "commands"),
    [
        pytest.param(["careful"], [CAREFUL_REPLY], {"promised_care"}, {}, [], id="careful"),
        pytest.param(["brave"], [BRAVE_REPLY], {"brave_heart"}, {"oil_flask": 1},
                     ["give Steve honey_bottle 1"], id="brave"),
        pytest.param(["story", "careful"], [STORY, CAREFUL_REPLY], {"promised_care"}, {}, [],
                     id="story-then-careful"),
        pytest.param(["story", "brave"], [STORY, BRAVE_REPLY], {"brave_heart"},
                     {"oil_flask": 1}, ["give Steve honey_bottle 1"], id="story-then-brave"),
        pytest.param(["story", "story", "careful"], [STORY, STORY, CAREFUL_REPLY],
                     {"promised_care"}, {}, [], id="story-twice-then-careful"),
    ],
)
def test_each_path_of_the_demo_conversation(play: Any, answers: list[str], replies: list[str],
                                            flags: set[str], items: dict[str, int],
                                            commands: list[str]) -> None:
    t = play(DEMO, [*TO_TOMAS_BRAVE, *(pick(a) for a in answers)])
    opening = t.results[len(TO_TOMAS_BRAVE) - 1]
    # the task's reward line, then the program's two lines: one node, Tomas speaking
    assert spoken(opening) == [("Tomas", TOMAS_LANTERN), ("Tomas", FOG[0]), ("Tomas", FOG[1])]
    node = dialogue_node(opening)
    assert node is not None and node["dialogue_id"] == "tomas_fog"
    assert choices(opening) == ["careful", "brave", "story"]
    answered = t.results[len(TO_TOMAS_BRAVE):]
    for result, reply in zip(answered, replies, strict=True):
        assert dialogue_text(result) == reply
        assert {s for s, _ in spoken(result)} == {"Tomas"}
    for result in answered[:-1]:  # "story" loops back: the choice is shown again
        assert choices(result) == ["careful", "brave", "story"]
    assert choices(answered[-1]) is None  # the program ended
    assert answered[-1]["commands"] == commands
    state = t.state()
    assert flags <= set(state["flags"])
    assert {"promised_care", "brave_heart"} - flags - set(state["flags"]) == (
        {"promised_care", "brave_heart"} - flags)
    assert {k: v for k, v in state["items"].items() if k == "oil_flask"} == items
    dialogue = state["session"]["dialogue"]
    assert dialogue["stack"] == []
    visited = [(h["node"], h.get("choice")) for h in dialogue["history"]]
    assert visited[:2] == [("warning", None), ("ask", None)]
    assert [c for _, c in visited if c] == answers
    assert visited[-1] == ("end", None)


def test_the_brave_option_is_hidden_then_shown(play: Any) -> None:
    t = play(DEMO, [*TO_TOMAS, pick("careful"), TRAPS, TOMAS])
    hidden = choice_node(t.results[3])
    assert hidden is not None and hidden["type"] == "npc_dialogue"  # folded after the lines
    assert [(c["id"], c["index"]) for c in hidden["choices"]] == [("careful", 1), ("story", 2)]
    shown = choice_node(t.results[6])
    assert shown is not None and shown["type"] == "npc_dialogue"
    assert [(c["id"], c["index"], c["rule_event"]) for c in shown["choices"]] == [
        ("careful", 1, "choice__tomas_fog__careful"),
        ("brave", 2, "choice__tomas_fog__brave"),
        ("story", 3, "choice__tomas_fog__story")]
    assert shown["choices"][1]["label"] == "Fog doesn't frighten me."
    assert shown["title"] == "Tomas"  # the speaker heads the node; the question is its prompt
    assert shown["prompt"] == "How do you answer Tomas?"
    assert (shown["dialogue_id"], shown["node_id"]) == ("tomas_fog", "ask")


# =====================================================================================
# answering
# =====================================================================================


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(pick("brave"), id="rule-event"),
        pytest.param({"event_type": "CHOICE__Tomas_Fog__Brave ", "payload": {}},
                     id="rule-event-any-case"),
        pytest.param({"event_type": "choice", "payload": {"choice_id": "brave"}},
                     id="choice-event"),
        pytest.param({"event_type": "choice", "payload": {"choice_id": " BRAVE "}},
                     id="choice-event-trimmed-any-case"),
        pytest.param({"event_type": "choice",
                      "payload": {"choice_id": "choice__tomas_fog__brave"}},
                     id="choice-event-with-the-rule-event"),
        pytest.param(chat("2"), id="chat-number"),
        pytest.param(chat(" 2 "), id="chat-number-trimmed"),
        pytest.param(chat("Fog doesn't frighten me."), id="chat-text"),
        pytest.param(chat("  FOG DOESN'T FRIGHTEN ME.  "), id="chat-text-trimmed-any-case"),
    ],
)
def test_every_way_of_answering_takes_the_option(play: Any, answer: dict[str, Any]) -> None:
    t = play(DEMO, [*TO_TOMAS_BRAVE, answer])
    assert dialogue_text(t.last) == BRAVE_REPLY
    assert "brave_heart" in t.state()["flags"]
    assert stack(t) == []


@pytest.mark.parametrize("text", ["0", "4", "²", "1" * 5000, "-1", "1.0", "", "   "])
def test_chat_that_only_looks_like_a_number_is_ordinary_chat(play: Any, text: str) -> None:
    t = play(DEMO, [*TO_TOMAS_BRAVE, chat(text)])
    assert t.last is None
    assert stack(t) == [{"program": "tomas_fog", "node": "ask"}]


def test_numbers_count_only_the_shown_options(play: Any) -> None:
    # without courage, "2" is "story" (brave is hidden) and "3" is nobody
    t = play(DEMO, [*TO_TOMAS, chat("2"), chat("3")])
    assert dialogue_text(t.results[4]) == STORY
    assert t.results[5] is None  # ordinary chat: nothing matches it
    assert stack(t) == [{"program": "tomas_fog", "node": "ask"}]


def test_a_chat_answer_is_consumed_by_the_dialogue(play: Any) -> None:
    # the story option's text mentions "lantern": the mia_lantern_story chat listener
    # (keyword "lantern") would fire for it, but the dialogue takes the line
    t = play(DEMO, [*TO_TOMAS, chat("Who used to light the lantern?"),
                    chat("Who used to light the lantern?")])
    answered = t.results[4]
    assert dialogue_text(answered) == STORY
    assert spoken(answered) == [("Tomas", STORY)]  # no line of Mia's joined it
    # the same line is still a chat line to everybody else once no choice is waiting
    t = play(DEMO, [*TO_TOMAS, pick("careful"), chat("Who used to light the lantern?")])
    assert [n["title"] for n in t.last["nodes"]] == ["Mia"]


def test_chat_that_is_not_an_answer_goes_on_to_tasks_and_listeners(play: Any) -> None:
    t = play(DEMO, [*TO_TOMAS, chat("tell me about the lantern")])
    assert [n.get("title") for n in t.last["nodes"]] == ["Mia"]  # mia_lantern_story
    assert stack(t) == [{"program": "tomas_fog", "node": "ask"}]


CHOICE_TASK_LEVEL = {
    "id": "quest",
    "tasks": [
        {"id": "greet", "type": "near", "target": "mia"},
        {"id": "agree", "type": "quest_event", "target": "choice__intro__yes"},
        {"id": "any_choice", "type": "choice", "target": "yes"},
    ],
    "rule_listeners": [
        {"id": "talk", "type": "near", "targets": ["mia"],
         "effects": [{"type": "start_dialogue", "dialogue": "intro"}]},
        {"id": "heard", "type": "quest_event", "quest_event": "choice__intro__yes",
         "effects": [{"type": "say", "text": "the listener heard it"}]},
    ],
    "dialogues": {"intro": {"npc": "Mia", "entry": "ask", "nodes": {
        "ask": {"type": "choice", "text": "Help me?", "options": [
            {"id": "yes", "text": "Yes", "next": "end",
             "requires": {"type": "flag_not_set", "flag": "grumpy"}},
            {"id": "no", "text": "No", "next": "end",
             "effects": [{"type": "set_flag", "flag": "grumpy"}]}]},
        "end": {"type": "end"}}}},
}


def test_an_accepted_choice_event_also_counts_for_tasks_and_listeners(play: Any) -> None:
    t = play(CHOICE_TASK_LEVEL, [{"load": "quest"}, {"event_type": "near",
                                                      "payload": {"target": "mia"}},
                                 {"event_type": "choice__intro__yes",
                                  "payload": {"choice_id": "yes"}}])
    assert t.last["completed_tasks"] == ["agree"]
    assert "the listener heard it" in [n["text"] for n in t.last["nodes"]]


def test_an_accepted_choice_event_also_reaches_choice_listeners(play: Any) -> None:
    level = json.loads(json.dumps(CHOICE_TASK_LEVEL))
    level["rule_listeners"].append({"id": "any_choice", "type": "choice",
                                    "effects": [{"type": "say", "text": "a choice"}]})
    t = play(level, [{"load": "quest"}, {"event_type": "near", "payload": {"target": "mia"}},
                     {"event_type": "choice", "payload": {"choice_id": "yes"}}])
    assert [n["text"] for n in t.last["nodes"]] == ["a choice"]
    assert stack(t) == []


def test_a_hidden_answer_changes_nothing_and_counts_for_nothing(play: Any) -> None:
    near = {"event_type": "near", "payload": {"target": "mia"}}
    t = play(CHOICE_TASK_LEVEL, [{"load": "quest"}, near, pick("no", "intro"), near,
                                 pick("yes", "intro")])
    assert choices(t.results[3]) == ["no"]  # "no" set grumpy: "yes" is hidden now
    assert t.last["nodes"] == [n for n in t.results[3]["nodes"]
                               if n["type"] == "story_choice"]  # the choice, again
    assert t.last["completed_tasks"] == []  # the task on choice__intro__yes saw nothing
    assert [n for n in t.last["nodes"] if n.get("text") == "the listener heard it"] == []
    state = t.state()
    assert state["session"]["tasks"]["agree"]["status"] == "issued"
    assert stack(t) == [{"program": "intro", "node": "ask"}]
    assert [h.get("choice") for h in state["session"]["dialogue"]["history"]
            if h.get("choice")] == ["no"]


def test_a_stale_answer_changes_nothing(play: Any) -> None:
    near = {"event_type": "near", "payload": {"target": "mia"}}
    # answered and ended: a second click on the old panel finds no choice waiting
    t = play(CHOICE_TASK_LEVEL, [{"load": "quest"}, near, pick("yes", "intro"),
                                 pick("yes", "intro")])
    assert t.results[2]["completed_tasks"] == ["agree"]
    assert t.last is None
    assert t.state()["session"]["tasks"]["agree"]["progress"] == 1


def test_an_answer_for_another_node_shows_the_waiting_choice_again(play: Any) -> None:
    # "careful" of the demo ends the program; "story" loops back to "ask". After
    # "story", an answer meant for a node the program has left is refused.
    level = {"id": "quest",
             "rule_listeners": [{"id": "go", "type": "quest_event", "quest_event": "go",
                                 "effects": [{"type": "start_dialogue", "dialogue": "d"}]}],
             "dialogues": {"d": {"entry": "q1", "nodes": {
                 "q1": {"type": "choice", "text": "first?", "options": [
                     {"id": "on", "text": "On", "next": "q2"}]},
                 "q2": {"type": "choice", "text": "second?", "options": [
                     {"id": "done", "text": "Done", "next": "end"}]},
                 "end": {"type": "end"}}}}}
    t = play(level, [{"load": "quest"}, qe("go"), pick("on", "d"), pick("on", "d")])
    assert [n["node_id"] for n in t.results[2]["nodes"]] == ["q2"]
    assert [n["node_id"] for n in t.last["nodes"]] == ["q2"]
    assert stack(t) == [{"program": "d", "node": "q2"}]


def test_requires_is_checked_again_when_the_answer_arrives(play: Any) -> None:
    level = {
        "id": "quest",
        "rule_listeners": [
            {"id": "talk", "type": "near", "targets": ["mia"],
             "effects": [{"type": "start_dialogue", "dialogue": "d"}]},
            {"id": "scare", "type": "quest_event", "quest_event": "thunder",
             "effects": [{"type": "modify_var", "var": "courage", "delta": -1}]},
        ],
        "dialogues": {"d": {"entry": "ask", "nodes": {
            "ask": {"type": "choice", "text": "?", "options": [
                {"id": "brave", "text": "Brave", "next": "end",
                 "requires": {"type": "var_at_least", "var": "courage", "value": 0}},
                {"id": "meek", "text": "Meek", "next": "end"}]},
            "end": {"type": "end", "effects": [{"type": "say", "text": "done"}]}}}},
    }
    t = play(level, [{"load": "quest"}, {"event_type": "near", "payload": {"target": "mia"}},
                     {"event_type": "quest_event", "payload": {"quest_event": "thunder"}},
                     chat("1")])
    assert choices(t.results[1]) == ["brave", "meek"]
    # courage fell below 0: "1" is now "meek", the only shown option
    assert [n["text"] for n in t.last["nodes"]] == ["done"]
    assert [h.get("choice") for h in t.state()["session"]["dialogue"]["history"]
            if h.get("choice")] == ["meek"]


# =====================================================================================
# the stack, output order, effects
# =====================================================================================


STACK_LEVEL = {
    "id": "quest",
    "rule_listeners": [
        {"id": "start_a", "type": "quest_event", "quest_event": "a",
         "effects": [{"type": "start_dialogue", "dialogue": "a"}]},
        {"id": "start_b", "type": "quest_event", "quest_event": "b",
         "metadata": {"dialogue": {"title": "Narrator", "text": "B begins."}},
         "effects": [{"type": "start_dialogue", "dialogue": "b"}]},
    ],
    "dialogues": {
        "a": {"npc": "Ann", "entry": "hi", "nodes": {
            "hi": {"type": "line", "text": "Hi, I am Ann.", "next": "more"},
            "more": {"type": "line", "speaker": "Ann", "text": ["Lovely day.", "Isn't it?"],
                     "next": "ask"},
            "ask": {"type": "choice", "text": "Ann asks", "options": [
                {"id": "bye", "text": "Bye", "next": "end"}]},
            "end": {"type": "end", "effects": [{"type": "set_flag", "flag": "a_done"}]}}},
        "b": {"npc": "Bob", "entry": "hi", "nodes": {
            "hi": {"type": "line", "text": "Bob here.", "next": "ask"},
            "ask": {"type": "choice", "text": "Bob asks", "options": [
                {"id": "bye", "text": "Bye", "next": "end"}]},
            "end": {"type": "end"}}},
    },
}


def qe(name: str) -> dict[str, Any]:
    return {"event_type": "quest_event", "payload": {"quest_event": name}}


def test_consecutive_lines_are_one_npc_dialogue_node_with_a_script(play: Any) -> None:
    t = play(STACK_LEVEL, [{"load": "quest"}, qe("a")])
    [line] = t.last["nodes"]  # the choice that follows the lines is folded into them
    assert line == {"type": "npc_dialogue", "title": "Ann",
                    "text": "Hi, I am Ann.\nLovely day.\nIsn't it?",
                    "script": [{"op": "npc_say", "npc": "Ann", "text": "Hi, I am Ann."},
                               {"op": "npc_say", "npc": "Ann", "text": "Lovely day."},
                               {"op": "npc_say", "npc": "Ann", "text": "Isn't it?"}],
                    "dialogue_id": "a", "node_id": "ask", "prompt": "Ann asks",
                    "choices": [{"id": "bye", "label": "Bye", "index": 1,
                                 "rule_event": "choice__a__bye"}]}


def test_a_program_started_while_another_waits_is_pushed_and_the_caller_resumes(
        play: Any) -> None:
    t = play(STACK_LEVEL, [{"load": "quest"}, qe("a"), qe("b"), pick("bye", "a"),
                           pick("bye", "b")])
    # b starts on top of a: the listener's line first (section 3), then b's (section 5),
    # one node, b's choice folded into it
    assert [n["type"] for n in t.results[2]["nodes"]] == ["npc_dialogue"]
    assert spoken(t.results[2]) == [("Narrator", "B begins."), ("Bob", "Bob here.")]
    node = t.results[2]["nodes"][0]
    assert (node["title"], node["prompt"], node["dialogue_id"]) == ("Narrator", "Bob asks", "b")
    assert choices(t.results[2]) == ["bye"]
    # only the top program takes answers: a's answer is stale, b's choice is shown again
    assert [n["dialogue_id"] for n in t.results[3]["nodes"]] == ["b"]
    assert "a_done" not in t.state()["flags"]
    # b ends: a resumes and shows its choice again
    assert [(n["type"], n["dialogue_id"]) for n in t.last["nodes"]] == [("story_choice", "a")]
    assert stack(t) == [{"program": "a", "node": "ask"}]


def test_chat_numbers_answer_the_top_program_only(play: Any) -> None:
    t = play(STACK_LEVEL, [{"load": "quest"}, qe("a"), qe("b"), chat("1"), chat("1")])
    assert [n["dialogue_id"] for n in t.results[3]["nodes"]] == ["a"]  # b ended, a again
    assert t.state()["flags"] == ["a_done"]
    assert stack(t) == []


def test_starting_a_program_that_is_already_active_shows_its_node_again(play: Any) -> None:
    t = play(STACK_LEVEL, [{"load": "quest"}, qe("a"), qe("a")])
    assert [n["type"] for n in t.last["nodes"]] == ["story_choice"]
    assert stack(t) == [{"program": "a", "node": "ask"}]
    # a suspended one comes back to the top
    t = play(STACK_LEVEL, [{"load": "quest"}, qe("a"), qe("b"), qe("a")])
    assert [(n["type"], n["dialogue_id"]) for n in t.last["nodes"]] == [("story_choice", "a")]
    assert [f["program"] for f in stack(t)] == ["b", "a"]


def test_dialogue_effects_run_in_order_and_an_end_can_start_the_next_program(
        play: Any) -> None:
    level = {
        "id": "quest",
        "tasks": [{"id": "quest_for_bob", "type": "near", "target": "bob", "issue": "manual"}],
        "rule_listeners": [{"id": "go", "type": "quest_event", "quest_event": "go",
                            "effects": [{"type": "start_dialogue", "dialogue": "first"}]}],
        "dialogues": {
            "first": {"npc": "Ann", "entry": "l1", "nodes": {
                "l1": {"type": "line", "text": "One.", "next": "l2",
                       "effects": [{"type": "say", "text": "(a sound)", "node_type": "sfx"}]},
                "l2": {"type": "line", "text": "Two.", "next": "end",
                       "effects": [{"type": "issue_task", "task": "quest_for_bob"},
                                   {"type": "command", "command": "say {player} two"}]},
                "end": {"type": "end",
                        "effects": [{"type": "start_dialogue", "dialogue": "second"}]}}},
            "second": {"npc": "Bob", "entry": "hi", "nodes": {
                "hi": {"type": "line", "text": "Bob!", "next": "end"},
                "end": {"type": "end"}}},
        },
    }
    t = play(level, [{"load": "quest"}, qe("go")])
    nodes = t.last["nodes"]
    assert [(n["type"], n.get("text")) for n in nodes] == [
        ("task", "quest_for_bob"),              # section 2: the issued task
        ("npc_dialogue", "One.\nTwo.\nBob!"),   # section 5: every line, one node, at the
        ("sfx", "(a sound)"),                   # first line's place; the effect's node after
    ]
    # in the order produced, each line with its own program's speaker
    assert spoken(t.last) == [("Ann", "One."), ("Ann", "Two."), ("Bob", "Bob!")]
    assert nodes[1]["title"] == "Ann"
    assert t.last["commands"] == ["say Steve two"]
    assert stack(t) == []


def test_a_choice_with_every_option_hidden_ends_the_program(
        play: Any, caplog: pytest.LogCaptureFixture) -> None:
    level = {"id": "quest",
             "rule_listeners": [{"id": "go", "type": "quest_event", "quest_event": "go",
                                 "effects": [{"type": "start_dialogue", "dialogue": "d"}]}],
             "dialogues": {"d": {"entry": "hi", "nodes": {
                 "hi": {"type": "line", "text": "Hello.", "next": "ask"},
                 "ask": {"type": "choice", "text": "?", "options": [
                     {"id": "x", "text": "X", "next": "end",
                      "requires": {"type": "flag_set", "flag": "never"}}]},
                 "end": {"type": "end"}}}}}
    with caplog.at_level(logging.WARNING):
        t = play(level, [{"load": "quest"}, qe("go"), chat("1")])
    assert [n["type"] for n in t.results[1]["nodes"]] == ["npc_dialogue"]
    assert stack(t) == []
    assert t.last is None
    assert any("every option of a dialogue choice is hidden" in r.getMessage()
               for r in caplog.records)


def test_the_history_records_visited_nodes_and_choices_with_their_time(play: Any) -> None:
    t = play(DEMO, [*TO_TOMAS_BRAVE, {"advance_seconds": 30}, pick("brave")])
    history = t.state()["session"]["dialogue"]["history"]
    assert [(h["node"], h.get("choice"), h["at"]) for h in history] == [
        ("warning", None, 0.0), ("ask", None, 0.0), ("ask", "brave", 30.0),
        ("brave_reply", None, 30.0), ("end", None, 30.0)]


# =====================================================================================
# persistence: a restart resumes at the same node
# =====================================================================================


def test_a_restart_resumes_the_conversation_at_the_same_node(tmp_path: Path) -> None:
    levels = tmp_path / "levels"
    levels.mkdir()
    (levels / "lakeside.json").write_text(json.dumps(DEMO), encoding="utf-8")
    db = tmp_path / "state.db"

    def runtime() -> Runtime:
        catalog = LevelCatalog(levels)
        catalog.load_all()
        return Runtime(catalog, SQLiteStore(db), clock=FakeClock(100.0))

    async def first_run() -> None:
        rt = runtime()
        await rt.open()
        try:
            await rt.load("Steve", "lakeside")
            for step in TO_TOMAS[1:]:
                await rt.handle("Steve", step["event_type"], step["payload"])
            reply = await rt.handle("Steve", "chat", {"text": "2"})  # story, then ask again
            assert choices(reply.result) == ["careful", "story"]
            assert spoken(reply.result) == [("Tomas", STORY)]
        finally:
            await rt.close()

    async def second_run() -> tuple[dict[str, Any], Any]:
        rt = runtime()  # a new process: nothing cached, everything from the file
        await rt.open()
        try:
            view = await views.state_view(rt, "Steve")
            reply = await rt.handle("Steve", "chat", {"text": "1"})
            after = await views.state_view(rt, "Steve")
            return {"before": view, "after": after}, reply.result
        finally:
            await rt.close()

    asyncio.run(first_run())
    seen, result = asyncio.run(second_run())
    dialogue = seen["before"]["session"]["dialogue"]
    assert dialogue["stack"] == [{"program": "tomas_fog", "node": "ask"}]
    assert [(h["node"], h.get("choice")) for h in dialogue["history"]] == [
        ("warning", None), ("ask", None), ("ask", "story"), ("story", None), ("ask", None)]
    assert dialogue_text(result) == CAREFUL_REPLY  # "1" = careful, at the same node
    assert "promised_care" in seen["after"]["flags"]
    assert seen["after"]["session"]["dialogue"]["stack"] == []


# =====================================================================================
# hot reload
# =====================================================================================


def test_a_program_whose_node_was_removed_ends_cleanly_on_reload(tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    folder.mkdir()
    level = json.loads(json.dumps(STACK_LEVEL))
    path = folder / "quest.json"
    path.write_text(json.dumps(level), encoding="utf-8")
    catalog = LevelCatalog(folder)
    catalog.load_all()

    async def go() -> tuple[Any, Any, dict[str, Any]]:
        rt = Runtime(catalog, MemoryStore(), clock=FakeClock())
        await rt.open()
        await rt.load("Steve", "quest")
        await rt.handle("Steve", "quest_event", {"quest_event": "a"})
        await rt.handle("Steve", "quest_event", {"quest_event": "b"})
        # b's choice node is renamed: b ends, a (still intact) keeps its place
        b = level["dialogues"]["b"]["nodes"]
        b["question"] = b.pop("ask")
        b["hi"]["next"] = "question"
        path.write_text(json.dumps(level), encoding="utf-8")
        report = catalog.reload_paths([path])
        reply = await rt.handle("Steve", "chat", {"text": "1"})
        view = await views.state_view(rt, "Steve")
        await rt.close()
        assert view is not None
        return report, reply.result, view

    report, result, view = asyncio.run(go())
    assert all(status.ok for status in catalog.files.values()), report
    # "1" answered a (b is gone), which ended
    assert view["session"]["dialogue"]["stack"] == []
    assert "a_done" in view["flags"]
    assert result is not None


# =====================================================================================
# validation of the graph
# =====================================================================================


def _level(dialogue: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "quest", "dialogues": {"d": dialogue}, **top}


END = {"type": "end"}


@pytest.mark.parametrize(
    ("dialogue", "code", "pointer", "text"),
    [
        pytest.param({"entry": "hi", "nodes": {"hi": {"type": "line", "text": "x",
                                                      "next": "edn"}, "end": END}},
                     "unknown_node", "/dialogues/d/nodes/hi/next", "did you mean 'end'",
                     id="next-unknown"),
        pytest.param({"entry": "hello", "nodes": {"hi": {"type": "line", "text": "x",
                                                         "next": "end"}, "end": END}},
                     "unknown_node", "/dialogues/d/entry", "unknown node 'hello'",
                     id="entry-unknown"),
        pytest.param({"entry": "hi", "nodes": {"hi": {"type": "line", "text": "x"},
                                               "end": END}},
                     "no_way_out", "/dialogues/d/nodes/hi", "needs 'next'",
                     id="line-without-next"),
        pytest.param({"entry": "ask", "nodes": {"ask": {"type": "choice", "text": "?",
                                                        "options": []}, "end": END}},
                     "no_way_out", "/dialogues/d/nodes/ask/options", "non-empty list",
                     id="choice-without-options"),
        pytest.param({"entry": "ask", "nodes": {"ask": {"type": "choice", "text": "?",
                                                        "options": [{"id": "a",
                                                                     "text": "A"}]},
                                                "end": END}},
                     "no_way_out", "/dialogues/d/nodes/ask/options/0", "needs 'next'",
                     id="option-without-next"),
        pytest.param({"entry": "a", "nodes": {
            "a": {"type": "line", "text": "x", "next": "b"},
            "b": {"type": "line", "text": "y", "next": "a"}, "end": END}},
            "no_way_out", "/dialogues/d/nodes/a", "no path from it reaches an end",
            id="lines-looping-for-ever"),
        pytest.param({"entry": "a", "nodes": {
            "a": {"type": "line", "text": "x", "next": "ask"},
            "ask": {"type": "choice", "text": "?", "options": [
                {"id": "again", "text": "again", "next": "a"}]}}},
            "no_way_out", "/dialogues/d", "no end node", id="no-end-node"),
        pytest.param({"entry": "ask", "nodes": {"ask": {"type": "choice", "text": "?",
                                                        "options": [
                                                            {"id": "a", "text": "A",
                                                             "next": "end"},
                                                            {"id": "A", "text": "B",
                                                             "next": "end"}]},
                                                "end": END}},
                     "duplicate_id", "/dialogues/d/nodes/ask/options/1/id", "used twice",
                     id="option-id-twice"),
        pytest.param({"entry": "hi", "nodes": {"hi": {"type": "lien", "text": "x",
                                                      "next": "end"}, "end": END}},
                     "unknown_type", "/dialogues/d/nodes/hi/type", "did you mean 'line'",
                     id="unknown-node-type"),
        pytest.param({"entry": "hi", "nodes": {"hi": {"type": "line", "next": "end"},
                                               "end": END}},
                     "missing_field", "/dialogues/d/nodes/hi", "needs 'text'",
                     id="line-without-text"),
        pytest.param({"entry": "hi", "nodes": {"hi": {"type": "line", "text": "x",
                                                      "next": "end",
                                                      "effects": [{"type": "set_flgg",
                                                                   "flag": "f"}]},
                                               "end": END}},
                     "unknown_type", "/dialogues/d/nodes/hi/effects/0/type",
                     "did you mean 'set_flag'", id="bad-effect-inside"),
        pytest.param({"entry": "ask", "nodes": {"ask": {"type": "choice", "text": "?",
                                                        "options": [
                                                            {"id": "a", "text": "A",
                                                             "next": "end",
                                                             "requires": {
                                                                 "type": "flag_set"}}]},
                                                "end": END}},
                     "missing_field", "/dialogues/d/nodes/ask/options/0/requires",
                     "needs the field 'flag'", id="bad-requires-inside"),
        pytest.param({"entry": "hi", "nodes": {"hi": {"type": "line", "text": "x",
                                                      "next": "end",
                                                      "effects": [{"type": "issue_task",
                                                                   "task": "nope"}]},
                                               "end": END}},
                     "unknown_task", "/dialogues/d/nodes/hi/effects/0/task", "nope",
                     id="unknown-task-inside"),
        pytest.param({"nodes": {}}, "missing_field", "/dialogues/d/nodes", "has no nodes",
                     id="no-nodes"),
        pytest.param("just text", "bad_value", "/dialogues/d", "must be an object",
                     id="not-an-object"),
    ],
)
def test_a_broken_program_is_an_error_with_its_pointer(compile_level: Any, dialogue: Any,
                                                       code: str, pointer: str,
                                                       text: str) -> None:
    loaded = compile_level(_level(dialogue))
    assert loaded.level is None
    errors = [f for f in loaded.findings if f.severity == "error"]
    found = [f for f in errors if f.code == code and f.pointer == pointer]
    assert found, [f.format() for f in errors]
    assert text in found[0].format()


def test_a_node_id_written_twice_is_an_error(compile_level: Any) -> None:
    raw = """{"id": "quest", "dialogues": {"d": {"entry": "hi", "nodes": {
      "hi": {"type": "line", "text": "first", "next": "end"},
      "hi": {"type": "line", "text": "second", "next": "end"},
      "end": {"type": "end"}}}}}"""
    loaded = compile_level(raw)
    assert loaded.level is None
    [dup] = [f for f in loaded.findings if f.code == "duplicate_id"]
    assert dup.pointer == "/dialogues/d/nodes/hi" and dup.line == 3
    assert "node id 'hi' is used twice" in dup.message


def test_an_unreachable_node_is_a_warning(compile_level: Any) -> None:
    loaded = compile_level(_level({"entry": "hi", "nodes": {
        "hi": {"type": "line", "text": "x", "next": "end"},
        "lost": {"type": "line", "text": "y", "next": "end"},
        "end": END}}))
    assert loaded.level is not None
    [w] = [f for f in loaded.findings if f.code == "unreachable_node"]
    assert w.severity == "warning" and w.pointer == "/dialogues/d/nodes/lost"


def test_unknown_keys_get_a_did_you_mean(compile_level: Any) -> None:
    loaded = compile_level(_level({"entyr": "hi", "nodes": {
        "hi": {"type": "line", "text": "x", "nxet": "end", "next": "end"},
        "ask": {"type": "choice", "text": "?", "options": [
            {"id": "a", "text": "A", "next": "end", "requries": {}}]},
        "end": END}}, rule_listeners=[
            {"id": "l", "type": "near", "targets": ["x"],
             "effects": [{"type": "start_dialogue", "dialogue": "d"}]}]))
    hints = {f.pointer: f.hint for f in loaded.findings if f.code == "unknown_key"}
    assert hints["/dialogues/d/entyr"] == "did you mean 'entry'?"
    assert hints["/dialogues/d/nodes/hi/nxet"] == "did you mean 'next'?"
    assert hints["/dialogues/d/nodes/ask/options/0/requries"] == "did you mean 'requires'?"


def test_start_dialogue_naming_an_unknown_program_is_an_error(compile_level: Any) -> None:
    loaded = compile_level({"id": "quest", "rule_listeners": [
        {"id": "l", "type": "near", "targets": ["x"],
         "effects": [{"type": "start_dialogue", "dialogue": "mia_intor"}]}],
        "dialogues": {"mia_intro": {"entry": "end", "nodes": {"end": END}}}})
    assert loaded.level is None
    [err] = [f for f in loaded.findings if f.severity == "error"]
    assert err.pointer == "/rule_listeners/0/effects/0/dialogue"
    assert err.hint == "did you mean 'mia_intro'?"


def test_start_dialogue_is_an_active_effect_now(compile_level: Any) -> None:
    loaded = compile_level(_level({"entry": "end", "nodes": {"end": END}}, rule_listeners=[
        {"id": "l", "type": "near", "targets": ["x"],
         "effects": [{"type": "start_dialogue", "dialogue": "d"}]}]))
    assert loaded.level is not None
    assert [f for f in loaded.findings if f.code == "inactive_effect"] == []


def test_the_demo_conversation_validates_cleanly(compile_level: Any) -> None:
    loaded = compile_level(DEMO, name="levels/lakeside.json", level_id="lakeside",
                           strict=True)
    assert loaded.level is not None, [f.format() for f in loaded.findings]
    program = loaded.level.dialogues.get("tomas_fog")
    assert program is not None and program.entry == "warning"
    assert set(program.nodes) == {"warning", "ask", "story", "careful_reply", "brave_reply",
                                  "end"}


def test_a_timer_can_start_a_program_and_the_player_answers_later(play: Any) -> None:
    level = {"id": "quest",
             "rule_listeners": [{"id": "wait", "type": "quest_event", "quest_event": "wait",
                                 "effects": [{"type": "schedule_timer", "timer": "knock"}]}],
             "timers": {"knock": {"delay_seconds": 30,
                                  "effects": [{"type": "start_dialogue", "dialogue": "door"}]}},
             "dialogues": {"door": {"npc": "Stranger", "entry": "hi", "nodes": {
                 "hi": {"type": "line", "text": "Knock knock.", "next": "ask"},
                 "ask": {"type": "choice", "text": "Open the door?", "options": [
                     {"id": "open", "text": "Open", "next": "end",
                      "effects": [{"type": "set_flag", "flag": "opened"}]}]},
                 "end": {"type": "end"}}}}}
    t = play(level, [{"load": "quest"}, qe("wait"), {"advance_seconds": 30}, chat("1")])
    [pushed] = t.results[2]
    [node] = pushed["result"]["nodes"]  # the line, its choice folded into it
    assert (node["type"], node["title"], node["text"]) == ("npc_dialogue", "Stranger",
                                                           "Knock knock.")
    assert (node["prompt"], [c["id"] for c in node["choices"]]) == ("Open the door?", ["open"])
    assert t.state()["flags"] == ["opened"]
