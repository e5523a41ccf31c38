"""Tasks: matching and progress (SPEC §4.2), issuing (§4.3), level completion (§4.4) and
rewards (§4.5), as transcripts of play.

Each level here is as small as the rule it shows. Events are built by the ``ev`` fixture
in the shape the DriftSystem plugin posts them (``near`` with ``target``, ``quest_event``
and ``location``; ``chat`` with ``text`` and ``quest_event``).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quest_runtime.keywords import PhraseIndex, keyword_in


def types_of(nodes: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """``(type, task_id or milestone_id)`` of each node: the shape of a narration."""
    return [(n["type"], n.get("milestone_id") or n.get("task_id")) for n in nodes]


def level(*tasks: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "quest", "title": "Quest", "tasks": list(tasks), **top}


LOAD = {"load": "quest"}


# =====================================================================================
# §4.2 matching
# =====================================================================================


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        pytest.param("I am ready", True, id="word"),
        pytest.param("READY!", True, id="upper-case-and-punctuation"),
        pytest.param("ready", True, id="whole-line"),
        pytest.param("are you ready? yes", True, id="question-mark-after"),
        pytest.param("ready_now", True, id="underscore-is-not-a-letter"),
        pytest.param("§aready", True, id="colour-code-stripped"),
        pytest.param("already", False, id="letter-before"),
        pytest.param("readyy", False, id="letter-after"),
        pytest.param("ready2", False, id="digit-after"),
        pytest.param("2ready", False, id="digit-before"),
        pytest.param("already ready", True, id="second-occurrence-counts"),
        pytest.param("rea dy", False, id="split"),
    ],
)
def test_chat_task_matches_its_phrase_as_a_keyword(play: Any, ev: Any, text: str,
                                                   matches: bool) -> None:
    t = play(level({"id": "say_ready", "type": "chat", "target": "ready"}), [LOAD, ev.chat(text)])
    assert (t.last is not None and t.last["completed_tasks"] == ["say_ready"]) is matches


@pytest.mark.parametrize(
    ("phrase", "text", "matches"),
    [
        pytest.param("good morning", "Good morning, Mia!", True, id="two-words"),
        pytest.param("good morning", "good  morning", False, id="two-words-extra-space"),
        pytest.param("你好", "我说你好啊", True, id="cjk-substring"),
        pytest.param("准备好了", "我准备好了！", True, id="cjk-inside-a-sentence"),
        pytest.param("こんにちは", "みなさんこんにちは", True, id="kana-substring"),
        pytest.param("你好", "你 好", False, id="cjk-split"),
    ],
)
def test_chat_phrases_and_cjk_substrings(play: Any, ev: Any, phrase: str, text: str,
                                         matches: bool) -> None:
    t = play(level({"id": "say", "type": "chat", "target": phrase}), [LOAD, ev.chat(text)])
    assert (t.last is not None and t.last["completed_tasks"] == ["say"]) is matches


@given(
    phrases=st.lists(st.text(alphabet="ab c你_1", min_size=1, max_size=4), max_size=6),
    text=st.text(alphabet="ab c你_1!", max_size=14),
)
def test_the_phrase_index_agrees_with_the_keyword_rule(phrases: list[str], text: str) -> None:
    index = PhraseIndex.build((p, i) for i, p in enumerate(phrases))
    expected = {i for i, p in enumerate(phrases) if keyword_in(p, text)}
    assert index.owners(text) == expected


@pytest.mark.parametrize(
    ("target", "event", "matches"),
    [
        pytest.param(["mia_npc", "Tomas"], ("near", {"target": "Tomas"}), True,
                     id="list-second-item"),
        pytest.param(["mia_npc", "Tomas"], ("near", {"target": "grandma"}), False,
                     id="list-no-item"),
        pytest.param({"name": "Mia NPC", "type": "npc"}, ("near", {"target": "mia_npc"}), True,
                     id="object-name-slug"),
        pytest.param({"type": "villager"},
                     ("near", {"entity_type": "villager", "entity_name": "§eTomas"}), True,
                     id="object-type-only"),
        pytest.param("§dMia", ("near", {"target": "MIA"}), True, id="colour-code-in-level"),
    ],
)
def test_list_and_object_targets(play: Any, target: Any, event: tuple[str, dict[str, Any]],
                                 matches: bool) -> None:
    t = play(level({"id": "find", "type": "near", "target": target}),
             [LOAD, {"event_type": event[0], "payload": event[1]}])
    assert (t.last is not None and t.last["completed_tasks"] == ["find"]) is matches


@pytest.mark.parametrize(
    "name",
    ["tutorial_task_complete", "tutorial_ref", "tutorial_event"],
    ids=["target", "rule_refs", "rule_event"],
)
def test_rule_refs_and_rule_event_are_tokens_of_the_task(play: Any, ev: Any, name: str) -> None:
    task = {"id": "tutorial", "type": "quest_event", "target": "tutorial_task_complete",
            "rule_refs": ["tutorial_ref"], "rule_event": "tutorial_event"}
    play(level(task), [LOAD, {**ev.quest_event(name),
                              "expect": {"completed_tasks": ["tutorial"]}}])


def test_a_quest_event_task_matches_a_mapped_npc_click_by_its_type(play: Any) -> None:
    """A mapped NPC click arrives as event type ``approach_grandma``, no quest_event."""
    click = {"event_type": "approach_grandma",
             "payload": {"source": "npc_interact", "npc": "Grandma", "level_id": "quest",
                         "location": {"world": "world", "x": 1, "y": 64, "z": 2}}}
    play(level({"id": "visit", "type": "quest_event", "target": "approach_grandma"}),
         [LOAD, {**click, "expect": {"completed_tasks": ["visit"]}}])


def test_a_task_of_another_type_does_not_match(play: Any, ev: Any) -> None:
    t = play(level({"id": "click_mia", "type": "interact_entity", "target": "mia_npc"}),
             [LOAD, {**ev.near("mia_npc"), "expect": None}])
    assert t.last is None


def test_only_issued_tasks_match(play: Any, ev: Any) -> None:
    chain = level(
        {"id": "first", "type": "near", "target": "mia_npc"},
        {"id": "second", "type": "quest_event", "target": "enter_pier"},
        {"id": "third", "type": "quest_event", "target": "enter_dock", "after": ["second"]},
    )
    t = play(chain, [
        LOAD,
        {**ev.quest_event("enter_dock"), "expect": None},  # third is still pending
        {**ev.quest_event("enter_pier"), "expect": {"completed_tasks": ["second"]}},
        {**ev.quest_event("enter_dock"), "expect": {"completed_tasks": ["third"]}},
    ])
    assert t.results[1] is None


def test_progress_is_capped_at_count_and_an_unchanged_task_has_no_node(play: Any,
                                                                       ev: Any) -> None:
    task = {"id": "light", "type": "interact_block", "count": 1,
            "milestones": [{"id": "oil", "target": "chest"}, {"id": "wick", "target": "lantern"}]}
    block = {"event_type": "interact_block",
             "payload": {"action": "right_click_block", "block_type": "chest",
                         "quest_event": "interact_block_chest"}}
    t = play(level(task), [
        LOAD,
        {**block, "expect": {"nodes": [
            {"type": "task_milestone", "milestone_id": "oil"},
            # progress is count - remaining: it never reads "1/1" while wick is open
            {"type": "task_progress", "task_id": "light", "progress": 0, "count": 1,
             "remaining": 1}]}},
        {**block, "expect": None},  # progress at count, no milestone hit: nothing at all
        {"event_type": "interact_block", "payload": {"block_type": "lantern"},
         "expect": {"completed_tasks": ["light"], "milestones": ["wick"]}},
    ])
    assert t.results[2] is None


def test_the_first_open_matching_milestone_advances(play: Any, ev: Any) -> None:
    task = {"id": "rounds", "type": "near", "target": "mia_npc", "milestones": [
        {"id": "hello", "target": "tomas"},
        {"id": "visit_1", "target": "mia_npc"},
        {"id": "visit_2", "target": "mia_npc", "count": 2}]}
    t = play(level(task), [
        LOAD,
        {**ev.near("mia_npc"), "expect": {"milestones": ["visit_1"]}},
        ev.near("mia_npc"),  # visit_2: 1 of 2
        {**ev.near("mia_npc"), "expect": {"milestones": ["visit_2"]}},
        {**ev.near("tomas"), "expect": {"milestones": ["hello"], "completed_tasks": ["rounds"]}},
    ])
    assert t.results[2]["milestones"] == []
    assert types_of(t.nodes(2)) == [("task_progress", "rounds")]


def test_a_milestone_without_tokens_takes_any_matching_event(play: Any, ev: Any) -> None:
    task = {"id": "visits", "type": "near", "target": ["mia_npc", "tomas"],
            "milestones": [{"id": "first", "target": "tomas"}, {"id": "any_two", "count": 2}]}
    play(level(task), [
        LOAD,
        {**ev.near("mia_npc"), "expect": {"nodes": [{"type": "task_progress", "progress": 1,
                                                     "count": 3, "remaining": 2}]}},
        {**ev.near("mia_npc"), "expect": {"milestones": ["any_two"]}},
        {**ev.near("tomas"), "expect": {"milestones": ["first"], "completed_tasks": ["visits"]}},
    ])


def test_completion_needs_every_milestone(play: Any, ev: Any) -> None:
    task = {"id": "both", "type": "quest_event", "count": 1,
            "milestones": [{"id": "pier", "target": "enter_pier"},
                           {"id": "dock", "target": "enter_dock"}]}
    t = play(level(task), [
        LOAD,
        ev.quest_event("enter_pier"),
        {**ev.quest_event("enter_dock"), "expect": {"completed_tasks": ["both"]}},
    ])
    assert t.results[1]["completed_tasks"] == []


@pytest.mark.parametrize(
    ("task", "event", "nodes"),
    [
        pytest.param({"count": 2}, "enter_pier", [("task_progress", "go")], id="progress-only"),
        pytest.param({"count": 1}, "enter_pier", [("task_complete", "go")], id="complete-only"),
        pytest.param({"milestones": [{"id": "pier", "target": "enter_pier"},
                                     {"id": "dock", "target": "enter_dock"}]},
                     "enter_pier", [("task_milestone", "pier"), ("task_progress", "go")],
                     id="milestone-then-progress"),
        pytest.param({"milestones": [{"id": "pier", "target": "enter_pier"}]},
                     "enter_pier", [("task_milestone", "pier"), ("task_complete", "go")],
                     id="milestone-then-complete"),
        pytest.param({"milestones": [{"id": "pier", "target": "enter_pier", "count": 2}]},
                     "enter_pier", [("task_progress", "go")], id="milestone-not-yet-done"),
    ],
)
def test_nodes_per_event_and_task(play: Any, ev: Any, task: dict[str, Any], event: str,
                                  nodes: list[tuple[str, str]]) -> None:
    t = play(level({"id": "go", "type": "quest_event", "target": "enter_pier", **task}),
             [LOAD, ev.quest_event(event)])
    assert types_of(t.nodes(1)) == nodes


@pytest.mark.parametrize(
    ("task", "events", "remaining"),
    [
        pytest.param({"count": 3}, ["a"], 2, id="count-minus-progress"),
        pytest.param({"count": 3, "milestones": [{"id": "m_a", "target": "a"}]}, ["a"], 2,
                     id="count-dominates"),
        pytest.param({"count": 1, "milestones": ["a", "b", "c"]}, ["a"], 2,
                     id="open-milestones-dominate"),
        pytest.param({"milestones": ["a", {"id": "bb", "target": "b", "count": 3}]}, ["b"], 3,
                     id="default-count-is-the-milestone-sum"),
    ],
)
def test_remaining_is_the_larger_of_count_left_and_open_milestones(
        play: Any, ev: Any, task: dict[str, Any], events: list[str], remaining: int) -> None:
    t = play(level({"id": "r", "type": "quest_event", "target": ["a", "b", "c"], **task}),
             [LOAD, *(ev.quest_event(e) for e in events)])
    [node] = t.nodes(len(events), "task_progress")
    assert node["remaining"] == remaining
    # the plugin prints "p/c": it never reads as finished while the task is open
    assert node["progress"] == max(node["count"] - remaining, 0) < node["count"]
    assert t.last["active_tasks"] is None  # mere progress: no quest-log snapshot


@pytest.mark.parametrize(
    ("task", "event", "progresses", "code"),
    [
        pytest.param({"type": "story"}, {"event_type": "story", "payload": {"beat": "any"}},
                     True, ["wildcard_task", "unreachable_task"],
                     id="custom-type-any-event-of-the-type"),
        pytest.param({"type": "story"}, {"event_type": "near", "payload": {"target": "x"}},
                     False, ["wildcard_task", "unreachable_task"],
                     id="custom-type-not-other-types"),
        pytest.param({"type": "quest_event"},
                     {"event_type": "quest_event", "payload": {"quest_event": "enter_pier"}},
                     False, ["dead_task"], id="quest_event-type-never"),
    ],
)
def test_a_task_without_tokens(play: Any, compile_level: Any, task: dict[str, Any],
                               event: dict[str, Any], progresses: bool, code: list[str]) -> None:
    # a custom type no level produces is also flagged by the registry (levels/registry.py)
    lvl = level({"id": "open", "count": 5, **task})
    assert [f.code for f in compile_level(lvl).findings] == code
    t = play(lvl, [LOAD, event])
    assert (t.last is not None and t.last["nodes"][0]["type"] == "task_progress") is progresses


def test_a_task_matches_each_event_at_most_once(play: Any, ev: Any) -> None:
    """The near event carries mia_npc as target and (slugged) as npc: one +1 only."""
    task = {"id": "visit", "type": "near", "target": ["mia_npc", "Mia NPC"], "count": 3}
    event = {"event_type": "near", "payload": {"target": "Mia NPC", "npc": "mia_npc",
                                                "quest_event": "near_mia_npc"}}
    play(level(task), [LOAD, {**event, "expect": {"nodes": [{"type": "task_progress",
                                                             "progress": 1}]}}])


def test_bare_string_milestones(compile_level: Any, play: Any) -> None:
    task = {"id": "light", "type": "interact_block", "milestones": ["chest", "Lantern"]}
    compiled = compile_level(level(task)).level
    milestones = compiled.task_by_id["light"].milestones
    assert [(m.id, m.title, m.count) for m in milestones] == [("chest", "chest", 1),
                                                               ("Lantern", "Lantern", 1)]
    assert compiled.task_by_id["light"].count == 2
    play(level(task), [
        LOAD,
        {"event_type": "interact_block", "payload": {"block_type": "lantern"},
         "expect": {"milestones": ["Lantern"]}},
    ])


# -- DriftSystem conditions[] ----------------------------------------------------------


def compiled_milestones(compile_level: Any, task: dict[str, Any]) -> list[tuple[str, int]]:
    result = compile_level(level(task))
    assert result.ok, [f.format() for f in result.findings]
    return [(m.id, m.count) for m in result.level.tasks[0].milestones]


@pytest.mark.parametrize(
    ("task", "milestones", "count"),
    [
        pytest.param({"conditions": [{"quest_event": "enter_pier"}, {"location": "boathouse",
                                                                     "count": 2}]},
                     [("t_condition_01", 1), ("t_condition_02", 2)], 3,
                     id="appended-with-default-ids"),
        pytest.param({"milestones": [{"id": "pier", "target": "enter_pier"}],
                      "conditions": [{"quest_event": "enter_pier", "count": 3}]},
                     [("pier", 3)], 3, id="merged-into-explicit-milestone-larger-count"),
        pytest.param({"milestones": [{"id": "pier", "target": "enter_pier", "count": 4}],
                      "conditions": [{"quest_event": "enter_pier", "count": 2}]},
                     [("pier", 4)], 4, id="merged-keeps-the-larger-count"),
        pytest.param({"milestones": [{"id": "pier", "target": "x", "alternates": ["Enter Dock"]}],
                      "conditions": [{"rule_event": "enter_dock"}]},
                     [("pier", 1)], 1, id="merged-by-alternate-slug"),
        pytest.param({"milestones": ["chest"],
                      "conditions": [{"item": "oil"}, {"entity": "chest"},
                                     {"id": "own", "quest_event": "lit", "count": 2}]},
                     [("chest", 1), ("t_condition_01", 1), ("own", 2)], 4,
                     id="mixed-after-the-explicit-ones-in-list-order"),
        pytest.param({"count": 1, "conditions": [{"quest_event": "a", "count": 2},
                                                 {"quest_event": "b"}]},
                     [("t_condition_01", 2), ("t_condition_02", 1)], 3,
                     id="count-raised-to-the-conditions-sum"),
        pytest.param({"count": 7, "conditions": [{"quest_event": "a", "count": 2}]},
                     [("t_condition_01", 2)], 7, id="larger-count-kept"),
        pytest.param({"count": 1, "milestones": [{"id": "m", "target": "z", "count": 5}],
                      "conditions": [{"quest_event": "a"}]},
                     [("m", 5), ("t_condition_01", 1)], 1,
                     id="count-rule-counts-only-condition-milestones"),
    ],
)
def test_driftsystem_conditions_become_milestones(compile_level: Any, task: dict[str, Any],
                                                  milestones: list[tuple[str, int]],
                                                  count: int) -> None:
    full = {"id": "t", "type": "quest_event", **task}
    assert compiled_milestones(compile_level, full) == milestones
    assert compile_level(level(full)).level.tasks[0].count == count


def test_driftsystem_conditions_in_play(play: Any, ev: Any) -> None:
    task = {"id": "walk", "type": "quest_event", "title": "Walk the shore",
            "conditions": [{"quest_event": "enter_pier", "title": "The pier"},
                           {"quest_event": "enter_dock", "count": 2}]}
    play(level(task), [
        LOAD,
        {**ev.quest_event("enter_dock"), "expect": {"nodes": [
            {"type": "task_progress", "progress": 1, "count": 3, "remaining": 2}]}},
        {**ev.quest_event("enter_pier"), "expect": {"milestones": ["walk_condition_01"],
                                                    "nodes": [{"title": "The pier"}]}},
        {**ev.quest_event("enter_dock"), "expect": {"milestones": ["walk_condition_02"],
                                                    "completed_tasks": ["walk"]}},
    ])


# =====================================================================================
# §4.3 issuing
# =====================================================================================


def test_load_issues_eligible_tasks_with_task_nodes(play: Any) -> None:
    lvl = level(
        {"id": "greet", "type": "near", "target": "mia_npc", "title": "Greet Mia",
         "hint": "Walk up to Mia.", "dialogue": {"on_issue": "Find Mia by the lake."}},
        {"id": "hinted", "type": "near", "target": "tomas", "hint": "Tomas is at the pier."},
        {"id": "later", "type": "chat", "target": "ready", "after": ["greet"]},
        {"id": "flagged", "type": "chat", "target": "go", "requires": {"type": "flag_set",
                                                                       "flag": "brave"}},
    )
    t = play(lvl, [{**LOAD, "expect": {"nodes": [
        {"type": "task", "task_id": "greet", "title": "Greet Mia",
         "text": "Find Mia by the lake.", "hint": "Walk up to Mia."},
        {"type": "task", "task_id": "hinted", "text": "Tomas is at the pier."}]}}])
    assert types_of(t.nodes(0)) == [("task", "greet"), ("task", "hinted")]


def test_an_after_chain_is_issued_in_the_same_result(play: Any, ev: Any) -> None:
    lvl = level(
        {"id": "greet", "type": "near", "target": "mia_npc"},
        {"id": "talk", "type": "chat", "target": "ready", "after": ["greet"]},
        {"id": "both", "type": "chat", "target": "go", "after": ["greet", "talk"]},
    )
    t = play(lvl, [
        LOAD,
        {**ev.near("mia_npc"), "expect": {"completed_tasks": ["greet"],
                                          "nodes": [{"type": "task_complete"},
                                                    {"type": "task", "task_id": "talk"}]}},
        {**ev.chat("ready"), "expect": {"nodes": [{"type": "task", "task_id": "both"}]}},
    ])
    assert ("task", "both") not in types_of(t.nodes(1))


def test_requires_with_a_flag_set_by_on_complete_issues_in_the_same_result(play: Any,
                                                                          ev: Any) -> None:
    lvl = level(
        {"id": "greet", "type": "near", "target": "mia_npc",
         "on_complete": [{"type": "set_flag", "flag": "met_mia"}]},
        {"id": "gift", "type": "chat", "target": "thanks",
         "requires": {"type": "flag_set", "flag": "met_mia"}},
    )
    t = play(lvl, [
        LOAD,
        {**ev.chat("thanks"), "expect": None},  # gift is pending: requires fails
        {**ev.near("mia_npc"), "expect": {"nodes": [{"type": "task_complete"},
                                                    {"type": "task", "task_id": "gift"}]}},
    ])
    # gift is pending: not in the quest log's tasks (the plugin ignores status), upcoming
    assert [x["task_id"] for x in t.results[0]["active_tasks"]["tasks"]] == ["greet"]
    assert t.results[0]["active_tasks"]["upcoming"] == [{"task_id": "gift", "title": "gift"}]
    assert [(x["task_id"], x["status"]) for x in t.results[2]["active_tasks"]["tasks"]] == [
        ("gift", "issued")]
    assert t.results[2]["active_tasks"]["upcoming"] == []


def test_requires_met_by_a_listener_effect_issues_in_the_same_result(play: Any,
                                                                     ev: Any) -> None:
    lvl = level(
        {"id": "greet", "type": "near", "target": "mia_npc"},
        {"id": "gift", "type": "chat", "target": "thanks",
         "requires": {"type": "flag_set", "flag": "met_mia"}},
        rule_listeners=[{"id": "hello", "type": "near", "targets": ["mia_npc"],
                         "effects": [{"type": "set_flag", "flag": "met_mia"}]}],
    )
    play(lvl, [LOAD, {**ev.near("mia_npc"), "expect": {"nodes": [
        {"type": "task_complete", "task_id": "greet"}, {"type": "task", "task_id": "gift"}]}}])


def test_task_nodes_of_one_event_are_in_file_order(play: Any, ev: Any) -> None:
    """``early`` becomes eligible through a listener (after the tasks ran), ``late``
    through the chain: the result still lists their ``task`` nodes in file order."""
    lvl = level(
        {"id": "early", "type": "chat", "target": "a",
         "requires": {"type": "flag_set", "flag": "waved"}},
        {"id": "greet", "type": "near", "target": "mia_npc"},
        {"id": "late", "type": "chat", "target": "b", "after": ["greet"]},
        rule_listeners=[{"id": "wave", "type": "near", "targets": ["mia_npc"],
                         "effects": [{"type": "set_flag", "flag": "waved"}]}],
    )
    t = play(lvl, [LOAD, ev.near("mia_npc")])
    assert types_of(t.nodes(1, "task")) == [("task", "early"), ("task", "late")]


def test_a_task_is_issued_once_per_session_unless_repeatable(play: Any, ev: Any) -> None:
    lvl = level(
        {"id": "once", "type": "near", "target": "mia_npc"},
        {"id": "again", "type": "near", "target": "tomas", "repeatable": True,
         "rewards": [{"type": "xp", "amount": 5}]},
    )
    t = play(lvl, [
        LOAD,
        {**ev.near("mia_npc"), "expect": {"completed_tasks": ["once"]}},
        {**ev.near("tomas"), "expect": {"completed_tasks": ["again"],
                                        "commands": ["xp add Steve 5"],
                                        "nodes": [{"type": "task_complete"},
                                                  {"type": "task", "task_id": "again"}]}},
        {**ev.near("tomas"), "expect": {"completed_tasks": ["again"],
                                        "commands": ["xp add Steve 5"]}},
        {**ev.near("mia_npc"), "expect": None},
    ])
    assert ("task", "once") not in types_of(t.nodes(1))


# =====================================================================================
# §4.4 completion of a level
# =====================================================================================


def test_the_completing_event_has_exit_ready_and_the_summary_once(play: Any, ev: Any) -> None:
    lvl = level(
        {"id": "greet", "type": "near", "target": "mia_npc"},
        {"id": "again", "type": "near", "target": "tomas", "repeatable": True},
        summary={"title": "Done", "text": "The lake is calm."},
    )
    t = play(lvl, [
        LOAD,
        {**ev.near("tomas"), "expect": {"exit_ready": False, "summary": None}},
        {**ev.near("mia_npc"), "expect": {
            "exit_ready": True,
            "summary": {"type": "task_summary", "title": "Done", "text": "The lake is calm."}}},
        {**ev.near("tomas"), "expect": {"completed_tasks": ["again"], "exit_ready": False,
                                        "summary": None}},
    ])
    assert all(n["type"] != "task_summary" for r in t.results if r for n in r["nodes"])
    assert "quest" in t.state()["completed_levels"]
    assert t.state()["exit_ready"] is True


def test_the_summary_defaults_from_the_title(play: Any, ev: Any) -> None:
    t = play(level({"id": "greet", "type": "near", "target": "mia_npc"}),
             [LOAD, ev.near("mia_npc")])
    assert t.last["summary"]["type"] == "task_summary"
    assert "Quest" in t.last["summary"]["title"]


def test_a_level_without_tasks_never_completes(play: Any, ev: Any) -> None:
    lvl = level(rule_listeners=[{"id": "hi", "type": "near", "targets": ["mia_npc"],
                                 "dialogue": "Hello!"}])
    t = play(lvl, [LOAD, ev.near("mia_npc")])
    assert t.last["exit_ready"] is False
    assert t.last["summary"] is None


def test_level_completed_is_recorded_for_the_player(play: Any, ev: Any) -> None:
    first = level({"id": "greet", "type": "near", "target": "mia_npc"})
    second = {"id": "sequel", "requires": {"type": "level_completed", "level": "quest"},
              "blocked_text": "Finish the lakeside first.",
              "tasks": [{"id": "more", "type": "near", "target": "tomas"}]}
    t = play([first, second], [
        {"load": "sequel", "expect": {"error": {"code": "level_blocked"}}},
        LOAD,
        ev.near("mia_npc"),
        {"load": "sequel", "expect": {"nodes": [{"type": "task", "task_id": "more"}]}},
    ])
    assert t.error(0) == {"code": "level_blocked", "status": 409,
                          "message": "Finish the lakeside first."}


def test_the_summary_is_sent_again_after_a_restart(play: Any, ev: Any) -> None:
    """Once per level *session*: loading the level again starts a new one."""
    lvl = level({"id": "greet", "type": "near", "target": "mia_npc"})
    t = play(lvl, [LOAD, ev.near("mia_npc"), LOAD, ev.near("mia_npc")])
    assert t.results[1]["summary"] is not None
    assert t.results[3]["summary"] is not None and t.results[3]["exit_ready"] is True


# =====================================================================================
# §4.5 rewards
# =====================================================================================

REWARDED = {
    "id": "greet", "type": "near", "target": "mia_npc",
    "reward": {"world_patch": {"mc": {"tell": "reward tell"}},
               "npc_dialogue": "Thank you!", "commands": ["give {player} bread 1"]},
    "rewards": [{"type": "xp", "amount": 50},
                {"type": "item", "amount": 2, "data": {"id": "lantern"}},
                {"type": "command", "data": {"command": "say {player} did it"}}],
    "on_complete": [{"type": "command", "command": "effect after rewards"},
                    {"type": "world_patch", "patch": {"mc": {"tell": "on_complete tell"}}},
                    {"type": "say", "text": "on_complete says"}],
}


def test_rewards_apply_in_order_then_on_complete(play: Any, ev: Any) -> None:
    t = play(level(REWARDED), [LOAD, ev.near("mia_npc")])
    result = t.last
    assert result["commands"] == ["give Steve bread 1", "xp add Steve 50",
                                  "give Steve lantern 2", "say Steve did it",
                                  "effect after rewards"]
    assert result["world_patch"] == {"mc": {"tell": ["reward tell", "on_complete tell"]}}
    assert [(n["type"], n.get("title")) for n in result["nodes"]] == [
        ("task_complete", "greet"), ("npc_dialogue", "Quest")]
    assert result["nodes"][1]["script"] == [  # the reward's line, then on_complete's
        {"op": "narrate", "text": "Thank you!"}, {"op": "narrate", "text": "on_complete says"}]


def test_rewards_are_granted_exactly_once(play: Any, ev: Any) -> None:
    lvl = level(
        {**REWARDED, "count": 1, "rule_refs": ["near_mia_npc"]},
        {"id": "other", "type": "quest_event", "target": "enter_pier",
         "on_complete": [{"type": "complete_task", "task": "greet"}]},
    )
    t = play(lvl, [LOAD, ev.near("mia_npc"), ev.near("mia_npc"), ev.quest_event("enter_pier")])
    all_commands = [c for r in t.results if r for c in r["commands"]]
    assert all_commands.count("xp add Steve 50") == 1
    assert all_commands.count("give Steve bread 1") == 1
    assert t.results[2] is None
    assert t.state()["items"] == {"lantern": 2}


def test_an_item_reward_credits_the_ledger(play: Any, ev: Any) -> None:
    lvl = level(
        {"id": "find", "type": "near", "target": "tomas",
         "rewards": [{"type": "item", "amount": 1, "data": {"id": "lantern"}}]},
        {"id": "use", "type": "quest_event", "target": "enter_boathouse",
         "requires": {"type": "has_item", "item": "lantern"}},
    )
    t = play(lvl, [LOAD, {**ev.near("tomas"), "expect": {
        "commands": ["give Steve lantern 1"], "nodes": [{"type": "task_complete"},
                                                        {"type": "task", "task_id": "use"}]}}])
    assert t.state()["items"] == {"lantern": 1}


@pytest.mark.parametrize(
    ("reward_commands", "rewards", "commands"),
    [
        pytest.param({}, [{"type": "xp", "amount": 10}], ["xp add Steve 10"], id="xp-default"),
        pytest.param({}, [{"type": "item", "data": {"id": "bread"}}], ["give Steve bread 1"],
                     id="item-default-amount-1"),
        pytest.param({}, [{"type": "command", "data": {"command": "weather clear"}}],
                     ["weather clear"], id="command-default"),
        pytest.param({"xp": "experience add {player} {amount} points"},
                     [{"type": "xp", "amount": 3}], ["experience add Steve 3 points"],
                     id="override"),
        pytest.param({"coins": "eco give {player} {amount}"},
                     [{"type": "coins", "amount": 7}], ["eco give Steve 7"],
                     id="new-type-by-template"),
        pytest.param({}, [{"type": "coins", "amount": 7}, {"type": "xp", "amount": 1}],
                     ["xp add Steve 1"], id="unknown-type-produces-nothing"),
        pytest.param({}, ["lantern", {"type": "xp", "amount": 1}], ["xp add Steve 1"],
                     id="bare-string-produces-nothing"),
        pytest.param({}, [{"type": "item", "amount": 1}], [], id="template-value-missing"),
    ],
)
def test_typed_rewards_render_through_command_templates(
        play: Any, ev: Any, reward_commands: dict[str, str], rewards: list[Any],
        commands: list[str]) -> None:
    lvl = level({"id": "r", "type": "near", "target": "mia_npc", "rewards": rewards},
                reward_commands=reward_commands)
    t = play(lvl, [LOAD, ev.near("mia_npc")])
    assert t.last["commands"] == commands


@pytest.mark.parametrize(
    ("rewards", "code"),
    [
        pytest.param([{"type": "coins", "amount": 7}], "unknown_reward", id="unknown-type"),
        pytest.param(["lantern"], "bare_reward", id="bare-string"),
    ],
)
def test_rewards_that_produce_nothing_are_warnings(compile_level: Any, rewards: list[Any],
                                                  code: str) -> None:
    result = compile_level(level({"id": "r", "type": "near", "target": "x",
                                  "rewards": rewards}))
    assert result.ok
    assert [(f.severity.value, f.code, f.pointer) for f in result.findings] == [
        ("warning", code, "/tasks/0/rewards/0" + ("/type" if code == "unknown_reward" else ""))]


# =====================================================================================
# declared NPCs (scene.npcs): visible names match, reward lines get a speaker
# =====================================================================================

NPC_LEVEL = level(
    {"id": "greet", "type": "near", "target": "mia_npc",
     "reward": {"npc_dialogue": "Thanks for coming."}},
    {"id": "ask", "type": "interact_entity", "target": "tomas_npc", "after": ["greet"],
     "reward": {"npc_dialogue": {"title": "Old Tomas", "text": "Fog."}}},
    {"id": "shout", "type": "chat", "target": "hello", "after": ["greet"],
     "reward": {"npc_dialogue": "Someone shouts back."}},
    scene={"npcs": [{"id": "mia_npc", "name": "§dMia"}, {"id": "tomas_npc", "name": "Tomas"}]},
)


@pytest.mark.parametrize(
    "payload",
    [pytest.param({"target": "§dMia", "quest_event": "near_dmia"}, id="colour-code-leaked"),
     pytest.param({"target": "Mia", "quest_event": "near_mia"}, id="visible-name"),
     pytest.param({"target": "mia_npc", "quest_event": "near_mia_npc"}, id="id")],
)
def test_a_declared_npc_matches_by_visible_name_and_says_the_reward_line(
        play: Any, payload: dict[str, Any]) -> None:
    t = play(NPC_LEVEL, [LOAD, {"event_type": "near", "payload": payload}])
    assert t.last["completed_tasks"] == ["greet"]
    [line] = [n for n in t.last["nodes"] if n["type"] == "npc_dialogue"]
    assert (line["title"], line["text"]) == ("Mia", "Thanks for coming.")  # colour-free name


def test_only_npc_tasks_without_a_title_get_the_npc_as_speaker(play: Any) -> None:
    t = play(NPC_LEVEL, [
        LOAD, {"event_type": "near", "payload": {"target": "Mia"}},
        {"event_type": "interact_entity",
         "payload": {"interaction": "right_click", "entity_type": "villager",
                     "entity_name": "§eTomas"}},
        {"event_type": "chat", "payload": {"text": "hello"}},
    ])
    assert t.results[2]["completed_tasks"] == ["ask"]
    [asked] = [n for n in t.results[2]["nodes"] if n["type"] == "npc_dialogue"]
    assert asked["title"] == "Old Tomas"  # the level's own title is kept
    [shouted] = [n for n in t.results[3]["nodes"] if n["type"] == "npc_dialogue"]
    assert shouted["title"] == "Quest"  # not an NPC task: the level title heads the line
