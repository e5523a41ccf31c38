"""The ``quest-runtime`` command as a designer and CI run it (SPEC §7, §9)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "levels" / "lakeside.scenario.jsonl"
CORPUS = REPO.parent / "shared" / "compat" / "driftsystem" / "levels"


def scenario_steps(text: str) -> list[str]:
    """The step lines of a scenario script (blank and ``#`` lines are not steps)."""
    return [line for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def quest_runtime(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quest_runtime", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def test_preview_json_prints_one_result_line_per_step() -> None:
    run = quest_runtime("preview", "--levels", "levels", "levels/lakeside.scenario.jsonl",
                        "--json")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    steps = scenario_steps(SCENARIO.read_text(encoding="utf-8"))
    assert len(lines) == len(steps)
    outputs = [json.loads(line) for line in lines]
    for n, output in enumerate(outputs, start=1):
        assert set(output) == {"step", "result"}
        assert output["step"] == n
    last = outputs[-1]["result"]
    assert last["exit_ready"] is True
    assert last["summary"]["type"] == "task_summary"
    assert last["summary"]["title"] == "Lakeside Lantern — complete"
    assert all(o["result"]["exit_ready"] is False for o in outputs[:-1])


def test_a_failed_expectation_exits_1_and_names_the_mismatch(tmp_path: Path) -> None:
    script = SCENARIO.read_text(encoding="utf-8").replace(
        '"xp add Steve 10"', '"xp add Steve 11"', 1)
    assert script != SCENARIO.read_text(encoding="utf-8")
    changed = tmp_path / "changed.scenario.jsonl"
    changed.write_text(script, encoding="utf-8")
    run = quest_runtime("preview", "--levels", "levels", str(changed), "--json")
    assert run.returncode == 1
    assert "step 2: expectation failed" in run.stderr
    assert "xp add Steve 11" in run.stderr
    assert len(run.stdout.splitlines()) == len(scenario_steps(script))  # every step ran


def test_validate_loads_the_whole_driftsystem_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the DriftSystem corpus is not at {CORPUS}")
    run = quest_runtime("validate", str(CORPUS))
    assert run.returncode == 0, run.stdout[-2000:]
    assert "51/51 files loaded" in run.stdout
    assert "0 errors" in run.stdout


def test_preview_defaults_levels_to_the_levels_folder_like_test_and_serve() -> None:
    with_flag = quest_runtime("preview", "--levels", "levels", str(SCENARIO), "--json")
    without = quest_runtime("preview", str(SCENARIO), "--json")
    assert without.returncode == 0, without.stderr
    assert without.stdout == with_flag.stdout and without.stdout.strip()
