"""One reference checker, fed by what each condition and effect type declares (issue 11).

Which names a clause reads or writes is declared on the field of its type
(``Param.names``); ``levels/facts.py`` collects uses from those declarations alone and
``levels/references.py`` checks them. These tests change a declaration and see the
checks follow.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from quest_runtime.conditions import CONDITION_TYPES
from quest_runtime.effects import EFFECT_TYPES
from quest_runtime.levels.registry import registry_findings


def _level(**task: Any) -> dict[str, Any]:
    return {"id": "quest", "tasks": [
        {"id": "a", "type": "chat", "target": "hi", **task},
        {"id": "b", "type": "chat", "target": "yo"}]}


def test_the_declared_name_kind_is_what_the_checks_use(
        compile_level: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    level = _level(requires={"type": "missing_item", "item": "lantern"})
    loaded = compile_level(level)
    assert loaded.ok  # missing_item declares no name: nothing to resolve
    assert loaded.facts is not None and not loaded.facts.uses.get("item_required")

    # declare missing_item's item as one the clause requires: the registry now sees it
    kind = CONDITION_TYPES["missing_item"]
    params = {**kind.params, "item": kind.params["item"].naming("item_required")}
    monkeypatch.setitem(CONDITION_TYPES, "missing_item",
                        dataclasses.replace(kind, params=params))
    loaded = compile_level(level)
    assert loaded.facts is not None
    [use] = loaded.facts.uses["item_required"]
    assert (use.name, use.pointer, use.by) == ("lantern", "/tasks/0/requires/item",
                                               "missing_item")
    [finding] = registry_findings([loaded.facts])
    assert finding.code == "unset_item" and "'lantern'" in finding.message


def test_a_field_declared_as_naming_a_task_is_checked(
        compile_level: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    level = _level(on_complete=[{"type": "say", "text": "b", "title": "nope"}])
    assert compile_level(level).ok
    kind = EFFECT_TYPES["say"]
    params = {**kind.params, "title": kind.params["title"].naming("task_effect")}
    monkeypatch.setitem(EFFECT_TYPES, "say", dataclasses.replace(kind, params=params))
    loaded = compile_level(level)
    assert not loaded.ok
    [finding] = [f for f in loaded.findings if f.code == "unknown_task"]
    assert finding.pointer == "/tasks/0/on_complete/0/title"
    assert finding.message == "say names unknown task 'nope'"


def test_each_unknown_reference_is_reported_once(compile_level: Any) -> None:
    """A timer effect is seen by one checker: one finding per place, no de-duplication."""
    loaded = compile_level({"id": "quest", "timers": {"storm": {"delay_seconds": 5,
                            "effects": [{"type": "say", "text": "rain"}]}},
                            "tasks": [{"id": "a", "type": "chat", "target": "hi",
                                       "after": ["ghost", "ghost"],
                                       "on_complete": [{"type": "schedule_timer",
                                                        "timer": "strom"},
                                                       {"type": "issue_task", "task": ""}],
                                       "requires": {"type": "timer_pending",
                                                    "timer": "strom"}}]})
    codes = sorted((f.pointer, f.code, f.message) for f in loaded.findings
                   if f.code.startswith("unknown_"))
    assert codes == [
        ("/tasks/0/after/0", "unknown_task", "task 'a' comes after unknown task 'ghost'"),
        ("/tasks/0/after/1", "unknown_task", "task 'a' comes after unknown task 'ghost'"),
        ("/tasks/0/on_complete/0/timer", "unknown_timer", "unknown timer 'strom'"),
        ("/tasks/0/on_complete/1/task", "unknown_task", "issue_task names unknown task ''"),
        ("/tasks/0/requires/timer", "unknown_timer", "unknown timer 'strom'"),
    ]


def test_the_next_levels_are_every_end_level_target_once_in_reading_order(
        compile_level: Any) -> None:
    """``CompiledLevel.next_levels``: each ``end_level`` target once, breadth first in the
    order the file reads (a task's effects before a listener's nested ones), at any size
    (a level with thousands of listeners compiles in time linear in its size)."""
    listeners = [{"id": f"l_{i}", "type": "near", "targets": [f"npc_{i}"],
                  "metadata": {"effects": [{"type": "end_level",
                                            "next_level": f"level_{i % 700}"}]}}
                 for i in range(2_000)]
    loaded = compile_level({"id": "quest", "tasks": [
        {"id": "a", "type": "chat", "target": "hi",
         "on_complete": [{"type": "end_level", "next_level": "first"},
                         {"type": "end_level", "next_level": "level_3"}]}],
        "rule_listeners": listeners})
    assert loaded.level is not None, loaded.findings
    assert loaded.level.next_levels == ("first", "level_3",
                                        *(f"level_{i}" for i in range(700) if i != 3))
