"""Explain: every reason a task or listener does not fire is named (SPEC issue 4, Deliver 2).

One level holds a task or listener for each reason. The player loads it, plays some
events, then a ``near mia_npc`` event is explained; the table says what each id's reason
and message must be. The dry run never changes the state it is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from quest_runtime.designer.explain import explain, explanation_dict
from quest_runtime.engine.core import Engine
from quest_runtime.engine.state import PlayerState, dump_state
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.server.app import create_app
from quest_runtime.settings import Settings

NEAR_MIA = ("near", {"target": "mia_npc", "quest_event": "near_mia_npc"})

LEVEL: dict[str, Any] = {
    "id": "why",
    "tasks": [
        {"id": "greet", "type": "near", "target": "mia_npc"},
        {"id": "zone", "type": "quest_event", "target": "enter_pier"},
        {"id": "say_ready", "type": "chat", "target": "ready"},
        {"id": "ask_tomas", "type": "near", "target": "tomas_npc"},
        {"id": "wave", "type": "near", "target": "mia_npc", "after": ["zone"]},
        {"id": "secret", "type": "near", "target": "mia_npc", "issue": "manual"},
        {"id": "brave", "type": "near", "target": "mia_npc",
         "requires": {"type": "all_of", "conditions": [
             {"type": "flag_set", "flag": "met_mia"},
             {"type": "var_at_least", "var": "courage", "value": 3}]}},
        {"id": "two_step", "type": "near", "target": ["mia_npc", "tomas_npc"], "count": 1,
         "milestones": [{"id": "step_mia", "target": "mia_npc"},
                        {"id": "step_tomas", "target": "tomas_npc"}]},
    ],
    "rule_listeners": [
        {"id": "hello", "type": "near", "targets": ["mia_npc"],
         "effects": [{"type": "set_flag", "flag": "met_mia"}]},
        {"id": "gift", "type": "near", "targets": ["mia_npc"], "rule_ref": "mia_gift"},
        {"id": "only_once", "type": "near", "targets": ["mia_npc"], "once": True},
        {"id": "cool", "type": "near", "targets": ["mia_npc"], "cooldown_seconds": 60},
        {"id": "picky", "type": "near", "targets": ["mia_npc"], "blocked_text": "Not yet.",
         "requires": {"type": "flag_set", "flag": "has_lantern"}},
        {"id": "story", "type": "chat", "targets": ["lantern"]},
        {"id": "tomas_wave", "type": "near", "targets": ["tomas_npc"]},
        {"id": "gate_opener", "type": "quest_event", "quest_event": "enter_pier",
         "effects": [{"type": "activate_rule", "ref": "mia_gift"}]},
    ],
}

#: id → (reason, words the message must contain), after load + near mia_npc, explaining
#: a second near mia_npc.
EXPECTED: dict[str, tuple[str, list[str]]] = {
    "greet": ("closed", ["already completed"]),
    "zone": ("target", ["wants 'enter_pier'", "closest: 'near_mia_npc' vs 'enter_pier'"]),
    "say_ready": ("type", ["listens for 'chat' events; this is a 'near' event"]),
    "ask_tomas": ("target", ["'tomas_npc'", "closest: 'mia_npc' vs 'tomas_npc'"]),
    "wave": ("not_issued", ["comes after 'zone'"]),
    "secret": ("not_issued", ["manual"]),
    "brave": ("not_issued", ["requires fails at var_at_least(var='courage', value=3)"]),
    "two_step": ("no_change", ["changed nothing", "1/1"]),
    "gift": ("gated", ["ref 'mia_gift'", "listener 'gate_opener'"]),
    "only_once": ("once", ["already fired in this level session"]),
    "cool": ("cooldown", ["60 s of 60 s left"]),
    "picky": ("requires", ["flag_set(flag='has_lantern')", "blocked_text was shown"]),
    "story": ("type", ["'chat' events only"]),
    "tomas_wave": ("target", ["closest: 'mia_npc' vs 'tomas_npc'"]),
    "gate_opener": ("target", ["wants 'enter_pier'"]),
}


def write_levels(folder: Path, level: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{level['id']}.json").write_bytes(orjson.dumps(level))


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    write_levels(tmp_path / "levels", LEVEL)
    catalog = LevelCatalog(tmp_path / "levels")
    catalog.load_all()
    assert catalog.get("why") is not None, catalog.files
    return Engine(catalog.get)


@pytest.fixture
def played(engine: Engine) -> PlayerState:
    state = PlayerState("Steve")
    engine.load(state, "why", 0.0)
    engine.handle(state, *NEAR_MIA, 1.0)
    return state


@pytest.mark.parametrize("item_id", list(EXPECTED))
def test_each_reason_is_named(engine: Engine, played: PlayerState, item_id: str) -> None:
    found = explain(engine, played, *NEAR_MIA, 1.0)
    reasons = {n.id: n for n in found.not_fired}
    reason, words = EXPECTED[item_id]
    assert reasons[item_id].reason == reason, reasons[item_id]
    for word in words:
        assert word in reasons[item_id].message, reasons[item_id].message


def test_what_fired_and_the_atoms_are_shown(engine: Engine, played: PlayerState) -> None:
    found = explain(engine, played, *NEAR_MIA, 1.0)
    assert found.fired["listeners_fired"] == ["hello"]
    assert ["near", "mia_npc"] in explanation_dict(found)["atoms"]
    assert ["quest_event", "near_mia_npc"] in explanation_dict(found)["atoms"]
    assert {n.id for n in found.not_fired} == set(EXPECTED)
    assert found.result is not None


def test_a_ref_activated_by_this_event_counts_and_the_dry_run_changes_nothing(
        engine: Engine, played: PlayerState) -> None:
    engine.handle(played, "quest_event", {"quest_event": "enter_pier"}, 2.0)  # zone + gate
    before = dump_state(played)
    found = explain(engine, played, *NEAR_MIA, 100.0)
    assert "gift" in found.fired["listeners_fired"]
    assert "wave" in found.fired["tasks_completed"]
    assert dump_state(played) == before


def test_the_closest_token_of_a_near_miss(engine: Engine, played: PlayerState) -> None:
    found = explain(engine, played, "near", {"target": "tomas_npcc"}, 1.0)
    [miss] = [n for n in found.not_fired if n.id == "ask_tomas"]
    assert miss.reason == "target"
    assert miss.closest == "tomas_npcc"


def test_no_session_says_so(engine: Engine) -> None:
    found = explain(engine, PlayerState("Alex"), *NEAR_MIA, 0.0)
    assert found.note is not None and "no level session" in found.note
    assert found.not_fired == []


async def test_the_http_endpoint_leaves_state_and_journal_unchanged(tmp_path: Path) -> None:
    write_levels(tmp_path / "levels", LEVEL)
    settings = Settings(levels=tmp_path / "levels", db=tmp_path / "state.db", watch=False,
                        rate_limit_per_second=0, log_level="warning")
    async with TestClient(TestServer(create_app(settings))) as client:
        r = await client.post("/world/story/load", json={"player_id": "Steve", "level_id": "why"})
        assert r.status == 200
        event = {"player_id": "Steve", "event_type": NEAR_MIA[0], "payload": NEAR_MIA[1]}
        assert (await client.post("/world/story/rule-event", json=event)).status == 200
        state = await (await client.get("/world/story/Steve/state")).json()
        journal = await (await client.get("/world/story/Steve/journal")).json()
        r = await client.post("/world/story/explain", json=event)
        assert r.status == 200
        body = await r.json()
        reasons = {n["id"]: n["reason"] for n in body["explanation"]["not_fired"]}
        assert reasons["gift"] == "gated" and reasons["only_once"] == "once"
        assert await (await client.get("/world/story/Steve/state")).json() == state
        assert await (await client.get("/world/story/Steve/journal")).json() == journal
        from bridge_protocol import ExplainResponse

        ExplainResponse.model_validate(body)
        bad = await client.post("/world/story/explain", json={"event_type": "near"})
        assert bad.status == 422
