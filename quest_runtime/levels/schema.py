"""The level-file JSON Schema, generated from the raw models (``model.py``).

``quest-runtime schema --out docs/schema`` writes it as ``level.schema.json`` (next to the
protocol schemas); a level file that starts with ``"$schema":
"../docs/schema/level.schema.json"`` gets completion, hover text and inline checks in
editors. The committed file must equal the generated one (a test checks it).
"""

from __future__ import annotations

from typing import Any

from quest_runtime.levels.model import LevelModel


def level_schema() -> dict[str, Any]:
    schema = LevelModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "quest-runtime level"
    schema.setdefault("properties", {})["$schema"] = {
        "type": "string", "title": "Schema",
        "description": "Path or URL of this schema, for editors (the engine ignores it).",
        "examples": ["../docs/schema/level.schema.json"]}
    return schema
