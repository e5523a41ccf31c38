"""The designer's preview: readable cards, --explain, --interactive, --watch (issue 4)."""

from __future__ import annotations

import io
import json
import shutil
import threading
from pathlib import Path

import pytest

from quest_runtime.cli import main
from quest_runtime.designer.interactive import CommandError, step_for
from quest_runtime.designer.preview import watch_loop

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "levels/lakeside.scenario.jsonl"


@pytest.fixture(autouse=True)
def _at_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_readable_preview_draws_cards_commands_patch_and_progress(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--levels", "levels", SCRIPT]) == 0
    out = capsys.readouterr().out
    assert "step 2 · Steve near Mia" in out  # the plugin sends her visible name
    step_2 = out.split("step 2 · ", 1)[1].split("step 3 · ", 1)[0]
    assert step_2.count("╭─ dialogue · Mia") == 1  # her reward line and greeting: one node
    assert "│ [Mia] Oh, you came!" in step_2 and "│ [Mia] Mia looks up" in step_2
    assert "task complete · Greet Mia" in out  # a chat card titled by type and task
    assert "$ give Steve bread 1" in out  # {player} substituted
    assert "mc.title: Lakeside Lantern / Light the way home" in out  # § codes rendered
    assert "mc.tell: [Mia] waves you over." in out
    assert "▰" in out and "quest log · Lakeside Lantern" in out  # progress
    assert "★ exit ready · Lakeside Lantern — complete" in out


def test_explain_names_why_a_task_did_not_fire(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--levels", "levels", SCRIPT, "--explain"]) == 0
    out = capsys.readouterr().out
    # the visible name, then the atoms of the NPC id it is an alias of
    assert "why · atoms near:mia, near:*, quest_event:near_mia, near:mia_npc," in out
    assert "listeners fired: mia_greeting" in out
    assert "listens for 'chat' events; this is" in out


def test_explain_with_json_adds_the_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--levels", "levels", SCRIPT, "--json", "--explain"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    load = lines[0]["explain"]  # a load is explained as a load: it started, nothing blocked
    assert load["event_type"] == "load" and load["not_fired"] == []
    second = lines[1]["explain"]
    assert second["fired"]["tasks_completed"] == ["greet_mia"]
    reasons = {n["id"]: n["reason"] for n in second["not_fired"]}
    assert reasons["mia_gift_tinderbox"] == "gated"


@pytest.mark.parametrize(("line", "event_type", "payload"), [
    ("near mia_npc", "near", {"target": "mia_npc", "quest_event": "near_mia_npc"}),
    ("chat hello there", "chat", {"text": "hello there", "quest_event": "chat_hello_there"}),
    ("block lantern", "interact_block", {"action": "right_click_block",
                                         "block_type": "lantern",
                                         "quest_event": "interact_block_lantern"}),
    ("entity Tomas", "interact_entity", {"interaction": "right_click", "entity_name": "Tomas",
                                         "quest_event": "interact_entity_tomas"}),
    ("zone enter_boathouse", "quest_event", {"quest_event": "enter_boathouse",
                                             "source": "trigger_zone"}),
    ("choose yes", "choice", {"choice_id": "yes"}),
    ('event approach_grandma {"source": "npc_interact"}', "approach_grandma",
     {"source": "npc_interact"}),
], ids=lambda v: v if isinstance(v, str) and " " in v else None)
def test_typed_commands_become_plugin_shaped_events(line: str, event_type: str,
                                                    payload: dict[str, str]) -> None:
    step = step_for(line, "Steve")
    assert step == {"player": "Steve", "event_type": event_type, "payload": payload}


@pytest.mark.parametrize("line", ["near", "fly away", "advance soon", "event x {oops"])
def test_a_bad_command_says_what_was_expected(line: str) -> None:
    with pytest.raises(CommandError):
        step_for(line, "Steve")


def test_interactive_mode_reads_events_from_stdin(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    typed = "near mia_npc\nchat I am ready\nexplain on\nnear mia_npc\nfly\nadvance 30\n" \
            "state\nquit\nnear mia_npc\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    code = main(["preview", "--levels", "levels", "--interactive", "--player", "Steve",
                 "--load", "lakeside"])
    out = capsys.readouterr().out
    assert code == 0
    assert "step 1 · Steve loads lakeside" in out
    assert "task complete · Greet Mia" in out  # near mia_npc
    assert "task complete · Tell Mia you're ready" in out  # chat I am ready
    assert "give Steve flint_and_steel 1" in out  # the gated gift, now active
    assert "why · atoms near:mia_npc" in out  # explain on
    assert "unknown command 'fly'" in out
    assert "step 5 · advance 30.0 s" in out
    assert '"flags":["met_mia","said_ready"]' in out  # state
    assert "step 6" not in out  # quit stops reading


def test_preview_without_script_or_interactive_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "--levels", "levels"]) == 2
    assert "--interactive" in capsys.readouterr().err


def test_watch_plays_again_when_the_script_changes(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    levels = tmp_path / "levels"
    shutil.copytree(REPO / "levels", levels)
    script = levels / "lakeside.scenario.jsonl"
    runs: list[int] = []
    stop = threading.Event()
    timer = threading.Timer(20, stop.set)  # never hang the suite
    timer.start()

    def run() -> int:
        runs.append(len(runs) + 1)
        if len(runs) == 1:  # change the script once the watcher is up
            threading.Timer(0.8, lambda: script.write_text(
                script.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")).start()
        return 0

    try:
        assert watch_loop(run, levels, script, stop=stop, max_runs=2) == 0
    finally:
        timer.cancel()
    assert runs == [1, 2]
    assert "changed: lakeside.scenario.jsonl" in capsys.readouterr().err
