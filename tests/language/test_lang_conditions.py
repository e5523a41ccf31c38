"""Conditions (SPEC §3.3, §4.12.6): every registered type, held and not held, through the
level language itself; the registry is exactly the SPEC's list; evaluation fails closed;
unknown types and bad fields are findings.

Each case plays a small level: ``setup`` effects run on a ``setup`` quest event (or the
case's own steps run), then a ``probe`` listener whose ``requires`` is the condition
under test says "holds" when it fires. The probe event carries a location unless the
case takes it away.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from quest_runtime.conditions import CONDITION_TYPES, Condition, EvalContext
from quest_runtime.engine.state import PlayerState

#: SPEC §3.3, in its order.
SPEC_CONDITIONS = [
    "flag_set", "flag_not_set", "has_item", "missing_item", "var_at_least", "var_at_most",
    "var_equals", "task_completed", "task_active", "milestone_completed", "level_completed",
    "at_location", "timer_fired", "timer_pending", "elapsed_at_least", "all_of", "any_of",
    "none_of", "not",
]

HERE = {"world": "world", "x": 3.0, "y": 64.0, "z": 4.0}  # 5 blocks from (0, 64, 0)
BED = {"event_type": "near", "payload": {"target": "bed"}}
SETUP = {"event_type": "quest_event", "payload": {"quest_event": "setup"}}


def probe_event(location: Any = HERE) -> dict[str, Any]:
    payload: dict[str, Any] = {"quest_event": "probe"}
    if location is not None:
        payload["location"] = location
    return {"event_type": "quest_event", "payload": payload}


def quest(cond: dict[str, Any], setup: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "quest",
        "tasks": [
            {"id": "wake", "type": "near", "target": "bed", "count": 2,
             "milestones": [{"id": "eyes_open", "target": "bed"}]},
            {"id": "walk", "type": "near", "target": "door", "after": ["wake"]},
        ],
        "timers": {"storm": {"delay_seconds": 600,
                             "effects": [{"type": "say", "text": "thunder"}]}},
        "rule_listeners": [
            {"id": "setup", "type": "quest_event", "quest_event": "setup", "effects": setup},
            {"id": "probe", "type": "quest_event", "quest_event": "probe", "requires": cond,
             "effects": [{"type": "say", "text": "holds"}]},
        ],
    }


INTRO = {"id": "intro", "tasks": [{"id": "ring", "type": "near", "target": "bell"}]}


def case(cond: dict[str, Any], holds: bool, *, setup: tuple[dict[str, Any], ...] = (),
         steps: tuple[dict[str, Any], ...] = (), before_load: tuple[dict[str, Any], ...] = (),
         location: Any = HERE, name: str) -> Any:
    return pytest.param(cond, holds, list(setup), list(steps), list(before_load), location,
                        id=f"{cond['type']}-{'holds' if holds else 'fails'}-{name}")


def flag(name: str) -> dict[str, Any]:
    return {"type": "flag_set", "flag": name}


def set_flag(name: str) -> dict[str, Any]:
    return {"type": "set_flag", "flag": name}


AT = {"type": "at_location", "world": "world", "x": 0, "y": 64, "z": 0, "radius": 5}

CASES = [
    case(flag("f"), True, setup=(set_flag("f"),), name="set"),
    case(flag("f"), False, name="never-set"),
    case(flag("f"), False, setup=(set_flag("f"), {"type": "clear_flag", "flag": "f"}),
         name="cleared"),
    case({"type": "flag_not_set", "flag": "f"}, True, name="never-set"),
    case({"type": "flag_not_set", "flag": "f"}, False, setup=(set_flag("f"),), name="set"),
    case({"type": "has_item", "item": "gem", "count": 2}, True,
         setup=({"type": "gain_item", "item": "gem", "count": 2},), name="enough"),
    case({"type": "has_item", "item": "gem", "count": 2}, False,
         setup=({"type": "gain_item", "item": "gem"},), name="too-few"),
    case({"type": "has_item", "item": "gem"}, True,
         setup=({"type": "gain_item", "item": "gem"},), name="count-defaults-to-1"),
    case({"type": "missing_item", "item": "gem"}, True, name="never-had"),
    case({"type": "missing_item", "item": "gem"}, True,
         setup=({"type": "gain_item", "item": "gem"}, {"type": "lose_item", "item": "gem"}),
         name="lost-it"),
    case({"type": "missing_item", "item": "gem"}, False,
         setup=({"type": "gain_item", "item": "gem"},), name="has-one"),
    case({"type": "var_at_least", "var": "courage", "value": 3}, True,
         setup=({"type": "set_var", "var": "courage", "value": 3},), name="equal"),
    case({"type": "var_at_least", "var": "courage", "value": 3}, False,
         setup=({"type": "set_var", "var": "courage", "value": 2.5},), name="below"),
    case({"type": "var_at_most", "var": "courage", "value": 3}, True,
         name="unset-reads-0"),
    case({"type": "var_at_most", "var": "courage", "value": 3}, False,
         setup=({"type": "modify_var", "var": "courage", "delta": 4},), name="above"),
    case({"type": "var_equals", "var": "courage", "value": 2}, True,
         setup=({"type": "modify_var", "var": "courage", "delta": 1},
                {"type": "modify_var", "var": "courage", "delta": 1}), name="added-up"),
    case({"type": "var_equals", "var": "courage", "value": 0}, True, name="unset-reads-0"),
    case({"type": "var_equals", "var": "courage", "value": 2}, False,
         setup=({"type": "set_var", "var": "courage", "value": 1},), name="other-value"),
    case({"type": "task_completed", "task": "wake"}, True, steps=(BED, BED), name="done"),
    case({"type": "task_completed", "task": "wake"}, False, steps=(BED,), name="half-way"),
    case({"type": "task_active", "task": "wake"}, True, name="issued-on-load"),
    case({"type": "task_active", "task": "wake"}, False, steps=(BED, BED), name="completed"),
    case({"type": "task_active", "task": "walk"}, False, name="pending"),
    case({"type": "milestone_completed", "milestone": "eyes_open"}, True, steps=(BED,),
         name="reached"),
    case({"type": "milestone_completed", "milestone": "eyes_open"}, False, name="not-yet"),
    case({"type": "level_completed", "level": "intro"}, True,
         before_load=({"load": "intro"}, {"event_type": "near", "payload": {"target": "bell"}}),
         name="in-an-earlier-session"),
    case({"type": "level_completed", "level": "intro"}, False,
         before_load=({"load": "intro"},), name="played-not-finished"),
    case(AT, True, name="on-the-radius"),
    case(AT, False, location={**HERE, "z": 4.1}, name="just-outside"),
    case(AT, False, location={**HERE, "world": "world_nether"}, name="other-world"),
    case(AT, False, location=None, name="no-location-is-unknown"),
    case({k: v for k, v in AT.items() if k != "world"}, True,
         location={**HERE, "world": "anywhere"}, name="any-world-without-world"),
    case({"type": "timer_fired", "timer": "storm"}, True,
         setup=({"type": "fire_timer", "timer": "storm"},), name="fired-now"),
    case({"type": "timer_fired", "timer": "storm"}, True,
         setup=({"type": "schedule_timer", "timer": "storm", "delay_seconds": 10},),
         steps=({"advance_seconds": 10},), name="fired-when-due"),
    case({"type": "timer_fired", "timer": "storm"}, False,
         setup=({"type": "schedule_timer", "timer": "storm"},), name="only-scheduled"),
    case({"type": "timer_pending", "timer": "storm"}, True,
         setup=({"type": "schedule_timer", "timer": "storm"},), name="scheduled"),
    case({"type": "timer_pending", "timer": "storm"}, False,
         setup=({"type": "schedule_timer", "timer": "storm"},
                {"type": "cancel_timer", "timer": "storm"}), name="cancelled"),
    case({"type": "timer_pending", "timer": "storm"}, False, name="never-scheduled"),
    case({"type": "elapsed_at_least", "seconds": 60}, True, steps=({"advance_seconds": 60},),
         name="exactly"),
    case({"type": "elapsed_at_least", "seconds": 60}, False, steps=({"advance_seconds": 59},),
         name="one-second-short"),
    case({"type": "all_of", "conditions": [flag("f"), flag("g")]}, True,
         setup=(set_flag("f"), set_flag("g")), name="both"),
    case({"type": "all_of", "conditions": [flag("f"), flag("g")]}, False,
         setup=(set_flag("f"),), name="one"),
    case({"type": "all_of", "conditions": [flag("f"), AT]}, False, setup=(set_flag("f"),),
         location=None, name="one-unknown"),
    case({"type": "any_of", "conditions": [flag("f"), flag("g")]}, True,
         setup=(set_flag("g"),), name="one"),
    case({"type": "any_of", "conditions": [flag("f"), flag("g")]}, False, name="none"),
    case({"type": "any_of", "conditions": [flag("f"), AT]}, True, setup=(set_flag("f"),),
         location=None, name="one-true-beats-unknown"),
    case({"type": "none_of", "conditions": [flag("f"), flag("g")]}, True, name="none"),
    case({"type": "none_of", "conditions": [flag("f"), flag("g")]}, False,
         setup=(set_flag("g"),), name="one"),
    case({"type": "none_of", "conditions": [flag("f"), AT]}, False, location=None,
         name="unknown-stays-unknown"),
    case({"type": "not", "condition": flag("f")}, True, name="not-set"),
    case({"type": "not", "condition": flag("f")}, False, setup=(set_flag("f"),), name="set"),
    case({"type": "not", "condition": AT}, False, location=None,
         name="unknown-stays-unknown"),
    case({"type": "not", "condition": {"type": "not", "condition": AT}}, False,
         location=None, name="twice-unknown-stays-unknown"),
]


@pytest.mark.parametrize(("cond", "holds", "setup", "steps", "before_load", "location"),
                         CASES)
def test_condition(play: Any, cond: dict[str, Any], holds: bool,
                   setup: list[dict[str, Any]], steps: list[dict[str, Any]],
                   before_load: list[dict[str, Any]], location: Any) -> None:
    t = play([quest(cond, setup), INTRO],
             [*before_load, {"load": "quest"}, SETUP, *steps, probe_event(location)])
    # every line said (one npc_dialogue node holds all the lines of a result)
    said = [line for n in (t.last or {}).get("nodes", []) for line in n["text"].splitlines()]
    assert ("holds" in said) is holds, (said, t.state())


def test_every_registered_condition_type_has_a_holding_and_a_failing_case() -> None:
    covered = {(p.values[0]["type"], p.values[1]) for p in CASES}
    for name in CONDITION_TYPES:
        assert (name, True) in covered, name
        assert (name, False) in covered, name


def test_the_registry_is_exactly_the_spec_list() -> None:
    assert sorted(CONDITION_TYPES) == sorted(SPEC_CONDITIONS)
    for name, kind in CONDITION_TYPES.items():
        assert kind.summary, f"{name} has no summary"


def test_session_conditions_are_false_outside_a_session() -> None:
    """A level's own ``requires`` runs before its session exists."""
    state = PlayerState("Steve", flags={"f"})
    ctx = EvalContext(state, None, None, {}, 0.0)
    for name in ("task_completed", "task_active", "milestone_completed", "timer_fired",
                 "timer_pending", "elapsed_at_least"):
        kind = CONDITION_TYPES[name]
        args = {field: ("x" if str in types else 1) for field, types in kind.fields.items()}
        cond = Condition(name, args, (), kind.check, "/requires")
        assert cond.holds(ctx) is False, name


def test_a_check_that_raises_fails_closed_and_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(c: Condition, ctx: EvalContext) -> bool:
        raise KeyError("boom")

    cond = Condition("flag_set", {"flag": "f"}, (), broken, "/tasks/0/requires", "levels/q.json")
    negated = Condition("not", {}, (cond,), CONDITION_TYPES["not"].check, "/x")
    ctx = EvalContext(PlayerState("Steve"), None, None, {}, 0.0)
    with caplog.at_level(logging.ERROR):
        assert cond.evaluate(ctx) is None
        assert cond.holds(ctx) is False
        assert negated.holds(ctx) is False  # unknown stays unknown through `not`
    [record, *_] = [r for r in caplog.records if "failed to evaluate" in r.getMessage()]
    assert record.__dict__["pointer"] == "/tasks/0/requires"
    assert record.__dict__["level_file"] == "levels/q.json"


# -- findings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cond", "severity", "code", "pointer", "hint"),
    [
        pytest.param({"type": "flag_sett", "flag": "f"}, "error", "unknown_type",
                     "/requires/type", "did you mean 'flag_set'?", id="unknown-type"),
        pytest.param({"flag": "f"}, "error", "missing_field", "/requires", None,
                     id="no-type"),
        pytest.param({"type": "has_item"}, "error", "missing_field", "/requires", None,
                     id="missing-field"),
        pytest.param({"type": "has_item", "item": "gem", "count": "two"}, "error",
                     "bad_type", "/requires/count", None, id="mistyped-field"),
        pytest.param({"type": "has_item", "item": "gem", "count": True}, "error",
                     "bad_type", "/requires/count", None, id="bool-is-not-a-number"),
        pytest.param({"type": "var_at_least", "var": "v", "valeu": 3, "value": 3}, "error",
                     "unknown_key", "/requires/valeu", "did you mean 'value'?",
                     id="unknown-field"),
        pytest.param({"type": "all_of", "conditions": []}, "error", "missing_field",
                     "/requires/conditions", None, id="empty-combinator"),
        pytest.param({"type": "not", "condition": {"type": "flag_sett", "flag": "f"}},
                     "error", "unknown_type", "/requires/condition/type",
                     "did you mean 'flag_set'?", id="nested"),
        pytest.param("flag_set", "error", "bad_value", "/requires", None, id="not-an-object"),
    ],
)
def test_a_bad_condition_is_a_finding(compile_level: Any, cond: Any, severity: str, code: str,
                                      pointer: str, hint: str | None) -> None:
    loaded = compile_level({"id": "quest", "requires": cond})
    found = [f for f in loaded.findings if f.code == code and f.pointer == pointer]
    assert found, [f.format() for f in loaded.findings]
    assert found[0].severity == severity
    if hint is not None:
        assert found[0].hint == hint
    assert (loaded.level is None) is (severity == "error")
