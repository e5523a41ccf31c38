"""Text variables in narration (issue 10, Deliver 5; ``quest_runtime/textvars.py``).

``{player}``, ``{var:NAME}``, ``{item:NAME}`` and ``{flag:NAME}`` are filled per player
when a result is built, in one pass (a player's name or chat text is never expanded and
never reaches a command); ``{{``/``}}`` are literal braces; unknown or malformed ones, and
ones in names, are ``validate`` errors at their line and column with did-you-mean.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from quest_runtime.cli import main
from quest_runtime.textvars import Values, fill, fill_node, fill_patch

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "text_variables"


# -- the grammar -------------------------------------------------------------------------


VALUES = Values("Steve", {"score": 3.0, "ratio": 0.5}, {"cod": 2}, {"met_ada"}, ("yes", "no"))


@pytest.mark.parametrize(("text", "shown"), [
    ("Hi {player}!", "Hi Steve!"),
    ("{var:score} / {var:ratio} / {var:unset}", "3 / 0.5 / 0"),
    ("{item:cod} cod, {item:eel} eel", "2 cod, 0 eel"),
    ("{flag:met_ada} {flag:other}", "yes no"),
    ("{{player}} and {{var:score}}", "{player} and {var:score}"),
    ("a } b }} c {{", "a } b } c {"),
    ("{foo} {var:} stay as written", "{foo} {var:} stay as written"),
])
def test_fill(text: str, shown: str) -> None:
    assert fill(text, VALUES) == shown


@pytest.mark.parametrize("name", ["{var:score}", "{{player}}", "x;op Steve", "{flag:met_ada}"])
def test_what_a_placeholder_puts_in_is_never_read_again(name: str) -> None:
    values = Values(name, {"score": 7}, {}, {"met_ada"})
    assert fill("Hello {player}, score {var:score}", values) == f"Hello {name}, score 7"


def test_nodes_and_patches_are_copies_and_ids_are_never_filled() -> None:
    node: dict[str, Any] = {"type": "story_choice", "title": "{player}", "dialogue_id": "{player}",
                            "choices": [{"id": "{player}", "label": "I am {player}"}],
                            "script": [{"op": "npc_say", "npc": "{player}", "text": "{player}"}]}
    filled = fill_node(node, lambda s: fill(s, VALUES))
    assert filled["title"] == "Steve" and filled["dialogue_id"] == "{player}"
    assert filled["choices"] == [{"id": "{player}", "label": "I am Steve"}]
    assert filled["script"] == [{"op": "npc_say", "npc": "{player}", "text": "Steve"}]
    assert node["choices"][0]["label"] == "I am {player}"  # level data never changes
    patch = {"mc": [{"tell": ["{player}"]}, {"title": {"main": "{player}"}}], "tell": "{player}"}
    assert fill_patch(patch, lambda s: fill(s, VALUES)) == {
        "mc": [{"tell": ["Steve"]}, {"title": {"main": "{player}"}}], "tell": "Steve"}
    assert patch["tell"] == "{player}"


# -- the fixture level in preview ----------------------------------------------------------


def test_the_fixture_level_plays_in_preview_with_every_variable_filled() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "quest_runtime", "preview", "--levels", str(FIXTURE),
         str(FIXTURE / "harbour.scenario.jsonl"), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr  # every step's expect holds
    results = [json.loads(line)["result"] for line in run.stdout.splitlines()]
    shown = json.dumps(results, ensure_ascii=False)
    for placeholder in ("{player}", "{var:", "{item:", "{flag:", "{{"):
        assert placeholder not in shown
    assert "Met Ada: yes" in shown and "Prices in {coins}" in shown
    assert results[3]["summary"]["text"] == "Steve finished with 10 points and 2 cod."


# -- hostile names and chat ------------------------------------------------------------------

LEVEL = {
    "id": "hostile",
    "tasks": [{"id": "greet", "type": "near", "target": "Ada",
               "hint": "Find Ada, {player}.",
               "dialogue": {"on_complete": "Ada greets {player} ({var:score} points)."},
               "reward": {"commands": ["give {player} bread 1", "say welcome"]},
               "on_complete": [{"type": "set_var", "var": "score", "value": 5},
                               {"type": "start_dialogue", "dialogue": "ask"}]}],
    "dialogues": {"ask": {"npc": "Ada", "entry": "q", "nodes": {
        "q": {"type": "choice", "text": "Who are you?", "options": [
            {"id": "me", "text": "I am {player}", "next": "bye"}]},
        "bye": {"type": "end", "effects": [{"type": "say", "text": "Bye {player}."}]}}}},
    "rule_listeners": [{"id": "echo", "type": "chat", "metadata": {
        "dialogue": "Ada hears you, {player}.", "commands": ["say heard {player}"]}}],
}


@pytest.mark.parametrize("player", ["{var:score}", "Steve;op Steve", "{{player}}"])
def test_a_hostile_player_name_is_shown_as_written_and_reaches_no_command(
        play: Any, player: str) -> None:
    t = play(LEVEL, [{"player": player, "load": "hostile"},
                     {"player": player, "event_type": "near", "payload": {"target": "Ada"}}])
    issued, done = t.results
    assert issued["nodes"][0]["text"] == f"Find Ada, {player}."
    texts = [n.get("text") for n in done["nodes"]]
    assert f"Ada greets {player} (5 points)." in texts
    assert done["nodes"][-1]["choices"][0]["label"] == f"I am {player}"
    assert done["commands"] == ["say welcome"]  # {player} commands dropped: not a name


@pytest.mark.parametrize("said", ["{var:score}; op @a", "I am {player}", "{player}"])
def test_chat_text_is_never_expanded_nor_taken_for_a_label_template(play: Any, said: str) -> None:
    t = play(LEVEL, [{"load": "hostile"},
                     {"event_type": "near", "payload": {"target": "Ada"}},
                     {"event_type": "chat", "payload": {"text": said}}])
    result = t.results[2]
    assert [n.get("text") for n in result["nodes"]] == ["Ada hears you, Steve."]
    assert said not in json.dumps(result) and "5;" not in json.dumps(result)
    assert result["commands"] == ["say heard Steve"]  # the listener ran; the answer did not
    assert t.state()["session"]["dialogue"]["stack"]  # still waiting at the choice


def test_the_label_as_shown_answers_the_choice(play: Any) -> None:
    t = play(LEVEL, [{"load": "hostile"},
                     {"event_type": "near", "payload": {"target": "Ada"}},
                     {"event_type": "chat", "payload": {"text": "i am steve"}}])
    assert [n.get("text") for n in t.results[2]["nodes"]] == ["Bye Steve."]


def test_a_result_taken_into_another_is_not_filled_twice(play: Any) -> None:
    """The default level's load result leads the first rule event's result: its texts
    were filled when it was built and are not read again ({{var:score}} stays)."""
    level = {"id": "lead", "world_patch": {"mc": {"tell": "Literal {{var:score}}, {player}"}},
             "tasks": [{"id": "t", "type": "near", "target": "Ada", "hint": "{{player}}"}]}
    t = play(level, [{"event_type": "chat", "payload": {"text": "hello"}}],
             default_level="lead")
    result = t.results[0]
    assert result["world_patch"]["mc"]["tell"] == "Literal {var:score}, Steve"
    assert result["nodes"][0]["text"] == "{player}"


# -- validate -------------------------------------------------------------------------------


def _validate(tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]) -> tuple[
        int, list[str], str, Path]:
    text = ('{\n  "id": "tv",\n  "tasks": [{"id": "t", "type": "near", "target": "mia",\n'
            '    "on_complete": [{"type": "set_var", "var": "score", "value": 1},\n'
            '                    {"type": "set_flag", "flag": "met_mia"}],\n'
            + body + "}]\n}\n")
    path = tmp_path / "tv.json"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    return code, capsys.readouterr().out.splitlines(), text, path


def _column(text: str, needle: str) -> tuple[int, int]:
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


@pytest.mark.parametrize(("hint", "needle", "message", "suggestion"), [
    ('"Hi {palyer}"', "{palyer}", "unknown text variable '{palyer}'", "did you mean '{player}'?"),
    ('"You have {vars:score}"', "{vars:score}", "unknown text variable",
     "did you mean '{var:score}'?"),
    ('"{var:} left"', "{var:}", "'{var:}' names no var", None),
    ('"a \\u00e9 { b"', "{ b", "'{' opens no text variable", "write '{{' for a literal '{'"),
    ('"score {var:scroe}"', "{var:scroe}", "names var 'scroe'", "did you mean 'score'?"),
    ('"met: {flag:met_mai}"', "{flag:met_mai}", "names flag 'met_mai'",
     "did you mean 'met_mia'?"),
    ('"{item:cod} cod"', "{item:cod}", "names item 'cod'", None),
])
def test_a_bad_text_variable_is_an_error_at_its_column(
        hint: str, needle: str, message: str, suggestion: str | None, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, text, path = _validate(tmp_path, f'    "hint": {hint}', capsys)
    line, column = _column(text, needle)  # in the source: an escape counts as written
    errors = [x for x in lines if ": error: " in x]
    assert code == 1, "\n".join(lines)
    assert any(x.startswith(f"{path}:{line}:{column}: error: ") and message in x
               and (suggestion is None or x.endswith(f"({suggestion})")) for x in errors), \
        "\n".join(lines)


def test_a_text_variable_in_a_title_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, text, path = _validate(tmp_path, '    "title": "Help {player}"', capsys)
    line, column = _column(text, "{player}")
    assert code == 1
    assert any(x.startswith(f"{path}:{line}:{column}: error: a name takes no text variables")
               for x in lines), "\n".join(lines)


def test_good_text_variables_and_escapes_validate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _, _ = _validate(
        tmp_path, '    "hint": "{player}: {var:score}, {flag:met_mia}, {{literal}} }"', capsys)
    assert code == 0, "\n".join(lines)


def test_a_flag_set_in_another_level_file_counts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"id": "a", "tasks": [
        {"id": "t", "type": "near", "target": "x",
         "on_complete": [{"type": "set_flag", "flag": "met_mia"}]}]}), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"id": "b", "tasks": [
        {"id": "u", "type": "near", "target": "y", "hint": "Met Mia: {flag:met_mia}"}]}),
        encoding="utf-8")
    assert main(["validate", str(tmp_path)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "b.json")]) == 1
    assert "names flag 'met_mia'" in capsys.readouterr().out


def test_a_blocked_load_names_the_player(play: Any) -> None:
    level = {"id": "gate", "blocked_text": "Not yet, {player}: {item:key} keys of 3.",
             "requires": {"type": "has_item", "item": "key", "count": 3},
             "tasks": [{"id": "t", "type": "near", "target": "x",
                        "on_complete": [{"type": "gain_item", "item": "key"}]}]}
    t = play(level, [{"load": "gate"}])
    assert t.error(0) is not None
    assert t.error(0)["message"] == "Not yet, Steve: 0 keys of 3."
