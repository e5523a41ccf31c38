"""Timers: things that happen later (SPEC §4.7, §4.12.1, §4.12.2, §4.12.9).

State, kept in ``LevelSession.timers`` (so ending a session cancels its timers)::

    {"pending":  {"storm": 1712.5},            # level timers scheduled: name -> due
     "fired":    ["storm"],                    # fired in this session (``timer_fired``)
     "internal": {"limit:fetch_water": 1800.0, # engine timers: time limits,
                  "cooldown:daily": 86400.0,   #   repeatable cooldown ends,
                  "elapsed:60": 60.0}}         #   ``elapsed_at_least`` gates of tasks

Empty parts are left out, so a session without timers stores nothing. Due times are
the injectable clock's seconds (``clock.py``).

Moments
- ``schedule`` (effect ``schedule_timer``): due = now + delay (the effect's
  ``delay_seconds``, else the timer's); a pending timer of that name is replaced; a 0 s
  delay fires at once, inside the current result (§4.12.9).
- ``cancel`` (``cancel_timer``): the pending timer is dropped.
- ``fire_now`` (``fire_timer``): the timer's effects run at once, inside the current
  result; a pending one-shot instance is consumed, a repeating timer keeps its period.
- ``fire_due``: every instance due by ``now`` fires, earliest first, each in its own
  Turn whose "now" is the instance's due time, giving one result each; a repeating
  timer catches up (next due = due + period), at most ``MAX_CATCH_UP`` instances.
  After each firing tasks that became eligible are issued and level completion is
  checked (§4.12.2). Results that touched something go to the player's outbox.
- Internal timers: ``task_issued`` starts a task's time limit, ``task_closed`` stops it
  and, for a repeatable task with a cooldown, schedules the cooldown's end;
  ``session_started`` schedules the level's ``elapsed_at_least`` gates. Firing a time
  limit fails the task (``task_failed`` node, ``on_fail``); the others only make the
  engine look at eligibility again at the right moment.

The outbox (``PlayerState.outbox``) holds results not delivered yet. The runtime pushes
them on the stream and drops what was delivered; the engine merges what is left into
the player's next rule-event result at position (4) of §4.8 (``take_outbox``), once.

``TimerIndex`` is the runtime's in-memory heap of (next due, player) across players,
which the scheduler (``quest_runtime/scheduler.py``) sleeps on.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quest_runtime.engine.merger import ResultBuilder, Section
from quest_runtime.engine.state import LevelSession, PlayerState, TaskStatus
from quest_runtime.levels.compiled import CompiledLevel, CompiledTask, CompiledTimer

if TYPE_CHECKING:
    from quest_runtime.engine.core import Engine
    from quest_runtime.engine.turn import Turn

log = logging.getLogger(__name__)

PENDING = "pending"
FIRED = "fired"
INTERNAL = "internal"

#: Firings of one player in one pass; the rest wait for the next pass (a level whose
#: timers keep scheduling each other cannot hold the player's lock for ever).
MAX_FIRINGS = 1000
#: Instances of one repeating timer caught up after a downtime; older ones are skipped
#: (and logged): a 1 s timer after a day offline would otherwise be 86,400 results.
MAX_CATCH_UP = 100
#: Undelivered results kept per player; beyond it the two oldest are merged into one,
#: so nothing (commands above all) is lost while the list stays bounded.
MAX_OUTBOX = 100
#: Float slack when a due time is compared with a duration (0.1 + 0.7 - 0.1 < 0.7).
EPSILON = 1e-6

_INTERNAL_RANK = 0  # at the same due time, engine timers fire before level timers
_TIMER_RANK = 1


# -- state --------------------------------------------------------------------------


def _part(session: LevelSession, name: str) -> dict[str, float]:
    part: dict[str, float] = session.timers.setdefault(name, {})
    return part


def _tidy(session: LevelSession) -> None:
    for name in (PENDING, INTERNAL, FIRED):
        if name in session.timers and not session.timers[name]:
            del session.timers[name]


def next_due(session: LevelSession | None) -> float | None:
    """The earliest due time of the session's timers (None: nothing scheduled)."""
    if session is None or not session.timers:
        return None
    dues = [*session.timers.get(PENDING, {}).values(),
            *session.timers.get(INTERNAL, {}).values()]
    return min(dues) if dues else None


def earliest(session: LevelSession) -> tuple[float, int, str] | None:
    """``(due, rank, name)`` of the timer that fires next; ties: engine timers first,
    then by name (deterministic)."""
    best: tuple[float, int, str] | None = None
    for rank, part in ((_INTERNAL_RANK, INTERNAL), (_TIMER_RANK, PENDING)):
        for name, due in session.timers.get(part, {}).items():
            entry = (float(due), rank, name)
            if best is None or entry < best:
                best = entry
    return best


def _mark_fired(session: LevelSession, name: str) -> None:
    fired: list[str] = session.timers.setdefault(FIRED, [])
    if name not in fired:
        fired.append(name)


# -- effects (called by the Turn) ----------------------------------------------------


def _timer(turn: Turn, name: str) -> CompiledTimer | None:
    timer = turn.level.timers.get(name)
    if timer is None:  # the compiler rejects unknown names; a reload may remove one
        log.warning("effect names a timer this level does not have",
                    extra={"level": turn.level.id, "timer": name})
    return timer


def _run(turn: Turn, timer: CompiledTimer, section: Section = Section.TIMERS) -> None:
    """Inside a rule event's result a timer's output goes to position (4); in its own
    pushed result the timer is the event, so its output leads (like an event's tasks)
    and the tasks it made eligible follow."""
    _mark_fired(turn.session, timer.name)
    turn.out.note("timers_fired", timer.name)
    turn.run(timer.effects, section)


def schedule(turn: Turn, name: str, delay: float | None) -> None:
    timer = _timer(turn, name)
    if timer is None:
        return
    seconds = timer.delay_seconds if delay is None else max(0.0, float(delay))
    pending = _part(turn.session, PENDING)
    pending.pop(name, None)  # scheduling a pending timer replaces it
    turn.out.note("timers_scheduled", {name: turn.now + seconds})
    if seconds > 0:
        pending[name] = turn.now + seconds
        return
    if timer.repeat_seconds:
        pending[name] = turn.now + timer.repeat_seconds
    else:
        _tidy(turn.session)
    _run(turn, timer)  # a 0 s delay fires within the current result


def cancel(turn: Turn, name: str) -> None:
    pending = turn.session.timers.get(PENDING, {})
    if pending.pop(name, None) is not None:
        turn.out.note("timers_cancelled", name)
        _tidy(turn.session)


def fire_now(turn: Turn, name: str) -> None:
    timer = _timer(turn, name)
    if timer is None:
        return
    if not timer.repeat_seconds:
        turn.session.timers.get(PENDING, {}).pop(name, None)  # this instance is spent
        _tidy(turn.session)
    _run(turn, timer)


# -- internal timers (task moments) --------------------------------------------------


def task_issued(session: LevelSession, task: CompiledTask, now: float) -> None:
    """A (re-)issued task's time limit starts now (an early re-issue ends a cooldown)."""
    internal = session.timers.get(INTERNAL)
    if internal:
        internal.pop(f"cooldown:{task.id}", None)
        _tidy(session)
    if task.time_limit_seconds:
        _part(session, INTERNAL)[f"limit:{task.id}"] = now + task.time_limit_seconds


def task_closed(session: LevelSession, task: CompiledTask, now: float) -> None:
    """Completed or failed: the time limit stops; a repeatable task's cooldown starts."""
    internal = session.timers.get(INTERNAL)
    if internal:
        internal.pop(f"limit:{task.id}", None)
    if task.repeatable and not task.manual and task.cooldown_seconds > 0:
        _part(session, INTERNAL)[f"cooldown:{task.id}"] = now + task.cooldown_seconds
    _tidy(session)


def session_started(session: LevelSession, level: CompiledLevel) -> None:
    """Tasks gated by ``elapsed_at_least`` are looked at when each gate opens."""
    if level.elapsed_gates:
        internal = _part(session, INTERNAL)
        for seconds in level.elapsed_gates:
            internal[f"elapsed:{seconds:g}"] = session.started_at + seconds


def sync_limits(session: LevelSession, level: CompiledLevel) -> None:
    """After a reload: the time limits of issued tasks follow the new level (added,
    changed or removed); the clock still counts from the task's issue."""
    internal = session.timers.get(INTERNAL, {})
    for key in [k for k in internal if k.startswith("limit:")]:
        task = level.task_by_id.get(key[6:])
        if task is None or not task.time_limit_seconds:
            del internal[key]
    for task in level.tasks:
        if task.time_limit_seconds:
            ts = session.tasks.get(task.id)
            if ts is not None and ts.status is TaskStatus.ISSUED and ts.issued_at is not None:
                _part(session, INTERNAL)[f"limit:{task.id}"] = (ts.issued_at
                                                               + task.time_limit_seconds)
    _tidy(session)


def _fire_internal(turn: Turn, key: str, due: float) -> None:
    session = turn.session
    session.timers.get(INTERNAL, {}).pop(key, None)
    _tidy(session)
    kind, _, ref = key.partition(":")
    if kind != "limit":
        return  # cooldown ends and elapsed gates: eligibility is re-checked by the caller
    task = turn.level.task_by_id.get(ref)
    ts = session.tasks.get(ref)
    if (task is None or ts is None or ts.status is not TaskStatus.ISSUED
            or not task.time_limit_seconds or ts.issued_at is None):
        return  # closed meanwhile, or a reload removed the limit
    ends = ts.issued_at + task.time_limit_seconds
    if ends > due + EPSILON:  # a reload made the limit longer: wait for the new end
        _part(session, INTERNAL)[key] = ends
        return
    turn.out.note("time_limits_expired", ref)
    turn.fail(task, ts)


# -- firing what is due --------------------------------------------------------------


@dataclass(slots=True)
class Fired:
    """What one ``fire_due`` pass did."""

    results: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    """(due, result) of each firing that touched something, in due order."""
    journal: dict[str, list[Any]] = field(default_factory=dict)
    ensures_failures: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    """Firings run (with or without a result)."""


def merge_notes(into: dict[str, list[Any]], notes: dict[str, list[Any]]) -> None:
    for kind, values in notes.items():
        into.setdefault(kind, []).extend(values)


def fire_due(engine: Engine, state: PlayerState, now: float,
             limit: int = MAX_FIRINGS) -> Fired:
    """Fire every timer of the player's session due by ``now``, earliest first; each
    firing's result goes to ``state.outbox`` (and is returned)."""
    fired = Fired()
    session = state.session
    if session is None or not session.timers:
        return fired
    # imported here: the Turn and the engine call into this module
    from quest_runtime.engine.core import sync_session
    from quest_runtime.engine.turn import Turn

    while fired.count < limit:
        session = state.session
        if session is None or not session.timers:
            break
        head = earliest(session)
        if head is None or head[0] > now:
            break
        due, rank, name = head
        level = engine.levels(session.level_id)
        if level is None:  # the level was removed: nothing of it can run any more
            log.warning("timers of a removed level dropped",
                        extra={"player_id": state.player_id, "level": session.level_id})
            session.timers.clear()
            break
        if session.level_version != level.version:
            sync_session(session, level)
        timer: CompiledTimer | None = None
        if rank == _TIMER_RANK:
            timer = level.timers.get(name)
            pending = _part(session, PENDING)
            if timer is None:
                pending.pop(name)
                _tidy(session)
                log.warning("a pending timer the level no longer has was dropped",
                            extra={"level": level.id, "timer": name})
                merge_notes(fired.journal, {"timers_dropped": [name]})
                continue
            period = timer.repeat_seconds
            if period:
                behind = int((now - due) // period) + 1  # instances due by now
                if behind > MAX_CATCH_UP:
                    skipped = behind - MAX_CATCH_UP
                    pending[name] = due + skipped * period
                    log.warning("repeating timer too far behind: older instances skipped",
                                extra={"player_id": state.player_id, "level": level.id,
                                       "timer": name, "skipped": skipped})
                    merge_notes(fired.journal, {"timer_instances_skipped": [{name: skipped}]})
                    continue
        out = ResultBuilder()
        turn = Turn(state, session, level, due, {}, out)
        if timer is not None:
            pending = _part(session, PENDING)
            pending.pop(name, None)
            if timer.repeat_seconds:
                pending[name] = due + timer.repeat_seconds
            _run(turn, timer, Section.TASKS)
        else:
            _fire_internal(turn, name, due)
        _tidy(session)
        turn.issue_eligible()  # eligibility is re-checked after timer results (§4.12.2)
        turn.check_level_complete()
        outcome = engine._finish(turn)
        fired.count += 1
        merge_notes(fired.journal, outcome.journal)
        fired.ensures_failures.extend(outcome.ensures_failures)
        if outcome.result is not None:
            fired.results.append((due, outcome.result))
    if fired.count >= limit:
        log.warning("timer firing stopped at the per-pass limit; the rest fire next",
                    extra={"player_id": state.player_id, "limit": limit})
    if fired.results:
        keep(state, fired.results)
    return fired


# -- the outbox ------------------------------------------------------------------------


def keep(state: PlayerState, results: Iterable[tuple[float, dict[str, Any]]]) -> None:
    """Add results to the player's outbox (bounded: the oldest are merged)."""
    outbox = state.outbox
    outbox.extend({"at": at, "result": result} for at, result in results)
    while len(outbox) > MAX_OUTBOX:
        first, second = outbox[0], outbox[1]
        merged = merge_results([first["result"], second["result"]])
        outbox[0:2] = [{"at": first["at"], "result": merged}]
        log.warning("outbox full: the two oldest undelivered results were merged",
                    extra={"player_id": state.player_id})


def take_outbox(state: PlayerState, out: ResultBuilder) -> None:
    """Merge every undelivered result into ``out`` at position (4), and forget them."""
    if not state.outbox:
        return
    for entry in state.outbox:
        result = entry["result"]
        out.absorb(result, Section.TIMERS)
        out.behaviors.extend(result.get("updated_behaviors") or ())
    out.note("pushed_results_delivered", len(state.outbox))
    state.outbox = []


def merge_results(results: Iterable[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Several results as one, in order (§4.8 rules; nodes and commands concatenated,
    ``active_tasks`` from the last result that has one). None when there are none."""
    out = ResultBuilder()
    active: dict[str, Any] | None = None
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


def deliver_rest(state: PlayerState, result: dict[str, Any] | None) -> dict[str, Any] | None:
    """For a rule event whose result was built without the outbox (no level session):
    the outbox is appended to it, once."""
    if not state.outbox:
        return result
    merged = merge_results([result, *(e["result"] for e in state.outbox)])
    state.outbox = []
    return merged


# -- the index across players --------------------------------------------------------


class TimerIndex:
    """Next due time per player, as a heap with lazy deletion; and the players whose
    outbox is not empty (re-sent when a stream client connects)."""

    def __init__(self) -> None:
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self.outbox: set[str] = set()
        #: Called when the earliest due time moved earlier (the scheduler wakes up).
        self.on_earlier: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._due)

    def update(self, state: PlayerState) -> None:
        self.set(state.player_id, next_due(state.session))
        if state.outbox:
            self.outbox.add(state.player_id)
        else:
            self.outbox.discard(state.player_id)

    def set(self, player_id: str, due: float | None) -> None:
        old = self._due.get(player_id)
        if due == old:
            return
        if due is None:
            del self._due[player_id]
            return
        head = self.next_due()
        self._due[player_id] = due
        heapq.heappush(self._heap, (due, player_id))
        if len(self._heap) > 2 * len(self._due) + 64:
            self._heap = [(d, p) for p, d in self._due.items()]
            heapq.heapify(self._heap)
        if (head is None or due < head) and self.on_earlier is not None:
            self.on_earlier()

    def due_of(self, player_id: str) -> float | None:
        return self._due.get(player_id)

    def next_due(self) -> float | None:
        heap = self._heap
        while heap:
            due, player = heap[0]
            if self._due.get(player) == due:
                return due
            heapq.heappop(heap)
        return None

    def pop_due(self, now: float) -> list[tuple[float, str]]:
        """Players due by ``now``, earliest first; they leave the index (the firing puts
        them back with their next due time)."""
        out: list[tuple[float, str]] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, player = heapq.heappop(heap)
            if self._due.get(player) == due:
                del self._due[player]
                out.append((due, player))
        return out
