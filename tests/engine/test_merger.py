"""Merging results (SPEC §4.8): the algebra of ``engine/merger.py``.

The worked examples of the module docstring run here as parametrized cases, and a test
checks that the docstring still shows exactly these cases. Transcripts then show the
order of nodes across sections, commands kept as they are, ids de-duplicated and no
``tell`` lost.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from quest_runtime.engine import merger
from quest_runtime.engine.merger import LIST_OPERATIONS, ResultBuilder, Section, merge_patch

WORKED_EXAMPLES = [
    pytest.param({"mc": {"tell": "a"}}, {"mc": {"tell": "b"}}, {"mc": {"tell": ["a", "b"]}},
                 id="two-tells-become-a-list"),
    pytest.param({"tell": ["a", "b"]}, {"tell": "c"}, {"tell": ["a", "b", "c"]},
                 id="a-list-and-a-tell-concatenate"),
    pytest.param({"mc": {"weather": "RAIN"}}, {"mc": {"weather": "CLEAR"}},
                 {"mc": {"weather": "CLEAR"}}, id="scalar-clash-later-wins"),
    pytest.param({"mc": {"title": {"main": "A"}}}, {"mc": {"title": {"sub": "B"}}},
                 {"mc": {"title": {"main": "A", "sub": "B"}}}, id="objects-merge-recursively"),
    pytest.param({"particle": {"type": "flame"}}, {"particle": {"type": "heart"}},
                 {"particle": [{"type": "flame"}, {"type": "heart"}]},
                 id="list-operations-never-merge-objects"),
]


@pytest.mark.parametrize(("a", "b", "expected"), WORKED_EXAMPLES)
def test_worked_examples(a: dict[str, Any], b: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge_patch({}, a) == a
    assert merge_patch(merge_patch({}, a), b) == expected


def docstring_examples() -> list[tuple[Any, Any, Any]]:
    """``merge(a, b) == c`` lines of the merger docstring, continuation lines joined."""
    doc = merger.__doc__ or ""
    block = doc.split("Worked examples", 1)[1]
    statements: list[str] = []
    for line in block.splitlines():
        code = re.sub(r"#.*$", "", line).strip()
        if code.startswith("merge("):
            statements.append(code)
        elif code.startswith("==") and statements:
            statements[-1] += " " + code
    examples = []
    for statement in statements:
        compare = ast.parse(statement, mode="eval").body
        assert isinstance(compare, ast.Compare) and isinstance(compare.left, ast.Call)
        a, b = (ast.literal_eval(arg) for arg in compare.left.args)
        examples.append((a, b, ast.literal_eval(compare.comparators[0])))
    return examples


def test_the_docstring_shows_exactly_the_tested_examples() -> None:
    assert docstring_examples() == [tuple(p.values) for p in WORKED_EXAMPLES]


@pytest.mark.parametrize("operation", sorted(LIST_OPERATIONS))
def test_every_list_operation_keeps_both_values(operation: str) -> None:
    patch = merge_patch(merge_patch({}, {operation: "first"}), {operation: ["second", "third"]})
    assert patch == {operation: ["first", "second", "third"]}


def test_the_list_operations_are_the_ones_the_plugin_accepts_as_lists() -> None:
    assert sorted(LIST_OPERATIONS) == ["build", "effect", "particle", "sound", "spawn",
                                       "spawn_multi", "tell"]


def test_merging_never_changes_its_sources() -> None:
    a = {"mc": {"tell": "a", "title": {"main": "A"}}}
    b = {"mc": {"tell": "b", "title": {"sub": "B"}}}
    merged = merge_patch(merge_patch({}, a), b)
    merged["mc"]["title"]["main"] = "changed"
    merged["mc"]["tell"].append("changed")
    assert a == {"mc": {"tell": "a", "title": {"main": "A"}}}
    assert b == {"mc": {"tell": "b", "title": {"sub": "B"}}}


def test_the_builder_orders_by_section_and_deduplicates_ids() -> None:
    out = ResultBuilder()
    out.node(Section.LISTENERS, {"type": "npc_dialogue", "text": "listener"})
    out.issued(2, {"type": "task", "task_id": "late"})
    out.node(Section.TASKS, {"type": "task_complete", "task_id": "a"})
    out.issued(0, {"type": "task", "task_id": "early"})
    out.node(Section.DIALOGUES, {"type": "npc_dialogue", "text": "dialogue"})
    out.node(Section.TIMERS, {"type": "npc_dialogue", "text": "timer"})
    for section, cmd in [(Section.LISTENERS, "say hi"), (Section.TASKS, "xp add {player} 1"),
                         (Section.LISTENERS, "say hi")]:
        out.command(section, cmd)
    for tid in ["a", "b", "a"]:
        out.completed(tid)
    for mid in ["m2", "m1", "m2"]:
        out.milestone(mid)
    result = out.build(out.commands, None)
    assert [n.get("task_id") or n["text"] for n in result["nodes"]] == [
        "a", "early", "late", "listener", "timer", "dialogue"]
    assert result["commands"] == ["xp add {player} 1", "say hi", "say hi"]
    assert result["completed_tasks"] == ["a", "b"]
    assert result["milestones"] == ["m2", "m1"]


# -- in play -----------------------------------------------------------------------------

ORDER = {
    "id": "order", "title": "Order",
    "tasks": [
        {"id": "greet", "type": "near", "target": "mia_npc",
         "milestones": [{"id": "wave", "target": "mia_npc"}],
         "reward": {"npc_dialogue": "greet reward", "commands": ["cmd greet reward"],
                    "world_patch": {"mc": {"tell": "tell greet"}}},
         "on_complete": [{"type": "say", "text": "greet effect"},
                         {"type": "command", "command": "cmd greet effect"}]},
        {"id": "visit", "type": "quest_event", "target": "near_mia_npc", "count": 2,
         "dialogue": {"on_progress": "visit progress"}},
        {"id": "talk", "type": "chat", "target": "ready", "after": ["greet"]},
        {"id": "listen", "type": "chat", "target": "hush", "after": ["greet"]},
    ],
    "rule_listeners": [
        {"id": "first", "type": "near", "targets": ["mia_npc"],
         "metadata": {"dialogue": "first listener", "commands": ["cmd listener"],
                      "world_patch": {"mc": {"tell": "tell first"}}}},
        {"id": "second", "quest_event": "near_mia_npc",
         "metadata": {"dialogue": "second listener", "commands": ["cmd listener"],
                      "world_patch": {"mc": {"tell": "tell second"}}}},
    ],
}


def test_node_and_command_order_across_sections(play: Any, ev: Any) -> None:
    t = play(ORDER, [{"load": "order"}, ev.near("mia_npc")])
    result = t.last
    assert [(n["type"], n.get("milestone_id") or n.get("task_id") or n.get("text"))
            for n in result["nodes"]] == [
        ("task_milestone", "wave"), ("task_complete", "greet"), ("npc_dialogue", "greet reward"),
        ("npc_dialogue", "greet effect"),                     # (1) task greet, in file order
        ("task_progress", "visit"),                           # (1) task visit
        ("task", "talk"), ("task", "listen"),                 # (2) issued, file order
        ("npc_dialogue", "first listener"), ("npc_dialogue", "second listener"),  # (3)
    ]
    assert result["commands"] == ["cmd greet reward", "cmd greet effect", "cmd listener",
                                  "cmd listener"]            # never de-duplicated
    assert result["world_patch"] == {"mc": {"tell": ["tell greet", "tell first",
                                                     "tell second"]}}  # no tell lost
    assert result["completed_tasks"] == ["greet"]
    assert result["milestones"] == ["wave"]


def test_a_task_completed_twice_in_one_event_is_listed_once(play: Any, ev: Any) -> None:
    lvl = {"id": "twice", "tasks": [
        {"id": "chore", "type": "near", "target": "well", "repeatable": True,
         "milestones": [{"id": "bucket", "target": "well"}],
         "rewards": [{"type": "xp", "amount": 1}]}],
        "rule_listeners": [{"id": "again", "type": "near", "targets": ["well"], "effects": [
            {"type": "complete_task", "task": "chore"}]}]}
    t = play(lvl, [{"load": "twice"}, ev.near("well")])
    assert t.last["completed_tasks"] == ["chore"]
    assert t.last["milestones"] == ["bucket"]
    assert t.last["commands"] == ["xp add Steve 1", "xp add Steve 1"]  # two completions


def test_the_next_levels_load_result_comes_last(play: Any, ev: Any) -> None:
    """``end_level`` with ``next_level``: its load result merges after everything else
    (position (5) in the algebra), its entry patch merged into the same world patch."""
    first = {"id": "first", "tasks": [
        {"id": "leave", "type": "near", "target": "boat",
         "on_complete": [{"type": "end_level", "next_level": "second"}]}],
        "rule_listeners": [{"id": "bye", "targets": ["boat"],
                            "metadata": {"dialogue": "bye",
                                         "world_patch": {"mc": {"tell": "tell bye"}}}}]}
    second = {"id": "second", "world_patch": {"mc": {"tell": "tell welcome"}},
              "tasks": [{"id": "arrive", "type": "near", "target": "dock"}]}
    t = play([first, second], [{"load": "first"}, ev.near("boat")])
    assert [(n["type"], n.get("task_id") or n.get("text")) for n in t.last["nodes"]] == [
        ("task_complete", "leave"), ("npc_dialogue", "bye"), ("task", "arrive")]
    assert t.last["world_patch"] == {"mc": {"tell": ["tell bye", "tell welcome"]}}
    assert t.last["active_tasks"]["level_id"] == "second"


def test_merge_never_mutates_its_sources() -> None:
    """Copy on write: level data is shared into results but never changed."""
    import copy

    from quest_runtime.engine.merger import merge_patch

    level_patch = {"mc": {"tell": "a", "title": {"main": "A"}, "particle": {"type": "x"}}}
    other = {"mc": {"tell": ["b"], "title": {"sub": "B"}, "particle": {"type": "y"}}}
    before = copy.deepcopy((level_patch, other))
    out: dict = {}
    merge_patch(out, level_patch)
    merge_patch(out, other)
    merge_patch(out, level_patch)
    assert (level_patch, other) == before
    assert out["mc"]["tell"] == ["a", "b", "a"]
    assert out["mc"]["title"] == {"main": "A", "sub": "B"}
