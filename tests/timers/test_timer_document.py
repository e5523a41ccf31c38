"""The timers of a level session in the player document: typed engine timers (document
version 2) and the migration of version 1's string keys."""

from __future__ import annotations

import orjson
import pytest

from quest_runtime.engine import timers
from quest_runtime.engine.state import (
    DOC_VERSION,
    InternalKind,
    InternalTimer,
    PlayerState,
    SessionTimers,
    dump_state,
    load_state,
)


def v1_document(internal: dict[str, float]) -> bytes:
    return orjson.dumps({
        "v": 1, "player_id": "Steve", "flags": [], "vars": {}, "items": {},
        "completed_levels": [], "once_marks": [],
        "session": {"level_id": "lake", "level_version": "x", "started_at": 0.0,
                    "tasks": {}, "refs": [], "listeners": {}, "behaviors": {},
                    "summary_emitted": False, "exit_ready": False,
                    "timers": {"pending": {"storm": 30.0}, "internal": internal}},
    })


def test_a_version_1_document_is_brought_up_to_date() -> None:
    state = load_state(v1_document({"limit:fetch": 1800.0, "cooldown:daily": 86400.0,
                                    "elapsed:60": 60.0, "elapsed:0.5": 0.5}))
    assert state.session is not None
    t = state.session.timers
    assert t.pending == {"storm": 30.0}
    assert t.limits == {"fetch": 1800.0}
    assert t.cooldowns == {"daily": 86400.0}
    assert t.gates == {60.0: 60.0, 0.5: 0.5}
    again = orjson.loads(dump_state(state))
    assert again["v"] == DOC_VERSION == 2
    assert again["session"]["timers"] == {"pending": {"storm": 30.0},
                                          "limits": {"fetch": 1800.0},
                                          "cooldowns": {"daily": 86400.0},
                                          "gates": [[60.0, 60.0], [0.5, 0.5]]}


def test_an_unknown_document_version_is_refused() -> None:
    doc = orjson.loads(v1_document({}))
    doc["v"] = 99
    with pytest.raises(ValueError, match="version 99"):
        PlayerState.from_doc(doc)


def test_engine_timers_fire_in_a_fixed_order_at_the_same_moment() -> None:
    """Ties: engine timers before level timers; among engine timers cooldowns, then
    gates, then limits (version 1's string order), then by what they are about."""
    t = SessionTimers(pending={"a": 5.0}, limits={"b": 5.0, "a": 5.0},
                      cooldowns={"z": 5.0}, gates={7.0: 5.0})
    order = []
    while t:
        head = timers.earliest(t)
        assert head is not None
        what = head[2]
        order.append(what)
        if isinstance(what, InternalTimer):
            t.drop(what)
        else:
            t.pending.pop(what)
    assert order == [InternalTimer(InternalKind.COOLDOWN, "z"),
                     InternalTimer(InternalKind.GATE, "7.0"),
                     InternalTimer(InternalKind.LIMIT, "a"),
                     InternalTimer(InternalKind.LIMIT, "b"), "a"]


def test_a_gate_of_any_length_is_dropped_exactly() -> None:
    """The gate's seconds round-trip through the record (a formatted key did not:
    ``f"{1234567.25:g}"`` is ``1.23457e+06``)."""
    t = SessionTimers(gates={1234567.25: 1.0})
    head = timers.earliest(t)
    assert head is not None and isinstance(head[2], InternalTimer)
    t.drop(head[2])
    assert not t
