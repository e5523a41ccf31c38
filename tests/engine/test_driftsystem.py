"""DriftSystem compatibility (SPEC §9).

The DriftSystem plugin must work unchanged, and where DriftSystem's own backend strayed
from the seed contract the engine follows the contract. Each deviation named in SPEC §9
has a transcript here, written with the plugin's exact payload shapes (SPEC §2.1). The
51 level files of the DriftSystem corpus must all load without errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quest_runtime.levels.findings import Severity
from quest_runtime.levels.loader import load_level

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "compat" / "driftsystem" / "levels"
CORPUS_FILES = sorted(CORPUS.rglob("*.json")) if CORPUS.is_dir() else []

# What the plugin posts when a player walks up to the NPC "mia_npc" (SPEC §2.1).
PLUGIN_NEAR = {"event_type": "near",
               "payload": {"target": "mia_npc", "quest_event": "near_mia_npc",
                           "location": {"world": "world", "x": 12.4, "y": 64.0, "z": -28.7}}}
PLUGIN_CHAT = {"event_type": "chat",
               "payload": {"text": "I am ready", "quest_event": "chat_i_am_ready"}}


def level(*tasks: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "drift", "title": "Drift", "tasks": list(tasks), **top}


LOAD = {"load": "drift"}


# -- the acceptance case -----------------------------------------------------------------


@pytest.mark.parametrize(
    "task",
    [
        pytest.param({"type": "near", "target": "mia_npc"}, id="near-task-on-the-npc"),
        pytest.param({"type": "quest_event", "target": "near_mia_npc"},
                     id="quest_event-task-on-the-quest-event"),
    ],
)
def test_the_plugins_near_event_progresses_near_and_quest_event_tasks(
        play: Any, task: dict[str, Any]) -> None:
    play(level({"id": "meet_mia", "count": 2, **task}), [
        LOAD,
        {**PLUGIN_NEAR, "expect": {"nodes": [{"type": "task_progress", "task_id": "meet_mia",
                                              "progress": 1, "count": 2, "remaining": 1}]}},
        {**PLUGIN_NEAR, "expect": {"completed_tasks": ["meet_mia"]}},
    ])


def test_one_plugin_near_event_progresses_both_tasks_at_once(play: Any) -> None:
    lvl = level({"id": "by_npc", "type": "near", "target": "mia_npc"},
                {"id": "by_quest_event", "type": "quest_event", "target": "near_mia_npc"})
    play(lvl, [LOAD, {**PLUGIN_NEAR, "expect": {
        "completed_tasks": ["by_npc", "by_quest_event"], "exit_ready": True}}])


# -- deviation 1: events with a quest_event still match near/chat tasks ------------------


def test_a_chat_event_with_a_quest_event_still_matches_a_chat_task(play: Any) -> None:
    play(level({"id": "say_ready", "type": "chat", "target": "ready"}),
         [LOAD, {**PLUGIN_CHAT, "expect": {"completed_tasks": ["say_ready"]}}])


def test_an_interact_entity_event_with_a_quest_event_matches_by_entity_name(play: Any) -> None:
    click = {"event_type": "interact_entity",
             "payload": {"interaction": "right_click", "entity_type": "villager",
                         "entity_name": "§eTomas", "quest_event": "interact_entity_villager",
                         "location": {"world": "world", "x": 17.6, "y": 64.0, "z": -37.2}}}
    play(level({"id": "ask", "type": "interact_entity", "target": "Tomas"}),
         [LOAD, {**click, "expect": {"completed_tasks": ["ask"]}}])


# -- deviation 2: the summary IS sent on the rule event completing the level ---------------


def test_the_summary_is_sent_with_the_completing_rule_event(play: Any) -> None:
    lvl = level({"id": "greet", "type": "near", "target": "mia_npc"},
                summary={"title": "Lakeside", "text": "Done."})
    t = play(lvl, [LOAD, {**PLUGIN_NEAR, "expect": {
        "exit_ready": True,
        "summary": {"type": "task_summary", "title": "Lakeside", "text": "Done."}}}])
    assert all(n["type"] != "task_summary" for n in t.last["nodes"])


# -- deviation 3: rewards are granted exactly once ----------------------------------------


def test_rewards_are_granted_once_even_when_the_event_matches_twice(play: Any) -> None:
    """The task listens for the NPC *and* its quest event, both in one plugin event."""
    task = {"id": "greet", "type": "near", "target": "mia_npc",
            "milestones": [{"id": "wave", "target": "near_mia_npc"}],
            "reward": {"commands": ["give {player} bread 1"]},
            "rewards": [{"type": "xp", "amount": 10},
                        {"type": "item", "amount": 1, "data": {"id": "guide_compass"}}]}
    t = play(level(task), [LOAD, PLUGIN_NEAR, {**PLUGIN_NEAR, "expect": None}])
    assert t.results[1]["commands"] == ["give Steve bread 1", "xp add Steve 10",
                                        "give Steve guide_compass 1"]
    assert t.state()["items"] == {"guide_compass": 1}


# -- deviation 4: a milestone completing with its task is reported -------------------------


def test_a_milestone_completing_on_the_tasks_completing_event_is_reported(play: Any) -> None:
    """The flagship tutorial shape: a quest_event task whose only milestone comes from a
    DriftSystem ``conditions[]`` entry."""
    task = {"id": "tutorial_task_01", "type": "quest_event", "title": "踏上旅程",
            "rule_event": "tutorial_task_complete", "count": 1,
            "conditions": [{"quest_event": "tutorial_task_complete",
                            "rule_event": "tutorial_task_complete", "count": 1,
                            "title": "抵达光点"}],
            "rule_refs": ["tutorial_task_complete"], "milestones": [],
            "rewards": [{"type": "item", "amount": 1, "data": {"id": "guide_compass"}}]}
    trigger = {"event_type": "quest_event",
               "payload": {"quest_event": "tutorial_task_complete", "source": "trigger_zone",
                           "trigger_id": "tutorial_light", "radius": 3.0,
                           "location": {"world": "world", "x": 0.5, "y": 70, "z": 4.5}}}
    t = play(level(task), [LOAD, {**trigger, "expect": {
        "milestones": ["tutorial_task_01_condition_01"],
        "completed_tasks": ["tutorial_task_01"],
        "nodes": [{"type": "task_milestone", "milestone_id": "tutorial_task_01_condition_01",
                   "title": "抵达光点"},
                  {"type": "task_complete", "task_id": "tutorial_task_01"}]}}])
    assert t.last["exit_ready"] is True


# -- deviation 5: activated refs fire nothing by themselves --------------------------------

GATED = level(
    {"id": "say_ready", "type": "chat", "target": "ready",
     "on_complete": [{"type": "activate_rule", "ref": "mia_gift"}]},
    {"id": "later", "type": "quest_event", "target": "enter_boathouse"},
    rules={"listeners": [
        {"id": "mia_gift", "type": "near", "targets": ["mia_npc"], "rule_ref": "mia_gift",
         "once": True,
         "metadata": {"dialogue": "Take the tinderbox.",
                      "commands": ["give {player} flint_and_steel 1"]}},
    ]},
)


def test_activating_a_ref_fires_nothing_by_itself(play: Any) -> None:
    t = play(GATED, [LOAD, PLUGIN_NEAR, PLUGIN_CHAT])
    assert t.results[1] is None  # dormant
    assert t.results[2]["completed_tasks"] == ["say_ready"]
    assert t.results[2]["commands"] == []
    assert all(n.get("text") != "Take the tinderbox." for n in t.results[2]["nodes"])


def test_an_active_gated_listener_fires_only_on_matching_events(play: Any, ev: Any) -> None:
    t = play(GATED, [
        LOAD,
        PLUGIN_CHAT,
        {**ev.near("tomas"), "expect": None},
        {**ev.chat("hello there"), "expect": None},
        {**PLUGIN_NEAR, "expect": {"commands": ["give Steve flint_and_steel 1"]}},
    ])
    assert t.results[2] is None and t.results[3] is None


# -- the corpus ------------------------------------------------------------------------------


def test_the_corpus_has_51_level_files() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the DriftSystem corpus is not at {CORPUS} (SPEC §9 expects it in "
                    "../shared/compat/driftsystem/levels beside the repository)")
    assert len(CORPUS_FILES) == 51


@pytest.mark.parametrize(
    "path",
    CORPUS_FILES or [pytest.param(None, marks=pytest.mark.skip(
        reason=f"the DriftSystem corpus is not at {CORPUS}"), id="corpus-missing")],
    ids=lambda p: str(p.relative_to(CORPUS)) if isinstance(p, Path) else "corpus-missing",
)
def test_every_corpus_level_loads_without_errors(path: Path) -> None:
    result = load_level(path, str(path.relative_to(CORPUS)))
    errors = [f.format() for f in result.findings if f.severity is Severity.ERROR]
    assert errors == []
    assert result.ok
