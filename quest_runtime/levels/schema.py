"""The level-file JSON Schema, generated from the raw models (``model.py``)."""

from __future__ import annotations

from typing import Any

from quest_runtime.levels.model import LevelModel


def level_schema() -> dict[str, Any]:
    schema = LevelModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "quest-runtime level"
    schema.setdefault("properties", {})["$schema"] = {
        "type": "string", "description": "Path or URL of this schema, for editors."}
    return schema
