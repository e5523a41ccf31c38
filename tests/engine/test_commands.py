"""Console commands (SPEC §4.9): placeholders, player names, selectors, player text."""

from __future__ import annotations

from typing import Any

import pytest

from quest_runtime.engine.commands import substitute


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("give {player} bread 1", "give Steve bread 1", id="braces"),
        pytest.param("eco give %player% 10", "eco give Steve 10", id="percent"),
        pytest.param("tp @player 0 64 0", "tp Steve 0 64 0", id="at-player"),
        pytest.param("msg {player} hi %player% @player", "msg Steve hi Steve Steve",
                     id="all-three"),
        pytest.param("effect give @p glowing 5", "effect give @p glowing 5", id="at-p-passes"),
        pytest.param("kill @e[type=zombie,distance=..10]", "kill @e[type=zombie,distance=..10]",
                     id="other-selectors-pass"),
        pytest.param("say @players", "say @players", id="longer-word-is-not-a-placeholder"),
        pytest.param("weather clear", "weather clear", id="no-placeholder"),
    ],
)
def test_placeholders_are_replaced_by_the_player_id(command: str, expected: str) -> None:
    assert substitute([command], "Steve") == [expected]


@pytest.mark.parametrize(
    "player_id",
    [
        pytest.param("Steve the Brave", id="spaces"),
        pytest.param("Steve;op Steve", id="command-injection"),
        pytest.param("a" * 17, id="too-long"),
        pytest.param("Stévé", id="non-ascii"),
        pytest.param("", id="empty"),
        pytest.param("Steve\n", id="trailing-newline"),
        pytest.param("Steve\nop Steve", id="newline-injection"),
    ],
)
def test_an_invalid_player_name_drops_only_commands_with_placeholders(player_id: str) -> None:
    commands = ["give {player} bread 1", "weather clear", "eco give %player% 1",
                "effect give @p glowing", "tp @player 0 0 0"]
    assert substitute(commands, player_id) == ["weather clear", "effect give @p glowing"]


@pytest.mark.parametrize("player_id", ["Steve", "x", "A_1", "a" * 16], ids=str)
def test_valid_minecraft_names(player_id: str) -> None:
    assert substitute(["give {player} x"], player_id) == [f"give {player_id} x"]


LEVEL = {
    "id": "cmds",
    "tasks": [{"id": "greet", "type": "near", "target": "mia_npc",
               "reward": {"commands": ["give {player} bread 1", "weather clear"]}}],
    "rule_listeners": [
        {"id": "echo", "type": "chat", "metadata": {
            "dialogue": "Mia listens.",
            "commands": ["tellraw @p {\"text\":\"{text}\"}", "say {player} spoke"]}},
    ],
}


def test_an_invalid_player_keeps_the_rest_of_the_result(play: Any, ev: Any) -> None:
    player = "Steve the Brave"
    t = play(LEVEL, [{"load": "cmds", "player": player},
                     {**ev.near("mia_npc"), "player": player}])
    assert t.last["commands"] == ["weather clear"]
    assert t.last["completed_tasks"] == ["greet"]
    assert t.last["exit_ready"] is True


@pytest.mark.parametrize(
    "text",
    ["{player}", "/op Steve", "%player% @player; stop", "{text}", "\"}] ; kill @a"],
    ids=["placeholder", "slash-command", "placeholders", "brace-text", "json-break"],
)
def test_chat_text_is_never_interpolated_into_a_command(play: Any, ev: Any, text: str) -> None:
    t = play(LEVEL, [{"load": "cmds"}, ev.chat(text)])
    assert t.last["commands"] == ["tellraw @p {\"text\":\"{text}\"}", "say Steve spoke"]
