"""Dialogue programs: a level's ``dialogues`` → frozen, validated graphs (SPEC §3.4).

A program is ``{"npc", "entry", "nodes"}``; ``nodes`` maps node ids to nodes. Three node
types:

``line``
    ``{"type": "line", "speaker"?, "text", "effects"?, "next"}`` — one thing said (a list
    of strings is several lines of the same speaker). Runs of lines become one
    ``npc_dialogue`` node with a ``script`` at run time.
``choice``
    ``{"type": "choice", "text", "options": [{"id", "text", "requires"?, "effects"?,
    "next", "rule_event"?}]}`` — the program waits for an answer. Each option answers to
    the rule event ``choice__<dialogue>__<option>`` (or its own ``rule_event``).
``end``
    ``{"type": "end", "effects"?}`` — the program is over; a program it interrupted
    resumes.

Validation (every finding at once, with pointers): known node types and keys (the
keys are declared once, in ``dialogue_model.py``, which also gives the JSON Schema), unique
node ids (also duplicate keys in the ``nodes`` object) and option ids, ``entry`` and
every ``next`` resolve (did-you-mean), every node reachable from ``entry`` (a warning
otherwise), and no node without a way out: every reachable node must be able to reach
an ``end`` node, so a program can neither stop with nowhere to go nor loop through lines
for ever. Conditions and effects inside are compiled by the level compiler's own
functions (so ``issue_task``/``start_dialogue`` references are checked with the rest).

The run-time side is ``quest_runtime/engine/dialogue.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from quest_runtime.atoms import BUILTIN_EVENT_TYPES
from quest_runtime.conditions import Condition
from quest_runtime.effects import Effect
from quest_runtime.levels.dialogue_model import NODE_KEYS, OPTION_KEYS, PROGRAM_KEYS
from quest_runtime.levels.findings import join_pointer
from quest_runtime.levels.report import Reporter
from quest_runtime.suggest import hint_for

NODE_TYPES = ("line", "choice", "end")
assert tuple(NODE_KEYS) == NODE_TYPES

CompileEffects = Callable[[list[dict[str, Any]], str], tuple[Effect, ...]]
CompileCondition = Callable[[Any, str], Condition | None]


def rule_event_for(dialogue_id: str, option_id: str) -> str:
    """The event type that answers an option (what the plugin's choice panel sends)."""
    return f"choice__{dialogue_id}__{option_id}"


@dataclass(frozen=True, slots=True)
class DialogueOption:
    id: str
    label: str
    requires: Condition | None
    effects: tuple[Effect, ...]
    next: str
    rule_event: str
    pointer: str


@dataclass(frozen=True, slots=True)
class DialogueNode:
    """One node; the fields a type does not use are empty."""

    id: str
    type: str  # "line", "choice" or "end"
    speaker: str | None
    lines: tuple[str, ...]  # line: what is said; choice: (prompt,) or ()
    effects: tuple[Effect, ...]
    next: str | None
    options: tuple[DialogueOption, ...]
    pointer: str

    @property
    def prompt(self) -> str | None:
        return self.lines[0] if self.lines else None


@dataclass(frozen=True, slots=True)
class CompiledDialogue:
    id: str
    npc: str | None
    entry: str
    nodes: Mapping[str, DialogueNode]
    pointer: str


@dataclass(frozen=True, slots=True)
class DialogueBook:
    """A level's dialogue programs, plus the answer index: lower-cased option rule event
    → ``(dialogue id, option id)``. Choices of one program may reuse option ids (``yes``
    at two questions): an answer goes to the choice the program is waiting at."""

    programs: Mapping[str, CompiledDialogue]
    by_event: Mapping[str, tuple[str, str]]

    def __bool__(self) -> bool:
        return bool(self.programs)

    def get(self, dialogue_id: str) -> CompiledDialogue | None:
        return self.programs.get(dialogue_id)


EMPTY_BOOK = DialogueBook({}, {})


# -- compiling ---------------------------------------------------------------------------


class _Keys(dict[str, Any]):
    """A JSON object that remembers the keys it saw twice (``json`` pairs hook)."""

    duplicates: tuple[str, ...] = ()


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _Keys:
    obj = _Keys()
    dups: list[str] = []
    for key, value in pairs:
        if key in obj:
            dups.append(key)
        obj[key] = value
    if dups:
        obj.duplicates = tuple(dups)
    return obj


def _duplicate_node_keys(rep: Reporter) -> dict[str, tuple[str, ...]]:
    """Node ids written twice in a ``nodes`` object (orjson keeps the last silently)."""
    if '"nodes"' not in rep.source.text:
        return {}
    try:
        data = json.loads(rep.source.text, object_pairs_hook=_pairs_hook)
    except ValueError:
        return {}
    dialogues = data.get("dialogues") if isinstance(data, dict) else None
    out: dict[str, tuple[str, ...]] = {}
    if isinstance(dialogues, dict):
        for did, program in dialogues.items():
            nodes = program.get("nodes") if isinstance(program, dict) else None
            if isinstance(nodes, _Keys) and nodes.duplicates:
                out[did] = nodes.duplicates
    return out


class _DialogueCompiler:
    def __init__(self, rep: Reporter, effects: CompileEffects, cond: CompileCondition) -> None:
        self.rep = rep
        self.compile_effects = effects
        self.compile_condition = cond

    # -- small checks -------------------------------------------------------------------

    def unknown_keys(self, raw: Mapping[str, Any], known: tuple[str, ...], pointer: str,
                     what: str) -> None:
        kind = "dialogue_" + what.split(" ", 1)[0]
        for key in raw:
            if key not in known:
                self.rep.unknown_key(join_pointer(pointer, key), key, known, what, kind,
                                     f"known keys: {', '.join(known)}")

    def text(self, raw: Mapping[str, Any], key: str, pointer: str, what: str, *,
             required: bool = False) -> str | None:
        value = raw.get(key)
        if value is None:
            if required:
                self.rep.error(pointer, f"{what} needs '{key}'", code="missing_field")
            return None
        if not isinstance(value, str):
            self.rep.error(join_pointer(pointer, key), f"'{key}' of {what} must be a string",
                           code="bad_type")
            return None
        return value

    def effects(self, raw: Mapping[str, Any], pointer: str) -> tuple[Effect, ...]:
        value = raw.get("effects")
        if value is None:
            return ()
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            self.rep.error(join_pointer(pointer, "effects"), "'effects' must be a list of "
                           "effect objects", code="bad_type")
            return ()
        return self.compile_effects(value, join_pointer(pointer, "effects"))

    # -- programs -----------------------------------------------------------------------

    def program(self, did: str, raw: Any, duplicates: tuple[str, ...]) -> CompiledDialogue | None:
        pointer = join_pointer("/dialogues", did)
        what = f"dialogue '{did}'"
        if not isinstance(raw, dict):
            self.rep.error(pointer, f"{what} must be an object with 'entry' and 'nodes'",
                           code="bad_type")
            return None
        self.unknown_keys(raw, PROGRAM_KEYS, pointer, what)
        npc = self.text(raw, "npc", pointer, what)
        self.text(raw, "title", pointer, what)
        entries = list(self.node_entries(raw.get("nodes"), pointer, what))
        for dup in duplicates:
            self.rep.error(join_pointer(pointer, "nodes", dup),
                           f"node id '{dup}' is used twice in {what}",
                           "node ids must be unique: the first one is silently replaced",
                           code="duplicate_id", key=True)
        nodes: dict[str, DialogueNode] = {}
        for nid, node_pointer, node_raw in entries:
            if nid in nodes:
                self.rep.error(join_pointer(node_pointer, "id"),
                               f"node id '{nid}' is used twice in {what}",
                               "node ids must be unique", code="duplicate_id")
                continue
            node = self.node(did, nid, node_pointer, node_raw)
            if node is not None:
                nodes[nid] = node
        if not entries:
            return None
        entry = raw.get("entry")
        if entry is None:
            entry = entries[0][0]
        elif not isinstance(entry, str):
            self.rep.error(join_pointer(pointer, "entry"), f"'entry' of {what} must be a "
                           "node id (a string)", code="bad_type")
            return None
        elif entry not in {e[0] for e in entries}:
            self.rep.error(join_pointer(pointer, "entry"),
                           f"{what} starts at unknown node '{entry}'",
                           hint_for(entry, [e[0] for e in entries]), code="unknown_node")
            return None
        if len(nodes) != len(entries):
            return None  # a node had errors (already reported)
        self.check_graph(did, pointer, entry, nodes)
        return CompiledDialogue(did, npc, entry, nodes, pointer)

    def node_entries(self, raw: Any, pointer: str,
                     what: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """``(node id, pointer, node object)`` of the ``nodes`` object."""
        nodes_pointer = join_pointer(pointer, "nodes")
        if not isinstance(raw, dict):
            self.rep.error(pointer if raw is None else nodes_pointer,
                           f"{what} needs 'nodes': an object of nodes by id",
                           code="missing_field" if raw is None else "bad_type")
            return
        if not raw:
            self.rep.error(nodes_pointer, f"{what} has no nodes", code="missing_field")
        for nid, node in raw.items():
            node_pointer = join_pointer(nodes_pointer, nid)
            if not isinstance(node, dict):
                self.rep.error(node_pointer, f"node '{nid}' must be an object", code="bad_type")
                continue
            yield nid, node_pointer, node

    def node(self, did: str, nid: str, pointer: str, raw: dict[str, Any]) -> DialogueNode | None:
        what = f"node '{nid}' of dialogue '{did}'"
        ntype = raw.get("type")
        if ntype not in NODE_TYPES:
            if isinstance(ntype, str):
                self.rep.error(join_pointer(pointer, "type"), f"unknown node type '{ntype}'",
                               hint_for(ntype, NODE_TYPES)
                               or f"known types: {', '.join(NODE_TYPES)}",
                               code="unknown_type")
            else:
                self.rep.error(pointer, f"{what} needs a 'type': line, choice or end",
                               code="missing_field")
            return None
        self.unknown_keys(raw, NODE_KEYS[ntype], pointer, f"{ntype} node '{nid}'")
        errors = len(self.rep.findings)
        if ntype == "line":
            lines = self.lines(raw, pointer, what)
            node = DialogueNode(nid, ntype, self.text(raw, "speaker", pointer, what), lines,
                                self.effects(raw, pointer), self.next(raw, pointer, what), (),
                                pointer)
        elif ntype == "choice":
            prompt = self.text(raw, "text", pointer, what)
            node = DialogueNode(nid, ntype, None, (prompt,) if prompt else (), (), None,
                                self.options(did, nid, raw, pointer, what), pointer)
        else:
            node = DialogueNode(nid, ntype, None, (), self.effects(raw, pointer), None, (),
                                pointer)
        new = self.rep.findings[errors:]
        if any(f.severity == "error" for f in new):
            return None
        return node

    def lines(self, raw: Mapping[str, Any], pointer: str, what: str) -> tuple[str, ...]:
        value = raw.get("text")
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        if value is None:
            self.rep.error(pointer, f"{what} needs 'text'", code="missing_field")
        else:
            self.rep.error(join_pointer(pointer, "text"), f"'text' of {what} must be a string "
                           "or a list of strings", code="bad_type")
        return ()

    def next(self, raw: Mapping[str, Any], pointer: str, what: str) -> str | None:
        value = raw.get("next")
        if value is None:
            self.rep.error(pointer, f"{what} has no way out: it needs 'next'",
                           'point it at the node that follows, or at an {"type": "end"} node',
                           code="no_way_out")
            return None
        if not isinstance(value, str):
            self.rep.error(join_pointer(pointer, "next"), f"'next' of {what} must be a node id",
                           code="bad_type")
            return None
        return value

    def options(self, did: str, nid: str, raw: Mapping[str, Any], pointer: str,
                what: str) -> tuple[DialogueOption, ...]:
        value = raw.get("options")
        if not isinstance(value, list) or not value:
            self.rep.error(pointer if value is None else join_pointer(pointer, "options"),
                           f"{what} has no way out: it needs a non-empty list 'options'",
                           code="no_way_out")
            return ()
        out: list[DialogueOption] = []
        seen: set[str] = set()
        for i, opt in enumerate(value):
            op = join_pointer(pointer, "options", i)
            if not isinstance(opt, dict):
                self.rep.error(op, "an option must be an object with 'id', 'text' and 'next'",
                               code="bad_type")
                continue
            self.unknown_keys(opt, OPTION_KEYS, op, "option")
            oid = opt.get("id", f"option_{i + 1:02d}")
            if not isinstance(oid, str) or not oid:
                self.rep.error(join_pointer(op, "id"), "an option id must be a non-empty "
                               "string", code="bad_type")
                continue
            if oid.lower() in seen:
                self.rep.error(join_pointer(op, "id"), f"option id '{oid}' is used twice in "
                               f"{what}", "option ids must be unique within a choice: they "
                               "name the answer", code="duplicate_id")
                continue
            seen.add(oid.lower())
            owhat = f"option '{oid}' of {what}"
            label = self.text(opt, "text", op, owhat, required=True)
            nxt = self.next(opt, op, owhat)
            rule_event = opt.get("rule_event", rule_event_for(did, oid))
            if not isinstance(rule_event, str) or not rule_event.strip():
                self.rep.error(join_pointer(op, "rule_event"), f"'rule_event' of {owhat} must "
                               "be a non-empty string", code="bad_type")
                continue
            if rule_event.strip().lower() in BUILTIN_EVENT_TYPES:
                self.rep.error(join_pointer(op, "rule_event"), f"'rule_event' of {owhat} "
                               f"cannot be the built-in event type '{rule_event}'",
                               code="bad_value")
                continue
            requires = None
            if "requires" in opt:
                requires = self.compile_condition(opt["requires"], join_pointer(op, "requires"))
            effects = self.effects(opt, op)
            if label is None or nxt is None:
                continue
            out.append(DialogueOption(oid, label, requires, effects, nxt,
                                      rule_event.strip(), op))
        return tuple(out)

    # -- the graph ----------------------------------------------------------------------

    def check_graph(self, did: str, pointer: str, entry: str,
                    nodes: Mapping[str, DialogueNode]) -> None:
        what = f"dialogue '{did}'"
        ids = list(nodes)
        edges: dict[str, list[str]] = {}
        ok = True
        for node in nodes.values():
            targets: list[tuple[str, str]] = []
            if node.next is not None:
                targets.append((node.next, join_pointer(node.pointer, "next")))
            for opt in node.options:
                targets.append((opt.next, join_pointer(opt.pointer, "next")))
            edges[node.id] = []
            for target, where in targets:
                if target in nodes:
                    edges[node.id].append(target)
                else:
                    ok = False
                    self.rep.error(where, f"'next' names unknown node '{target}' in {what}",
                                   hint_for(target, ids), code="unknown_node")
        if not ok:
            return
        reachable = _walk(entry, edges)
        for nid in ids:
            if nid not in reachable:
                self.rep.warning(nodes[nid].pointer,
                                 f"node '{nid}' of {what} cannot be reached from the entry "
                                 f"'{entry}'", "point a 'next' at it, or remove it",
                                 code="unreachable_node")
        ends = [n for n in ids if nodes[n].type == "end"]
        if not ends:
            self.rep.error(pointer, f"{what} has no end node, so it can never finish",
                           'add {"type": "end"} and point a \'next\' at it',
                           code="no_way_out")
            return
        reverse: dict[str, list[str]] = {n: [] for n in ids}
        for src, dsts in edges.items():
            for dst in dsts:
                reverse[dst].append(src)
        finishing: set[str] = set()
        for end in ends:
            finishing |= _walk(end, reverse)
        for nid in ids:
            if nid in reachable and nid not in finishing:
                self.rep.error(nodes[nid].pointer,
                               f"node '{nid}' of {what} has no way out: no path from it "
                               "reaches an end node", "lines that only lead to each other "
                               "loop for ever; give the loop a choice with a way to an end",
                               code="no_way_out")


def _walk(start: str, edges: Mapping[str, list[str]]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def compile_dialogues(raw: Mapping[str, Any], rep: Reporter, effects: CompileEffects,
                      cond: CompileCondition) -> DialogueBook:
    """Compile and validate every program; findings go to ``rep``. A program with errors
    is left out (the level is then rejected by the compiler anyway)."""
    if not raw:
        return EMPTY_BOOK
    compiler = _DialogueCompiler(rep, effects, cond)
    duplicates = _duplicate_node_keys(rep)
    programs: dict[str, CompiledDialogue] = {}
    by_event: dict[str, tuple[str, str]] = {}
    for did, program_raw in raw.items():
        program = compiler.program(did, program_raw, duplicates.get(did, ()))
        if program is None:
            continue
        programs[did] = program
        for node in program.nodes.values():
            for opt in node.options:
                key = opt.rule_event.lower()
                owner = by_event.get(key)
                if owner is not None and owner != (did, opt.id):
                    rep.error(join_pointer(opt.pointer, "id"),
                              f"the answer event '{opt.rule_event}' is also the one of "
                              f"option '{owner[1]}' in dialogue '{owner[0]}'",
                              "rename the option or the dialogue", code="duplicate_id")
                    continue
                by_event[key] = (did, opt.id)
    return DialogueBook(programs, by_event)
