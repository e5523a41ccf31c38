"""Effects (SPEC §3.3, §4.12.3, §4.12.7): every registered type, with the player's state
(or the result) before and after, through the level language itself; the registry is
exactly the SPEC's list; unknown types and bad fields are findings.

Each case plays: load ``quest``; a ``prep`` quest event whose listener runs the case's
preparation effects; an ``act`` quest event whose listener runs the effect under test.
``probe(state, result)`` reads what the effect changes; it is read after ``prep`` (before)
and after ``act`` (after).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from quest_runtime import views
from quest_runtime.designer.scenario import ScenarioRunner, Step
from quest_runtime.effects import EFFECT_TYPES
from quest_runtime.levels.catalog import LevelCatalog

SPEC_EFFECTS = [
    "set_flag", "clear_flag", "gain_item", "lose_item", "modify_var", "set_var",
    "activate_rule", "deactivate_rule", "issue_task", "complete_task", "fail_task",
    "start_dialogue", "schedule_timer", "cancel_timer", "fire_timer", "say", "world_patch",
    "command", "end_level", "if",
]


def quest(effect: dict[str, Any], prep: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "quest",
        "tasks": [
            {"id": "errand", "type": "near", "target": "shop",
             "reward": {"commands": ["give {player} bread 1"]},
             "on_complete": [{"type": "set_flag", "flag": "errand_done"}],
             "on_fail": [{"type": "say", "text": "errand failed"}]},
            {"id": "chore", "type": "near", "target": "broom", "issue": "manual"},
        ],
        "rule_listeners": [
            {"id": "prep", "type": "quest_event", "quest_event": "prep", "effects": prep},
            {"id": "act", "type": "quest_event", "quest_event": "act", "effects": [effect]},
            {"id": "gift", "type": "quest_event", "quest_event": "act", "rule_ref": "gift",
             "effects": [{"type": "say", "text": "gift"}]},
        ],
        "timers": {"storm": {"delay_seconds": 600,
                             "effects": [{"type": "say", "text": "thunder"}]}},
        "dialogues": {"talk": {"npc": "Ann", "entry": "ask", "nodes": {
            "ask": {"type": "choice", "text": "Well?", "options": [
                {"id": "ok", "text": "OK", "next": "end"}]},
            "end": {"type": "end"}}}},
    }


NEXT = {"id": "next", "tasks": [{"id": "onward", "type": "near", "target": "road"}]}


def play_states(folder: Path, levels: list[dict[str, Any]],
                steps: list[dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    """(result, state view) after each step, for player Steve."""
    folder.mkdir(parents=True)
    for level in levels:
        (folder / f"{level['id']}.json").write_bytes(orjson.dumps(level))
    catalog = LevelCatalog(folder)
    catalog.load_all()
    assert all(s.ok for s in catalog.files.values()), [
        f.format() for s in catalog.files.values() for f in s.findings]
    runner = ScenarioRunner(catalog)

    async def go() -> list[tuple[Any, dict[str, Any]]]:
        await runner.runtime.open()
        try:
            out = []
            for n, data in enumerate(steps, start=1):
                outcome = await runner.run_step(Step(n, n, {"player": "Steve", **data}))
                view = await views.state_view(runner.runtime, "Steve")
                assert view is not None
                # a snapshot: the view shares dicts with the live state
                out.append((outcome.output.get("result"), orjson.loads(orjson.dumps(view))))
            return out
        finally:
            await runner.runtime.close()

    return asyncio.run(go())


Probe = Callable[[dict[str, Any], Any], Any]


def flags(s: dict[str, Any], r: Any) -> list[str]:
    return list(s["flags"])


def item(name: str) -> Probe:
    return lambda s, r: s["items"].get(name, 0)


def var(name: str) -> Probe:
    return lambda s, r: s["vars"].get(name)


def refs(s: dict[str, Any], r: Any) -> list[str]:
    return list(s["session"]["refs"])


def status(task: str) -> Probe:
    return lambda s, r: s["session"]["tasks"][task]["status"]


def node_texts(s: dict[str, Any], r: Any) -> list[str]:
    return [n.get("text") for n in (r or {}).get("nodes", [])]


def pending_timers(s: dict[str, Any], r: Any) -> list[str]:
    return sorted(((s["session"] or {}).get("timers") or {}).get("pending", {}))


def fired_timers(s: dict[str, Any], r: Any) -> list[str]:
    return sorted(((s["session"] or {}).get("timers") or {}).get("fired", []))


def dialogue_stack(s: dict[str, Any], r: Any) -> Any:
    d = s["session"].get("dialogue")
    return d["stack"] if d else None


def level_of_session(s: dict[str, Any], r: Any) -> Any:
    return s["session"]["level_id"] if s["session"] else None


def case(effect: dict[str, Any], probe: Probe, before: Any, after: Any, *,
         prep: tuple[dict[str, Any], ...] = (), name: str = "") -> Any:
    label = effect["type"] + (f"-{name}" if name else "")
    return pytest.param(effect, list(prep), probe, before, after, id=label)


CASES = [
    case({"type": "set_flag", "flag": "f"}, flags, [], ["f"]),
    case({"type": "clear_flag", "flag": "f"}, flags, ["f"], [],
         prep=({"type": "set_flag", "flag": "f"},)),
    case({"type": "gain_item", "item": "gem", "count": 2}, item("gem"), 0, 2),
    case({"type": "gain_item", "item": "gem"}, item("gem"), 1, 2,
         prep=({"type": "gain_item", "item": "gem"},), name="count-defaults-to-1"),
    case({"type": "lose_item", "item": "gem", "count": 2}, item("gem"), 3, 1,
         prep=({"type": "gain_item", "item": "gem", "count": 3},)),
    case({"type": "lose_item", "item": "gem", "count": 2}, item("gem"), 1, 0,
         prep=({"type": "gain_item", "item": "gem"},), name="stops-at-0"),
    case({"type": "modify_var", "var": "v", "delta": 2.5}, var("v"), 1, 3.5,
         prep=({"type": "set_var", "var": "v", "value": 1},)),
    case({"type": "modify_var", "var": "v", "delta": -2}, var("v"), None, -2,
         name="unset-starts-at-0"),
    case({"type": "set_var", "var": "v", "value": 7}, var("v"), 3, 7,
         prep=({"type": "set_var", "var": "v", "value": 3},)),
    case({"type": "activate_rule", "ref": "gift"}, refs, [], ["gift"]),
    case({"type": "deactivate_rule", "ref": "gift"}, refs, ["gift"], [],
         prep=({"type": "activate_rule", "ref": "gift"},)),
    case({"type": "issue_task", "task": "chore"}, status("chore"), "pending", "issued"),
    case({"type": "issue_task", "task": "errand"}, status("errand"), "failed", "issued",
         prep=({"type": "fail_task", "task": "errand"},), name="re-issues-a-failed-task"),
    case({"type": "complete_task", "task": "errand"}, status("errand"), "issued", "completed"),
    case({"type": "complete_task", "task": "chore"}, status("chore"), "pending", "completed",
         name="also-a-pending-task"),
    case({"type": "fail_task", "task": "errand"}, status("errand"), "issued", "failed"),
    case({"type": "start_dialogue", "dialogue": "talk"}, dialogue_stack, None,
         [{"program": "talk", "node": "ask"}]),
    case({"type": "schedule_timer", "timer": "storm"}, pending_timers, [], ["storm"]),
    case({"type": "cancel_timer", "timer": "storm"}, pending_timers, ["storm"], [],
         prep=({"type": "schedule_timer", "timer": "storm"},)),
    case({"type": "fire_timer", "timer": "storm"}, fired_timers, [], ["storm"]),
    case({"type": "say", "text": "hi"}, node_texts, [], ["hi"]),
    case({"type": "world_patch", "patch": {"mc": {"tell": "x"}}},
         lambda s, r: (r or {}).get("world_patch"), {}, {"mc": {"tell": "x"}}),
    case({"type": "command", "command": "give {player} apple 1"},
         lambda s, r: (r or {}).get("commands"), [], ["give Steve apple 1"]),
    case({"type": "end_level"}, level_of_session, "quest", None),
    case({"type": "end_level", "next_level": "next"}, level_of_session, "quest", "next",
         name="to-the-next-level"),
    case({"type": "if", "condition": {"type": "flag_set", "flag": "f"},
          "then": [{"type": "say", "text": "yes"}], "else": [{"type": "say", "text": "no"}]},
         node_texts, [], ["yes"], prep=({"type": "set_flag", "flag": "f"},), name="then"),
    case({"type": "if", "condition": {"type": "flag_set", "flag": "f"},
          "then": [{"type": "say", "text": "yes"}], "else": {"type": "say", "text": "no"}},
         node_texts, [], ["no"], name="else-single-object"),
    case({"type": "if", "condition": {"type": "flag_set", "flag": "f"},
          "then": [{"type": "say", "text": "yes"}]},
         node_texts, [], [], name="no-else"),
]


@pytest.mark.parametrize(("effect", "prep", "probe", "before", "after"), CASES)
def test_effect(tmp_path: Path, effect: dict[str, Any], prep: list[dict[str, Any]],
                probe: Probe, before: Any, after: Any) -> None:
    steps: list[dict[str, Any]] = [
        {"load": "quest"},
        {"event_type": "quest_event", "payload": {"quest_event": "prep"}},
        {"event_type": "quest_event", "payload": {"quest_event": "act"}}]
    played = play_states(tmp_path / "levels", [quest(effect, prep), NEXT], steps)
    (prep_result, prep_state), (act_result, act_state) = played[1], played[2]
    assert probe(prep_state, None if probe is node_texts else prep_result) == before
    assert probe(act_state, act_result) == after


def test_every_registered_effect_type_has_a_case() -> None:
    assert {p.values[0]["type"] for p in CASES} == set(EFFECT_TYPES)


def test_the_registry_is_exactly_the_spec_list() -> None:
    assert sorted(EFFECT_TYPES) == sorted(SPEC_EFFECTS)
    for name, kind in EFFECT_TYPES.items():
        assert kind.summary, f"{name} has no summary"


def test_outputs_of_effects_that_act_on_the_engine(tmp_path: Path) -> None:
    """complete_task pays rewards and runs on_complete; fail_task runs on_fail; an
    activated ref wakes a gated listener of the same event; start_dialogue shows the
    choice; end_level with next_level merges the next level's load result."""
    def act(effect: dict[str, Any], name: str) -> Any:
        played = play_states(tmp_path / name, [quest(effect, []), NEXT],
                             [{"load": "quest"},
                              {"event_type": "quest_event", "payload": {"quest_event": "act"}}])
        return played[-1]

    result, state = act({"type": "complete_task", "task": "errand"}, "complete")
    assert result["completed_tasks"] == ["errand"]
    assert result["commands"] == ["give Steve bread 1"]
    assert "errand_done" in state["flags"]
    result, _ = act({"type": "fail_task", "task": "errand"}, "fail")
    assert [n["type"] for n in result["nodes"]] == ["task_failed", "npc_dialogue"]
    assert result["nodes"][1]["text"] == "errand failed"
    result, _ = act({"type": "activate_rule", "ref": "gift"}, "activate")
    assert [n["text"] for n in result["nodes"]] == ["gift"]
    result, _ = act({"type": "start_dialogue", "dialogue": "talk"}, "dialogue")
    assert [n["type"] for n in result["nodes"]] == ["story_choice"]
    result, state = act({"type": "end_level", "next_level": "next"}, "next")
    assert [n.get("task_id") for n in result["nodes"]] == ["onward"]
    assert result["active_tasks"]["level_id"] == "next"


# -- findings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effect", "severity", "code", "pointer", "hint"),
    [
        pytest.param({"type": "set_flagg", "flag": "f"}, "error", "unknown_type",
                     "/rule_listeners/0/effects/0/type", "did you mean 'set_flag'?",
                     id="unknown-type"),
        pytest.param({"flag": "f"}, "error", "missing_field", "/rule_listeners/0/effects/0",
                     None, id="no-type"),
        pytest.param({"type": "modify_var", "var": "v"}, "error", "missing_field",
                     "/rule_listeners/0/effects/0", None, id="missing-field"),
        pytest.param({"type": "modify_var", "var": "v", "delta": "1"}, "error", "bad_type",
                     "/rule_listeners/0/effects/0/delta", None, id="mistyped-field"),
        pytest.param({"type": "gain_item", "item": "gem", "count": 1.5}, "error", "bad_type",
                     "/rule_listeners/0/effects/0/count", None, id="count-is-an-integer"),
        pytest.param({"type": "say", "text": "x", "titel": "y"}, "error", "unknown_key",
                     "/rule_listeners/0/effects/0/titel", "did you mean 'title'?",
                     id="unknown-field"),
        pytest.param({"type": "if", "condition": {"type": "flag_set", "flag": "f"},
                      "then": [{"type": "sya", "text": "x"}]}, "error", "unknown_type",
                     "/rule_listeners/0/effects/0/then/0/type", "did you mean 'say'?",
                     id="inside-a-branch"),
        pytest.param({"type": "if", "condition": {"type": "flag_sett", "flag": "f"},
                      "then": []}, "error", "unknown_type",
                     "/rule_listeners/0/effects/0/condition/type", "did you mean 'flag_set'?",
                     id="in-the-condition"),
        pytest.param({"type": "complete_task", "task": "errnad"}, "error", "unknown_task",
                     "/rule_listeners/0/effects/0/task", "did you mean 'errand'?",
                     id="unknown-task"),
        pytest.param({"type": "schedule_timer", "timer": "strom"}, "error", "unknown_timer",
                     "/rule_listeners/0/effects/0/timer", "did you mean 'storm'?",
                     id="unknown-timer"),
    ],
)
def test_a_bad_effect_is_a_finding(compile_level: Any, effect: Any, severity: str, code: str,
                                   pointer: str, hint: str | None) -> None:
    loaded = compile_level({
        "id": "quest", "tasks": [{"id": "errand", "type": "near", "target": "shop"}],
        "timers": {"storm": {"delay_seconds": 5, "effects": [{"type": "say", "text": "x"}]}},
        "rule_listeners": [{"id": "l", "type": "near", "targets": ["x"],
                            "effects": [effect]}]})
    found = [f for f in loaded.findings if f.code == code and f.pointer == pointer]
    assert found, [f.format() for f in loaded.findings]
    assert found[0].severity == severity
    if hint is not None:
        assert found[0].hint == hint
    assert (loaded.level is None) is (severity == "error")
