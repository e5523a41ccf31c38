"""Every level file validates against the schema with an independent validator (issue 10,
Deliver 4, Acceptance 1): ``check-jsonschema`` (its own loader and ``jsonschema`` engine
configuration, run as a command, as CI runs it) over the bundled levels, the DriftSystem
corpus and the test fixtures the engine loads; and the fixtures the engine refuses for
their shape (a misspelt type or key, a wrong type) fail it too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from quest_runtime.levels.files import level_files
from quest_runtime.levels.loader import load_level

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "docs" / "schema" / "level.schema.json"
CORPUS = REPO.parent / "shared" / "compat" / "driftsystem" / "levels"
FIXTURES = REPO / "tests" / "fixtures" / "broken_levels"
#: Fixtures the engine refuses because of their shape, which the schema can see.
SHAPE_ERRORS = ["condition_type_typo.json", "effect_type_typo.json", "key_typo_task.json",
                "listener_key_typo.json", "wrong_type_and_more.json",
                "wrong_type_targets.json"]


def check(files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA),
         *map(str, files)], capture_output=True, text=True, timeout=300, check=False)


def valid_files() -> list[Path]:
    files = level_files(REPO / "levels")
    if CORPUS.is_dir():
        files += level_files(CORPUS)
    files += [p for p in sorted(FIXTURES.glob("*.json")) if load_level(p).ok]
    return files


def test_every_level_the_engine_loads_validates() -> None:
    files = valid_files()
    assert len(files) >= 1 + (51 if CORPUS.is_dir() else 0) + 8
    result = check(files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", SHAPE_ERRORS)
def test_a_fixture_refused_for_its_shape_fails_the_schema(name: str) -> None:
    path = FIXTURES / name
    assert not load_level(path).ok
    result = check([path])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors" in result.stdout + result.stderr
