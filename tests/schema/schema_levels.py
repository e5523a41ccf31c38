"""A level that uses every part of the format, built from the registries and the models.

``full_level()`` holds every engine-owned object with every field the engine reads, each
condition type (inside a listener's ``requires``) and each effect type (in its
``effects``) with the example values of their declarations, a dialogue program with all
three node types and a timer. It loads without errors and validates against the schema;
the agreement test changes one value at a time and compares the two.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from quest_runtime.conditions import CONDITION_TYPES
from quest_runtime.effects import EFFECT_TYPES

#: The ids the registries' examples refer to, defined by the level below.
TASK, MILESTONE, TIMER, DIALOGUE, REF = "greet_mia", "reach_pier", "storm", "mia_intro", "mia_gift"


def _example(registry: Any, name: str) -> dict[str, Any]:
    kind = registry[name]
    out: dict[str, Any] = {"type": name}
    for field, param in kind.params.items():
        out[field] = copy.deepcopy(param.example)
    if getattr(kind, "children", None) == "conditions":
        out["conditions"] = [{"type": "flag_set", "flag": "met_mia"}]
    elif getattr(kind, "children", None) == "condition":
        out["condition"] = {"type": "flag_set", "flag": "met_mia"}
    return out


def full_level() -> dict[str, Any]:
    conditions = [_example(CONDITION_TYPES, n) for n in sorted(CONDITION_TYPES)]
    effects = [_example(EFFECT_TYPES, n) for n in sorted(EFFECT_TYPES)
               if n not in ("end_level", "fail_task")]
    return {
        "id": "everything", "title": "Everything", "format": 1,
        "tasks": [
            {"id": TASK, "type": "near", "target": "mia", "title": "Greet Mia", "hint": "Go.",
             "count": 1,
             "milestones": [{"id": MILESTONE, "title": "Pier", "hint": "Walk.",
                             "target": {"name": "pier", "type": "zone"}, "event": "e1",
                             "milestone_event": "e2", "rule_event": "e3",
                             "alternates": ["dock"], "count": 1}, "bare_stone"],
             "conditions": [{"id": "c1", "title": "C", "hint": "h", "quest_event": "q1",
                             "rule_event": "r1", "location": "l1", "item": "i1",
                             "entity": "n1", "count": 1}],
             "rule_refs": ["approach"], "rule_event": "approach2",
             "reward": {"world_patch": {"mc": {"tell": "Hi"}}, "npc_dialogue": "Thanks!",
                        "commands": ["give {player} bread 1"]},
             "rewards": [{"type": "xp", "amount": 5, "data": {}},
                         {"type": "item", "amount": 1, "data": {"id": "lantern"}}],
             "dialogue": {"on_issue": "a", "on_progress": "b", "on_complete": "c"},
             "requires": {"type": "flag_not_set", "flag": "met_mia"},
             "on_complete": [{"type": "set_flag", "flag": "met_mia"}],
             "on_fail": [{"type": "clear_flag", "flag": "met_mia"}],
             "repeatable": {"cooldown_seconds": 5}, "time_limit_seconds": 30,
             "ensures": {"type": "flag_set", "flag": "met_mia"}, "issue": "auto"},
            {"id": "second", "type": "chat", "target": ["hello there"], "after": [TASK],
             "repeatable": False, "issue": "manual",
             "on_complete": [{"type": "end_level", "next_level": "lakeside_night"}],
             "on_fail": [{"type": "fail_task", "task": TASK}]},
        ],
        "rule_listeners": [
            {"id": "everything", "type": "near", "targets": ["mia"], "quest_event": "q2",
             "rule_ref": REF, "dialogue": "Hello!",
             "requires": {"type": "all_of", "conditions": conditions},
             "once": "session", "cooldown_seconds": 1, "blocked_text": "Later.",
             "metadata": {"id": "m", "rule_ref": REF, "ref": REF, "dialogue": "Hi",
                          "world_patch": {"mc": {}}, "commands": ["give {player} a 1"],
                          "update_behaviors": [{"type": "particle"}], "blocked_text": "No"},
             "effects": effects},
        ],
        "rules": {"listeners": [{"id": "drift", "type": "chat", "targets": ["hi"],
                                 "once": True}]},
        "dialogues": {DIALOGUE: {
            "npc": "Mia", "title": "Intro", "entry": "hello",
            "nodes": {
                "hello": {"type": "line", "speaker": "Mia", "text": ["You came!", "Good."],
                          "effects": [{"type": "set_flag", "flag": "met_mia"}],
                          "next": "ask"},
                "ask": {"type": "choice", "text": "Help?", "options": [
                    {"id": "yes", "text": "Yes", "requires": {"type": "flag_set",
                                                              "flag": "met_mia"},
                     "effects": {"type": "set_flag", "flag": "agreed"}, "next": "end",
                     "rule_event": "accept_quest"},
                    {"id": "no", "text": "No", "next": "end"}]},
                "end": {"type": "end", "effects": [{"type": "clear_flag", "flag": "x"}]}}}},
        "timers": {TIMER: {"delay_seconds": 5, "repeat_seconds": 60,
                           "effects": [{"type": "say", "text": "Thunder."}]}},
        "requires": {"type": "level_completed", "level": "tutorial"},
        "blocked_text": "Finish the tutorial.",
        "ensures": {"type": "flag_set", "flag": "met_mia"},
        "world_patch": {"mc": {"tell": "Welcome"}},
        "summary": {"title": "Done", "text": "All done."},
        "aliases": {"a": "b"},
        "exit": {"aliases": ["leave"], "phrase_aliases": "go", "farewell": "Bye",
                 "hub": {"world": "w"}, "return_spawn": "hub", "teleport": {"x": 1},
                 "world_patch": {"mc": {}}, "next_level": "lakeside_night"},
        "reward_commands": {"coins": "eco give {player} {amount}"},
    }


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every member and item of ``value`` (depth first), as key paths."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(level: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(level)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def at(level: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = level
    for key in path:
        node = node[key]
    return node
