"""The level JSON Schema: committed = generated, documented keys, and every bundled level
and the DriftSystem corpus validate against it (issue 4, Acceptance 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bridge_protocol.schema import schemas
from quest_runtime.levels.files import level_files
from quest_runtime.levels.schema import level_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO / "docs" / "schema"
CORPUS = REPO.parent / "shared" / "compat" / "driftsystem" / "levels"
FIX = "regenerate with: quest-runtime schema --out docs/schema"


def generated() -> dict[str, Any]:
    return {"level": level_schema(), **schemas()}


def test_the_committed_schemas_equal_the_generated_ones() -> None:
    docs = generated()
    committed = {p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == set(docs), FIX
    for name, schema in docs.items():
        on_disk = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert on_disk == schema, f"docs/schema/{name}.schema.json is out of date: {FIX}"


def test_every_key_has_a_title_a_description_and_an_example() -> None:
    schema = level_schema()
    missing = [f"{where}.{key}: {need}"
               for where, part in [("level", schema), *schema["$defs"].items()]
               for key, prop in part.get("properties", {}).items()
               for need in ("title", "description", "examples") if need not in prop]
    assert missing == []


def test_conditions_and_effects_are_unions_of_their_registered_types() -> None:
    """Each registered type is one closed object with its declared fields (from the same
    Param declarations the compiler checks), and the unions list every type."""
    from quest_runtime.conditions import CONDITION_TYPES
    from quest_runtime.effects import EFFECT_TYPES

    schema = level_schema()
    defs = schema["$defs"]
    for kind, registry in (("condition", CONDITION_TYPES), ("effect", EFFECT_TYPES)):
        union = defs[kind.capitalize()]["anyOf"]
        assert union == [{"$ref": f"#/$defs/{kind}.{n}"} for n in sorted(registry)]
        for name, entry in registry.items():
            part = defs[f"{kind}.{name}"]
            assert part["additionalProperties"] is False
            assert part["properties"]["type"]["const"] == name
            assert set(entry.params) <= set(part["properties"])
            assert set(entry.required) <= set(part["required"])
            example = part["examples"][0]
            task = ({"requires": example} if kind == "condition"
                    else {"on_complete": [example]})
            Draft202012Validator(schema).validate({"tasks": [{"id": "t", **task}]})
    props = defs["TaskModel"]["properties"]
    assert props["requires"]["anyOf"][0] == {"$ref": "#/$defs/Condition"}
    assert props["on_complete"]["items"]["$ref"] == "#/$defs/Effect"


def _files() -> list[Path]:
    files = level_files(REPO / "levels")
    if CORPUS.is_dir():
        files += level_files(CORPUS)
    return files


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(REPO.parent)))
def test_bundled_levels_and_the_driftsystem_corpus_validate(path: Path) -> None:
    validator = Draft202012Validator(level_schema())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(json.loads(path.read_text(encoding="utf-8")))]
    assert errors == []


def test_the_corpus_is_there() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the DriftSystem corpus is not at {CORPUS}")
    assert len(level_files(CORPUS)) == 51


def test_bundled_levels_declare_the_schema() -> None:
    for path in level_files(REPO / "levels"):
        level = json.loads(path.read_text(encoding="utf-8"))
        assert level.get("$schema") == "../docs/schema/level.schema.json", path
        assert (path.parent / level["$schema"]).resolve() == SCHEMA_DIR / "level.schema.json"


def test_a_mistyped_level_fails_the_schema() -> None:
    validator = Draft202012Validator(level_schema())
    bad = {"tasks": [{"id": "greet", "count": "two", "after": "wake_up"}],
           "rule_listeners": [{"once": True, "effects": [{"flag": "x"}]}]}
    assert sorted("/".join(map(str, e.absolute_path)) for e in validator.iter_errors(bad)) == [
        "rule_listeners/0/effects/0", "tasks/0/after", "tasks/0/count"]


def test_the_foreign_near_misses_validate_are_declared_in_the_schema() -> None:
    """A near miss the engine takes as a known foreign key (report.FOREIGN_NEAR_MISSES)
    must not be underlined by the schema either; every declared foreign key is one the
    DriftSystem corpus uses."""
    from quest_runtime.levels.report import FOREIGN_NEAR_MISSES
    from quest_runtime.levels.schema import FOREIGN_KEYS

    defs = level_schema()["$defs"]
    models = {"task": "TaskModel", "listener": "ListenerModel"}
    for kind, keys in FOREIGN_NEAR_MISSES.items():
        assert keys <= set(defs[models[kind]]["properties"]), kind
    if CORPUS.is_dir():
        corpus = "\n".join(p.read_text(encoding="utf-8") for p in level_files(CORPUS))
        for foreign in FOREIGN_KEYS.values():
            for key in foreign:
                assert f'"{key}"' in corpus, key
