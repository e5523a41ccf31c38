"""Where a level file's narration is, and what its text variables name (``textvars.py``).

:func:`narration` walks the file as written (the pointers are the source's) and yields
every string the engine shows as narration, and every string that is a *name* (the
level, task and milestone titles, which the quest log shows as written, and dialogue
speakers, which the plugin matches to NPCs): names take no text variables and no
escapes. :func:`check_texts` reports, in ``registry.check_level`` (every load):

- a malformed or unknown placeholder (``{var:}``, ``{palyer}``, a ``{`` that opens
  nothing): an error at its line and column, with did-you-mean;
- a text variable or escape in a name: an error.

:func:`text_uses` gives the vars, items and flags the placeholders name, as
``LevelFacts.uses`` (``text_var``, ``text_item``, ``text_flag``): ``validate`` reports one
that nothing in the files checked sets as an error (``registry.Registry``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from quest_runtime.levels.findings import join_pointer
from quest_runtime.levels.report import Reporter
from quest_runtime.textvars import Placeholder, scan

#: Keys holding effect lists (``then``/``else`` of ``if`` included).
_EFFECT_LISTS = ("on_complete", "on_fail", "effects", "then", "else")


def narration(data: Any) -> Iterator[tuple[str, str, bool]]:
    """``(pointer, text, is_name)`` of every narration string of the raw level ``data``."""
    if not isinstance(data, Mapping):
        return
    yield from _strings(data, "title", "", name=True)
    yield from _strings(data, "blocked_text", "")
    yield from _patch(data.get("world_patch"), "/world_patch")
    summary = data.get("summary")
    if isinstance(summary, Mapping):
        yield from _strings(summary, ("title", "text"), "/summary")
    for i, task in _items(data.get("tasks"), "/tasks"):
        yield from _task_narration(task, i)
    yield from _listener_narration(data)
    timers = data.get("timers")
    for name, timer in timers.items() if isinstance(timers, Mapping) else ():
        if isinstance(timer, Mapping):
            yield from _effects(timer.get("effects"), join_pointer("/timers", name, "effects"))
    dialogues = data.get("dialogues")
    for did, program in dialogues.items() if isinstance(dialogues, Mapping) else ():
        if isinstance(program, Mapping):
            yield from _dialogue_narration(program, join_pointer("/dialogues", did))


def _task_narration(task: Mapping[str, Any], i: str) -> Iterator[tuple[str, str, bool]]:
    """The narration of the task at pointer ``i``."""
    yield from _strings(task, "title", i, name=True)
    yield from _strings(task, "hint", i)
    dialogue = task.get("dialogue")
    if isinstance(dialogue, str):
        yield join_pointer(i, "dialogue"), dialogue, False
    elif isinstance(dialogue, Mapping):
        yield from _strings(dialogue, ("on_issue", "on_progress", "on_complete"),
                            join_pointer(i, "dialogue"))
    for m, milestone in _items(task.get("milestones"), join_pointer(i, "milestones")):
        yield from _strings(milestone, "title", m, name=True)
        yield from _strings(milestone, "hint", m)
    reward = task.get("reward")
    if isinstance(reward, Mapping):
        yield from _node(reward.get("npc_dialogue"), join_pointer(i, "reward", "npc_dialogue"))
        yield from _patch(reward.get("world_patch"), join_pointer(i, "reward", "world_patch"))
    for key in ("on_complete", "on_fail"):
        yield from _effects(task.get(key), join_pointer(i, key))


def _listener_narration(data: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """The narration of every listener (``rule_listeners`` then ``rules.listeners``)."""
    rules = data.get("rules")
    listeners = [*_items(data.get("rule_listeners"), "/rule_listeners"),
                 *(_items(rules.get("listeners"), "/rules/listeners")
                   if isinstance(rules, Mapping) else ())]
    for i, listener in listeners:
        yield from _node(listener.get("dialogue"), join_pointer(i, "dialogue"))
        yield from _strings(listener, "blocked_text", i)
        meta = listener.get("metadata")
        if isinstance(meta, Mapping):
            yield from _node(meta.get("dialogue"), join_pointer(i, "metadata", "dialogue"))
            yield from _strings(meta, "blocked_text", join_pointer(i, "metadata"))
            yield from _patch(meta.get("world_patch"), join_pointer(i, "metadata", "world_patch"))
        yield from _effects(listener.get("effects"), join_pointer(i, "effects"))


def _dialogue_narration(program: Mapping[str, Any], p: str) -> Iterator[tuple[str, str, bool]]:
    """The narration of the dialogue program at pointer ``p``."""
    yield from _strings(program, "npc", p, name=True)
    nodes = program.get("nodes")
    for nid, node in nodes.items() if isinstance(nodes, Mapping) else ():
        if not isinstance(node, Mapping):
            continue
        np = join_pointer(p, "nodes", nid)
        yield from _strings(node, "speaker", np, name=True)
        yield from _text_or_lines(node.get("text"), join_pointer(np, "text"))
        yield from _effects(node.get("effects"), join_pointer(np, "effects"))
        for o, option in _items(node.get("options"), join_pointer(np, "options")):
            yield from _strings(option, "text", o)
            yield from _effects(option.get("effects"), join_pointer(o, "effects"))


def _items(value: Any, pointer: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for i, item in enumerate(value if isinstance(value, list) else ()):
        if isinstance(item, Mapping):
            yield join_pointer(pointer, i), item


def _strings(obj: Mapping[str, Any], keys: str | tuple[str, ...], pointer: str, *,
             name: bool = False) -> Iterator[tuple[str, str, bool]]:
    for key in (keys,) if isinstance(keys, str) else keys:
        value = obj.get(key)
        if isinstance(value, str):
            yield join_pointer(pointer, key), value, name


def _text_or_lines(value: Any, pointer: str) -> Iterator[tuple[str, str, bool]]:
    if isinstance(value, str):
        yield pointer, value, False
    elif isinstance(value, list):
        for j, line in enumerate(value):
            if isinstance(line, str):
                yield join_pointer(pointer, j), line, False


def _node(value: Any, pointer: str) -> Iterator[tuple[str, str, bool]]:
    """A listener's or reward's dialogue: a string, lines, or {title, text, lines, script}."""
    if not isinstance(value, Mapping):
        yield from _text_or_lines(value, pointer)
        return
    yield from _strings(value, ("title", "text", "prompt"), pointer)
    yield from _text_or_lines(value.get("lines"), join_pointer(pointer, "lines"))
    script = value.get("script")
    for j, entry in enumerate(script if isinstance(script, list) else ()):
        if isinstance(entry, Mapping):
            yield from _strings(entry, "text", join_pointer(pointer, "script", j))
        elif isinstance(entry, str):
            yield join_pointer(pointer, "script", j), entry, False


def _patch(value: Any, pointer: str) -> Iterator[tuple[str, str, bool]]:
    if not isinstance(value, Mapping):
        return
    yield from _text_or_lines(value.get("tell"), join_pointer(pointer, "tell"))
    mc = value.get("mc")
    if isinstance(mc, Mapping):
        yield from _text_or_lines(mc.get("tell"), join_pointer(pointer, "mc", "tell"))
    for j, layer in _items(mc, join_pointer(pointer, "mc")):
        yield from _text_or_lines(layer.get("tell"), join_pointer(j, "tell"))


def _effects(value: Any, pointer: str, depth: int = 0) -> Iterator[tuple[str, str, bool]]:
    if depth > 16:
        return
    specs = [(pointer, value)] if isinstance(value, Mapping) else list(_items(value, pointer))
    for p, spec in specs:
        kind = spec.get("type")
        if kind == "say":
            yield from _strings(spec, ("title", "text"), p)
        elif kind == "world_patch":
            yield from _patch(spec.get("patch"), join_pointer(p, "patch"))
        for key in _EFFECT_LISTS:
            if key in spec:
                yield from _effects(spec[key], join_pointer(p, key), depth + 1)


# -- findings ----------------------------------------------------------------------------


def check_texts(data: Any, rep: Reporter) -> None:
    """Report malformed placeholders, and placeholders in names (see the module doc)."""
    for pointer, text, is_name in narration(data):
        if "{" not in text and "}" not in text:
            continue
        found = scan(text)
        if is_name:
            if found or "{{" in text or "}}" in text:
                at = found[0].offset if found else min(
                    i for i in (text.find("{{"), text.find("}}")) if i >= 0)
                rep.error(pointer, "a name takes no text variables or '{{' escapes: it is "
                          "shown as written (the quest log, the plugin's NPC names)",
                          "put {player}, {var:…} and the like in a text (hint, dialogue, "
                          "say) instead", code="text_variable_in_name",
                          column=column_at(rep, pointer, at))
            continue
        for ph in found:
            if ph.problem:
                rep.error(pointer, ph.problem, ph.hint, code="bad_text_variable",
                          column=column_at(rep, pointer, ph.offset))


def text_uses(data: Any) -> Iterator[tuple[str, Placeholder, str]]:
    """``(kind, placeholder, pointer)`` of each ``{var:…}``/``{item:…}``/``{flag:…}``."""
    for pointer, text, is_name in narration(data):
        if is_name or "{" not in text:
            continue
        for ph in scan(text):
            if ph.kind in ("var", "item", "flag"):
                yield ph.kind, ph, pointer


def column_at(rep: Reporter, pointer: str, offset: int) -> int | None:
    """The column of character ``offset`` of the JSON string at ``pointer``: its literal
    is read from the source, escapes counted (None when it cannot be followed)."""
    line, col = rep.source.position(pointer)
    lines = rep.source.text.splitlines()
    if not 0 < line <= len(lines):
        return None
    row = lines[line - 1]
    i = col - 1
    if i >= len(row) or row[i] != '"':
        return None
    i += 1
    decoded = 0
    while i < len(row) and decoded < offset:
        if row[i] == "\\":
            if row.startswith("\\u", i):
                code = int(row[i + 2:i + 6], 16) if len(row) >= i + 6 else 0
                i += 6
                if 0xD800 <= code < 0xDC00 and row.startswith("\\u", i):
                    i += 6  # a surrogate pair is one character
            else:
                i += 2
        elif row[i] == '"':
            return None
        else:
            i += 1
        decoded += 1
    return i + 1
