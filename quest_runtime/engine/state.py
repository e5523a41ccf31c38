"""Player state: what the engine keeps per player (SPEC §5.1).

``PlayerState`` outlives level sessions (flags, vars, items, completed levels, per-player
``once`` marks); ``LevelSession`` is one stay in one level (task sessions, refs, listener
marks, NPC behaviour state, ``summary_emitted``). Both convert to and from one JSON
document (``to_doc``/``from_doc``) that the store keeps, versioned by ``DOC_VERSION``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

DOC_VERSION = 1


class TaskStatus(StrEnum):
    """A TaskSession's state. Moves: pending → issued → completed | failed;
    completed (repeatable) or failed → issued again by re-issue."""

    PENDING = "pending"
    ISSUED = "issued"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(slots=True)
class TaskSession:
    """One player's live progress on one task."""

    status: TaskStatus = TaskStatus.PENDING
    progress: int = 0
    milestones: dict[str, int] = field(default_factory=dict)
    completions: int = 0
    issued_at: float | None = None
    closed_at: float | None = None

    def to_doc(self) -> list[Any]:
        """Compact: ``[status, progress, completions, issued_at, closed_at, milestones]``
        (written for every task on every rule event, so no per-task dict)."""
        return [self.status._value_, self.progress, self.completions, self.issued_at,
                self.closed_at, self.milestones]

    def view(self) -> dict[str, Any]:
        """The readable form, for ``GET /world/story/{player}/state``."""
        return {"status": self.status._value_, "progress": self.progress,
                "milestones": self.milestones, "completions": self.completions,
                "issued_at": self.issued_at, "closed_at": self.closed_at}

    @classmethod
    def from_doc(cls, doc: list[Any] | dict[str, Any]) -> TaskSession:
        if isinstance(doc, list):
            status, progress, completions, issued_at, closed_at, milestones = doc
            return cls(TaskStatus(status), int(progress),
                       {str(k): int(v) for k, v in milestones.items()}, int(completions),
                       issued_at, closed_at)
        return cls(
            status=TaskStatus(doc.get("status", "pending")),
            progress=int(doc.get("progress", 0)),
            milestones={str(k): int(v) for k, v in doc.get("milestones", {}).items()},
            completions=int(doc.get("completions", 0)),
            issued_at=doc.get("issued_at"),
            closed_at=doc.get("closed_at"),
        )


@dataclass(slots=True)
class ListenerMark:
    """How often a listener fired in this session, and when it last did."""

    fired: int = 0
    last_fired: float | None = None


@dataclass(slots=True)
class LevelSession:
    """One player's stay in one level: from load to end."""

    level_id: str
    level_version: str
    started_at: float
    tasks: dict[str, TaskSession] = field(default_factory=dict)
    refs: set[str] = field(default_factory=set)
    listeners: dict[str, ListenerMark] = field(default_factory=dict)
    behaviors: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary_emitted: bool = False
    exit_ready: bool = False
    #: Seam for the quest-language issue: the dialogue stack.
    dialogue: dict[str, Any] | None = None
    #: ``{"pending": {name: due}, "fired": [name], "internal": {key: due}}``, empty
    #: parts left out (``engine/timers.py``); cancelled with the session.
    timers: dict[str, Any] = field(default_factory=dict)
    #: Derived, not stored: ids of tasks that may still be issued (``Turn.candidates``).
    issuable: set[str] | None = field(default=None, repr=False, compare=False)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "level_id": self.level_id,
            "level_version": self.level_version,
            "started_at": self.started_at,
            "tasks": {k: v.to_doc() for k, v in self.tasks.items()},
            "refs": sorted(self.refs),
            "listeners": {
                k: {"fired": m.fired, "last_fired": m.last_fired}
                for k, m in self.listeners.items()
            },
            "behaviors": self.behaviors,
            "summary_emitted": self.summary_emitted,
            "exit_ready": self.exit_ready,
        }
        if self.dialogue is not None:
            doc["dialogue"] = self.dialogue
        if self.timers:
            doc["timers"] = self.timers
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> LevelSession:
        return cls(
            level_id=str(doc["level_id"]),
            level_version=str(doc.get("level_version", "")),
            started_at=float(doc.get("started_at", 0.0)),
            tasks={k: TaskSession.from_doc(v) for k, v in doc.get("tasks", {}).items()},
            refs=set(doc.get("refs", ())),
            listeners={
                k: ListenerMark(int(v.get("fired", 0)), v.get("last_fired"))
                for k, v in doc.get("listeners", {}).items()
            },
            behaviors=dict(doc.get("behaviors", {})),
            summary_emitted=bool(doc.get("summary_emitted", False)),
            exit_ready=bool(doc.get("exit_ready", False)),
            dialogue=doc.get("dialogue"),
            timers=dict(doc.get("timers", {})),
        )


@dataclass(slots=True)
class PlayerState:
    """Everything kept for one player; the session is None outside a level."""

    player_id: str
    flags: set[str] = field(default_factory=set)
    vars: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    completed_levels: list[str] = field(default_factory=list)
    once_marks: set[str] = field(default_factory=set)
    session: LevelSession | None = None
    #: Pushed results the stream has not delivered yet, oldest first: ``{"at": due,
    #: "result": R}``; merged into the next rule-event result once (SPEC §4.12.1). Kept
    #: per player, not per session: a timer that ends the level must still be heard.
    outbox: list[dict[str, Any]] = field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return {
            "v": DOC_VERSION,
            "player_id": self.player_id,
            "flags": sorted(self.flags),
            "vars": self.vars,
            "items": self.items,
            "completed_levels": self.completed_levels,
            "once_marks": sorted(self.once_marks),
            "session": self.session.to_doc() if self.session is not None else None,
            **({"outbox": self.outbox} if self.outbox else {}),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PlayerState:
        version = doc.get("v", DOC_VERSION)
        if version != DOC_VERSION:
            raise ValueError(f"player document version {version} is not {DOC_VERSION}")
        session = doc.get("session")
        return cls(
            player_id=str(doc["player_id"]),
            flags=set(doc.get("flags", ())),
            vars={str(k): v for k, v in doc.get("vars", {}).items()},
            items={str(k): int(v) for k, v in doc.get("items", {}).items()},
            completed_levels=list(doc.get("completed_levels", ())),
            once_marks=set(doc.get("once_marks", ())),
            session=LevelSession.from_doc(session) if session else None,
            outbox=list(doc.get("outbox", ())),
        )


def dump_state(state: PlayerState) -> bytes:
    """The player's document as orjson bytes (the store's unit; ``load_state`` reads it)."""
    return orjson.dumps(state.to_doc())


def load_state(document: bytes) -> PlayerState:
    return PlayerState.from_doc(orjson.loads(document))
