"""SPEC §4.1: a rule event becomes ``(kind, token)`` atoms; matching works on atoms only.

The first tests call ``normalise`` directly (what the event means); the last ones play
transcripts to show the same rules decide what a level sees.
"""

from __future__ import annotations

from typing import Any

import pytest

from quest_runtime.atoms import NormalisedEvent, clean, normalise, slug, token_variants

PLUGIN_NEAR = {"target": "mia_npc", "quest_event": "near_mia_npc",
               "location": {"world": "world", "x": 12.4, "y": 64.0, "z": -28.7}}


def atoms_of(event_type: str | None, payload: dict[str, Any],
             aliases: dict[str, str] | None = None) -> set[tuple[str, str]]:
    return set(normalise(event_type, payload, aliases).atoms)


# -- 1. the event type -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("near", "near", id="plain"),
        pytest.param("  NEAR ", "near", id="trimmed-and-lower-cased"),
        pytest.param("Interact_Entity", "interact_entity", id="mixed-case"),
        pytest.param("\tApproach_Grandma\n", "approach_grandma", id="level-defined-type"),
    ],
)
def test_event_type_is_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalise(raw, {"target": "mia_npc"}).event_type == expected


@pytest.mark.parametrize("raw", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_empty_type_with_a_quest_event_becomes_quest_event(raw: str | None) -> None:
    event = normalise(raw, {"quest_event": "enter_pier"})
    assert event.event_type == "quest_event"
    assert ("quest_event", "enter_pier") in event.atoms


# -- 2. tokens -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("§eTomas", "tomas", id="colour-code"),
        pytest.param("§l§6Old §rTomas", "old tomas", id="several-codes"),
        pytest.param("  MIA_NPC ", "mia_npc", id="case-and-space"),
    ],
)
def test_clean_strips_colour_codes_and_lower_cases(raw: str, expected: str) -> None:
    assert clean(raw) == expected


@pytest.mark.parametrize(
    ("raw", "variants"),
    [
        pytest.param("Mia NPC", ("mia npc", "mia_npc"), id="space-slug"),
        pytest.param("mia_npc", ("mia_npc",), id="already-a-slug"),
        pytest.param("Old--Tomas!", ("old--tomas!", "old_tomas"), id="punctuation-runs"),
        pytest.param("§d心悦向导", ("心悦向导",), id="cjk-has-no-slug"),
        pytest.param("§e", (), id="only-a-colour-code"),
    ],
)
def test_token_variants_are_the_token_and_its_slug(raw: str, variants: tuple[str, ...]) -> None:
    assert token_variants(raw) == variants


def test_slug_folds_runs_and_trims() -> None:
    assert slug("  mia -- npc! ") == "mia_npc"


def test_a_spaced_name_and_its_slug_are_the_same_token() -> None:
    spaced = normalise("near", {"target": "Mia NPC"})
    slugged = normalise("near", {"target": "mia_npc"})
    assert ("near", "mia_npc") in spaced.atoms
    assert ("near", "mia_npc") in slugged.atoms


def test_aliases_add_the_canonical_token() -> None:
    event = normalise("quest_event", {"quest_event": "Tutorial Finish"},
                      {"tutorial_finish": "tutorial_complete"})
    assert ("quest_event", "tutorial_complete") in event.atoms
    assert "tutorial_complete" in event.tokens
    assert ("quest_event", "tutorial_finish") in event.atoms  # the original stays


# -- 3. atoms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["target", "target_id", "npc", "entity_name", "entity_type", "block_type"]
)
def test_each_target_field_yields_an_atom(field: str) -> None:
    event = normalise("interact_entity", {field: "§6Grandma Rose"})
    assert ("interact_entity", "grandma rose") in event.atoms
    assert ("interact_entity", "grandma_rose") in event.atoms


def test_every_target_field_present_yields_atoms() -> None:
    atoms = atoms_of("interact_entity", {"entity_type": "villager", "entity_name": "§eTomas",
                                         "interaction": "right_click"})
    assert {("interact_entity", "villager"), ("interact_entity", "tomas")} <= atoms
    assert ("interact_entity", "right_click") not in atoms  # not a target field


def test_the_plugins_near_event() -> None:
    assert atoms_of("near", PLUGIN_NEAR) == {
        ("near", "mia_npc"), ("near", "*"), ("quest_event", "near_mia_npc")}


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        pytest.param("near", {"target": "mia_npc"}, id="near"),
        pytest.param("chat", {"text": "hello"}, id="chat"),
        pytest.param("interact_block", {"block_type": "chest"}, id="interact_block"),
        pytest.param("approach_grandma", {"source": "npc_interact"}, id="level-defined"),
    ],
)
def test_every_typed_event_has_a_wildcard_atom(event_type: str, payload: dict[str, Any]) -> None:
    assert (event_type, "*") in atoms_of(event_type, payload)


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        pytest.param("quest_event", {"quest_event": "enter_pier"}, id="quest_event-type"),
        pytest.param(None, {"quest_event": "enter_pier"}, id="no-type"),
        pytest.param("near", PLUGIN_NEAR, id="near-with-quest-event"),
        pytest.param("approach_grandma", {"npc": "grandma"}, id="level-defined"),
    ],
)
def test_there_is_no_quest_event_wildcard(event_type: str | None,
                                          payload: dict[str, Any]) -> None:
    assert ("quest_event", "*") not in atoms_of(event_type, payload)


@pytest.mark.parametrize(
    ("event_type", "quest_atom"),
    [
        pytest.param("approach_grandma", ("quest_event", "approach_grandma"), id="npc-click"),
        pytest.param("choice__mia_intro__yes", ("quest_event", "choice__mia_intro__yes"),
                     id="dialogue-choice"),
        pytest.param("Story", ("quest_event", "story"), id="custom-type-lower-cased"),
    ],
)
def test_a_non_builtin_type_is_also_a_quest_event_name(event_type: str,
                                                      quest_atom: tuple[str, str]) -> None:
    payload = {"source": "npc_interact", "npc": "Grandma", "level_id": "village"}
    assert quest_atom in atoms_of(event_type, payload)


@pytest.mark.parametrize(
    "event_type", ["near", "chat", "interact_block", "interact_entity", "quest_event", "choice"]
)
def test_a_builtin_type_is_not_a_quest_event_name(event_type: str) -> None:
    assert ("quest_event", event_type) not in atoms_of(event_type, {"target": "x"})


def test_chat_yields_its_text_for_keyword_matching() -> None:
    event = normalise("chat", {"text": "  I am §aREADY!  ", "quest_event": "chat_i_am_ready"})
    assert event.chat_text == "i am ready!"
    assert normalise("near", {"text": "ready"}).chat_text is None  # only chat events


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        pytest.param(None, {"target": "mia_npc"}, id="no-type-with-target"),
        pytest.param("", {}, id="empty"),
        pytest.param("  ", {"quest_event": "  "}, id="blank-type-and-quest-event"),
        pytest.param(None, {"quest_event": 7}, id="quest-event-not-a-string"),
    ],
)
def test_no_type_and_no_quest_token_is_empty(event_type: str | None,
                                             payload: dict[str, Any]) -> None:
    event = normalise(event_type, payload)
    assert isinstance(event, NormalisedEvent)
    assert event.empty


def test_the_payload_stays_available_as_meta() -> None:
    assert normalise("near", PLUGIN_NEAR).meta["location"]["x"] == 12.4


# -- the same rules, seen from a level -------------------------------------------------

LEVEL = {
    "id": "atoms",
    "aliases": {"tutorial_finish": "tutorial_complete"},
    "tasks": [
        {"id": "meet", "type": "near", "target": "Mia NPC", "count": 9},
        {"id": "tomas", "type": "interact_entity", "target": "Tomas", "count": 9},
        {"id": "finish", "type": "quest_event", "target": "tutorial_complete", "count": 9},
        {"id": "grandma", "type": "quest_event", "target": "approach_grandma", "count": 9},
    ],
}


@pytest.mark.parametrize(
    ("event", "task_id"),
    [
        pytest.param({"event_type": " NEAR ", "payload": {"target": "mia_npc"}}, "meet",
                     id="type-case-and-slug"),
        pytest.param({"event_type": "interact_entity",
                      "payload": {"entity_type": "villager", "entity_name": "§eTomas"}},
                     "tomas", id="colour-code-in-entity-name"),
        pytest.param({"payload": {"quest_event": "tutorial_finish"}}, "finish",
                     id="no-type-quest-event-and-alias"),
        pytest.param({"event_type": "approach_grandma",
                      "payload": {"source": "npc_interact", "npc": "Grandma"}},
                     "grandma", id="mapped-npc-click"),
    ],
)
def test_a_level_sees_the_normalised_event(play: Any, event: dict[str, Any],
                                           task_id: str) -> None:
    t = play(LEVEL, [{"load": "atoms"}, event])
    progress = [n["task_id"] for n in t.nodes(1, "task_progress")]
    assert progress == [task_id]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"payload": {"target": "mia_npc"}}, id="no-type-no-quest-event"),
        pytest.param({"event_type": "", "payload": {}}, id="empty"),
    ],
)
def test_an_event_without_type_or_quest_token_gives_a_null_result(play: Any,
                                                                  event: dict[str, Any]) -> None:
    t = play(LEVEL, [{"load": "atoms"}, {**event, "expect": None}])
    assert t.last is None
