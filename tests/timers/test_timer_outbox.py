"""Undelivered pushed results (SPEC §4.12.1) and timers seen from the runtime: the outbox,
merging at position (4) once, firing before a late rule event, persistence.

These drive ``Runtime`` directly with a ``FakeClock`` and an in-memory store, so the
clock can move without a timer pass in between (which the preview never does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from http_helpers import write_level
from timer_helpers import storm_level, texts

from quest_runtime import views
from quest_runtime.clock import FakeClock
from quest_runtime.engine import outbox as outbox_module
from quest_runtime.engine.shapes import Result
from quest_runtime.engine.state import load_state
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.scheduler import Scheduler
from quest_runtime.store.memory import MemoryStore

P = "Steve"


def near(target: str) -> dict[str, Any]:
    return {"target": target, "quest_event": f"near_{target}"}



@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeClock]]:
    level = storm_level(delay=30)
    level["rule_listeners"].append({"id": "talk", "type": "near", "targets": ["mia"],
                                    "metadata": {"dialogue": "Mia: hello"}})
    # a repeating twin of the storm, so results pile up while nobody sends anything
    level["timers"]["rain"] = {**level["timers"]["storm"], "repeat_seconds": 30}
    level["rule_listeners"].append({"id": "cloud", "type": "near", "targets": ["cloud"],
                                    "effects": [{"type": "schedule_timer", "timer": "rain"}]})
    write_level(tmp_path / "levels", level)
    catalog = LevelCatalog(tmp_path / "levels")
    catalog.load_all()
    clock = FakeClock(1000.0)
    runtime = Runtime(catalog, MemoryStore(), clock=clock)
    await runtime.open()
    try:
        yield runtime, clock
    finally:
        await runtime.close()


async def never(player_id: str, results: list[Result]) -> int:
    return 0  # no stream client


async def test_an_undelivered_result_comes_with_the_next_rule_event_once(
        world: tuple[Runtime, FakeClock]) -> None:
    runtime, clock = world
    await runtime.load(P, "storm")
    await runtime.handle(P, "near", near("sky"))
    assert runtime.timers.next_due() == 1030.0
    clock.advance(30)
    scheduler = Scheduler(runtime, never)
    assert await scheduler.run_due() == []  # fired, but nobody took it
    state = await runtime.peek(P)
    assert state is not None and len(state.outbox) == 1
    assert runtime.timers.outbox == {P}
    # the next rule event: its own listener node (3) then the timer result (4)
    reply = await runtime.handle(P, "near", near("mia"))
    assert reply.result is not None
    assert texts(reply.result) == ["Mia: hello", "Thunder!"]
    assert [n["type"] for n in reply.result["nodes"]] == ["npc_dialogue"]  # one node
    assert reply.result["commands"] == ["weather Steve rain"]
    again = await runtime.handle(P, "near", near("mia"))
    assert texts(again.result) == ["Mia: hello"]  # once
    assert runtime.timers.outbox == set()


async def test_a_timer_due_before_a_rule_event_fires_first_and_is_merged(
        world: tuple[Runtime, FakeClock]) -> None:
    """No timer pass ran between the due time and the event (a race, or the clock moved
    while the scheduler slept): the engine fires the timer at its due time first."""
    runtime, clock = world
    await runtime.load(P, "storm")
    await runtime.handle(P, "near", near("sky"))
    clock.advance(45)
    reply = await runtime.handle(P, "near", near("bell"))
    assert reply.result is not None
    assert [n["type"] for n in reply.result["nodes"]] == ["task_complete", "npc_dialogue"]
    assert texts(reply.result)[-1] == "Thunder!"
    assert reply.result["exit_ready"] is True
    state = await runtime.peek(P)
    assert state is not None and state.outbox == [] and state.vars["storms"] == 1
    [entry] = [e for e in await views.journal(runtime, P) if e["event_type"] == "near"][-1:]
    assert entry["effects"]["timers_fired"] == ["storm"]


async def test_an_event_of_a_player_without_a_session_still_gets_the_outbox(
        world: tuple[Runtime, FakeClock]) -> None:
    runtime, clock = world
    await runtime.load(P, "storm")
    await runtime.handle(P, "near", near("sky"))
    clock.advance(30)
    await Scheduler(runtime, never).run_due()
    await runtime.end(P)  # the session ends; the results it produced are kept
    reply = await runtime.handle(P, "near", near("anything"))
    assert texts(reply.result) == ["Thunder!"]
    assert (await runtime.handle(P, "near", near("anything"))).result is None


async def test_delivered_results_leave_the_outbox(world: tuple[Runtime, FakeClock]) -> None:
    runtime, clock = world
    sent: list[tuple[str, list[str]]] = []

    async def one_at_a_time(player_id: str, results: list[Result]) -> int:
        sent.append((player_id, [texts(r)[0] for r in results]))
        return 1

    await runtime.load(P, "storm")
    await runtime.handle(P, "near", near("cloud"))
    clock.advance(30)
    await Scheduler(runtime, never).run_due()          # 1030: kept
    clock.advance(30)
    delivered = await Scheduler(runtime, one_at_a_time).run_due()  # 1060
    # two waited; the push took the first only: the second stays for the next event
    assert sent == [(P, ["Thunder!", "Thunder!"])]
    assert [(at, p) for at, p, _ in delivered] == [(1030.0, P)]
    state = await runtime.peek(P)
    assert state is not None and [e["at"] for e in state.outbox] == [1060.0]
    reply = await runtime.handle(P, "near", near("nothing"))
    assert texts(reply.result) == ["Thunder!"]


async def test_the_outbox_is_bounded_without_losing_commands(
        world: tuple[Runtime, FakeClock], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox_module, "MAX_OUTBOX", 2)
    runtime, clock = world
    await runtime.load(P, "storm")
    await runtime.handle(P, "near", near("cloud"))
    for _ in range(5):
        clock.advance(30)
        await Scheduler(runtime, never).run_due()
    state = await runtime.peek(P)
    assert state is not None and len(state.outbox) == 2
    reply = await runtime.handle(P, "near", near("nothing"))
    assert reply.result is not None
    assert reply.result["commands"] == ["weather Steve rain"] * 5
    assert texts(reply.result).count("Thunder!") == 5


async def test_timers_and_outbox_survive_the_state_document(
        world: tuple[Runtime, FakeClock]) -> None:
    runtime, clock = world
    await runtime.load(P, "storm")
    await runtime.handle(P, "near", near("sky"))
    stored = await runtime.store.read_player(P)
    assert stored is not None
    doc = orjson.loads(stored[0])
    assert doc["session"]["timers"] == {"pending": {"storm": 1030.0}}
    clock.advance(31)
    await Scheduler(runtime, never).run_due()
    stored = await runtime.store.read_player(P)
    assert stored is not None
    state = load_state(stored[0])
    assert state.session is not None and state.session.timers.to_doc() == {"fired": ["storm"]}
    assert [e["at"] for e in state.outbox] == [1030.0]
    # a fresh runtime on the same store finds the player through its outbox
    fresh = Runtime(runtime.catalog, runtime.store, clock=clock)
    assert await fresh.index_timers() == 1
    assert fresh.timers.outbox == {P} and fresh.timers.next_due() is None


async def test_the_timer_journal_entry(world: tuple[Runtime, FakeClock]) -> None:
    runtime, clock = world
    await runtime.load(P, "storm")
    await runtime.handle(P, "near", near("sky"))
    clock.advance(40)
    await Scheduler(runtime, never).run_due()
    entries = await views.journal(runtime, P)
    assert [e["event_type"] for e in entries] == ["load", "near", "timer"]
    assert entries[1]["effects"]["timers_scheduled"] == [{"storm": 1030.0}]
    assert entries[2]["effects"]["timers_fired"] == ["storm"]
    assert entries[2]["received_at"] == 1040.0


async def test_a_reload_moves_time_limits_and_drops_removed_timers(tmp_path: Path) -> None:
    """Sessions follow a reloaded level by ids (SPEC §6): a task's new time limit counts
    from its issue; a pending timer the level no longer has is dropped when due."""
    folder = tmp_path / "levels"
    level = storm_level(delay=30)
    level["tasks"][0]["time_limit_seconds"] = 100
    write_level(folder, level)
    catalog = LevelCatalog(folder)
    catalog.load_all()
    clock = FakeClock(0.0)
    runtime = Runtime(catalog, MemoryStore(), clock=clock)
    await runtime.open()
    try:
        await runtime.load(P, "storm")
        await runtime.handle(P, "near", near("sky"))          # storm due at 30
        level["tasks"][0]["time_limit_seconds"] = 200          # the limit now ends at 200
        del level["timers"]["storm"]
        level["rule_listeners"] = []
        write_level(folder, level)
        catalog.load_all()
        clock.advance(150)
        reply = await runtime.handle(P, "near", near("nothing"))
        assert reply.result is None                            # no storm, no failure yet
        state = await runtime.peek(P)
        assert state is not None and state.session is not None
        assert state.session.timers.to_doc() == {"limits": {"bell": 200.0}}
        clock.advance(50)
        reply = await runtime.handle(P, "near", near("nothing"))
        assert reply.result is not None
        assert [n["type"] for n in reply.result["nodes"]] == ["task_failed"]
        journal = await views.journal(runtime, P)
        assert journal[-2]["effects"]["timers_dropped"] == ["storm"]
    finally:
        await runtime.close()
