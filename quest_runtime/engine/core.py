"""The engine: ``load``, ``end``, ``handle`` and ``fire_due`` over one player's state
(SPEC §4).

The engine is synchronous and pure over ``PlayerState``: it reads compiled levels from
the catalog, mutates the state it is given and returns the result dict. Storage,
ordering and idempotency are the runtime's job (``quest_runtime/runtime.py``).

``handle`` in numbered steps:
1. no level session: load ``default_level`` first (its load result leads), else ``None``;
2. the session follows a reloaded level by ids (``sync_session``);
3. normalise the rule event into atoms (``atoms.normalise``), with the level's aliases;
   a dialogue program waiting at a choice may take the event as its answer
   (``engine/dialogue.py``): a chat answer or a refused one stops here;
4. tasks hit by the atoms, in file order: ``advance`` → milestones, completion, rewards,
   ``on_complete`` effects;
5. tasks that became eligible are issued;
6. listeners hit by the atoms, in file order: gates, ``once``, cooldown, ``requires``,
   outputs, effects; eligibility again (effects may set flags);
7. level completion: ``exit_ready`` and ``summary`` once per session;
8. ``end_level`` requested by an effect; build the result (``merger``): narration gets
   its text variables (``textvars.py``), commands get ``{player}``, ``active_tasks``
   when task state changed, ``None`` when nothing happened.

``fire_due`` (also run first by ``load``, ``end`` and ``handle``): every timer of the
session due by now fires, earliest first (``engine/timers.earliest``), each as its own
Turn whose "now" is its due time, giving one result each, kept in the outbox
(``engine/outbox.py``); a repeating timer catches up at most ``MAX_CATCH_UP`` instances;
after each firing eligible tasks are issued and level completion is checked (§4.12.2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quest_runtime.atoms import normalise
from quest_runtime.conditions import EvalContext
from quest_runtime.engine import dialogue, outbox, timers
from quest_runtime.engine.commands import substitute
from quest_runtime.engine.merger import ResultBuilder, Section
from quest_runtime.engine.questlog import snapshot
from quest_runtime.engine.shapes import EnsuresFailure, Result
from quest_runtime.engine.state import (
    InternalKind,
    InternalTimer,
    LevelSession,
    PlayerState,
    TaskSession,
    TaskStatus,
)
from quest_runtime.engine.turn import Turn
from quest_runtime.errors import LevelBlocked, LevelUnavailable, UnknownLevel
from quest_runtime.levels.compiled import CompiledLevel
from quest_runtime.textvars import Values, fill, fill_quest_log, fillers

LevelLookup = Callable[[str], CompiledLevel | None]

log = logging.getLogger(__name__)

#: Firings of one player in one pass; the rest wait for the next pass (a level whose
#: timers keep scheduling each other cannot hold the player's lock for ever).
MAX_FIRINGS = 1000


@dataclass(slots=True)
class Outcome:
    """What one engine call produced: the wire result and what to journal."""

    result: Result | None
    journal: dict[str, list[Any]] = field(default_factory=dict)
    ensures_failures: list[EnsuresFailure] = field(default_factory=list)


@dataclass(slots=True)
class Fired:
    """What one ``fire_due`` pass did."""

    results: list[tuple[float, Result]] = field(default_factory=list)
    """(due, result) of each firing that touched something, in due order."""
    journal: dict[str, list[Any]] = field(default_factory=dict)
    ensures_failures: list[EnsuresFailure] = field(default_factory=list)
    count: int = 0
    """Firings run (with or without a result)."""


def merge_notes(into: dict[str, list[Any]], notes: dict[str, list[Any]]) -> None:
    for kind, values in notes.items():
        into.setdefault(kind, []).extend(values)


class Engine:
    """The rule engine. ``levels`` looks up the compiled level serving an id."""

    def __init__(self, levels: LevelLookup, *, default_level: str | None = None) -> None:
        self.levels = levels
        self.default_level = default_level

    # -- load / end --------------------------------------------------------------------

    def load(self, state: PlayerState, level_id: str, now: float) -> Outcome:
        """Start a level session (ending the current one first). Raises UnknownLevel or
        LevelBlocked, changing nothing."""
        timed = self.fire_due(state, now)  # the old session's due timers fire first
        return _with_timed(self._load(state, level_id, now), timed)

    def _load(self, state: PlayerState, level_id: str, now: float) -> Outcome:
        level = self.levels(level_id)
        if level is None:
            raise UnknownLevel(f"unknown level '{level_id}'",
                               details=[{"loc": "level_id", "message": "no such level"}])
        if level.requires is not None:
            ctx = EvalContext(state, None, level, {}, now)
            if not level.requires.holds(ctx):
                text = fill(level.blocked_text, Values(
                    state.player_id, state.vars, state.items, state.flags, level.flag_text)
                ) if level.blocked_text else f"level '{level_id}' is not open yet"
                raise LevelBlocked(text,
                                   details=[{"loc": "level_id",
                                             "message": level.requires.describe()}])
        state.session = new_session(level, now)
        state.touch_all()
        out = ResultBuilder()
        turn = Turn(state, state.session, level, now, {}, out)
        if level.world_patch:
            out.patch(dict(level.world_patch))
        turn.issue_eligible()
        out.quest_log_dirty = True
        out.touched = True  # a load always answers with a result object
        out.note("levels_loaded", level.id)
        return self._finish(turn)

    def end(self, state: PlayerState, now: float) -> Outcome:
        """End the level session (its timers with it); player-global state stays."""
        timed = self.fire_due(state, now)
        ended = state.session.level_id if state.session else None
        state.session = None
        state.touch_all()
        return _with_timed(Outcome(None, {"levels_ended": [ended]} if ended else {}), timed)

    # -- rule events -----------------------------------------------------------------

    def handle(self, state: PlayerState, event_type: str | None, payload: Mapping[str, Any],
               now: float) -> Outcome:
        session = state.session
        if session is not None and (  # a timer that can fall due (``fired`` alone cannot)
                (t := session.timers).pending or t.limits or t.cooldowns or t.gates):
            timed = self.fire_due(state, now)  # timers due by now fire first (§4.7)
            outcome = _with_timed(self._handle(state, event_type, payload, now), timed)
        else:
            outcome = self._handle(state, event_type, payload, now)
        if state.outbox:  # no level session took it: still delivered, once
            outcome.result = outbox.deliver_rest(state, outcome.result)
        return outcome

    def _handle(self, state: PlayerState, event_type: str | None,
                payload: Mapping[str, Any], now: float) -> Outcome:
        lead: Outcome | None = None
        if state.session is None:
            if self.default_level is None:
                return Outcome(None)
            try:
                lead = self.load(state, self.default_level, now)
            except (UnknownLevel, LevelBlocked) as exc:
                # a rule event never answers with a load error: nothing happened
                return Outcome(None, {"load_refused": [{"level": self.default_level,
                                                        "code": exc.code}]})
        session = state.session
        assert session is not None  # load() always sets it
        level = self.levels(session.level_id)
        if level is None:
            # the level's file is gone for now: refuse (503) rather than answer and
            # journal a null result that a retry would replay, losing the event
            raise LevelUnavailable(
                f"level '{session.level_id}' is not loaded right now; retry shortly",
                details=[{"loc": "level_id", "message": "level not loaded"}])
        if session.level_version != level.version:
            sync_session(session, level)
            state.touch_all()
        event = normalise(event_type, payload, level.aliases or None)
        out = ResultBuilder()
        if lead is not None and lead.result is not None:
            out.absorb(lead.result, Section.TASKS)
        outbox.take(state, out)  # undelivered pushed results: position (4), once
        turn = Turn(state, session, level, now, payload, out)
        if level.dialogues.programs and dialogue.answer(turn, event) is dialogue.Answer.CONSUMED:
            turn.issue_eligible()  # a taken chat answer or a refused one goes no further
            turn.check_level_complete()
            return self._finish(turn)
        if event.empty:
            turn.issue_eligible()  # eligibility is re-checked after every event (§4.3)
            return self._finish(turn)
        task_hits, listener_hits = level.matches(event)
        if task_hits:
            tasks, sessions, issued = level.tasks, session.tasks, TaskStatus.ISSUED
            for index in task_hits:
                task = tasks[index]
                ts = sessions.get(task.id)
                if ts is not None and ts.status is issued:
                    turn.advance(task, ts, event)
        turn.issue_eligible()
        if listener_hits:
            turn.fire_listeners(event, listener_hits)
        turn.issue_eligible()
        turn.check_level_complete()
        return self._finish(turn)

    # -- timers ------------------------------------------------------------------------

    def fire_due(self, state: PlayerState, now: float, limit: int = MAX_FIRINGS) -> Fired:
        """Fire every timer of the player's session due by ``now``, earliest first; each
        firing's result goes to ``state.outbox`` (and is returned)."""
        fired = Fired()
        while fired.count < limit:
            session = state.session
            if session is None or not session.timers:
                break
            head = timers.earliest(session.timers)
            if head is None or head[0] > now:
                break
            level = self.levels(session.level_id)
            if level is None:  # the level was removed: nothing of it can run any more
                log.warning("timers of a removed level dropped",
                            extra={"player_id": state.player_id, "level": session.level_id})
                session.timers.clear()
                break
            if session.level_version != level.version:
                sync_session(session, level)
                state.touch_all()
            turn = self._fire_one(state, session, level, head, now, fired.journal)
            if turn is None:
                continue
            turn.issue_eligible()  # eligibility is re-checked after timer results (§4.12.2)
            turn.check_level_complete()
            outcome = self._finish(turn)
            fired.count += 1
            merge_notes(fired.journal, outcome.journal)
            fired.ensures_failures.extend(outcome.ensures_failures)
            if outcome.result is not None:
                fired.results.append((head[0], outcome.result))
        if fired.count >= limit:
            log.warning("timer firing stopped at the per-pass limit; the rest fire next",
                        extra={"player_id": state.player_id, "limit": limit})
        if fired.results:
            outbox.keep(state, fired.results)
        return fired

    def _fire_one(self, state: PlayerState, session: LevelSession, level: CompiledLevel,
                  head: timers.Next, now: float,
                  journal: dict[str, list[Any]]) -> Turn | None:
        """Fire the timer ``head`` as its own Turn (None: nothing to fire, it was
        dropped or skipped ahead)."""
        due, _, what = head
        pending = session.timers.pending
        turn = Turn(state, session, level, due, {}, ResultBuilder())
        if isinstance(what, InternalTimer):
            session.timers.drop(what)
            if what.kind is InternalKind.LIMIT:
                turn.expire_limit(what.ref, due)
            return turn  # cooldown ends and gates: eligibility is re-checked by the caller
        timer = level.timers.get(what)
        if timer is None:
            pending.pop(what)
            log.warning("a pending timer the level no longer has was dropped",
                        extra={"level": level.id, "timer": what})
            merge_notes(journal, {"timers_dropped": [what]})
            return None
        period = timer.repeat_seconds
        if period:
            behind = int((now - due) // period) + 1  # instances due by now
            if behind > timers.MAX_CATCH_UP:
                skipped = behind - timers.MAX_CATCH_UP
                pending[what] = due + skipped * period
                log.warning("repeating timer too far behind: older instances skipped",
                            extra={"player_id": state.player_id, "level": level.id,
                                   "timer": what, "skipped": skipped})
                merge_notes(journal, {"timer_instances_skipped": [{what: skipped}]})
                return None
        pending.pop(what, None)
        if period:
            pending[what] = due + period
        turn.run_timer(timer, Section.TASKS)
        return turn

    def _finish(self, turn: Turn) -> Outcome:
        out = turn.out
        ended, next_level = turn.end_requested
        if ended:
            turn.state.session = None
            turn.state.touch_all()
            out.note("levels_ended", turn.level.id)
            if next_level is not None:
                try:
                    loaded = self.load(turn.state, next_level, turn.now)
                except (UnknownLevel, LevelBlocked) as exc:
                    out.note("load_refused", {"level": next_level, "code": exc.code})
                else:
                    if loaded.result is not None:
                        out.absorb(loaded.result, Section.DIALOGUES)
        if not out.touched:
            return Outcome(None, out.journal, turn.ensures_failures)
        state = turn.state  # text variables, read as the result is built (textvars.py)
        session = state.session
        level = turn.level
        values: Values | None = None
        if level.text_variables:
            values = Values(state.player_id, state.vars, state.items, state.flags,
                            level.flag_text)
            out.fill_texts(*fillers(values))
        active = None
        if out.quest_log_dirty and session is not None:
            shown = level if session.level_id == level.id else self.levels(session.level_id)
            if shown is not None:
                if values is None:
                    values = Values(state.player_id, state.vars, state.items, state.flags,
                                    level.flag_text)
                active = fill_quest_log(
                    snapshot(state.player_id, shown, session, turn.now), values)
        commands = substitute(out.commands, state.player_id)
        if commands:
            out.journal["commands"] = commands
        result = out.build(commands, active, level.title)
        return Outcome(result, out.journal, turn.ensures_failures)


def _with_timed(outcome: Outcome, timed: Fired) -> Outcome:
    """Journal and contract failures of timers that fired before the call lead."""
    if timed.count or timed.journal:
        journal: dict[str, list[Any]] = {}
        merge_notes(journal, timed.journal)
        merge_notes(journal, outcome.journal)
        outcome.journal = journal
        outcome.ensures_failures[:0] = timed.ensures_failures
    return outcome


def new_session(level: CompiledLevel, now: float) -> LevelSession:
    session = LevelSession(
        level_id=level.id, level_version=level.version, started_at=now,
        tasks={t.id: TaskSession() for t in level.tasks},
    )
    timers.session_started(session, level)
    return session


def sync_session(session: LevelSession, level: CompiledLevel) -> None:
    """Follow a reloaded level by stable ids (SPEC §6): progress of tasks and milestones
    that still exist is kept, clamped to the new counts and never completed silently;
    removed tasks are dropped; new tasks start pending (issued with the next result)."""
    tasks: dict[str, TaskSession] = {}
    for task in level.tasks:
        ts = session.tasks.get(task.id)
        if ts is None:
            tasks[task.id] = TaskSession()
            continue
        known = {m.id: m.count for m in task.milestones}
        ts.milestones = {mid: min(n, known[mid]) for mid, n in ts.milestones.items()
                         if mid in known}
        if ts.status is TaskStatus.ISSUED:
            all_done = all(ts.milestones.get(m, 0) >= c for m, c in known.items())
            cap = task.count - 1 if all_done else task.count
            ts.progress = max(0, min(ts.progress, cap))
        tasks[task.id] = ts
    session.tasks = tasks
    session.issuable = None  # derived from the level: recomputed on the next turn
    session.waiting = {}
    listener_ids = {li.id for li in level.listeners}
    session.listeners = {k: v for k, v in session.listeners.items() if k in listener_ids}
    dialogue.sync(session, level)  # a program whose node was removed ends cleanly
    timers.sync_limits(session, level)  # time limits of issued tasks follow the new version
    session.level_version = level.version
