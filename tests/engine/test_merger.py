"""Merging results (SPEC §4.8): the algebra of ``engine/merger.py``.

The worked examples of the module docstring run here as parametrized cases, and a test
checks that the docstring still shows exactly these cases; so do its worked examples of
``playable_nodes`` (one ``npc_dialogue`` per result, a ``story_choice`` folded into it).
Transcripts then show the order of nodes across sections, commands kept as they are, ids
de-duplicated and no ``tell`` lost.
"""

from __future__ import annotations

import ast
import re
from typing import Any, cast

import pytest

from quest_runtime.engine import merger
from quest_runtime.engine.merger import (
    LIST_OPERATIONS,
    OBJECT_OPERATIONS,
    ResultBuilder,
    Section,
    merge_patch,
    playable_nodes,
)
from quest_runtime.engine.shapes import Node

WORKED_EXAMPLES = [
    pytest.param({"mc": {"tell": "a"}}, {"mc": {"tell": "b"}}, {"mc": {"tell": ["a", "b"]}},
                 id="two-tells-become-a-list"),
    pytest.param({"tell": ["a", "b"]}, {"tell": "c"}, {"tell": ["a", "b", "c"]},
                 id="a-list-and-a-tell-concatenate"),
    pytest.param({"mc": {"weather": "RAIN"}}, {"mc": {"weather": "CLEAR"}},
                 {"mc": {"weather": "CLEAR"}}, id="scalar-clash-later-wins"),
    pytest.param({"mc": {"_scene": {"theme": "A"}}}, {"mc": {"_scene": {"focus": "B"}}},
                 {"mc": {"_scene": {"theme": "A", "focus": "B"}}},
                 id="objects-merge-recursively"),
    pytest.param({"mc": {"particle": {"type": "flame"}}}, {"mc": {"particle": {"type": "heart"}}},
                 {"mc": [{"particle": {"type": "flame"}}, {"particle": {"type": "heart"}}]},
                 id="a-second-particle-goes-to-the-next-mc-layer"),
    pytest.param({"mc": {"title": {"main": "A"}, "tell": "a"}},
                 {"mc": {"title": {"main": "B"}}},
                 {"mc": [{"title": {"main": "A"}, "tell": "a"}, {"title": {"main": "B"}}]},
                 id="object-operations-never-mix-fields"),
    pytest.param({"sound": {"type": "X"}}, {"sound": {"type": "Y"}},
                 {"sound": {"type": "X"}, "mc": {"sound": {"type": "Y"}}},
                 id="a-second-top-level-sound-goes-under-mc"),
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


def test_the_operations_are_split_as_the_plugin_accepts_them() -> None:
    """PLUGIN.md §5: ``tell``/``build``/``spawn``/``spawn_multi`` may be lists;
    ``effect``/``particle``/``sound``/``title`` must be objects (a list is skipped)."""
    assert sorted(LIST_OPERATIONS) == ["build", "spawn", "spawn_multi", "tell"]
    assert sorted(OBJECT_OPERATIONS) == ["effect", "particle", "sound", "title"]
    assert not LIST_OPERATIONS & OBJECT_OPERATIONS


def object_layers(patch: dict[str, Any], operation: str) -> list[Any]:
    """Every value of ``operation`` the plugin applies from ``patch``: the top level, then
    each ``mc`` object in order. Fails if any of them is a list (the plugin skips it)."""
    mc = patch.get("mc")
    layers = [patch, *(mc if isinstance(mc, list) else [mc] if mc is not None else [])]
    assert all(isinstance(layer, dict) for layer in layers), patch
    found = [layer[operation] for layer in layers if operation in layer]
    assert not any(isinstance(value, list) for value in found), patch
    return found


def _obj(operation: str, n: int) -> dict[str, Any]:
    return {"type": f"{operation}_{n}", "n": n}


@pytest.mark.parametrize("operation", sorted(OBJECT_OPERATIONS))
@pytest.mark.parametrize("where", ["mc", "top"])
def test_an_object_operation_never_becomes_a_list(operation: str, where: str) -> None:
    def wrap(value: Any) -> dict[str, Any]:
        return {"mc": {operation: value}} if where == "mc" else {operation: value}

    # two sources, each with one object: both kept, neither's fields mixed into the other
    two = merge_patch(merge_patch({}, wrap(_obj(operation, 1))), wrap(_obj(operation, 2)))
    assert object_layers(two, operation) == [_obj(operation, 1), _obj(operation, 2)]
    # a level that writes a list for it: the list is spread over layers, in order
    spread = merge_patch({}, wrap([_obj(operation, 1), _obj(operation, 2)]))
    assert object_layers(spread, operation) == [_obj(operation, 1), _obj(operation, 2)]
    # then a third source and a fourth one (a list again) after it
    more = merge_patch(merge_patch(spread, wrap(_obj(operation, 3))),
                       wrap([_obj(operation, 4), _obj(operation, 5)]))
    assert object_layers(more, operation) == [_obj(operation, n) for n in range(1, 6)]
    # a lone object is left as the level wrote it
    assert merge_patch({}, wrap(_obj(operation, 1))) == wrap(_obj(operation, 1))


@pytest.mark.parametrize("operation", sorted(OBJECT_OPERATIONS))
def test_object_operations_fill_the_first_layer_without_them(operation: str) -> None:
    """A second value goes to the first later ``mc`` object that lacks the operation (a
    new one at the end if none), so nothing is dropped; list and scalar operations stay
    in the first object."""
    other = min(OBJECT_OPERATIONS - {operation})
    base = merge_patch(merge_patch({}, {"mc": {"tell": "a", operation: _obj(operation, 1),
                                               other: _obj(other, 1)}}),
                       {"mc": {other: _obj(other, 2), "weather": "RAIN"}})
    assert base == {"mc": [{"tell": "a", operation: _obj(operation, 1), other: _obj(other, 1),
                            "weather": "RAIN"},
                           {other: _obj(other, 2)}]}
    merged = merge_patch(base, {"mc": {operation: _obj(operation, 2), "tell": "b"}})
    assert merged == {"mc": [{"tell": ["a", "b"], operation: _obj(operation, 1),
                              other: _obj(other, 1), "weather": "RAIN"},
                             {other: _obj(other, 2), operation: _obj(operation, 2)}]}
    merged = merge_patch(merged, {"mc": {operation: _obj(operation, 3)}})
    assert merged["mc"][2] == {operation: _obj(operation, 3)}
    assert object_layers(merged, operation) == [_obj(operation, n) for n in (1, 2, 3)]


def test_merging_never_changes_its_sources() -> None:
    a = {"mc": {"tell": "a", "title": {"main": "A"}, "_scene": {"theme": "A"}}}
    b = {"mc": {"tell": "b", "title": {"sub": "B"}, "_scene": {"focus": "B"}}}
    merged = merge_patch(merge_patch({}, a), b)
    assert merged == {"mc": [{"tell": ["a", "b"], "title": {"main": "A"},
                              "_scene": {"theme": "A", "focus": "B"}},
                             {"title": {"sub": "B"}}]}
    merged["mc"][0]["_scene"]["theme"] = "changed"  # built by the merger: a new object
    merged["mc"][0]["tell"].append("changed")       # a new list
    merged["mc"].append({"tell": "changed"})
    assert a == {"mc": {"tell": "a", "title": {"main": "A"}, "_scene": {"theme": "A"}}}
    assert b == {"mc": {"tell": "b", "title": {"sub": "B"}, "_scene": {"focus": "B"}}}


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
    # the three dialogue sections become one node at the first one's place
    assert [n.get("task_id") or n["type"] for n in result["nodes"]] == [
        "a", "early", "late", "npc_dialogue"]
    assert result["nodes"][3]["script"] == [
        {"op": "narrate", "text": "listener"}, {"op": "narrate", "text": "timer"},
        {"op": "narrate", "text": "dialogue"}]
    assert result["nodes"][3]["text"] == "listener\ntimer\ndialogue"
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
    assert [(n["type"], n.get("milestone_id") or n.get("task_id") or n.get("title"))
            for n in result["nodes"]] == [
        ("task_milestone", "wave"), ("task_complete", "greet"),
        ("npc_dialogue", "Order"),           # (1) task greet, its lines and (3)'s: one node
        ("task_progress", "visit"),          # (1) task visit
        ("task", "talk"), ("task", "listen"),  # (2) issued, file order
    ]
    assert result["nodes"][2]["script"] == [
        {"op": "narrate", "text": "greet reward"},     # (1) the reward of greet
        {"op": "narrate", "text": "greet effect"},     # (1) greet's on_complete
        {"op": "narrate", "text": "first listener"},   # (3) listeners, file order
        {"op": "narrate", "text": "second listener"},
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
    assert t.last["nodes"][1]["title"] == "first"  # untitled: the level title heads it
    assert t.last["world_patch"] == {"mc": {"tell": ["tell bye", "tell welcome"]}}
    assert t.last["active_tasks"]["level_id"] == "second"


def test_merge_never_mutates_its_sources() -> None:
    """Copy on write: level data is shared into results but never changed."""
    import copy

    from quest_runtime.engine.merger import merge_patch

    level_patch = {"mc": {"tell": "a", "title": {"main": "A"}, "particle": {"type": "x"},
                          "_scene": {"theme": "A"}}}
    other = {"mc": {"tell": ["b"], "title": {"sub": "B"}, "particle": {"type": "y"},
                    "_scene": {"focus": "B"}}}
    before = copy.deepcopy((level_patch, other))
    out: dict[str, Any] = {}
    merge_patch(out, level_patch)
    merge_patch(out, other)
    merge_patch(out, level_patch)
    assert (level_patch, other) == before
    assert out == {"mc": [
        {"tell": ["a", "b", "a"], "title": {"main": "A"}, "particle": {"type": "x"},
         "_scene": {"theme": "A", "focus": "B"}},
        {"title": {"sub": "B"}, "particle": {"type": "y"}},
        {"title": {"main": "A"}, "particle": {"type": "x"}},
    ]}


def test_merge_never_mutates_its_sources_with_mc_layers() -> None:
    """Sources that are already ``mc`` lists, top-level object operations and earlier
    results: merging shares their values but never changes one of them."""
    import copy

    sources: list[dict[str, Any]] = [
        {"mc": [{"tell": "a", "sound": {"type": "A"}}, {"particle": {"type": "a"}}]},
        {"sound": {"type": "T"}, "mc": {"tell": ["b"], "sound": {"type": "B"},
                                        "_scene": {"theme": "B"}}},
        {"mc": [{"_scene": {"focus": "C"}}, {"sound": [{"type": "C1"}, {"type": "C2"}]}]},
        {"particle": [{"type": "d1"}, {"type": "d2"}], "title": {"main": "D"}},
    ]
    before = copy.deepcopy(sources)
    partial = merge_patch({}, sources[0])
    partial_before = copy.deepcopy(partial)
    layers_before = [id(layer) for layer in partial["mc"]]
    out = merge_patch(copy.copy(partial), sources[1])
    for source in (*sources[2:], *sources):
        merge_patch(out, source)
    assert sources == before
    assert partial == partial_before  # an earlier result's layers are copied, not grown
    assert [id(layer) for layer in partial["mc"]] == layers_before
    for operation in OBJECT_OPERATIONS:
        object_layers(out, operation)  # none became a list
    # the top-level one first, then the mc objects in merge order (a second top-level
    # sound goes under mc)
    assert object_layers(out, "sound") == [
        {"type": "T"}, {"type": "A"}, {"type": "B"}, {"type": "C1"}, {"type": "C2"},
        {"type": "A"}, {"type": "T"}, {"type": "B"}, {"type": "C1"}, {"type": "C2"}]
    assert object_layers(out, "particle") == [
        {"type": "d1"}, {"type": "a"}, {"type": "d2"}, {"type": "a"}, {"type": "d1"},
        {"type": "d2"}]


# -- playable nodes (PLUGIN.md §4) -------------------------------------------------------

C: list[Any] = [{"id": "yes", "label": "Yes", "rule_event": "choice__q__yes"},
                {"id": "no", "label": "No", "rule_event": "choice__q__no"}]


def as_nodes(nodes: list[dict[str, Any]]) -> list[Node]:
    """The test's plain dicts as the engine's ``Node`` list (no copy, no check)."""
    return cast(list[Node], nodes)


def dialogue(**fields: Any) -> dict[str, Any]:
    return {"type": "npc_dialogue", **fields}


def story_choice(**fields: Any) -> dict[str, Any]:
    return {"type": "story_choice", **fields}


TASK = {"type": "task", "task_id": "t", "title": "Do it", "text": "Do it"}


def npc_say(npc: str, text: str) -> dict[str, Any]:
    return {"op": "npc_say", "npc": npc, "text": text}


PLAYABLE_EXAMPLES = [
    pytest.param(
        [dialogue(title="Mia", text="Hi"), TASK, dialogue(title="Tomas", text="Fog.\nMind it.")],
        [dialogue(title="Mia", text="Hi\nFog.\nMind it.",
                  script=[npc_say("Mia", "Hi"), npc_say("Tomas", "Fog."),
                          npc_say("Tomas", "Mind it.")]), TASK],
        id="two-dialogues-become-one-script-at-the-first-place"),
    pytest.param(
        [dialogue(title="Tomas", text="Fog."), story_choice(prompt="Answer?", choices=C)],
        [dialogue(title="Tomas", text="Fog.", script=[npc_say("Tomas", "Fog.")],
                  prompt="Answer?", choices=C)],
        id="a-choice-after-lines-is-folded-into-the-dialogue"),
    pytest.param(
        [story_choice(prompt="Answer?", choices=C)],
        [story_choice(prompt="Answer?", choices=C)],
        id="a-choice-without-lines-is-unchanged"),
]


@pytest.mark.parametrize(("nodes", "expected"), PLAYABLE_EXAMPLES)
def test_playable_nodes_worked_examples(nodes: list[dict[str, Any]],
                                        expected: list[dict[str, Any]]) -> None:
    before = copy_of(nodes)
    assert playable_nodes(as_nodes(nodes), "") == expected
    assert nodes == before  # the sources are not changed
    # with a level title, only nodes without any headline change: they take it
    assert playable_nodes(as_nodes(nodes), "Lakeside") == [
        n if n.get("title") or (n.get("text") and n["type"] != "npc_dialogue")
        else {**n, "title": "Lakeside"} for n in expected]


def copy_of(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def test_the_docstring_shows_the_playable_examples() -> None:
    doc = merger.__doc__ or ""
    block = doc.split("Worked examples of ``playable_nodes``", 1)[1]
    assert block.count("->") == len(PLAYABLE_EXAMPLES)
    for fragment in ('dialogue(title="Mia", text="Hi"), task, dialogue(title="Tomas"',
                     'npc_say Mia "Hi", npc_say Tomas "Fog."', 'npc_say Tomas "Mind it."',
                     'story_choice(prompt="Answer?", choices=C)] -> unchanged'):
        assert fragment in " ".join(block.split()), fragment


def test_a_folded_choice_keeps_its_ids_and_the_node_comes_before_what_followed() -> None:
    nodes = [TASK, dialogue(title="Tomas", text="Fog.", dialogue_id="talk", node_id="start"),
             story_choice(title="Tomas", prompt="Answer?", choices=C, dialogue_id="talk",
                          node_id="ask"),
             dialogue(text="The fog thickens.")]
    out = playable_nodes(as_nodes(nodes), "Lakeside")
    assert [n["type"] for n in out] == ["task", "npc_dialogue"]
    node = out[1]
    assert node["title"] == "Tomas"
    assert node["script"] == [npc_say("Tomas", "Fog."),
                              {"op": "narrate", "text": "The fog thickens."}]
    assert (node["prompt"], node["choices"], node["dialogue_id"], node["node_id"]) == (
        "Answer?", C, "talk", "ask")


@pytest.mark.parametrize(
    ("nodes", "title"),
    [pytest.param([dialogue(text="Hm.")], "Lakeside", id="one-untitled-dialogue"),
     pytest.param([dialogue(text="Hm."), dialogue(text="Ha.")], "Lakeside",
                  id="several-untitled-dialogues"),
     pytest.param([dialogue(text="Hm."), dialogue(title="Tomas", text="Ha.")], "Tomas",
                  id="the-first-speaker-heads-the-node")],
)
def test_an_untitled_dialogue_takes_the_level_title(nodes: list[dict[str, Any]],
                                                    title: str) -> None:
    out = playable_nodes(as_nodes(nodes), "Lakeside")
    assert [(n["type"], n["title"]) for n in out] == [("npc_dialogue", title)]
    assert "title" not in nodes[0]  # a copy got the title
