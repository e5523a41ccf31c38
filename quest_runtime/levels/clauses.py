"""Compiling conditions and effects: raw objects → frozen ``Condition``/``Effect`` trees.

Both are objects tagged by ``type`` and looked up in their registry. Every problem is
reported at once with the pointer of the object or field: an unknown type names the
closest known one, a missing or mistyped field names the field, an unknown field gets a
did-you-mean. A clause with an error compiles to None (and the level is rejected).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quest_runtime.conditions import CONDITION_TYPES, Condition
from quest_runtime.effects import EFFECT_TYPES, Effect
from quest_runtime.levels.findings import join_pointer
from quest_runtime.levels.limits import MAX_CONDITION_DEPTH, MAX_EFFECT_DEPTH
from quest_runtime.levels.report import Reporter
from quest_runtime.params import normalise, quoted_hint, type_ok
from quest_runtime.suggest import hint_for

#: Effects the registry knows but the engine does not run yet (none today: a type added
#: to the registry ahead of its engine support goes here and is reported as a warning).
NOT_ACTIVE_YET: frozenset[str] = frozenset()

_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", dict: "an object",
               list: "a list", bool: "true or false"}


def _expected(types: tuple[type, ...]) -> str:
    names = dict.fromkeys(_TYPE_NAMES.get(t, t.__name__) for t in types)
    if "an integer" in names and "a number" in names:
        del names["an integer"]
    return " or ".join(names)


def _args(spec: dict[str, Any], fields: Mapping[str, tuple[type, ...]],
          skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The checked fields of a clause (``3.0`` for an integer field becomes ``3``)."""
    return {k: normalise(v, fields[k]) for k, v in spec.items()
            if k != "type" and k in fields and k not in skip}


def _check_fields(
    spec: dict[str, Any], pointer: str, kind: str, name: str,
    fields: dict[str, tuple[type, ...]] | Any, required: tuple[str, ...],
    skip: tuple[str, ...], rep: Reporter,
) -> bool:
    ok = True
    for field in required:
        if field not in spec:
            rep.error(pointer, f"{kind} '{name}' needs the field '{field}'",
                      code="missing_field")
            ok = False
    for field, value in spec.items():
        if field == "type" or field in skip:
            continue
        if field not in fields:
            rep.unknown_key(join_pointer(pointer, field), field, ["type", *fields, *skip],
                            f"{kind} '{name}'", kind,
                            f"known fields: {', '.join(fields) or 'none'}")
            continue
        if not type_ok(value, fields[field]):
            rep.error(join_pointer(pointer, field),
                      f"'{field}' of {kind} '{name}' must be {_expected(fields[field])}, "
                      f"not {type(value).__name__}", quoted_hint(value, fields[field]),
                      code="bad_type")
            ok = False
    return ok


def _type_name(spec: Any, pointer: str, what: str, registry: Mapping[str, Any],
               example: str, rep: Reporter) -> str | None:
    """The registered ``type`` of a condition or effect object, or None (reported)."""
    article = "an" if what[0] in "aeiou" else "a"
    if not isinstance(spec, dict):
        rep.error(pointer, f"{article} {what} must be an object with a 'type'",
                  f"for example {example}", code="bad_type")
        return None
    name = spec.get("type")
    if isinstance(name, str) and name in registry:
        return name
    known = sorted(registry)
    if isinstance(name, str):
        rep.error(join_pointer(pointer, "type"), f"unknown {what} type '{name}'",
                  hint_for(name, known) or f"known types: {', '.join(known)}",
                  code="unknown_type")
    else:
        rep.error(pointer, f"{article} {what} needs a 'type'", f"known types: {', '.join(known)}",
                  code="missing_field")
    return None


def compile_condition(spec: Any, pointer: str, rep: Reporter,
                      depth: int = 1) -> Condition | None:
    """A condition object (or None when it has errors, which are reported).

    ``depth`` is this condition's nesting level; past ``MAX_CONDITION_DEPTH`` it is an
    error and nothing below it is looked at (so compiling never recurses deeper)."""
    if depth > MAX_CONDITION_DEPTH:
        rep.error(pointer, f"conditions are nested too deeply: the max nesting depth is "
                  f"{MAX_CONDITION_DEPTH}", "flatten the condition (all_of and any_of take "
                  "lists; not over not cancels out)", code="too_deep")
        return None
    name = _type_name(spec, pointer, "condition", CONDITION_TYPES,
                      '{"type": "flag_set", "flag": "met_mia"}', rep)
    if name is None:
        return None
    assert isinstance(spec, dict)  # _type_name checked it
    kind = CONDITION_TYPES[name]
    skip = (kind.children,) if kind.children else ()
    ok = _check_fields(spec, pointer, "condition", name, kind.fields, kind.required, skip, rep)
    children: list[Condition] = []
    if kind.children == "conditions":
        raw = spec.get("conditions")
        if not isinstance(raw, list) or not raw:
            rep.error(join_pointer(pointer, "conditions"),
                      f"condition '{name}' needs a non-empty list 'conditions'",
                      code="missing_field")
            ok = False
        else:
            for i, child in enumerate(raw):
                c = compile_condition(child, join_pointer(pointer, "conditions", i), rep,
                                      depth + 1)
                ok = ok and c is not None
                if c is not None:
                    children.append(c)
    elif kind.children == "condition":
        c = compile_condition(spec.get("condition"), join_pointer(pointer, "condition"), rep,
                              depth + 1)
        ok = ok and c is not None
        if c is not None:
            children.append(c)
    if not ok:
        return None
    args = _args(spec, kind.fields)
    _note_refs(args, pointer, rep)
    return Condition(name, args, tuple(children), kind.check, pointer, rep.source.path)


def _note_refs(args: dict[str, Any], pointer: str, rep: Reporter) -> None:
    """Names the compiler resolves once the whole file is known (timers, SPEC §4.7)."""
    timer = args.get("timer")
    if isinstance(timer, str):
        rep.refs.append(("timer", timer, join_pointer(pointer, "timer")))


def compile_effects(specs: Any, pointer: str, rep: Reporter,
                    depth: int = 1) -> tuple[Effect, ...] | None:
    """A list of effects (a single object is accepted); None when any has errors.

    ``depth`` is the nesting level of the list's effects (``if`` branches add one); past
    ``MAX_EFFECT_DEPTH`` it is an error and the list is not looked into."""
    if depth > MAX_EFFECT_DEPTH:
        rep.error(pointer, f"effects are nested too deeply: the max nesting depth is "
                  f"{MAX_EFFECT_DEPTH}", "flatten the 'if' branches (one 'if' with an "
                  "all_of condition replaces an 'if' inside an 'if')", code="too_deep")
        return None
    if isinstance(specs, dict):
        specs = [specs]
        single = True
    else:
        single = False
    if not isinstance(specs, list):
        rep.error(pointer, "effects must be a list of objects", code="bad_type")
        return None
    out: list[Effect] = []
    ok = True
    for i, spec in enumerate(specs):
        e = compile_effect(spec, pointer if single else join_pointer(pointer, i), rep, depth)
        if e is None:
            ok = False
        else:
            out.append(e)
    return tuple(out) if ok else None


def compile_effect(spec: Any, pointer: str, rep: Reporter, depth: int = 1) -> Effect | None:
    name = _type_name(spec, pointer, "effect", EFFECT_TYPES,
                      '{"type": "set_flag", "flag": "met_mia"}', rep)
    if name is None:
        return None
    assert isinstance(spec, dict)  # _type_name checked it
    kind = EFFECT_TYPES[name]
    if name in NOT_ACTIVE_YET:
        rep.warning(join_pointer(pointer, "type"),
                    f"effect '{name}' is accepted but does nothing in this version",
                    "it arrives in a later release",
                    code="inactive_effect")
    skip = (*kind.branches, *((kind.condition,) if kind.condition else ()))
    ok = _check_fields(spec, pointer, "effect", name, kind.fields, kind.required, skip, rep)
    condition = None
    if kind.condition:
        condition = compile_condition(spec.get(kind.condition),
                                      join_pointer(pointer, kind.condition), rep)
        ok = ok and condition is not None
    branches: dict[str, tuple[Effect, ...]] = {}
    for branch in kind.branches:
        if branch in spec:
            compiled = compile_effects(spec[branch], join_pointer(pointer, branch), rep,
                                       depth + 1)
            if compiled is None:
                ok = False
            else:
                branches[branch] = compiled
    if not ok:
        return None
    args = _args(spec, kind.fields, skip)
    _note_refs(args, pointer, rep)
    return Effect(name, args, kind.run, pointer, condition, branches or None, rep.source.path)
