"""``quest-runtime test``: golden scenarios pass on the bundled levels and fail with a diff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from quest_runtime.cli import main
from quest_runtime.designer.replay import expectation_diff, project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def levels(tmp_path: Path) -> Path:
    folder = tmp_path / "levels"
    shutil.copytree(REPO / "levels", folder)
    return folder


def test_the_bundled_scenarios_pass(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["test"]) == 0  # PATH defaults to levels/
    out = capsys.readouterr().out
    assert "levels/lakeside.scenario.jsonl" in out
    assert "  ✓ step 1 (line 11)  Steve loads lakeside" in out
    assert "✗" not in out
    assert ", 0 failed" in out


def test_a_changed_expectation_fails_with_a_diff(levels: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    script = levels / "lakeside.scenario.jsonl"
    text = script.read_text(encoding="utf-8")
    script.write_text(text.replace('"xp add Steve 10"', '"xp add Steve 11"', 1),
                      encoding="utf-8")
    assert main(["test", str(levels)]) == 1
    out = capsys.readouterr().out
    assert "  ✗ step 2 (line 16)  Steve near Mia" in out
    assert 'result.commands[1]: expected "xp add Steve 11" (in order)' in out
    assert "      --- expected\n      +++ actual\n" in out
    assert '      -    "xp add Steve 11",\n      +    "xp add Steve 10",' in out
    assert "  ✓ step 3 " in out  # every step still runs
    assert ", 1 failed" in out


def test_one_script_can_be_given(levels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(levels / "lakeside_gated.scenario.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "1 scenario, 7 steps: 7 passed, 0 failed" in out


def test_a_level_with_errors_or_no_scripts_fails(levels: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (levels / "broken.json").write_text('{"tasks": [', encoding="utf-8")
    assert main(["test", str(levels)]) == 1
    assert "level skipped (it has errors)" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["test", str(empty)]) == 1
    assert "no *.scenario.jsonl files" in capsys.readouterr().out


def test_the_diff_only_shows_what_the_expectation_names() -> None:
    expected = {"nodes": [{"type": "task", "task_id": "a"}], "exit_ready": True}
    actual = {"nodes": [{"type": "task", "task_id": "b", "title": "B"},
                        {"type": "npc_dialogue", "text": "hi"}],
              "exit_ready": False, "commands": ["x"]}
    assert project(expected, actual) == {
        "nodes": [{"type": "task", "task_id": "b"}, {"type": "npc_dialogue"}],
        "exit_ready": False}
    diff = "\n".join(expectation_diff(expected, actual))
    assert '-  "exit_ready": true' in diff and '+  "exit_ready": false' in diff
