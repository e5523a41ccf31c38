"""The designer tools, mended (issue 10, Deliver 6): one test (or more) per item.

Most tests play ``mended_level.MEADOW`` (a dialogue restarted by two listeners, a hidden
option, a repeatable task, a timer) and ``LOCKED`` (a blocked level) through the real
commands (``quest-runtime test``, ``preview``, ``--interactive``, ``validate``).
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import mended_level as m
import pytest

from quest_runtime import views
from quest_runtime.cli import main
from quest_runtime.designer.interactive import CommandError, step_for
from quest_runtime.designer.replay import expectation_diff
from quest_runtime.designer.scenario import ScenarioRunner, Step, load_catalog, subset_mismatches
from quest_runtime.engine.shapes import QuestLog

REPO = Path(__file__).resolve().parents[2]
LOAD = {"player": "Steve", "load": "meadow"}
CHAT_1 = {"player": "Steve", "event_type": "chat", "payload": {"text": "1",
                                                                "quest_event": "chat_1"}}


@pytest.fixture
def levels(tmp_path: Path) -> Path:
    return m.write(tmp_path / "levels")


def played(levels: Path, *steps: dict[str, Any]) -> list[dict[str, Any]]:
    """Each step's output (``{"step", "result"}`` or ``{"step", "result", "error"}``)."""
    runner = ScenarioRunner(load_catalog(levels))
    outcomes = asyncio.run(runner.run([Step(n, n, s) for n, s in enumerate(steps, 1)]))
    return [o.output for o in outcomes]


# -- (a) every unmatched list item, with its actual value --------------------------------


def test_every_unmatched_item_of_a_list_is_named_with_the_closest_actual_item() -> None:
    expected = {"nodes": [{"type": "task", "task_id": "a"},
                          {"type": "npc_dialogue", "text": "Hi there."}]}
    actual = {"nodes": [{"type": "task", "task_id": "b", "title": "B"},
                        {"type": "npc_dialogue", "text": "Nice weather.", "title": "Bob"}]}
    problems = subset_mismatches(expected, actual)
    assert len(problems) == 2  # both items, not only the first
    assert problems[0].startswith('result.nodes[0]: expected {"type":"task","task_id":"a"} '
                                  '(in order); closest is result.nodes[0]: '
                                  '{"type":"task","task_id":"b"}')
    assert problems[1].endswith('closest is result.nodes[1]: '
                                '{"type":"npc_dialogue","text":"Nice weather."}')
    diff = "\n".join(expectation_diff(expected, actual))
    # the dialogue's actual text is in the diff (the shapes share only "type")
    assert '-      "text": "Hi there.",' in diff and '+      "text": "Nice weather.",' in diff
    assert '+      "task_id": "b",' in diff and "title" not in diff


def test_the_test_command_shows_each_unmatched_item(levels: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    m.script(levels, "two", LOAD, {**m.near_bob(), "expect": {"nodes": [
        {"type": "task_complete", "task_id": "greeet"},
        {"type": "npc_dialogue", "script": [{"text": "Lovely weather."}]}]}})
    assert main(["test", str(levels)]) == 1
    out = capsys.readouterr().out
    assert "result.nodes[0]: expected" in out and "result.nodes[1]: expected" in out
    assert '+          "text": "Nice weather."' in out


# -- (b) a refused load in expect --------------------------------------------------------


def test_a_refused_load_can_be_asserted_and_prints_as_refused(
        levels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m.script(levels, "gate", {"player": "Steve", "load": "locked",
                              "expect": {"error": {"code": "level_blocked",
                                                   "message": "The gate is locked."}}})
    assert main(["test", str(levels)]) == 0
    out = capsys.readouterr().out
    assert "✓ step 1 (line 1)  Steve loads locked  — refused as expected: level_blocked" in out


@pytest.mark.parametrize("expect", [{}, {"expect": None}, {"expect": {"nodes": []}}])
def test_an_unasserted_refusal_fails_and_says_refused(levels: Path, expect: dict[str, Any],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    m.script(levels, "gate", {"player": "Steve", "load": "locked", **expect})
    assert main(["test", str(levels)]) == 1
    out = capsys.readouterr().out
    assert "✗ step 1 (line 1)  Steve loads locked" in out
    assert "refused: level_blocked — The gate is locked." in out
    assert "✓" not in out


# -- (c) cards show the plugin's lines ---------------------------------------------------


def test_card_lines_keep_the_speaker_apart_and_narration_without_one() -> None:
    from quest_runtime.designer.cards import card_lines

    node = {"type": "npc_dialogue", "title": "Mia", "text": "Hello.\nShe waves.",
            "script": [{"op": "npc_say", "npc": "Tomas", "text": "Hello."},
                       {"op": "narrate", "text": "She waves."}]}
    lines = card_lines(node)
    assert [(li.speaker, li.text, li.kind) for li in lines] == [
        ("Tomas", "Hello.", "say"), (None, "She waves.", "narrate")]
    # no script: the plugin splits text on newlines, with no speaker glued on
    plain = card_lines({"type": "npc_dialogue", "title": "Mia", "text": "One.\nTwo."})
    assert [(li.speaker, li.text) for li in plain] == [(None, "One."), (None, "Two.")]
    task = card_lines({"type": "task", "title": "Greet", "text": "Go.", "hint": "Walk."})
    assert [(li.kind, li.text) for li in task] == [("hint", "Walk."), ("text", "Go.")]
    headless = card_lines({"type": "task", "text": "Headline\nbody"})
    assert [li.text for li in headless] == ["body"]  # the first line is the card's title


def test_the_preview_draws_the_speaker_as_the_plugin_does(
        levels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = m.script(levels, "talk", LOAD, m.near_bob())
    assert main(["preview", "--levels", str(levels), str(script)]) == 0
    out = capsys.readouterr().out
    assert "│ [Bob] Nice weather." in out
    assert "Bob: Nice weather." not in out


# -- (d) a restart of a running dialogue shows its choice once --------------------------


def test_listeners_restarting_a_waiting_dialogue_show_its_choice_once(levels: Path) -> None:
    out = played(levels, LOAD, m.near_bob(), m.near_bob())
    nodes = out[2]["result"]["nodes"]  # bob_talk and bob_wave both start "talk" again
    assert [(n["type"], n["node_id"]) for n in nodes] == [("story_choice", "ask")]
    assert [c["id"] for c in nodes[0]["choices"]] == ["calm", "more"]


# -- (e) explain covers dialogue ---------------------------------------------------------


def explained(levels: Path, *steps: dict[str, Any]) -> list[dict[str, Any]]:
    script = m.script(levels, "why", *steps)
    result = subprocess.run([sys.executable, "-m", "quest_runtime", "preview", "--levels",
                             str(levels), str(script), "--json", "--explain"],
                            capture_output=True, text=True, check=False)
    return [json.loads(line).get("explain") for line in result.stdout.splitlines()]


def test_explain_names_a_hidden_option_and_its_failing_condition(levels: Path) -> None:
    why = explained(levels, LOAD, m.near_bob(), m.water())[2]
    talk = why["dialogue"]
    assert (talk["dialogue_id"], talk["node_id"], talk["answer"]) == ("talk", "ask", "none")
    assert talk["shown"] == ["calm", "more"]
    assert talk["hidden"] == [{"option": "brave", "label": "Let's climb the hill!",
                               "condition": "flag_set(flag='brave')",
                               "condition_pointer": "/dialogues/talk/nodes/ask/options/0/"
                                                    "requires"}]


def test_explain_says_a_chat_answer_was_taken_and_kept_from_tasks(levels: Path) -> None:
    why = explained(levels, LOAD, m.near_bob(), CHAT_1)[2]
    talk = why["dialogue"]
    assert talk["answer"] == "taken" and talk["choice"] == "calm"
    assert "the chat line “1” was taken as the answer option 1, 'calm'" in talk["message"]


def test_explain_says_why_a_hidden_answer_was_refused(levels: Path) -> None:
    brave = {"player": "Steve", "event_type": "choice__talk__brave",
             "payload": {"choice_id": "brave"}}
    talk = explained(levels, LOAD, m.near_bob(), brave)[2]["dialogue"]
    assert talk["answer"] == "refused" and talk["choice"] == "brave"
    assert "the option is hidden: its requires fails at flag_set(flag='brave')" in \
        talk["message"]


def test_explain_says_why_a_load_is_blocked(levels: Path) -> None:
    why = explained(levels, {"player": "Steve", "load": "locked"})[0]
    assert why["event_type"] == "load"
    [level] = why["not_fired"]
    assert (level["kind"], level["id"], level["reason"]) == ("level", "locked", "requires")
    assert level["condition"] == "flag_set(flag='has_key')"
    assert "the player reads: The gate is locked." in level["message"]


def test_explain_draws_the_dialogue_in_the_readable_preview(
        levels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = m.script(levels, "why", LOAD, m.near_bob(), CHAT_1)
    assert main(["preview", "--levels", str(levels), str(script), "--explain"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # panels wrap lines
    assert "hidden option 'brave' (Let's climb the hill!): its requires fails at" in out
    assert "dialogue · dialogue 'talk' waits at 'ask': the chat line “1” was taken" in out


# -- (f) a repeatable task in cooldown stays in the quest log ----------------------------


def test_a_cooling_down_task_stays_in_the_quest_log_with_its_time_left(levels: Path) -> None:
    out = played(levels, LOAD, m.water(), {"advance_seconds": 600}, m.water())
    log = out[1]["result"]["active_tasks"]
    assert [t["task_id"] for t in log["tasks"]] == ["greet", "far"]  # not to do now
    assert log["cooldowns"] == [{"task_id": "daily", "title": "Water the flowers",
                                 "seconds_left": 3600.0}]


def test_the_quest_log_request_counts_the_time_left(levels: Path) -> None:
    runner = ScenarioRunner(load_catalog(levels))

    async def go() -> QuestLog | None:
        await runner.runtime.open()
        try:
            for n, step in enumerate([LOAD, m.water(), {"advance_seconds": 600}], 1):
                await runner.run_step(Step(n, n, step))
            return await views.quest_log(runner.runtime, "Steve")
        finally:
            await runner.runtime.close()

    log = asyncio.run(go())
    assert log is not None and log["cooldowns"][0]["seconds_left"] == 3000.0


def test_the_preview_shows_the_cooldown(levels: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    script = m.script(levels, "daily", LOAD, m.water())
    assert main(["preview", "--levels", str(levels), str(script)]) == 0
    assert "│ cooldown │ again in 1 h 00 min" in capsys.readouterr().out


# -- (g) a broken save's error once -----------------------------------------------------


def test_a_broken_level_stops_the_play_with_one_message(
        levels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = m.script(levels, "play", {**LOAD, "expect": {"nodes": []}},
                      {**m.near_bob(), "expect": {"completed_tasks": ["greet"]}},
                      {**m.water(), "expect": {"completed_tasks": ["daily"]}})
    (levels / "meadow.json").write_text('{"id": "meadow", "tasks": [', encoding="utf-8")
    assert main(["preview", "--levels", str(levels), str(script)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("meadow.json:1:") == 1  # the file's error, once
    assert "step 1: unknown level 'meadow': a level file above has errors, so the other 2 " \
           "steps are not played" in captured.err
    assert "expectation failed" not in captured.err
    assert "step 2" not in captured.out


def test_watch_shows_the_broken_save_once_per_save(levels: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from quest_runtime.designer.preview import run_preview, watch_loop

    script = m.script(levels, "play", LOAD, m.near_bob(), m.water())
    runs: list[int] = []
    stop = threading.Event()
    guard = threading.Timer(20, stop.set)  # never hang the suite
    guard.start()

    def once() -> int:
        runs.append(len(runs) + 1)
        if len(runs) == 1:  # break the level once the watcher is up
            threading.Timer(0.8, lambda: (levels / "meadow.json").write_text(
                '{"tasks": [', encoding="utf-8")).start()
        return run_preview(levels, script, as_json=False, default_level=None, strict=False,
                           explain=False)

    try:
        code = watch_loop(once, levels, script, stop=stop, max_runs=2)
    finally:
        guard.cancel()
    err = capsys.readouterr().err
    assert runs == [1, 2] and code == 1
    assert err.count("level skipped (it has errors)") == 1
    assert err.count("are not played") == 1
    assert "expectation failed" not in err


# -- (h) the interactive prompt ----------------------------------------------------------


def test_a_mistyped_command_gets_a_did_you_mean() -> None:
    with pytest.raises(CommandError, match=r"unknown command 'nera' \(did you mean 'near'\?\)"):
        step_for("nera bob", "Steve")
    with pytest.raises(CommandError, match=r"did you mean 'advance'"):
        step_for("advnace 30", "Steve")
    with pytest.raises(CommandError, match=r"^unknown command 'zzzzzz': type 'help'$"):
        step_for("zzzzzz", "Steve")


def interactive(levels: Path, typed: str, monkeypatch: pytest.MonkeyPatch,
                capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert main(["preview", "--levels", str(levels), "--interactive", "--load", "meadow"]) == 0
    return capsys.readouterr().out


def test_state_shows_timers_and_the_waiting_dialogue(levels: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = interactive(levels, "nera bob\nnear bob\nadvance 30\nstate\nquit\n", monkeypatch,
                      capsys)
    assert "unknown command 'nera' (did you mean 'near'?)" in out
    assert "timer rain  fires in 1 min 00 s" in out
    assert "dialogue talk waits at 'ask'  What do you say?" in out
    assert "  [1] calm: Indeed." in out and "  [2] more: Tell me more." in out
    assert "  hidden brave: Let's climb the hill! — requires fails at flag_set(flag='brave')" \
        in out


def test_the_session_saves_as_a_scenario_that_replays(levels: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    saved = levels / "recorded.scenario.jsonl"
    typed = f"near bob\nchat 1\nchat 1\nblock flower_pot\nload locked\nadvance 100\n" \
            f"save {saved}\nquit\n"
    out = interactive(levels, typed, monkeypatch, capsys)
    assert f"saved 7 steps to {saved}" in out
    steps = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()
             if not line.startswith("#")]
    assert steps[0] == {"player": "Steve", "load": "meadow", "expect": {"nodes": [
        {"type": "task", "task_id": "greet"}, {"type": "task", "task_id": "daily"},
        {"type": "task", "task_id": "far"}]}}
    assert steps[3]["expect"] is None  # the second "1": no choice waits, nothing happens
    assert steps[5]["expect"] == {"error": {"code": "level_blocked"}}
    assert steps[6]["expect"]["nodes"] == [{"type": "npc_dialogue"}]  # the rain at 90 s
    assert main(["test", str(saved)]) == 0
    assert "7 steps: 7 passed, 0 failed" in capsys.readouterr().out


# -- (i) validate: nothing starts it; an empty folder -----------------------------------


def test_validate_warns_on_a_dialogue_or_timer_nothing_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    level = {"id": "idle", "tasks": [{"id": "t", "type": "near", "target": "bob"}],
             "timers": {"alarm": {"delay_seconds": 5, "effects": [
                 {"type": "schedule_timer", "timer": "alarm"}]}},
             "dialogues": {"chat": {"entry": "a", "nodes": {
                 "a": {"type": "line", "text": "Hi.", "next": "b"},
                 "b": {"type": "end", "effects": [
                     {"type": "start_dialogue", "dialogue": "chat"}]}}}}}
    folder = m.write(tmp_path / "levels", level)
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "idle.json:" in out
    assert "warning: dialogue 'chat' is never started: no effect of this level starts it " \
           "[/dialogues/chat] (add a start_dialogue effect naming 'chat'" in out
    assert "warning: timer 'alarm' is never started: no effect of this level starts it " \
           "[/timers/alarm] (add a schedule_timer effect naming 'alarm'" in out
    assert main(["validate", "--strict", str(folder)]) == 1
    capsys.readouterr()
    assert main(["validate", str(m.write(tmp_path / "used"))]) == 0  # meadow starts both
    assert "never started" not in capsys.readouterr().out


def test_validate_warns_on_a_folder_with_no_levels(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing here", encoding="utf-8")
    assert main(["validate", str(tmp_path / "empty")]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'empty'}:1:1: warning: no level files (*.json) in this folder" in out
    assert "0/0 files loaded; 0 errors, 1 warnings" in out
    assert main(["validate", "--strict", str(tmp_path / "empty")]) == 1


# -- (j) a closed pipe -------------------------------------------------------------------


@pytest.mark.parametrize("args", [["preview", "--json"], ["preview"], ["test"]])
def test_a_closed_pipe_ends_quietly(levels: Path, args: list[str]) -> None:
    # enough output to overflow any pipe buffer after the reader has gone
    steps = [LOAD] + [{**m.water(), "expect": None}, {"advance_seconds": 3600}] * 300
    script = m.script(levels, "long", *steps)
    command = [sys.executable, "-m", "quest_runtime", args[0]]
    command += [str(script)] if args[0] == "test" else ["--levels", str(levels), str(script)]
    command += args[1:]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # what `| head -1` does
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 1  # the output was cut short; the same for every command


# -- (k) "expect": null ------------------------------------------------------------------


def test_expect_null_means_nothing_happens(levels: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    m.script(levels, "nothing", LOAD, {**CHAT_1, "expect": None},  # no choice waits
             {**m.near_bob(), "expect": None})  # but this does something
    assert main(["test", str(levels)]) == 1
    out = capsys.readouterr().out
    assert "✓ step 2 (line 2)  Steve chat 1" in out
    assert "✗ step 3 (line 3)  Steve near bob" in out
    assert "result: expected null, got {" in out


def test_expect_null_is_documented() -> None:
    text = (REPO / "docs" / "designing.md").read_text(encoding="utf-8")
    assert '**`"expect": null` — nothing happens.**' in text
    assert '"expect": {"error": {"code": "level_blocked"}}' in text
