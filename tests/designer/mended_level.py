"""A small level for the designer-tool tests of issue 10 (Deliver 6), written to a folder.

``meadow``: greeting Bob completes ``greet``, whose ``on_complete`` starts the ``talk``
program and schedules the ``rain`` timer (90 s); the ``bob_talk`` and ``bob_wave``
listeners start ``talk`` too (restarts of a running program). ``talk`` waits at a choice
whose ``brave`` option is hidden until the ``brave`` flag is set. ``daily`` is a
repeatable task with a one-hour cooldown. ``locked`` is a level whose ``requires`` fails
for a new player.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

MEADOW: dict[str, Any] = {
    "id": "meadow",
    "title": "Meadow",
    "tasks": [
        {"id": "greet", "title": "Greet Bob", "type": "near", "target": "bob",
         "on_complete": [{"type": "start_dialogue", "dialogue": "talk"},
                         {"type": "schedule_timer", "timer": "rain"}]},
        {"id": "daily", "title": "Water the flowers", "type": "interact_block",
         "target": "flower_pot", "repeatable": {"cooldown_seconds": 3600}},
        {"id": "far", "title": "Walk to the far hill", "type": "quest_event",
         "target": "enter_far_hill"},
    ],
    "rule_listeners": [
        {"id": "bob_talk", "type": "near", "targets": ["bob"],
         "effects": [{"type": "start_dialogue", "dialogue": "talk"}]},
        {"id": "bob_wave", "type": "near", "targets": ["bob"],
         "effects": [{"type": "start_dialogue", "dialogue": "talk"}]},
    ],
    "timers": {"rain": {"delay_seconds": 90, "effects": [
        {"type": "say", "title": "Meadow", "text": "It starts to rain."}]}},
    "dialogues": {
        "talk": {
            "npc": "Bob", "entry": "hello",
            "nodes": {
                "hello": {"type": "line", "text": "Nice weather.", "next": "ask"},
                "ask": {"type": "choice", "text": "What do you say?", "options": [
                    {"id": "brave", "text": "Let's climb the hill!",
                     "requires": {"type": "flag_set", "flag": "brave"}, "next": "end"},
                    {"id": "calm", "text": "Indeed.", "next": "end"},
                    {"id": "more", "text": "Tell me more.", "next": "hello"},
                ]},
                "end": {"type": "end"},
            },
        },
    },
}

LOCKED: dict[str, Any] = {
    "id": "locked",
    "requires": {"type": "flag_set", "flag": "has_key"},
    "blocked_text": "The gate is locked.",
    "tasks": [{"id": "enter", "type": "quest_event", "target": "enter_gate",
               "on_complete": [{"type": "set_flag", "flag": "brave"}]}],
}


def write(folder: Path, *levels: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for level in levels or (MEADOW, LOCKED):
        (folder / f"{level['id']}.json").write_bytes(
            orjson.dumps(level, option=orjson.OPT_INDENT_2))
    return folder


def script(folder: Path, name: str, *steps: dict[str, Any]) -> Path:
    path = folder / f"{name}.scenario.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(s) for s in steps) + b"\n")
    return path


def near_bob(player: str = "Steve") -> dict[str, Any]:
    return {"player": player, "event_type": "near",
            "payload": {"target": "bob", "quest_event": "near_bob"}}


def water(player: str = "Steve") -> dict[str, Any]:
    return {"player": player, "event_type": "interact_block",
            "payload": {"action": "right_click_block", "block_type": "flower_pot",
                        "quest_event": "interact_block_flower_pot"}}
