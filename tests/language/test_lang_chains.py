"""Chains and gates (SPEC §3.1, §3.2, §4.3, §4.6, §4.12.4): task ``requires``, ``after``
and ``on_complete``; listener ``requires``, ``once``, ``cooldown_seconds``, ``effects`` and
``blocked_text``, in the combinations the basic tests in ``tests/engine`` do not cover.
"""

from __future__ import annotations

from typing import Any

NEAR = {"event_type": "near", "payload": {"target": "well"}}


def qe(name: str) -> dict[str, Any]:
    return {"event_type": "quest_event", "payload": {"quest_event": name}}


def issued(result: dict[str, Any] | None) -> list[str]:
    return [n["task_id"] for n in (result or {}).get("nodes", []) if n["type"] == "task"]


def statuses(t: Any) -> dict[str, str]:
    return {k: v["status"] for k, v in t.state()["session"]["tasks"].items()}


def test_a_cascade_of_completions_issues_the_whole_chain_in_one_result(play: Any) -> None:
    level = {"id": "quest", "tasks": [
        {"id": "draw_water", "type": "near", "target": "well",
         "on_complete": [{"type": "complete_task", "task": "carry_water"}]},
        {"id": "carry_water", "type": "near", "target": "house", "after": ["draw_water"],
         "on_complete": [{"type": "set_flag", "flag": "water_home"}]},
        {"id": "boil_water", "type": "near", "target": "stove", "after": ["carry_water"],
         "requires": {"type": "flag_set", "flag": "water_home"}},
    ]}
    t = play(level, [{"load": "quest"}, NEAR])
    assert issued(t.results[0]) == ["draw_water"]
    assert t.last["completed_tasks"] == ["draw_water", "carry_water"]
    assert issued(t.last) == ["boil_water"]
    assert statuses(t) == {"draw_water": "completed", "carry_water": "completed",
                           "boil_water": "issued"}


def test_after_and_requires_must_both_hold_and_an_issued_task_stays_issued(
        play: Any) -> None:
    level = {"id": "quest",
             "tasks": [
                 {"id": "first", "type": "near", "target": "well"},
                 {"id": "second", "type": "near", "target": "gate", "after": ["first"],
                  "requires": {"type": "flag_set", "flag": "gate_key"}},
             ],
             "rule_listeners": [
                 {"id": "key", "type": "quest_event", "quest_event": "key",
                  "effects": [{"type": "set_flag", "flag": "gate_key"}]},
                 {"id": "lose", "type": "quest_event", "quest_event": "lose",
                  "effects": [{"type": "clear_flag", "flag": "gate_key"}]},
             ]}
    t = play(level, [{"load": "quest"}, qe("key"), NEAR, qe("lose"), qe("key")])
    assert issued(t.results[1]) == []          # requires holds, after does not
    assert issued(t.results[2]) == ["second"]  # both hold: issued with the completion
    assert statuses(t)["second"] == "issued"   # the flag went away: it stays issued
    assert issued(t.last) == []                # and is not issued twice


def test_a_dialogue_answer_can_open_a_task(play: Any) -> None:
    level = {"id": "quest",
             "tasks": [{"id": "fetch", "type": "near", "target": "well",
                        "requires": {"type": "flag_set", "flag": "agreed"}}],
             "rule_listeners": [{"id": "ask", "type": "quest_event", "quest_event": "ask",
                                 "effects": [{"type": "start_dialogue", "dialogue": "d"}]}],
             "dialogues": {"d": {"npc": "Ida", "entry": "q", "nodes": {
                 "q": {"type": "choice", "text": "Fetch water?", "options": [
                     {"id": "yes", "text": "Yes", "next": "end",
                      "effects": [{"type": "set_flag", "flag": "agreed"}]}]},
                 "end": {"type": "end"}}}}}
    t = play(level, [{"load": "quest"}, qe("ask"),
                     {"event_type": "chat", "payload": {"text": "1"}}])
    assert issued(t.results[0]) == []
    assert issued(t.last) == ["fetch"]
    assert t.last["active_tasks"]["tasks"][0]["status"] == "issued"


def test_a_dormant_gated_listener_stays_silent_even_with_blocked_text(play: Any) -> None:
    level = {"id": "quest", "rule_listeners": [
        {"id": "vault", "type": "near", "targets": ["well"], "rule_ref": "vault_open",
         "requires": {"type": "flag_set", "flag": "never"}, "blocked_text": "Locked."},
        {"id": "open", "type": "quest_event", "quest_event": "open",
         "effects": [{"type": "activate_rule", "ref": "vault_open"}]},
    ]}
    t = play(level, [{"load": "quest"}, NEAR, qe("open"), NEAR])
    assert t.results[1] is None  # dormant: silent
    assert [n["text"] for n in t.last["nodes"]] == ["Locked."]  # awake, blocked: the text


def test_a_blocked_attempt_does_not_start_the_cooldown(play: Any) -> None:
    level = {"id": "quest", "rule_listeners": [
        {"id": "drink", "type": "near", "targets": ["well"], "cooldown_seconds": 60,
         "requires": {"type": "flag_set", "flag": "thirsty"}, "blocked_text": "Not thirsty.",
         "effects": [{"type": "say", "text": "Gulp."}, {"type": "clear_flag",
                                                         "flag": "thirsty"}]},
        {"id": "run", "type": "quest_event", "quest_event": "run",
         "effects": [{"type": "set_flag", "flag": "thirsty"}]},
    ]}
    t = play(level, [{"load": "quest"}, NEAR, qe("run"), NEAR, qe("run"),
                     {"advance_seconds": 30}, NEAR, {"advance_seconds": 30}, NEAR])
    texts = [[n["text"] for n in (r or {}).get("nodes", [])] for r in t.results]
    assert texts[1] == ["Not thirsty."]  # blocked: no firing, no cooldown
    assert texts[3] == ["Gulp."]         # fires at once
    assert texts[6] == []                # cooling down: nothing shown, not even blocked_text
    assert texts[8] == ["Gulp."]         # 60 s after the firing


def test_listener_effects_run_in_order_and_once_counts_only_firings(play: Any) -> None:
    level = {"id": "quest", "rule_listeners": [
        {"id": "gift", "type": "near", "targets": ["well"], "once": True,
         "requires": {"type": "var_at_least", "var": "coins", "value": 2},
         "blocked_text": "Bring two coins.",
         "effects": [{"type": "lose_item", "item": "coin", "count": 2},
                     {"type": "modify_var", "var": "coins", "delta": -2},
                     {"type": "if", "condition": {"type": "missing_item", "item": "coin"},
                      "then": [{"type": "say", "text": "Your purse is empty."}]}]},
        {"id": "earn", "type": "quest_event", "quest_event": "earn",
         "effects": [{"type": "gain_item", "item": "coin"},
                     {"type": "modify_var", "var": "coins", "delta": 1}]},
    ]}
    t = play(level, [{"load": "quest"}, qe("earn"), NEAR, qe("earn"), NEAR, qe("earn"),
                     qe("earn"), NEAR])
    texts = [[n["text"] for n in (r or {}).get("nodes", [])] for r in t.results]
    assert texts[2] == ["Bring two coins."]
    assert texts[4] == ["Your purse is empty."]
    assert t.last is None  # once: it fired; the blocked attempt before did not count
    state = t.state()
    assert state["items"] == {"coin": 2} and state["vars"] == {"coins": 2}
