"""Player state: what the engine keeps per player (SPEC §5.1).

``PlayerState`` outlives level sessions (flags, vars, items, completed levels, per-player
``once`` marks); ``LevelSession`` is one stay in one level (task sessions, refs, listener
marks, NPC behaviour state, ``summary_emitted``, its ``SessionTimers``). Both convert to
and from one JSON document (``to_doc``/``from_doc``) that the store keeps, versioned by
``DOC_VERSION``; ``from_doc`` brings older documents up to date (``_MIGRATIONS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson

from quest_runtime.engine.shapes import Behaviour, DialogueState, OutboxEntry

DOC_VERSION = 2
"""2: the engine's own timers are typed (``SessionTimers.limits``/``cooldowns``/``gates``)
instead of ``"internal": {"limit:<task>": due}`` keys parsed back by slicing."""


class TaskStatus(StrEnum):
    """A TaskSession's state; its moves are ``MOVES`` (``TaskSession.move``)."""

    PENDING = "pending"
    ISSUED = "issued"
    COMPLETED = "completed"
    FAILED = "failed"


#: The moves a task session may make: pending → issued → completed | failed; a pending
#: task completed or failed by an effect; completed (repeatable) or failed → issued
#: again by a re-issue. Anything else is a bug in the engine, not a level's doing.
MOVES: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.ISSUED, TaskStatus.COMPLETED,
                                   TaskStatus.FAILED}),
    TaskStatus.ISSUED: frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED}),
    TaskStatus.COMPLETED: frozenset({TaskStatus.ISSUED}),
    TaskStatus.FAILED: frozenset({TaskStatus.ISSUED}),
}


@dataclass(slots=True)
class TaskSession:
    """One player's live progress on one task."""

    status: TaskStatus = TaskStatus.PENDING
    progress: int = 0
    milestones: dict[str, int] = field(default_factory=dict)
    completions: int = 0
    issued_at: float | None = None
    closed_at: float | None = None

    def move(self, to: TaskStatus, now: float) -> None:
        """Make an allowed move (``MOVES``) and stamp it: issued starts progress again
        (``issued_at``); completed counts a completion; completed and failed close
        (``closed_at``)."""
        if to not in MOVES[self.status]:
            raise ValueError(f"a task session cannot move from {self.status} to {to}")
        self.status = to
        if to is TaskStatus.ISSUED:
            self.progress = 0
            self.milestones = {}
            self.issued_at = now
            return
        if to is TaskStatus.COMPLETED:
            self.completions += 1
        self.closed_at = now

    @property
    def counts_as_completed(self) -> bool:
        """Completed at least once (a repeatable task re-issued since still counts): what
        ``after``, level completion and the condition ``task_completed`` ask."""
        return self.status is TaskStatus.COMPLETED or self.completions > 0

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

    def to_doc(self) -> dict[str, Any]:
        return {"fired": self.fired, "last_fired": self.last_fired}


class InternalKind(StrEnum):
    """What an engine timer (not a level's ``timers`` entry) is for. The values order
    engine timers that fall due at the same moment (deterministic firing)."""

    COOLDOWN = "cooldown"
    """A repeatable task's cooldown ends: eligibility is looked at again."""
    GATE = "gate"
    """An ``elapsed_at_least`` gate opens: eligibility is looked at again."""
    LIMIT = "limit"
    """An issued task's time limit ends: the task fails."""


@dataclass(frozen=True, slots=True, order=True)
class InternalTimer:
    """One engine timer: its kind and what it is about (a task id; for a gate, the
    gate's seconds as ``repr(float)``, which reads back exactly)."""

    kind: InternalKind
    ref: str


@dataclass(slots=True)
class SessionTimers:
    """A level session's timers (``engine/timers.py`` owns their moments). Document::

        {"pending": {"storm": 1712.5},          # level timers scheduled: name -> due
         "fired": ["storm"],                    # fired in this session (``timer_fired``)
         "limits": {"fetch_water": 1800.0},     # issued tasks' time limits end
         "cooldowns": {"daily": 86400.0},       # repeatable tasks' cooldowns end
         "gates": [[60, 60.0]]}                 # ``elapsed_at_least`` gates: seconds, due

    Empty parts are left out, so a session without timers stores ``{}`` (and is falsy).
    Due times are the injectable clock's seconds (``clock.py``)."""

    pending: dict[str, float] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)
    limits: dict[str, float] = field(default_factory=dict)
    cooldowns: dict[str, float] = field(default_factory=dict)
    gates: dict[float, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.pending or self.fired or self.limits or self.cooldowns or self.gates)

    def internal(self) -> list[tuple[InternalTimer, float]]:
        """Every engine timer with its due time."""
        out = [(InternalTimer(InternalKind.LIMIT, k), d) for k, d in self.limits.items()]
        out += [(InternalTimer(InternalKind.COOLDOWN, k), d) for k, d in self.cooldowns.items()]
        out += [(InternalTimer(InternalKind.GATE, repr(k)), d) for k, d in self.gates.items()]
        return out

    def drop(self, timer: InternalTimer) -> None:
        if timer.kind is InternalKind.LIMIT:
            self.limits.pop(timer.ref, None)
        elif timer.kind is InternalKind.COOLDOWN:
            self.cooldowns.pop(timer.ref, None)
        else:
            self.gates.pop(float(timer.ref), None)

    def clear(self) -> None:
        self.pending.clear()
        self.fired.clear()
        self.limits.clear()
        self.cooldowns.clear()
        self.gates.clear()

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.pending:
            doc["pending"] = self.pending
        if self.fired:
            doc["fired"] = self.fired
        if self.limits:
            doc["limits"] = self.limits
        if self.cooldowns:
            doc["cooldowns"] = self.cooldowns
        if self.gates:
            doc["gates"] = [[s, d] for s, d in self.gates.items()]
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SessionTimers:
        return cls(
            pending={str(k): float(v) for k, v in doc.get("pending", {}).items()},
            fired=[str(n) for n in doc.get("fired", ())],
            limits={str(k): float(v) for k, v in doc.get("limits", {}).items()},
            cooldowns={str(k): float(v) for k, v in doc.get("cooldowns", {}).items()},
            gates={float(s): float(d) for s, d in doc.get("gates", ())},
        )


@dataclass(slots=True)
class LevelSession:
    """One player's stay in one level: from load to end."""

    level_id: str
    level_version: str
    started_at: float
    tasks: dict[str, TaskSession] = field(default_factory=dict)
    refs: set[str] = field(default_factory=set)
    listeners: dict[str, ListenerMark] = field(default_factory=dict)
    behaviors: dict[str, Behaviour] = field(default_factory=dict)
    summary_emitted: bool = False
    exit_ready: bool = False
    #: The dialogue programs running, innermost last (``engine/dialogue.py``).
    dialogue: DialogueState | None = None
    #: Level timers and the engine's own (``engine/timers.py``); ended with the session.
    timers: SessionTimers = field(default_factory=SessionTimers)
    #: Derived, not stored: ids of tasks that may still be issued (``Turn.candidates``).
    issuable: set[str] | None = field(default=None, repr=False, compare=False)
    #: Derived, not stored: pending tasks last found waiting for an ``after`` task, with
    #: the ``completed_epoch`` of that look (``Turn.issue_eligible``): until another task
    #: completes, such a task is still waiting and is not looked at again.
    waiting: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    #: Derived, not stored: task completions in this session object (``Turn.complete``).
    completed_epoch: int = field(default=0, repr=False, compare=False)

    def to_doc(self, *, parted: bool = False) -> dict[str, Any]:
        """The session's document; ``parted``: without the task sessions and listener
        marks, which are stored as parts of their own (``PlayerState.storage``)."""
        doc: dict[str, Any] = {
            "level_id": self.level_id,
            "level_version": self.level_version,
            "started_at": self.started_at,
            "tasks": {} if parted else {k: v.to_doc() for k, v in self.tasks.items()},
            "refs": sorted(self.refs),
            "listeners": {} if parted else {k: m.to_doc() for k, m in self.listeners.items()},
            "behaviors": self.behaviors,
            "summary_emitted": self.summary_emitted,
            "exit_ready": self.exit_ready,
        }
        if self.dialogue is not None:
            doc["dialogue"] = self.dialogue
        if self.timers:
            doc["timers"] = self.timers.to_doc()
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
            timers=SessionTimers.from_doc(doc.get("timers") or {}),
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
    outbox: list[OutboxEntry] = field(default_factory=list)
    #: Storage parts changed since the last commit (``storage``), named by ``part_key``;
    #: None: everything (a new player, a new or ended session, a reloaded level). Not
    #: part of the document; the engine marks what it changes (``touch``).
    changed: set[str] | None = field(default=None, repr=False, compare=False)

    def to_doc(self, *, parted: bool = False) -> dict[str, Any]:
        """The player's document; ``parted``: its core, without the parts that are
        stored on their own (``storage``)."""
        session = self.session
        return {
            "v": DOC_VERSION,
            "player_id": self.player_id,
            "flags": sorted(self.flags),
            "vars": self.vars,
            "items": self.items,
            "completed_levels": [] if parted else self.completed_levels,
            "once_marks": [] if parted else sorted(self.once_marks),
            "session": session.to_doc(parted=parted) if session is not None else None,
            **({"outbox": self.outbox} if self.outbox else {}),
        }

    # -- storage: a core and parts, so a commit writes what changed --------------------

    def touch(self, part: str) -> None:
        """Mark a storage part changed (``TASK_PART``/``MARK_PART`` + id, ``LEVELS_PART``,
        ``ONCE_PART``)."""
        if self.changed is not None:
            self.changed.add(part)

    def touch_all(self) -> None:
        """Everything changed: the next commit writes the whole document."""
        self.changed = None

    def storage(self) -> tuple[bytes, dict[str, bytes | None], bool]:
        """What the next commit stores: the core document, the parts (``None``: the part
        is gone) and whether they replace every stored part (``whole``) or only those
        named. The parts are what grows with a player's history — one per task session
        and listener mark, the completed levels, the ``once`` marks — so an event that
        changed one task writes one small part, whatever the history (store/base.py)."""
        core = orjson.dumps(self.to_doc(parted=True))
        if self.changed is None:
            return core, self._parts(None), True
        return core, self._parts(self.changed), False

    def all_parts(self) -> dict[str, bytes | None]:
        """Every storage part of the state as it is now."""
        return self._parts(None)

    def _parts(self, names: set[str] | None) -> dict[str, bytes | None]:
        session = self.session
        out: dict[str, bytes | None] = {}
        if names is None:
            if self.completed_levels:
                out[LEVELS_PART] = orjson.dumps(self.completed_levels)
            if self.once_marks:
                out[ONCE_PART] = orjson.dumps(sorted(self.once_marks))
            if session is not None:
                for task_id, ts in session.tasks.items():
                    out[part_key(TASK_PART, task_id)] = orjson.dumps(ts.to_doc())
                for listener_id, mark in session.listeners.items():
                    out[part_key(MARK_PART, listener_id)] = orjson.dumps(mark.to_doc())
            return out
        for name in names:
            if name == LEVELS_PART:
                out[name] = orjson.dumps(self.completed_levels)
            elif name == ONCE_PART:
                out[name] = orjson.dumps(sorted(self.once_marks))
            elif session is not None and name.startswith(TASK_PART):
                task = session.tasks.get(_unescape(name[len(TASK_PART):]))
                out[name] = None if task is None else orjson.dumps(task.to_doc())
            elif session is not None and name.startswith(MARK_PART):
                got = session.listeners.get(_unescape(name[len(MARK_PART):]))
                out[name] = None if got is None else orjson.dumps(got.to_doc())
        return out

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PlayerState:
        version = doc.get("v", DOC_VERSION)
        while version != DOC_VERSION:
            migrate = _MIGRATIONS.get(version)
            if migrate is None:
                raise ValueError(f"player document version {version} is not {DOC_VERSION}")
            doc, version = migrate(doc), version + 1
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


#: Storage part names (paths in the document, ``/``-separated, RFC 6901 escaping): the
#: store joins the parts back into the document generically (``store/base.join_parts``).
LEVELS_PART = "completed_levels"
ONCE_PART = "once_marks"
TASK_PART = "session/tasks/"
MARK_PART = "session/listeners/"


@lru_cache(maxsize=65536)  # ids come from level files: on the per-event path, computed once
def part_key(prefix: str, ident: str) -> str:
    """The part name of a task session or listener mark."""
    return prefix + ident.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept engine timers as ``"internal": {"limit:<task>": due,
    "cooldown:<task>": due, "elapsed:<seconds>": due}``."""
    session = doc.get("session")
    if not isinstance(session, dict):
        return doc
    timers = session.get("timers")
    if not timers or "internal" not in timers:
        return doc
    timers = dict(timers)
    parts: dict[str, Any] = {"limit": {}, "cooldown": {}, "elapsed": []}
    for key, due in timers.pop("internal").items():
        kind, _, ref = str(key).partition(":")
        if kind == "elapsed":
            parts["elapsed"].append([float(ref), due])
        elif kind in parts:
            parts[kind][ref] = due
    for kind, name in (("limit", "limits"), ("cooldown", "cooldowns"), ("elapsed", "gates")):
        if parts[kind]:
            timers[name] = parts[kind]
    return {**doc, "session": {**session, "timers": timers}}


#: ``version -> migration to version + 1`` of a player document.
_MIGRATIONS = {1: _v1_to_v2}


def dump_state(state: PlayerState) -> bytes:
    """The player's document as orjson bytes (the store's unit; ``load_state`` reads it)."""
    return orjson.dumps(state.to_doc())


def load_state(document: bytes) -> PlayerState:
    """A player's state from its (whole) document; nothing is marked changed."""
    state = PlayerState.from_doc(orjson.loads(document))
    state.changed = set()
    return state
