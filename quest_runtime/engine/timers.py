"""Timers of a level session: the moments of ``SessionTimers`` (SPEC §4.7, §4.12.1,
§4.12.2, §4.12.9). Pure state over the session; no turn, no engine.

Level timers (``timers`` in the level file):
- ``schedule``: due = now + delay; a pending timer of that name is replaced. The
  effect ``schedule_timer`` calls it through ``Turn.schedule_timer``; a 0 s delay fires
  at once, inside the current result (§4.12.9), which the Turn does.
- ``cancel``: the pending timer is dropped.
- ``spend``: a one-shot timer fired by ``fire_timer`` is consumed (a repeating one keeps
  its period); ``mark_fired`` records it for the condition ``timer_fired``.

Engine timers (``InternalTimer``: time limits, cooldown ends, ``elapsed_at_least`` gates):
- ``task_issued`` starts a task's time limit (and ends its cooldown);
- ``task_closed`` stops the limit and, for a repeatable task with a cooldown, schedules
  the cooldown's end;
- ``session_started`` schedules the level's ``elapsed_at_least`` gates;
- ``sync_limits`` makes the limits of issued tasks follow a reloaded level.

``earliest`` says what fires next; firing what is due is the engine's entry point
``Engine.fire_due`` (``engine/core.py``), which runs each firing as its own Turn.
"""

from __future__ import annotations

from quest_runtime.engine.state import InternalTimer, LevelSession, SessionTimers, TaskStatus
from quest_runtime.levels.compiled import CompiledLevel, CompiledTask, CompiledTimer

#: Instances of one repeating timer caught up after a downtime; older ones are skipped
#: (and logged): a 1 s timer after a day offline would otherwise be 86,400 results.
MAX_CATCH_UP = 100
#: Float slack when a due time is compared with a duration (0.1 + 0.7 - 0.1 < 0.7).
EPSILON = 1e-6

#: Firing order at the same due time: engine timers first, then level timers.
INTERNAL_RANK = 0
TIMER_RANK = 1

Next = tuple[float, int, str | InternalTimer]
"""``(due, rank, what)``: a level timer's name (``TIMER_RANK``) or an engine timer."""


def next_due(session: LevelSession | None) -> float | None:
    """The earliest due time of the session's timers (None: nothing scheduled)."""
    if session is None or not session.timers:
        return None
    head = earliest(session.timers)
    return None if head is None else head[0]


def earliest(timers: SessionTimers) -> Next | None:
    """The timer that fires next; ties: engine timers first (by kind, then what they are
    about), then level timers by name (deterministic)."""
    best: Next | None = None
    best_key: tuple[float, int, str, str] | None = None
    for timer, due in timers.internal():
        key = (due, INTERNAL_RANK, timer.kind.value, timer.ref)
        if best_key is None or key < best_key:
            best_key, best = key, (due, INTERNAL_RANK, timer)
    for name, due in timers.pending.items():
        key = (due, TIMER_RANK, "", name)
        if best_key is None or key < best_key:
            best_key, best = key, (due, TIMER_RANK, name)
    return best


# -- level timers ----------------------------------------------------------------------


def schedule(timers: SessionTimers, timer: CompiledTimer, now: float,
             delay: float | None) -> tuple[float, bool]:
    """Schedule (or re-schedule) ``timer`` after ``delay`` (else the timer's own delay).
    Returns the due time and whether it fires at once (a 0 s delay): then a repeating
    timer is pending again one period later, a one-shot one not at all."""
    seconds = timer.delay_seconds if delay is None else max(0.0, float(delay))
    timers.pending.pop(timer.name, None)  # scheduling a pending timer replaces it
    if seconds > 0:
        timers.pending[timer.name] = now + seconds
        return now + seconds, False
    if timer.repeat_seconds:
        timers.pending[timer.name] = now + timer.repeat_seconds
    return now, True


def cancel(timers: SessionTimers, name: str) -> bool:
    """Drop a pending timer; True when there was one."""
    return timers.pending.pop(name, None) is not None


def spend(timers: SessionTimers, timer: CompiledTimer) -> None:
    """``fire_timer``: a pending one-shot instance is consumed; a repeating timer keeps
    its period."""
    if not timer.repeat_seconds:
        timers.pending.pop(timer.name, None)


def mark_fired(timers: SessionTimers, name: str) -> None:
    if name not in timers.fired:
        timers.fired.append(name)


# -- engine timers (task moments) ------------------------------------------------------


def task_issued(session: LevelSession, task: CompiledTask, now: float) -> None:
    """A (re-)issued task's time limit starts now (an early re-issue ends a cooldown)."""
    session.timers.cooldowns.pop(task.id, None)
    if task.time_limit_seconds:
        session.timers.limits[task.id] = now + task.time_limit_seconds


def task_closed(session: LevelSession, task: CompiledTask, now: float) -> None:
    """Completed or failed: the time limit stops; a repeatable task's cooldown starts."""
    session.timers.limits.pop(task.id, None)
    if task.repeatable and not task.manual and task.cooldown_seconds > 0:
        session.timers.cooldowns[task.id] = now + task.cooldown_seconds


def session_started(session: LevelSession, level: CompiledLevel) -> None:
    """Tasks gated by ``elapsed_at_least`` are looked at when each gate opens."""
    for seconds in level.elapsed_gates:
        session.timers.gates[float(seconds)] = session.started_at + seconds


def sync_limits(session: LevelSession, level: CompiledLevel) -> None:
    """After a reload: the time limits of issued tasks follow the new level (added,
    changed or removed); the clock still counts from the task's issue."""
    limits = session.timers.limits
    for task_id in list(limits):
        task = level.task_by_id.get(task_id)
        if task is None or not task.time_limit_seconds:
            del limits[task_id]
    for task in level.tasks:
        if task.time_limit_seconds:
            ts = session.tasks.get(task.id)
            if ts is not None and ts.status is TaskStatus.ISSUED and ts.issued_at is not None:
                limits[task.id] = ts.issued_at + task.time_limit_seconds
