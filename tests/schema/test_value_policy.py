"""One value policy in the engine and the schema (issue 10, Deliver 4): numbers and booleans
are JSON numbers and true/false. ``"count": "3"`` and ``"once": "yes"`` are errors in both
(the engine's with a hint); an integral float is an integer in both."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from quest_runtime.levels.loader import load_level_bytes
from quest_runtime.levels.schema import level_schema

VALIDATOR = Draft202012Validator(level_schema())
TASK = {"id": "t", "type": "near", "target": "mia"}


def load(level: dict[str, Any]) -> Any:
    return load_level_bytes(json.dumps(level, indent=1).encode(), "p.json", "p")


def errors(level: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(f.pointer, f.hint) for f in load(level).findings if f.severity == "error"]


CASES = [
    ({"tasks": [{**TASK, "count": "3"}]}, "/tasks/0/count",
     "write the number without quotes: 3"),
    ({"tasks": [{**TASK, "repeatable": "yes"}]}, "/tasks/0/repeatable",
     "write true or false, without quotes"),
    ({"rule_listeners": [{"id": "l", "targets": ["mia"], "once": "yes"}]},
     "/rule_listeners/0/once", None),
    ({"rule_listeners": [{"id": "l", "targets": ["mia"], "cooldown_seconds": "30"}]},
     "/rule_listeners/0/cooldown_seconds", "write the number without quotes: 30"),
    ({"tasks": [{**TASK, "requires": {"type": "has_item", "item": "x", "count": "2"}}]},
     "/tasks/0/requires/count", "write the number without quotes: 2"),
    ({"tasks": [{**TASK, "on_complete": [{"type": "set_var", "var": "v", "value": True}]}]},
     "/tasks/0/on_complete/0/value", None),
]


@pytest.mark.parametrize(("level", "pointer", "hint"), CASES,
                         ids=[c[1] for c in CASES])
def test_a_quoted_number_or_a_boolean_word_is_refused_by_both(
        level: dict[str, Any], pointer: str, hint: str | None) -> None:
    assert errors(level) == [(pointer, hint)]
    assert not VALIDATOR.is_valid(level)


def test_once_takes_true_false_session_or_player_in_both() -> None:
    for once, expected in ((True, "session"), (False, None), ("session", "session"),
                           ("player", "player")):
        level: dict[str, Any] = {"rule_listeners": [{"id": "l", "targets": ["mia"],
                                                     "once": once}]}
        result = load(level)
        assert result.ok and result.level is not None
        assert result.level.listeners[0].once == expected
        assert VALIDATOR.is_valid(level)
    for bad in ("false", "yes", 1, None):
        level = {"rule_listeners": [{"id": "l", "targets": ["mia"], "once": bad}]}
        assert not load(level).ok and not VALIDATOR.is_valid(level), bad


def test_an_integral_float_is_an_integer_in_both() -> None:
    level: dict[str, Any] = {"format": 1.0, "tasks": [{**TASK, "count": 2.0, "on_complete": [
        {"type": "gain_item", "item": "lantern", "count": 3.0}]}]}
    result = load(level)
    assert result.ok and result.level is not None
    task = result.level.tasks[0]
    assert task.count == 2 and isinstance(task.count, int)
    count = task.on_complete[0].args["count"]
    assert count == 3 and isinstance(count, int)
    assert VALIDATOR.is_valid(level)
    level["tasks"][0]["count"] = 2.5
    assert not load(level).ok and not VALIDATOR.is_valid(level)
