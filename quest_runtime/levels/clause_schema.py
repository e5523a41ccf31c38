"""The JSON Schema of conditions and effects, generated from their registries.

Each registered type becomes one closed object schema (``type`` as a ``const``, its
fields from the type's :class:`~quest_runtime.params.Param` declarations: the types the
compiler checks, a description, an example, a default) and the ``Condition`` and
``Effect`` unions list them all (``anyOf``), so an editor completes a type's fields
after ``"type": "set_flag"`` and squiggles a field the type does not take. Combinators
(``all_of``, ``any_of``, ``none_of``, ``not``) and ``if`` refer back to the unions, so
completion works at any depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quest_runtime.conditions import CONDITION_TYPES
from quest_runtime.effects import EFFECT_TYPES
from quest_runtime.params import Param

CONDITION = "#/$defs/Condition"
EFFECT = "#/$defs/Effect"
EFFECTS = "#/$defs/Effects"

_CHILDREN: dict[str, dict[str, Any]] = {
    "conditions": {"type": "array", "items": {"$ref": CONDITION}, "minItems": 1,
                   "title": "Conditions", "description": "The sub-conditions (at least one).",
                   "examples": [[{"type": "flag_set", "flag": "met_mia"},
                                 {"type": "has_item", "item": "lantern"}]]},
    "condition": {"$ref": CONDITION, "title": "Condition",
                  "description": "The sub-condition.",
                  "examples": [{"type": "flag_set", "flag": "met_mia"}]},
}


def _param_schema(name: str, param: Param, *, condition: bool, branch: bool) -> dict[str, Any]:
    if condition:
        out: dict[str, Any] = {"$ref": CONDITION}
    elif branch:
        out = {"anyOf": [{"$ref": EFFECT}, {"type": "array", "items": {"$ref": EFFECT}}]}
    else:
        types = param.json_types()
        out = {"type": types[0] if len(types) == 1 else types}
    out.update(title=name.replace("_", " ").capitalize(), description=param.description,
               examples=[param.example])
    if param.default is not None:
        out["default"] = param.default
    return out


def _type_schema(kind: str, name: str, summary: str, params: Mapping[str, Param],
                 required: tuple[str, ...], children: str | None = None,
                 condition: str | None = None, branches: tuple[str, ...] = ()) -> dict[str, Any]:
    props: dict[str, Any] = {"type": {"const": name, "title": f"{kind.capitalize()} type",
                                      "description": f"{name}: {summary}.",
                                      "examples": [name]}}
    example: dict[str, Any] = {"type": name}
    for field, param in params.items():
        props[field] = _param_schema(field, param, condition=field == condition,
                                     branch=field in branches)
        if field in required or param.default is None:
            example[field] = param.example
    need = ["type", *required]
    if children is not None:
        props[children] = dict(_CHILDREN[children])
        example[children] = _CHILDREN[children]["examples"][0]
        need.append(children)
    return {"type": "object", "title": f"{name}",
            "description": f"{summary[:1].upper()}{summary[1:]}.",
            "properties": props, "required": need, "additionalProperties": False,
            "examples": [example]}


def clause_schemas() -> dict[str, Any]:
    """``$defs`` entries: ``Condition``, ``Effect``, ``Effects`` and one per type."""
    defs: dict[str, Any] = {}
    for name, c in sorted(CONDITION_TYPES.items()):
        defs[f"condition.{name}"] = _type_schema("condition", name, c.summary, c.params,
                                                 c.required, children=c.children)
    for name, e in sorted(EFFECT_TYPES.items()):
        defs[f"effect.{name}"] = _type_schema("effect", name, e.summary, e.params, e.required,
                                              condition=e.condition, branches=e.branches)
    lines = "; ".join(f"{n}: {c.summary}" for n, c in sorted(CONDITION_TYPES.items()))
    defs["Condition"] = {
        "title": "Condition", "description": f"A condition, tagged by 'type' (SPEC §3.3). "
        f"Types — {lines}.",
        "anyOf": [{"$ref": f"#/$defs/condition.{n}"} for n in sorted(CONDITION_TYPES)]}
    lines = "; ".join(f"{n}: {e.summary}" for n, e in sorted(EFFECT_TYPES.items()))
    defs["Effect"] = {
        "title": "Effect", "description": f"An effect, tagged by 'type' (SPEC §3.3). "
        f"Types — {lines}.",
        "anyOf": [{"$ref": f"#/$defs/effect.{n}"} for n in sorted(EFFECT_TYPES)]}
    defs["Effects"] = {
        "title": "Effects", "description": "A list of effects, run in order (one effect "
        "object or null is accepted too).",
        "anyOf": [{"type": "array", "items": {"$ref": EFFECT}}, {"$ref": EFFECT},
                  {"type": "null"}]}
    return defs
