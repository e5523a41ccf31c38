"""The merger: many sources, one result (SPEC §4.8, PLUGIN.md §4–§5).

Sources are the event's tasks, newly issued tasks, listeners, fired timers and dialogue
programs. The result is built in sections so that the order of ``nodes`` does not depend
on the order in which the engine happened to run the sources; then it is made playable
under the plugin's rules, so nothing the engine sends is dropped by the plugin.

The algebra
-----------
``nodes``
    section 1 (task nodes: milestone / complete / progress, then the reward's
    ``npc_dialogue`` and the task's own effect nodes, per task in file order)
    ++ section 2 (``task`` issue nodes, file order) ++ section 3 (listener nodes, file
    order) ++ section 4 (timer results) ++ section 5 (dialogue nodes, as produced);
    then ``playable_nodes``:

    * one result carries at most one ``npc_dialogue`` (the plugin's dialogue panel
      cancels the lines of the previous one): the lines of every dialogue node become one
      ordered ``script`` of ``{"op": "npc_say", "npc", "text"}`` / ``{"op": "narrate",
      "text"}`` entries, at the place of the first dialogue node;
    * a ``story_choice`` shown with dialogue lines is folded into that node (its
      ``prompt`` and ``choices``): the panel presents a dialogue node's choices after its
      last line, so the choice never comes before the lines that lead to it and no
      ``npc_dialogue`` follows a ``story_choice``;
    * no node has an empty headline: an untitled ``npc_dialogue`` (or a node with
      neither ``title`` nor ``text``) takes the level title.
``commands``
    the same section order; never de-duplicated.
``completed_tasks``, ``milestones``
    firing order, ids de-duplicated (first occurrence kept).
``world_patch``
    ``merge(a, b)``: objects merge key by key, recursively. The operations the plugin
    takes as a list (``tell``, ``build``, ``spawn``, ``spawn_multi``) become one list in
    firing order, so no message is lost. The operations it takes only as an object
    (``effect``, ``particle``, ``sound``, ``title``) never become lists and never mix
    two sources' fields: a second one goes to the next object of an ``mc`` list, which
    the plugin applies in order (a list a level wrote for them is spread the same way).
    Any other scalar clash: ``b`` (the later source) wins, logged at debug level.

Worked examples (also run as tests in ``tests/engine/test_merger.py``)::

    merge({"mc": {"tell": "a"}}, {"mc": {"tell": "b"}})     == {"mc": {"tell": ["a", "b"]}}
    merge({"tell": ["a", "b"]}, {"tell": "c"})              == {"tell": ["a", "b", "c"]}
    merge({"mc": {"weather": "RAIN"}}, {"mc": {"weather": "CLEAR"}})
        == {"mc": {"weather": "CLEAR"}}
    merge({"mc": {"_scene": {"theme": "A"}}}, {"mc": {"_scene": {"focus": "B"}}})
        == {"mc": {"_scene": {"theme": "A", "focus": "B"}}}
    merge({"mc": {"particle": {"type": "flame"}}}, {"mc": {"particle": {"type": "heart"}}})
        == {"mc": [{"particle": {"type": "flame"}}, {"particle": {"type": "heart"}}]}
    merge({"mc": {"title": {"main": "A"}, "tell": "a"}}, {"mc": {"title": {"main": "B"}}})
        == {"mc": [{"title": {"main": "A"}, "tell": "a"}, {"title": {"main": "B"}}]}
    merge({"sound": {"type": "X"}}, {"sound": {"type": "Y"}})
        == {"sound": {"type": "X"}, "mc": {"sound": {"type": "Y"}}}

Worked examples of ``playable_nodes`` (tests in the same file)::

    [dialogue(title="Mia", text="Hi"), task, dialogue(title="Tomas", text="Fog.\\nMind it.")]
        -> [dialogue(title="Mia", script=[npc_say Mia "Hi", npc_say Tomas "Fog.",
                                          npc_say Tomas "Mind it."]), task]
    [dialogue(title="Tomas", text="Fog."), story_choice(prompt="Answer?", choices=C)]
        -> [dialogue(title="Tomas", script=[npc_say Tomas "Fog."], prompt="Answer?",
                     choices=C)]
    [story_choice(prompt="Answer?", choices=C)] -> unchanged (no lines lead to it)
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum
from typing import Any, cast

from quest_runtime.engine.shapes import (
    Behaviour,
    Node,
    QuestLog,
    Result,
    ScriptEntry,
    Summary,
    WorldPatch,
)

log = logging.getLogger(__name__)

#: Operations the plugin applies from a string/object or from a list of them.
LIST_OPERATIONS = frozenset({"tell", "build", "spawn", "spawn_multi"})
#: Operations the plugin applies only from an object (a list is skipped without a word).
OBJECT_OPERATIONS = frozenset({"effect", "particle", "sound", "title"})


class Section(IntEnum):
    TASKS = 0
    ISSUED = 1
    LISTENERS = 2
    TIMERS = 3
    DIALOGUES = 4


def merge_patch(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge the world patch ``patch`` into ``base`` in place and return ``base``.

    Copy on write: values from ``patch`` (level data) are shared, never mutated; every
    step that changes an object builds a new one (``dict(current)``, a new list), so the
    compiled level is never touched and no deep copy is needed on the hot path.
    """
    for key, value in patch.items():
        if key == "mc":
            for part in value if isinstance(value, list) else (value,):
                if part.__class__ is dict or isinstance(part, Mapping):  # dict: no ABC check
                    base["mc"] = _merge_mc(base.get("mc"), part)
        elif key in OBJECT_OPERATIONS:
            for item in value if isinstance(value, list) else (value,):
                if key not in base:
                    base[key] = item
                else:
                    base["mc"] = _merge_mc(base.get("mc"), {key: item})
        else:
            _merge_key(base, key, value)
    return base


def _merge_mc(current: Any, part: Mapping[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
    """``mc`` as layers: the first object takes every operation; an object-only
    operation already present goes to the first later layer without it (or a new one)."""
    if current is None:
        layers: list[dict[str, Any]] = []
    elif isinstance(current, list):
        layers = [dict(layer) for layer in current if isinstance(layer, Mapping)]
    elif current.__class__ is dict or isinstance(current, Mapping):
        layers = [dict(current)]
    else:
        layers = []
    if not layers:
        layers.append({})
    for key, value in part.items():
        if key in OBJECT_OPERATIONS:
            for item in value if isinstance(value, list) else (value,):
                for layer in layers:
                    if key not in layer:
                        layer[key] = item
                        break
                else:
                    layers.append({key: item})
        else:
            _merge_key(layers[0], key, value)
    return layers[0] if len(layers) == 1 else layers


def _merge_key(base: dict[str, Any], key: str, value: Any) -> None:
    if key not in base:
        base[key] = value
        return
    current = base[key]
    if key in LIST_OPERATIONS:
        left = current if isinstance(current, list) else [current]
        right = value if isinstance(value, list) else [value]
        base[key] = [*left, *right]
    elif isinstance(current, dict) and isinstance(value, dict):
        merged = dict(current)
        for k, v in value.items():
            _merge_key(merged, k, v)
        base[key] = merged
    else:
        if current != value:
            log.debug("world_patch clash on %r: %r replaced by %r", key, current, value)
        base[key] = value


# -- nodes -------------------------------------------------------------------------------

_SCRIPT_OPS = frozenset({"npc_say", "narrate"})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def script_of(node: Mapping[str, Any]) -> list[ScriptEntry]:
    """A dialogue node's lines as plugin script entries, speakers kept."""
    speaker = _text(node.get("title")).strip()
    script = node.get("script")
    out: list[ScriptEntry] = []
    if isinstance(script, list):
        for entry in script:
            if isinstance(entry, Mapping):
                text = _text(entry.get("text"))
                if not text.strip():
                    continue
                op = _text(entry.get("op")).lower()
                if op == "npc_say":
                    out.append({"op": "npc_say", "npc": _text(entry.get("npc")), "text": text})
                elif op in _SCRIPT_OPS:
                    out.append({"op": op, "text": text})
                else:  # the plugin throws on other ops: keep the line as narration
                    out.append({"op": "narrate", "text": text})
            elif isinstance(entry, str) and entry.strip():
                out.append({"op": "narrate", "text": entry})
        return out
    for line in _text(node.get("text")).splitlines():
        if line.strip():
            out.append({"op": "npc_say", "npc": speaker, "text": line} if speaker
                       else {"op": "narrate", "text": line})
    return out


def playable_nodes(nodes: list[Node], fallback_title: str) -> list[Node]:
    """The nodes as the plugin can show all of them (the rules in the module docstring)."""
    dialogues: list[int] = []
    choices: list[int] = []
    titled: list[Node] = []  # the answer when nothing is folded (one pass, the common case)
    for i, n in enumerate(nodes):
        kind = n.get("type")
        if kind == "npc_dialogue":
            dialogues.append(i)
        elif kind == "story_choice":
            choices.append(i)
        title = n.get("title")
        titled.append(n if title.__class__ is str and title.strip()
                      else _titled(n, fallback_title))
    if not dialogues or (len(dialogues) == 1 and not choices):
        return titled
    return _folded(nodes, dialogues, choices, fallback_title)


def _folded(nodes: list[Node], dialogues: list[int], choices: list[int],
            fallback_title: str) -> list[Node]:
    """``playable_nodes`` when dialogue nodes are merged or a choice is folded in."""
    sources = [nodes[i] for i in dialogues]
    script: list[ScriptEntry] = []
    for source in sources:
        script.extend(script_of(source))
    title = next((t for s in sources if (t := _text(s.get("title")).strip())), fallback_title)
    #: Open while level keys are copied in (a level-authored node may carry its own).
    merged: dict[str, Any] = {"type": "npc_dialogue", "title": title or fallback_title,
                              "text": "\n".join(e["text"] for e in script), "script": script}
    for source in sources:
        for key, value in source.items():
            if key not in merged and key not in ("lines", "choices", "prompt"):
                merged[key] = value
    folded: set[int] = set()
    if choices:
        choice: Mapping[str, Any] = nodes[choices[-1]]  # level keys read by name below
        folded.update(choices)
        if len(choices) > 1:
            log.debug("several story_choice nodes in one result: the last one is shown")
        merged["prompt"] = _text(choice.get("prompt") or choice.get("title")) or title
        merged["choices"] = choice.get("choices") or []
        for key in ("dialogue_id", "node_id", "beat_id", "level_id"):
            if key in choice:
                merged[key] = choice[key]
    at = min(dialogues[0], *folded) if folded else dialogues[0]
    out: list[Node] = []
    for i, node in enumerate(nodes):
        if i == at:
            out.append(cast(Node, merged))
        if i in folded or node.get("type") == "npc_dialogue":
            continue
        out.append(_titled(node, fallback_title))
    return out


def _titled(node: Node, fallback: str) -> Node:
    """The node with a headline the plugin can print (a copy when one is added)."""
    title = node.get("title")
    if title.__class__ is str and title.strip():  # a headline of its own: every kind
        return node
    if node.get("type") == "npc_dialogue":
        if _text(node.get("title")).strip() or not fallback:
            return node
    elif _text(node.get("title")).strip() or _text(node.get("text")).strip() or not fallback:
        return node
    return {**node, "title": fallback}


class ResultBuilder:
    """Collects what sources produce; ``build()`` gives the result dict of SPEC §2.1."""

    __slots__ = (
        "_built",
        "_commands",
        "_completed",
        "_issued_at",
        "_milestones",
        "_nodes",
        "_patches",
        "_summary_built",
        "behaviors",
        "exit_ready",
        "journal",
        "quest_log_dirty",
        "summary",
        "touched",
    )

    def __init__(self) -> None:
        self._nodes: list[list[Node]] = [[], [], [], [], []]
        self._commands: list[list[str]] = [[], [], [], [], []]
        self._completed: dict[str, None] = {}
        #: Task indices of the section-2 nodes, which ``issued`` keeps in file order.
        self._issued_at: list[int] = []
        self._milestones: dict[str, None] = {}
        #: World patches in firing order, merged by ``build``; True marks one from an
        #: already built result (its text variables are filled: ``fill_texts`` skips it).
        self._patches: list[tuple[Mapping[str, Any], bool]] = []
        #: ``id()`` of nodes taken from already built results (kept alive by ``_nodes``).
        self._built: set[int] = set()
        self._summary_built = False
        self.exit_ready = False
        self.summary: Summary | None = None
        self.behaviors: list[Behaviour] = []
        #: Task state changed: the result carries an ``active_tasks`` snapshot.
        self.quest_log_dirty = False
        #: Something happened at all (else the result is ``null``).
        self.touched = False
        #: What changed, for the journal (SPEC §5.3): kind -> list of ids.
        self.journal: dict[str, list[Any]] = {}

    def note(self, kind: str, value: Any) -> None:
        """Record a state change for the journal entry of this rule event."""
        self.journal.setdefault(kind, []).append(value)

    def node(self, section: Section, node: Node) -> None:
        self._nodes[section].append(node)
        self.touched = True

    def last_node(self, section: Section) -> Node | None:
        """The latest node of a section (a dialogue script grows while nothing follows)."""
        nodes = self._nodes[section]
        return nodes[-1] if nodes else None

    def issued(self, task_index: int, node: Node) -> None:
        """A ``task`` node (section 2). Tasks become eligible in several passes of one
        event (after the tasks, after the listeners), so the node is put in its task's
        file-order place rather than appended."""
        pos = bisect_right(self._issued_at, task_index)
        self._issued_at.insert(pos, task_index)
        self._nodes[Section.ISSUED].insert(pos, node)
        self.touched = True

    def command(self, section: Section, command: str) -> None:
        self._commands[section].append(command)
        self.touched = True

    def patch(self, patch: Mapping[str, Any], *, built: bool = False) -> None:
        if patch:
            self._patches.append((patch, built))
            self.touched = True

    @property
    def world_patch(self) -> WorldPatch:
        """Every patch so far, merged (a new dict each time)."""
        merged: WorldPatch = {}
        for patch, _ in self._patches:
            merge_patch(merged, patch)
        return merged

    def fill_texts(self, node: Callable[[Node], Node],
                   patch: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> None:
        """Rewrite what this builder's own sources produced (text variables,
        ``quest_runtime/textvars.py``); parts of absorbed results were filled when their
        result was built, and are never filled twice."""
        built = self._built
        for nodes in self._nodes:
            for i, n in enumerate(nodes):
                if id(n) not in built:
                    nodes[i] = node(n)
        self._patches = [(p, True) if done else (patch(p), True) for p, done in self._patches]
        if self.summary is not None and not self._summary_built:
            self.summary = cast(Summary, node(cast(Node, self.summary)))
            self._summary_built = True

    def completed(self, task_id: str) -> None:
        self._completed[task_id] = None
        self.touched = True

    def milestone(self, milestone_id: str) -> None:
        self._milestones[milestone_id] = None
        self.touched = True

    @property
    def commands(self) -> list[str]:
        c0, c1, c2, c3, c4 = self._commands
        return [*c0, *c1, *c2, *c3, *c4]

    def absorb(self, other: Result, section: Section) -> None:
        """Merge an already built result (a load result, a pushed timer result)."""
        self.patch(other.get("world_patch") or {}, built=True)
        for node in other.get("nodes") or ():
            self._built.add(id(node))
            self.node(section, node)
        for cmd in other.get("commands") or ():
            self.command(section, cmd)
        for tid in other.get("completed_tasks") or ():
            self.completed(tid)
        for mid in other.get("milestones") or ():
            self.milestone(mid)
        if other.get("exit_ready"):
            self.exit_ready = True
        if other.get("summary") and self.summary is None:
            self.summary = other["summary"]
            self._summary_built = True
        if other.get("active_tasks") is not None:
            self.quest_log_dirty = True
        self.touched = True

    def build(self, commands: list[str], active_tasks: QuestLog | None,
              title: str = "") -> Result:
        """The result dict; ``title`` (the level's) heads nodes that have no headline."""
        n0, n1, n2, n3, n4 = self._nodes
        result: Result = {
            "world_patch": self.world_patch,
            "nodes": playable_nodes([*n0, *n1, *n2, *n3, *n4], title),
            "completed_tasks": list(self._completed),
            "milestones": list(self._milestones),
            "commands": commands,
            "exit_ready": self.exit_ready,
            "summary": self.summary,
            "active_tasks": active_tasks,
        }
        if self.behaviors:
            result["updated_behaviors"] = self.behaviors
        return result


def merge_results(results: Iterable[Result | None]) -> Result | None:
    """Several results as one, in order (§4.8 rules; nodes and commands concatenated,
    ``active_tasks`` from the last result that has one). None when there are none."""
    out = ResultBuilder()
    active: QuestLog | None = None
    any_result = False
    for result in results:
        if result is None:
            continue
        any_result = True
        out.absorb(result, Section.TIMERS)
        out.behaviors.extend(result.get("updated_behaviors") or ())
        if result.get("active_tasks") is not None:
            active = result["active_tasks"]
    if not any_result:
        return None
    return out.build(out.commands, active)
