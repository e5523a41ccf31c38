"""Gates: the engine's rules for when a task may be issued and a listener may fire.

Each predicate returns ``None`` when the gate is open, else a ``Blocked`` naming the
rule that holds it shut. The engine (``engine/turn.py``) acts on ``None``; explain
(``POST /world/story/explain``, ``preview --explain``, ``…/debug/tasks``) renders the
``Blocked`` for the designer. Both call these functions, so the rules are written once
and the two cannot drift.

A task (``why_not_eligible``), in order:
  ``manual``    only an ``issue_task`` effect issues it;
  ``closed``    not pending and not re-issuable (issued, or completed/failed and not
                repeatable);
  ``cooldown``  repeatable, closed, and its cooldown has not run out (``left`` seconds);
  ``after``     a task it comes after has not counted as completed (``task``);
  ``requires``  its ``requires`` condition fails (``condition``: the whole condition;
                explain narrows it with ``Condition.failing``).
A listener hit by the event (``why_not_fired``), in order:
  ``gated``     its ``rule_ref`` is not active (``ref``); dormant listeners are silent;
  ``once``      it already fired (``scope``: ``session`` or ``player``);
  ``cooldown``  it fired less than ``cooldown_seconds`` ago (``left`` seconds);
  ``requires``  its ``requires`` fails (the engine shows its ``blocked_text``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from quest_runtime.conditions import Condition
from quest_runtime.engine.state import LevelSession, PlayerState, TaskSession, TaskStatus
from quest_runtime.engine.timers import EPSILON
from quest_runtime.levels.compiled import CompiledListener, CompiledTask

#: Closed states from which a repeatable task is issued again (after its cooldown).
REISSUABLE = (TaskStatus.COMPLETED, TaskStatus.FAILED)

Holds = Callable[[Condition], bool]
"""Evaluates a condition in the caller's context (the Turn's, or explain's)."""


@dataclass(frozen=True, slots=True)
class Blocked:
    """A shut gate: which rule (``reason``) and what it is about."""

    reason: str
    task: str | None = None
    condition: Condition | None = None
    left: float | None = None
    ref: str | None = None
    scope: str | None = None
    status: TaskStatus | None = None

    def detail(self) -> dict[str, Any]:
        """The non-empty fields, for plain-data output."""
        out: dict[str, Any] = {}
        for name in ("task", "left", "ref", "scope"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


MANUAL = Blocked("manual")
#: Shut gates without a number in them, made once: eligibility is looked at for every
#: waiting task after every rule event, and a ``Blocked`` is immutable, so one object per
#: (reason, subject) serves every look (``_after``, ``_closed``, ``_requires``, ``_gated``).
_AFTER: dict[str, Blocked] = {}
_CLOSED: dict[TaskStatus, Blocked] = {}
#: id(condition) -> (condition, its Blocked): the condition is kept, so its id stays its own.
_REQUIRES: dict[int, tuple[Condition, Blocked]] = {}
_SHARED_MAX = 4096


ONCE_SESSION = Blocked("once", scope="session")
ONCE_PLAYER = Blocked("once", scope="player")
_GATED: dict[str, Blocked] = {}


def _shared(memo: dict[str, Blocked], key: str, make: Callable[[], Blocked]) -> Blocked:
    """The one ``Blocked`` for ``key`` (made once; at most ``_SHARED_MAX`` kept)."""
    found = memo.get(key)
    if found is None:
        found = make()
        if len(memo) < _SHARED_MAX:
            memo[key] = found
    return found


def _gated(ref: str) -> Blocked:
    return _shared(_GATED, ref, lambda: Blocked("gated", ref=ref))


def _after(task_id: str) -> Blocked:
    return _shared(_AFTER, task_id, lambda: Blocked("after", task=task_id))


def _closed(status: TaskStatus) -> Blocked:
    found = _CLOSED.get(status)
    if found is None:
        found = _CLOSED[status] = Blocked("closed", status=status)
    return found


def _requires(condition: Condition) -> Blocked:
    found = _REQUIRES.get(id(condition))
    if found is not None and found[0] is condition:
        return found[1]
    blocked = Blocked("requires", condition=condition)
    if len(_REQUIRES) < _SHARED_MAX:
        _REQUIRES[id(condition)] = (condition, blocked)
    return blocked


def counts_as_completed(ts: TaskSession | None) -> bool:
    """``TaskSession.counts_as_completed``, for a task the session may not have."""
    return ts is not None and ts.counts_as_completed


def why_not_eligible(task: CompiledTask, ts: TaskSession, session: LevelSession, now: float,
                     holds: Holds) -> Blocked | None:
    """Why ``task`` may not be issued now (None: it may)."""
    if task.manual:
        return MANUAL
    if ts.status is not TaskStatus.PENDING:
        if not (task.repeatable and ts.status in REISSUABLE):
            return _closed(ts.status)
        if ts.closed_at is not None:
            left = task.cooldown_seconds - (now - ts.closed_at)
            if left > EPSILON:  # the cooldown's end is an engine timer (§4.12.2)
                return Blocked("cooldown", left=left, status=ts.status)
    if task.after:
        tasks = session.tasks
        for dep in task.after:
            if not counts_as_completed(tasks.get(dep)):
                return _after(dep)
    if task.requires is not None and not holds(task.requires):
        return _requires(task.requires)
    return None


def why_not_fired(listener: CompiledListener, level_id: str, state: PlayerState,
                  session: LevelSession, now: float, holds: Holds) -> Blocked | None:
    """Why ``listener``, hit by the event, does not fire (None: it fires)."""
    if listener.gate_ref is not None and listener.gate_ref not in session.refs:
        return _gated(listener.gate_ref)
    mark = session.listeners.get(listener.id)
    if listener.once == "session" and mark is not None and mark.fired:
        return ONCE_SESSION
    if listener.once == "player" and once_key(level_id, listener) in state.once_marks:
        return ONCE_PLAYER
    if listener.cooldown_seconds and mark is not None and mark.last_fired is not None:
        left = listener.cooldown_seconds - (now - mark.last_fired)
        if left > 0:
            return Blocked("cooldown", left=left)
    if listener.requires is not None and not holds(listener.requires):
        return _requires(listener.requires)
    return None


def needs_mark(listener: CompiledListener) -> bool:
    """Whether firing ``listener`` must leave a mark in the session: only ``once`` (per
    session) and ``cooldown_seconds`` read one, so other listeners keep none and a
    player's state does not grow with every listener that ever fired."""
    return listener.once == "session" or listener.cooldown_seconds > 0


def once_key(level_id: str, listener: CompiledListener) -> str:
    """The player's mark of a ``once: "player"`` listener."""
    return f"{level_id}:{listener.id}"


def hears(listener: CompiledListener, event_type: str) -> bool:
    """A listener with a filtering ``type`` hears only events of that type."""
    return listener.filter_type is None or listener.filter_type == event_type
