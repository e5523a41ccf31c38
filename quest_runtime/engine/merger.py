"""The merger: many sources, one result (SPEC §4.8).

Sources are the event's tasks, newly issued tasks, listeners, fired timers and dialogue
programs. The result is built in sections so that the order of ``nodes`` does not depend
on the order in which the engine happened to run the sources.

The algebra
-----------
``nodes``
    section 1 (task nodes: milestone / complete / progress, then the reward's
    ``npc_dialogue`` and the task's own effect nodes, per task in file order)
    ++ section 2 (``task`` issue nodes, file order) ++ section 3 (listener nodes, file
    order) ++ section 4 (timer results) ++ section 5 (dialogue nodes, as produced).
``commands``
    the same section order; never de-duplicated.
``completed_tasks``, ``milestones``
    firing order, ids de-duplicated (first occurrence kept).
``world_patch``
    ``merge(a, b)``: objects merge key by key, recursively. For the list operations
    (``tell``, ``build``, ``spawn``, ``spawn_multi``, ``particle``, ``sound``, ``effect``)
    two values become one list in firing order, so no message is lost. Any other scalar
    clash: ``b`` (the later source) wins, logged at debug level.

Worked examples (also run as tests in ``tests/engine/test_merger.py``)::

    merge({"mc": {"tell": "a"}}, {"mc": {"tell": "b"}})     == {"mc": {"tell": ["a", "b"]}}
    merge({"tell": ["a", "b"]}, {"tell": "c"})              == {"tell": ["a", "b", "c"]}
    merge({"mc": {"weather": "RAIN"}}, {"mc": {"weather": "CLEAR"}})
        == {"mc": {"weather": "CLEAR"}}
    merge({"mc": {"title": {"main": "A"}}}, {"mc": {"title": {"sub": "B"}}})
        == {"mc": {"title": {"main": "A", "sub": "B"}}}
    merge({"particle": {"type": "flame"}}, {"particle": {"type": "heart"}})
        == {"particle": [{"type": "flame"}, {"type": "heart"}]}   # list ops never merge
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Mapping
from enum import IntEnum
from typing import Any

log = logging.getLogger(__name__)

LIST_OPERATIONS = frozenset(
    {"tell", "build", "spawn", "spawn_multi", "particle", "sound", "effect"}
)


class Section(IntEnum):
    TASKS = 0
    ISSUED = 1
    LISTENERS = 2
    TIMERS = 3
    DIALOGUES = 4


def merge_patch(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``patch`` into ``base`` in place and return ``base``.

    Copy on write: values from ``patch`` (level data) are shared, never mutated; every
    step that changes an object builds a new one (``dict(current)``, a new list), so the
    compiled level is never touched and no deep copy is needed on the hot path.
    """
    for key, value in patch.items():
        if key not in base:
            base[key] = value
            continue
        current = base[key]
        if key in LIST_OPERATIONS:
            left = current if isinstance(current, list) else [current]
            right = value if isinstance(value, list) else [value]
            base[key] = [*left, *right]
        elif isinstance(current, dict) and isinstance(value, dict):
            base[key] = merge_patch(dict(current), value)
        else:
            if current != value:
                log.debug("world_patch clash on %r: %r replaced by %r", key, current, value)
            base[key] = value
    return base


class ResultBuilder:
    """Collects what sources produce; ``build()`` gives the result dict of SPEC §2.1."""

    __slots__ = (
        "_commands",
        "_completed",
        "_issued_at",
        "_milestones",
        "_nodes",
        "behaviors",
        "exit_ready",
        "journal",
        "quest_log_dirty",
        "summary",
        "touched",
        "world_patch",
    )

    def __init__(self) -> None:
        self._nodes: list[list[dict[str, Any]]] = [[], [], [], [], []]
        self._commands: list[list[str]] = [[], [], [], [], []]
        self._completed: dict[str, None] = {}
        #: Task indices of the section-2 nodes, which ``issued`` keeps in file order.
        self._issued_at: list[int] = []
        self._milestones: dict[str, None] = {}
        self.world_patch: dict[str, Any] = {}
        self.exit_ready = False
        self.summary: dict[str, Any] | None = None
        self.behaviors: list[dict[str, Any]] = []
        #: Task state changed: the result carries an ``active_tasks`` snapshot.
        self.quest_log_dirty = False
        #: Something happened at all (else the result is ``null``).
        self.touched = False
        #: What changed, for the journal (SPEC §5.3): kind -> list of ids.
        self.journal: dict[str, list[Any]] = {}

    def note(self, kind: str, value: Any) -> None:
        """Record a state change for the journal entry of this rule event."""
        self.journal.setdefault(kind, []).append(value)

    def node(self, section: Section, node: dict[str, Any]) -> None:
        self._nodes[section].append(node)
        self.touched = True

    def last_node(self, section: Section) -> dict[str, Any] | None:
        """The latest node of a section (a dialogue script grows while nothing follows)."""
        nodes = self._nodes[section]
        return nodes[-1] if nodes else None

    def issued(self, task_index: int, node: dict[str, Any]) -> None:
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

    def patch(self, patch: Mapping[str, Any]) -> None:
        if patch:
            merge_patch(self.world_patch, patch)
            self.touched = True

    def completed(self, task_id: str) -> None:
        self._completed[task_id] = None
        self.touched = True

    def milestone(self, milestone_id: str) -> None:
        self._milestones[milestone_id] = None
        self.touched = True

    @property
    def completed_tasks(self) -> list[str]:
        return list(self._completed)

    @property
    def milestone_ids(self) -> list[str]:
        return list(self._milestones)

    @property
    def commands(self) -> list[str]:
        return [c for section in self._commands for c in section]

    def absorb(self, other: dict[str, Any], section: Section) -> None:
        """Merge an already built result (a load result, a pushed timer result)."""
        self.patch(other.get("world_patch") or {})
        for node in other.get("nodes") or ():
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
        if other.get("active_tasks") is not None:
            self.quest_log_dirty = True
        self.touched = True

    def build(self, commands: list[str], active_tasks: dict[str, Any] | None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "world_patch": self.world_patch,
            "nodes": [n for section in self._nodes for n in section],
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
