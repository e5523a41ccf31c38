"""Typos are errors (issue 10, Deliver 1): ``validate`` refuses a level with a near-miss key.

Each gameplay-changing typo of the issue makes ``quest-runtime validate`` exit 1 with an
error at the typo's line and column that names the key it should be; an unknown key that
is no near miss stays a warning (other tools keep keys there); a key written twice in one
JSON object is an error at the second key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quest_runtime.cli import main

TASK = '{"id": "t", "type": "near", "target": "mia"'


def _level(body: str) -> str:
    return '{\n  "id": "typo",\n' + body + "\n}\n"


# (case id, level text, the typo as written in the text, the key it should be)
CASES: list[tuple[str, str, str, str]] = [
    ("repeatable-cooldown", _level(
        f'  "tasks": [\n    {TASK},\n     "repeatable": {{"cooldown": 86400}}}}\n  ]'),
     '"cooldown"', "cooldown_seconds"),
    ("reward-amout", _level(
        f'  "tasks": [\n    {TASK},\n     "rewards": [{{"type": "xp", "amout": 40}}]}}\n  ]'),
     '"amout"', "amount"),
    ("option-require", _level(
        '  "rule_listeners": [{"id": "go", "type": "near", "targets": ["mia"],\n'
        '    "effects": [{"type": "start_dialogue", "dialogue": "d"}]}],\n'
        '  "dialogues": {"d": {"entry": "ask", "nodes": {\n'
        '    "ask": {"type": "choice", "text": "Help?", "options": [\n'
        '      {"id": "yes", "text": "Yes", "next": "end",\n'
        '       "require": {"type": "flag_set", "flag": "trusted"}}]},\n'
        '    "end": {"type": "end"}}}}'),
     '"require"', "requires"),
    ("listener-target", _level(
        '  "rule_listeners": [\n    {"id": "hello", "type": "near", "target": ["mia"],\n'
        '     "metadata": {"dialogue": "Hello!"}}\n  ]'),
     '"target"', "targets"),
    ("milestone-tagret", _level(
        f'  "tasks": [\n    {TASK},\n     "milestones": [{{"id": "m", "tagret": "mia"}}]}}\n  ]'),
     '"tagret"', "target"),
    ("listener-metadata", _level(
        '  "rule_listeners": [\n    {"id": "hello", "type": "near", "targets": ["mia"],\n'
        '     "metadata": {"comands": ["give {player} bread 1"]}}\n  ]'),
     '"comands"', "commands"),
    ("condition-field", _level(
        f'  "tasks": [\n    {TASK},\n'
        '     "requires": {"type": "var_at_least", "var": "v", "valeu": 3}}\n  ]'),
     '"valeu"', "value"),
    ("effect-field", _level(
        f'  "tasks": [\n    {TASK},\n'
        '     "on_complete": [{"type": "set_flag", "flg": "done"}]}\n  ]'),
     '"flg"', "flag"),
    ("timer", _level(
        '  "timers": {"storm": {"delay_second": 60,\n'
        '    "effects": [{"type": "say", "text": "Thunder."}]}},\n'
        f'  "tasks": [{TASK}}}]'),
     '"delay_second"', "delay_seconds"),
    ("summary", _level(
        f'  "tasks": [{TASK}}}],\n  "summary": {{"titel": "Done"}}'),
     '"titel"', "title"),
]


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[
        int, list[str], Path]:
    path = tmp_path / "typo.json"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    return code, capsys.readouterr().out.splitlines(), path


def _where(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    offset = -1
    for _ in range(nth):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize(("text", "typo", "right"),
                         [pytest.param(t, k, r, id=name) for name, t, k, r in CASES])
def test_a_near_miss_key_is_an_error_at_the_typo(
    text: str, typo: str, right: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, path = _validate(tmp_path, text, capsys)
    line, column = _where(text, typo)
    errors = [x for x in lines if ": error: " in x]
    quoted = "'" + typo.strip('"') + "'"
    assert code == 1, "\n".join(lines)
    assert any(x.startswith(f"{path}:{line}:{column}: error: unknown key {quoted}")
               and x.endswith(f"(did you mean '{right}'?)") for x in errors), "\n".join(lines)


def test_the_corrected_levels_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _, text, typo, right in CASES:
        fixed = text.replace(typo, f'"{right}"')
        code, lines, _ = _validate(tmp_path, fixed, capsys)
        assert code == 0, "\n".join(lines)


def test_a_key_no_engine_key_resembles_stays_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    text = _level(f'  "tasks": [\n    {TASK}, "memory_set": ["met_mia"]}}\n  ]')
    code, lines, path = _validate(tmp_path, text, capsys)
    line, column = _where(text, '"memory_set"')
    assert code == 0, "\n".join(lines)
    assert f"{path}:{line}:{column}: warning: unknown key 'memory_set' in task 't' " \
           "[/tasks/0/memory_set] (it is kept but has no effect)" in lines


@pytest.mark.parametrize("key", ["commands", "world_patch"])
def test_listener_outputs_at_the_top_get_a_hint_to_move_them_under_metadata(
    key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    value = '["say hi {player}"]' if key == "commands" else '{"mc": {"tell": "hi"}}'
    text = _level(f'  "rule_listeners": [\n    {{"id": "hello", "type": "near", '
                  f'"targets": ["mia"],\n     "{key}": {value}}}\n  ]')
    code, lines, path = _validate(tmp_path, text, capsys)
    line, column = _where(text, f'"{key}"')
    found = [x for x in lines if x.startswith(f"{path}:{line}:{column}: warning: unknown key")]
    assert code == 0, "\n".join(lines)
    assert len(found) == 1 and f"'{key}' belongs under 'metadata'" in found[0], "\n".join(lines)


def test_a_duplicate_key_is_an_error_at_the_second_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    text = _level(
        f'  "tasks": [\n    {TASK},\n'
        '     "on_complete": [{"type": "set_flag", "flag": "a"}],\n'
        '     "on_complete": [{"type": "set_flag", "flag": "b"}]}\n  ]')
    code, lines, path = _validate(tmp_path, text, capsys)
    line, column = _where(text, '"on_complete"', nth=2)
    assert code == 1, "\n".join(lines)
    assert any(x.startswith(f"{path}:{line}:{column}: error: the key 'on_complete' is "
                            "written twice") and "[/tasks/0/on_complete]" in x
               for x in lines), "\n".join(lines)


def test_a_duplicate_key_inside_an_object_the_engine_does_not_own_is_an_error_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    text = _level(f'  "tasks": [{TASK}}}],\n  "scene": {{"weather": "rain", "weather": "sun"}}')
    code, lines, path = _validate(tmp_path, text, capsys)
    line, column = _where(text, '"weather"', nth=2)
    assert code == 1, "\n".join(lines)
    assert any(x.startswith(f"{path}:{line}:{column}: error: the key 'weather'")
               for x in lines), "\n".join(lines)
