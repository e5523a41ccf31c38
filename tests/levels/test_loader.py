"""Loading level files: findings with file:line:col, JSON pointer and a hint (SPEC §3, §7).

Each case is a small level text with one mistake in it. The expected position is
where a marker string first occurs in that text, so every line:col can be checked by
eye and stays right when a case is edited.
"""

from __future__ import annotations

from typing import Any

import pytest

from quest_runtime.levels.findings import Severity

FILE = "levels/forest.json"


def position_of(text: str, marker: str) -> tuple[int, int]:
    """1-based (line, column) of the first occurrence of ``marker``."""
    offset = text.index(marker)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


CASES = [
    pytest.param(
        """{
  "tasks": [
    {"id": "fetch_wood", "type": "interact_block", "target": "oak_log",
     "conditons": [{"quest_event": "x"}]}
  ]
}""",
        '"conditons"', "error", "unknown_key", "/tasks/0/conditons",
        "unknown key 'conditons' in task 'fetch_wood'", "did you mean 'conditions'?",
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        """{
  "tasks": [
    {"id": "fetch_wood", "type": "near", "target": "tomas",
     "milestones": [{"id": "m", "tagret": "tomas"}]}
  ]
}""",
        '"tagret"', "error", "unknown_key", "/tasks/0/milestones/0/tagret",
        "unknown key 'tagret' in milestone", "did you mean 'target'?",
        id="unknown-milestone-key-did-you-mean",
    ),
    pytest.param(
        """{
  "tasks": [
    {"id": "build", "type": "chat", "target": "hammer",
     "count": "three"}
  ]
}""",
        '"three"', "error", "bad_value", "/tasks/0/count",
        "'count' must be an integer, not a string", None,
        id="wrong-type",
    ),
    pytest.param(
        """{
  "tasks": [
    {"id": "gift", "type": "near", "target": "mia",
     "requires": {"type": "flag_sett", "flag": "met_mia"}}
  ]
}""",
        '"flag_sett"', "error", "unknown_type", "/tasks/0/requires/type",
        "unknown condition type 'flag_sett'", "did you mean 'flag_set'?",
        id="unknown-condition-type",
    ),
    pytest.param(
        """{
  "tasks": [{"id": "gift", "type": "near", "target": "mia"}],
  "rule_listeners": [
    {"id": "hello", "targets": ["mia"],
     "effects": [{"type": "set_flag", "flag": "a"}, {"type": "activate_rul", "ref": "r"}]}
  ]
}""",
        '"activate_rul"', "error", "unknown_type", "/rule_listeners/0/effects/1/type",
        "unknown effect type 'activate_rul'", "did you mean 'activate_rule'?",
        id="unknown-effect-type",
    ),
    pytest.param(
        """{
  "tasks": [
    {"id": "fetch_wood", "type": "interact_block", "target": "oak_log"},
    {"id": "build", "type": "chat", "target": "hammer", "after": ["fetch_wod"]}
  ]
}""",
        '"fetch_wod"', "error", "unknown_task", "/tasks/1/after/0",
        "task 'build' comes after unknown task 'fetch_wod'", "did you mean 'fetch_wood'?",
        id="after-names-an-unknown-task",
    ),
    pytest.param(
        """{
  "tasks": [
    {"id": "fetch_wood", "type": "interact_block", "target": "oak_log"},
    {"id": "fetch_wood", "type": "near", "target": "tomas"}
  ]
}""",
        '"fetch_wood", "type": "near"', "error", "duplicate_id", "/tasks/1/id",
        "duplicate task id 'fetch_wood' (also task 1)", None,
        id="duplicate-task-id",
    ),
    pytest.param(
        """{
  "tasks": [
    {"id": "fetch_wood", "type": "near",}
  ]
}""",
        ",}", "error", "invalid_json", "",
        "invalid JSON: a ',' after the last object member",
        "a trailing comma is not allowed in JSON; remove it",
        id="invalid-json",
    ),
    pytest.param(
        """{
  "format": 99,
  "tasks": []
}""",
        "99", "error", "bad_format", "/format",
        "level format 99 is newer than this quest-runtime understands", None,
        id="newer-format-refused",
    ),
]


@pytest.mark.parametrize(("text", "marker", "severity", "code", "pointer", "message", "hint"),
                         CASES)
def test_a_finding_says_where_what_and_how_to_fix(
        compile_level: Any, text: str, marker: str, severity: str, code: str, pointer: str,
        message: str, hint: str | None) -> None:
    result = compile_level(text, name=FILE)
    [finding] = [f for f in result.findings if f.code == code]
    assert (finding.file, finding.severity.value, finding.pointer) == (FILE, severity, pointer)
    assert (finding.line, finding.column) == position_of(text, marker)
    assert finding.message.startswith(message)
    if hint is not None:
        assert finding.hint == hint
    text_form = finding.format()
    assert text_form.startswith(f"{FILE}:{finding.line}:{finding.column}: {severity}: ")
    assert f"[{pointer or '/'}]" in text_form
    assert result.ok is (severity == "warning")


def test_an_unknown_key_is_an_error_under_strict(compile_level: Any) -> None:
    text = '{"tasks": [{"id": "a", "type": "near", "target": "x", "conditons": []}]}'
    result = compile_level(text, strict=True)
    assert [(f.code, f.severity) for f in result.findings] == [("unknown_key", Severity.ERROR)]
    assert not result.ok


def test_foreign_top_level_keys_are_kept_and_not_reported(compile_level: Any) -> None:
    level = {"id": "forest", "narrative": {"text": ["Birds."]}, "scene": {"npcs": []},
             "exit": {"aliases": ["bye"]}, "mood": "calm", "tree": [1, 2],
             "bootstrap_patch": {"mc": {}}, "meta": {"author": "someone"},
             "emotional_world_patch": {"weather": "rain"},
             "tasks": [{"id": "a", "type": "near", "target": "tomas"}]}
    result = compile_level(level)
    assert result.findings == ()
    assert result.ok
    assert dict(result.level.foreign) == {k: level[k] for k in (
        "narrative", "scene", "mood", "tree", "bootstrap_patch", "meta",
        "emotional_world_patch")}
    assert result.level.exit.aliases == ("bye",)  # exit is the engine's since issue 8


def test_a_top_level_typo_of_an_engine_key_is_an_error(compile_level: Any) -> None:
    """The top level is open for other systems, but ``rule_listner`` would drop every
    listener of the level: a near miss of a key the engine reads is an error."""
    text = ('{"id": "lake", "tasks": [{"id": "a", "type": "near", "target": "x"}],\n'
            ' "rule_listner": [{"id": "hi", "type": "near", "targets": ["x"]}]}')
    result = compile_level(text)
    [finding] = result.findings
    assert (finding.code, finding.severity, finding.pointer) == (
        "unknown_key", Severity.ERROR, "/rule_listner")
    assert (finding.line, finding.column) == position_of(text, '"rule_listner"')
    assert finding.hint == "did you mean 'rule_listeners'?"
    assert not result.ok


def test_a_level_with_an_error_is_not_compiled(compile_level: Any) -> None:
    result = compile_level({"tasks": [{"id": "a", "type": "near", "target": "x",
                                       "after": ["nope"]}]})
    assert result.level is None
    assert [f.code for f in result.findings] == ["unknown_task"]


def test_the_level_id_defaults_to_the_file_name(compile_level: Any) -> None:
    result = compile_level({"tasks": []}, level_id="forest")
    assert result.level is not None and result.level.id == "forest"
    assert compile_level({"id": "woods"}, level_id="forest").level.id == "woods"
