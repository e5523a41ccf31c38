"""The schema accepts exactly what the engine accepts (issue 10, Deliver 4, Acceptance 4).

One level uses every part of the format (``schema_levels.full_level``: every owned
object with every field, every condition and effect type, a dialogue program, a timer).
Hypothesis changes one value anywhere in it to a value of some JSON type — the right
type, a wrong one, a number written as a string (``"3"``), a boolean word (``"yes"``),
null, an integral float (``3.0``), out-of-range numbers — and the real loader (parse,
migrate, models, compiler, registry checks) must accept the level exactly when
``jsonschema`` validates it against the generated schema.

Two kinds of finding are outside the schema's reach and are told apart explicitly:
references to the level's own ids (a task, milestone, dialogue or timer that a change
made disappear: the schema cannot know a level's ids) and unknown keys, which the
schema squiggles while ``validate`` warns (the test of closed objects covers them).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schema_levels import at, full_level, paths, replaced

from quest_runtime.levels.loader import load_level_bytes
from quest_runtime.levels.schema import level_schema
from quest_runtime.levels.textvars import narration

VALIDATOR = Draft202012Validator(level_schema())
BASE = full_level()
PATHS = list(paths(BASE))
#: Findings about the level's own ids: a changed value can make one disappear.
REFERENCE_CODES = frozenset({"unknown_task", "unknown_milestone", "unknown_dialogue",
                             "unknown_timer", "unknown_node"})

#: Values of every JSON type, with the policy's edge cases.
VALUES: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([None, True, False, 0, 1, -1, 3.0, 2.5, "3", "yes", "true", "",
                     [], {}, [1], [None]]),
    st.integers(-3, 5), st.floats(-3, 5, allow_nan=False), st.text(max_size=3),
)


def engine(level: dict[str, Any]) -> tuple[bool, set[str]]:
    result = load_level_bytes(orjson.dumps(level), "everything.json", "everything")
    return result.ok, {f.code for f in result.findings if f.severity == "error"}


def test_the_full_level_loads_and_validates() -> None:
    ok, errors = engine(BASE)
    assert (ok, errors) == (True, set())
    assert list(VALIDATOR.iter_errors(BASE)) == []
    assert len(PATHS) > 250  # every part of the format is in it


def _values(path: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    original = at(BASE, path)
    if isinstance(original, str):
        # another word in a string field is a different name, not a different type
        return VALUES.filter(lambda v: not isinstance(v, str)) | st.just([original])
    return VALUES | st.just([original])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS).flatmap(lambda p: st.tuples(st.just(p), _values(p))))
def test_engine_accepts_exactly_what_the_schema_accepts(change: tuple[tuple[Any, ...], Any]
                                                        ) -> None:
    path, value = change
    level = replaced(BASE, path, value)
    ok, errors = engine(level)
    schema_errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:120]}"
                     for e in VALIDATOR.iter_errors(level)]
    if not ok and errors <= REFERENCE_CODES:
        return  # the change removed an id something refers to: the schema cannot know
    where = "/".join(map(str, path))
    assert ok == (not schema_errors), (
        f"{where} = {value!r}: engine {'accepts' if ok else f'refuses ({errors})'}, "
        f"schema {'accepts' if not schema_errors else f'refuses: {schema_errors[:3]}'}")


#: Every narration string and name of the full level, by the walker the engine checks with.
NARRATION = [(tuple(int(t) if t.isdigit() else t for t in pointer.split("/")[1:]), is_name)
             for pointer, _, is_name in narration(BASE)]
#: Texts the grammar takes or refuses (``quest_runtime/textvars.scan``), and name cases.
TEXTS = ["plain", "Hi {player}!", "{var:gold} gold, {item:key} keys, {flag:met}",
         "{{literal}} and }", "{", "{player", "{palyer}", "{var:}", "{var:a b}", "{{{player}}}",
         "{item: key}", "a}}b", "{var:{x}}", "{flag:ok}}", "}{", "{x:y}"]


def test_the_full_level_has_narration_everywhere_the_walker_looks() -> None:
    where = {p[0] for p, _ in NARRATION} | {p[2] for p, _ in NARRATION if len(p) > 2}
    assert {"tasks", "summary", "world_patch", "dialogues", "rule_listeners", "timers",
            "nodes", "reward", "milestones"} <= where
    assert len(NARRATION) >= 25 and any(name for _, name in NARRATION)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(NARRATION), st.sampled_from(TEXTS) | st.text("{}:a bplayervr", max_size=6))
def test_every_narration_string_takes_the_text_grammar_in_both(
        place: tuple[tuple[Any, ...], bool], text: str) -> None:
    """A malformed placeholder (or a placeholder in a name) fails the schema exactly where
    the engine refuses the level: editors squiggle what ``validate`` reports."""
    path, _ = place
    level = replaced(BASE, path, text)
    ok, errors = engine(level)
    schema_errors = [e.message[:120] for e in VALIDATOR.iter_errors(level)]
    assert errors <= {"bad_text_variable", "text_variable_in_name"}
    assert ok == (not schema_errors), (
        f"{'/'.join(map(str, path))} = {text!r}: engine {'accepts' if ok else errors}, "
        f"schema {schema_errors[:2] or 'accepts'}")


#: The other shapes narration takes (a node object, lines, a script, a world patch's
#: ``tell`` and layers, a ``world_patch`` effect): ``(path, value with T for the text)``.
SHAPES: list[tuple[tuple[Any, ...], Any]] = [
    (("tasks", 0, "dialogue"), "T"),
    (("rule_listeners", 0, "dialogue"), {"title": "T", "text": "ok"}),
    (("rule_listeners", 0, "dialogue"), {"prompt": "T", "lines": ["ok", "T"]}),
    (("rule_listeners", 0, "dialogue"), {"script": [{"npc": "Mia", "text": "T"}, "T"]}),
    (("rule_listeners", 0, "dialogue"), ["ok", "T"]),
    (("tasks", 0, "reward", "npc_dialogue"), {"text": "T"}),
    (("world_patch",), {"tell": "T"}),
    (("world_patch",), {"mc": {"tell": ["ok", "T"]}}),
    (("world_patch",), {"mc": [{"tell": "T"}]}),
    (("rule_listeners", 0, "metadata", "world_patch"), {"tell": ["T"]}),
    (("timers", "storm", "effects"), [{"type": "world_patch", "patch": {"tell": "T"}}]),
]


def _with_text(value: Any, text: str) -> Any:
    if value == "T":
        return text
    if isinstance(value, list):
        return [_with_text(v, text) for v in value]
    if isinstance(value, dict):
        return {k: _with_text(v, text) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("path", "shape"), SHAPES)
@pytest.mark.parametrize("text", ["Hi {player}", "{{ok}}", "{", "{palyer}", "{var: x}"])
def test_narration_in_every_shape_takes_the_grammar_in_both(path: tuple[Any, ...],
                                                            shape: Any, text: str) -> None:
    level = replaced(BASE, path, _with_text(shape, text))
    ok, errors = engine(level)
    schema_errors = [e.message[:120] for e in VALIDATOR.iter_errors(level)]
    assert ok == ("{player}" in text or text == "{{ok}}")
    assert ok == (not schema_errors), (path, shape, text, errors, schema_errors[:2])


#: Free-form values (world patches, listener metadata, reward data, ...) and objects
#: keyed by the designer's ids (dialogues, nodes, timers, aliases) take any key.
FREE = frozenset({"world_patch", "metadata", "data", "hub", "teleport", "aliases", "patch",
                  "reward_commands", "update_behaviors", "nodes", "dialogues", "timers"})
OWNED = [p for p in PATHS if isinstance(at(BASE, p), dict) and not FREE & set(p)
         and p != ("rules",)] + [
    ("dialogues", "mia_intro"), ("timers", "storm"),
    *(p for p in PATHS if p[:1] == ("dialogues",) and len(p) in (4, 6)
      and isinstance(at(BASE, p), dict) and p[-2] in ("nodes", "options"))]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(OWNED))
def test_an_unknown_key_is_squiggled_and_reported(path: tuple[Any, ...]) -> None:
    """Owned objects are closed: a key the engine does not read fails the schema, and
    ``validate`` reports it (an error for a near miss, a warning otherwise)."""
    obj = dict(at(BASE, path))
    obj["zzqx"] = 1
    level = replaced(BASE, path, obj)
    assert not VALIDATOR.is_valid(level), "/".join(map(str, path))
    result = load_level_bytes(orjson.dumps(level), "everything.json", "everything")
    assert any("zzqx" in f.message or "zzqx" in f.pointer for f in result.findings), (
        "/".join(map(str, path)))
