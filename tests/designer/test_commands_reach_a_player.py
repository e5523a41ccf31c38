"""Commands that reach a player (issue 10, Deliver 3).

The plugin runs every command of a result from the server console. A reward, listener or
effect command with no ``{player}`` (nor ``%player%``/``@player``) reaches no one in
particular, and a selector such as ``@p`` acts on whoever stands nearest: both are warnings
with the hint "use {player}"; the level still loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quest_runtime.cli import main


def _run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    path = tmp_path / "cmd.json"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    return code, capsys.readouterr().out.splitlines()


def _where(text: str, needle: str) -> tuple[int, int]:
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _task(extra: str) -> str:
    return ('{\n  "id": "cmd",\n  "tasks": [\n    {"id": "t", "type": "near", "target": "mia",\n'
            f"     {extra}}}\n  ]\n}}\n")


def _listener(extra: str) -> str:
    return ('{\n  "id": "cmd",\n  "rule_listeners": [\n    {"id": "hi", "type": "near", '
            f'"targets": ["mia"],\n     {extra}}}\n  ]\n}}\n')


# (case id, level text, the command as written, pointer, finding code)
CASES = [
    ("reward-selector", _task('"reward": {"commands": ["give @p bread 1"]}'),
     '"give @p bread 1"', "/tasks/0/reward/commands/0", "command_selector"),
    ("reward-no-player", _task('"reward": {"commands": ["give bread 1"]}'),
     '"give bread 1"', "/tasks/0/reward/commands/0", "command_no_player"),
    ("typed-command-reward", _task(
        '"rewards": [{"type": "command", "data": {"command": "effect give @a glowing"}}]'),
     '"effect give @a glowing"', "/tasks/0/rewards/0/data/command", "command_selector"),
    ("listener-selector", _listener('"metadata": {"commands": ["title @r title Hi"]}'),
     '"title @r title Hi"', "/rule_listeners/0/metadata/commands/0", "command_selector"),
    ("listener-no-player", _listener('"metadata": {"commands": ["time set day"]}'),
     '"time set day"', "/rule_listeners/0/metadata/commands/0", "command_no_player"),
    ("effect-selector", _listener(
        '"effects": [{"type": "command", "command": "tp @s 0 64 0"}]'),
     '"tp @s 0 64 0"', "/rule_listeners/0/effects/0/command", "command_selector"),
    ("nested-effect-no-player", _task(
        '"on_complete": [{"type": "if", "condition": {"type": "flag_set", "flag": "f"}, '
        '"then": [{"type": "command", "command": "weather clear"}]}]'),
     '"weather clear"', "/tasks/0/on_complete/0/then/0/command", "command_no_player"),
    ("selector-with-arguments", _listener(
        '"metadata": {"commands": ["kill @e[type=zombie,distance=..5]"]}'),
     '"kill @e[type=zombie,distance=..5]"', "/rule_listeners/0/metadata/commands/0",
     "command_selector"),
]


@pytest.mark.parametrize(("text", "command", "pointer", "code"),
                         [pytest.param(t, c, p, k, id=n) for n, t, c, p, k in CASES])
def test_a_command_that_reaches_no_player_is_a_warning_with_a_hint(
    text: str, command: str, pointer: str, code: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, lines = _run(tmp_path, text, capsys)
    line, column = _where(text, command)
    found = [x for x in lines if f":{line}:{column}: warning: " in x and f"[{pointer}]" in x]
    assert status == 0, "\n".join(lines)
    assert len(found) == 1, "\n".join(lines)
    assert "(use {player}" in found[0]
    if code == "command_selector":
        assert "selector" in found[0] and "nearest" in found[0]
    else:
        assert "names no player" in found[0]


@pytest.mark.parametrize("command", ["give {player} bread 1", "xp add %player% 5",
                                     "tell @player hello", "title {player} title @pretty"])
def test_a_command_naming_the_player_gets_no_warning(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    text = _listener(f'"metadata": {{"commands": ["{command}"]}}')
    status, lines = _run(tmp_path, text, capsys)
    assert status == 0
    assert lines == ["1/1 files loaded; 0 errors, 0 warnings"], "\n".join(lines)


def test_default_reward_templates_name_the_player(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    text = _task('"rewards": [{"type": "xp", "amount": 40}, '
                 '{"type": "item", "amount": 1, "data": {"id": "bread"}}]')
    status, lines = _run(tmp_path, text, capsys)
    assert status == 0
    assert lines == ["1/1 files loaded; 0 errors, 0 warnings"], "\n".join(lines)
