"""The level schema in an editor (issue 10, Deliver 4, Acceptance 4): VS Code's JSON
language service (``vscode-json-languageservice``, run by node from ``editor_check.js``)
completes effect fields after ``"type": "set_flag"``, inside ``all_of``, under
``dialogues``, task ``type`` values, and squiggles each gameplay-changing typo of issue 10
(``repeatable.cooldown``, ``rewards[].amout``, ``require`` on an option, a listener's
``target``, a duplicate key) at the typo, and a malformed text variable or one in a name
with the schema's own message. Skipped only when node is not installed (CI has
it: ``.ci/run`` runs ``npm ci`` here and the check)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCHEMA = HERE.parents[1] / "docs" / "schema" / "level.schema.json"
NODE = shutil.which("node")


@pytest.fixture(scope="module")
def cases() -> dict[str, dict[str, object]]:
    if NODE is None:
        pytest.skip("node is not installed: the editor test needs node and npm")
    if not (HERE / "node_modules" / "vscode-json-languageservice").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node is installed but npm is not: run npm ci in tests/editor"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                       capture_output=True, timeout=300)
    result = subprocess.run([NODE, str(HERE / "editor_check.js"), str(SCHEMA)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode in (0, 1), result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {c["name"]: c for c in out}


COMPLETIONS = ["effect fields after type set_flag", "effect types in on_complete",
               "condition fields inside all_of", "condition types inside all_of inside not",
               "effect fields inside if/then", "dialogue program keys under dialogues",
               "node types under dialogues", "choice node keys", "option keys",
               "effect fields in a dialogue option", "task type values",
               "listener type values", "reward type values", "timer keys"]
TYPOS = ["repeatable.cooldown", "rewards[].amout", "require on a dialogue option",
         "listener target", "duplicate key"]
POLICY = ["a count written as a string", "once as a word", "an unknown field of an effect",
          "a custom task type is legal", "once player, repeatable true"]
TEXT_VARIABLES = ["a misspelt text variable in a hint", "a lone brace in a dialogue line",
                  "a text variable in a task title", "text variables and escapes in narration"]


@pytest.mark.parametrize("name", COMPLETIONS + TYPOS + POLICY + TEXT_VARIABLES)
def test_editor(cases: dict[str, dict[str, object]], name: str) -> None:
    assert name in cases, f"editor_check.js has no case {name!r}"
    assert cases[name]["ok"], json.dumps(cases[name]["detail"], ensure_ascii=False)[:2000]


def test_every_case_is_asserted(cases: dict[str, dict[str, object]]) -> None:
    assert set(cases) == set(COMPLETIONS + TYPOS + POLICY + TEXT_VARIABLES)
