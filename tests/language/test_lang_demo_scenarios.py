"""The demo level's scenarios (``levels/*.scenario.jsonl``) pass the preview, as CI runs
them: ``quest-runtime preview --levels levels SCRIPT --json`` exits 0 and prints one
line per step. The demo uses each feature of the quest language: chains, a gated
listener, a branching conversation with a gated "brave" option, a repeatable daily task
and contracts (``ensures``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO / "levels").glob("*.scenario.jsonl"))


def steps(script: Path) -> list[str]:
    return [line for line in script.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_there_are_demo_scenarios() -> None:
    names = {s.name for s in SCRIPTS}
    assert {"lakeside.scenario.jsonl", "lakeside_conversation.scenario.jsonl"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_demo_scenario_passes_the_preview(script: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "quest_runtime", "preview", "--levels",
                          "levels", str(script.relative_to(REPO)), "--json"], cwd=REPO,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    outputs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["step"] for o in outputs] == list(range(1, len(steps(script)) + 1))
    assert all("error" not in o for o in outputs)


def test_every_expectation_in_the_demo_scenarios_can_fail(tmp_path: Path) -> None:
    """The conversation scenario's expectations are real: a wrong option index fails."""
    script = REPO / "levels" / "lakeside_conversation.scenario.jsonl"
    text = script.read_text(encoding="utf-8")
    changed = text.replace('{"id": "story", "index": 2, "rule_event"',
                           '{"id": "story", "index": 3, "rule_event"', 1)
    assert changed != text
    bad = tmp_path / "bad.scenario.jsonl"
    bad.write_text(changed, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "quest_runtime", "preview", "--levels",
                          "levels", str(bad), "--json"], cwd=REPO, capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert "step 4: expectation failed" in run.stderr
