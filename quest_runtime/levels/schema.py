"""The level-file JSON Schema: the whole format, generated from the engine's own models.

``quest-runtime schema --out docs/schema`` writes it as ``level.schema.json`` (next to the
protocol schemas); a level file that starts with ``"$schema":
"../docs/schema/level.schema.json"`` gets completion, hover text and inline checks in
editors. The committed file must equal the generated one (a test checks it).

Sources, so the schema and the engine cannot drift apart:

- the raw level models (``model.py``): every owned object, with the same strict value
  policy the loader applies (``params.py``);
- the condition and effect registries' field declarations (``clause_schema.py``):
  ``Condition`` and ``Effect`` are unions keyed by ``type``;
- the dialogue program models (``dialogue_model.py``), whose keys ``dialogues.py`` checks;
- the event types the plugin sends (``plugin_events.EVENT_TYPES``) for task and listener
  ``type``, offered as completions while any other word stays legal (custom types);
- the built-in reward templates (``compiler.DEFAULT_REWARD_COMMANDS``) for reward types;
- the text-variable grammar (``textvars.NARRATION_PATTERN``, ``NAME_PATTERN``) on every
  string ``levels/textvars.narration`` checks (:data:`_NARRATION`).

Engine-owned objects are closed (``additionalProperties: false``): an editor squiggles
every key the engine does not read, as ``validate`` reports it (a near miss as an error,
another unknown key as a warning). The exceptions are the foreign keys DriftSystem
really uses there (:data:`FOREIGN_KEYS`), listener ``metadata`` (free-form by tradition:
the plugin and other tools keep keys there) and the level's top level (narrative,
scene, ... belong to other systems).
"""

from __future__ import annotations

from typing import Any

from quest_runtime.levels.clause_schema import clause_schemas
from quest_runtime.levels.compiler import DEFAULT_REWARD_COMMANDS
from quest_runtime.levels.dialogue_model import dialogue_schemas
from quest_runtime.levels.limits import MIN_REPEAT_SECONDS
from quest_runtime.levels.model import LevelModel, _Owned
from quest_runtime.levels.plugin_events import EVENT_TYPES
from quest_runtime.textvars import NAME_PATTERN, NARRATION_PATTERN

#: Keys of engine-owned objects that DriftSystem levels really use and the engine does
#: not read (the compat corpus; docs/decisions.md, "The schema is the whole format"):
#: the schema declares them, so those levels validate; ``validate`` warns about them.
FOREIGN_KEYS: dict[str, dict[str, str]] = {
    "TaskModel": {
        "hints": "DriftSystem: a list of hint lines for its own tutorial UI (the engine "
                 "reads `hint`).",
        "memory_set": "DriftSystem: memory flags its story system sets (the engine ignores "
                      "it).",
    },
    "ListenerModel": {
        "on": "DriftSystem: the story system's trigger description (the engine ignores it; "
              "use `type` and `targets`).",
    },
}

_REWARD_TYPES = {
    "xp": "experience points: `xp add {player} {amount}`",
    "item": "an item: `give {player} {data.id} {amount}`",
    "command": "a console command: `{data.command}`",
}
assert set(_REWARD_TYPES) == set(DEFAULT_REWARD_COMMANDS)


def _event_type(description: str, *, nullable: bool) -> dict[str, Any]:
    known = {"enum": sorted(EVENT_TYPES), "description": "; ".join(
        f"{name}: {text}" for name, text in sorted(EVENT_TYPES.items()))}
    custom = {"type": "string", "description": "Any other word: a custom event type (a "
              "mapped NPC click's quest event, a dialogue option's rule_event, or a type "
              "only complete_task completes)."}
    options: list[dict[str, Any]] = [known, custom]
    if nullable:
        options.append({"type": "null"})
    return {"anyOf": options, "description": description}


def _resolve(node: Any) -> Any:
    """``{"x-ref": NAME, ...}`` → ``{"$ref": "#/$defs/NAME", ...}``; drop ``default: null``."""
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _resolve(v) for k, v in node.items()
           if not (k == "default" and v is None)}
    if "x-ref" in out:
        out["$ref"] = f"#/$defs/{out.pop('x-ref')}"
    return out


def _owned_models() -> list[str]:
    found: list[str] = []
    todo = list(_Owned.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def _close(defs: dict[str, Any]) -> None:
    for name in _owned_models():
        part = defs.get(name)
        if part is None:
            continue
        part["additionalProperties"] = False
        for key, text in FOREIGN_KEYS.get(name, {}).items():
            example: Any = ["Walk to the pier."] if key == "hints" else {}
            part["properties"][key] = {"title": f"{key} (DriftSystem)", "description": text,
                                       "examples": [example]}


# -- narration: the text-variable grammar (``textvars.scan``) where the engine checks it ----

#: ``pattern`` constrains only strings, ``items`` only lists, ``properties`` only objects:
#: each fragment checks the strings that ``levels/textvars.narration`` walks, whatever
#: else the field's own schema allows there.
#: ``patternErrorMessage`` is VS Code's keyword for the text of a pattern's squiggle
#: (other validators ignore it).
_TEXT: dict[str, Any] = {"pattern": NARRATION_PATTERN, "patternErrorMessage":
                         "A text variable is {player}, {var:NAME}, {item:NAME} or "
                         "{flag:NAME} (no spaces in NAME); write {{ for a literal {."}
_NAME: dict[str, Any] = {"pattern": NAME_PATTERN, "patternErrorMessage":
                         "A name is shown as written: no {…} text variables and no {{ }} "
                         "escapes here (put them in a hint, dialogue or say text)."}
_LINES: dict[str, Any] = {**_TEXT, "items": _TEXT}
_NODE: dict[str, Any] = {**_LINES, "properties": {
    "title": _TEXT, "text": _TEXT, "prompt": _TEXT, "lines": _LINES,
    "script": {"items": {**_TEXT, "properties": {"text": _TEXT}}}}}
_PATCH: dict[str, Any] = {"properties": {"tell": _LINES, "mc": {
    "properties": {"tell": _LINES}, "items": {"properties": {"tell": _LINES}}}}}

#: Where narration and names are: ``{definition: {property: fragment}}`` ("" is the
#: level itself). Effects (``say``, ``world_patch``) carry theirs wherever they are used.
_NARRATION: dict[str, dict[str, dict[str, Any]]] = {
    "": {"title": _NAME, "blocked_text": _TEXT, "world_patch": _PATCH},
    "SummaryModel": {"title": _TEXT, "text": _TEXT},
    "TaskModel": {"title": _NAME, "hint": _TEXT, "dialogue": _TEXT},
    "TaskDialogueModel": {"on_issue": _TEXT, "on_progress": _TEXT, "on_complete": _TEXT},
    "MilestoneModel": {"title": _NAME, "hint": _TEXT},
    "RewardModel": {"npc_dialogue": _NODE, "world_patch": _PATCH},
    "ListenerModel": {"dialogue": _NODE, "blocked_text": _TEXT},
    "ListenerMetadataModel": {"dialogue": _NODE, "blocked_text": _TEXT, "world_patch": _PATCH},
    "effect.say": {"title": _TEXT, "text": _TEXT},
    "effect.world_patch": {"patch": _PATCH},
    "DialogueProgram": {"npc": _NAME},
    "LineNodeModel": {"speaker": _NAME, "text": _LINES},
    "ChoiceNodeModel": {"text": _LINES},
    "DialogueOptionModel": {"text": _TEXT},
}


def _narration(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """Add the grammar to every narration field (``allOf``: the field's schema stays)."""
    for name, fields in _NARRATION.items():
        properties = (schema if name == "" else defs[name])["properties"]
        for key, fragment in fields.items():
            prop = properties[key]
            prop["allOf"] = [*prop.get("allOf", ()), fragment]


def level_schema() -> dict[str, Any]:
    schema = LevelModel.model_json_schema()
    defs: dict[str, Any] = schema["$defs"]
    defs.update(clause_schemas())
    defs.update(dialogue_schemas())
    _close(defs)
    task = defs["TaskModel"]["properties"]
    task["type"] = {**{k: v for k, v in task["type"].items() if k != "type"},
                    **_event_type(task["type"]["description"], nullable=False)}
    listener = defs["ListenerModel"]["properties"]
    listener["type"] = {**{k: v for k, v in listener["type"].items() if k != "anyOf"},
                        **_event_type(listener["type"]["description"], nullable=True)}
    reward = defs["TypedRewardModel"]["properties"]["type"]
    reward.pop("type")
    reward["anyOf"] = [
        {"enum": sorted(_REWARD_TYPES), "description": "; ".join(
            f"{k}: {v}" for k, v in sorted(_REWARD_TYPES.items()))},
        {"type": "string", "description": "A type the level's reward_commands defines."}]
    repeat = defs["TimerModel"]["properties"]["repeat_seconds"]
    repeat["anyOf"] = [{"type": "number", "minimum": MIN_REPEAT_SECONDS}, {"type": "null"}]
    _narration(schema, defs)
    schema = dict(_resolve(schema))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "quest-runtime level"
    schema.setdefault("properties", {})["$schema"] = {
        "type": "string", "title": "Schema",
        "description": "Path or URL of this schema, for editors (the engine ignores it).",
        "examples": ["../docs/schema/level.schema.json"]}
    return schema
