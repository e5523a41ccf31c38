"""A turn: one rule event (or load) processed against one player's level session.

The turn owns the moments of a TaskSession (``issue``, ``advance``, ``complete``,
``fail``) and of a binding (``fire``), and implements ``EngineOps`` for effects. It
writes outputs to a ``ResultBuilder`` (see ``merger.py`` for the order).
"""

from __future__ import annotations

import logging
from operator import attrgetter
from typing import Any, cast

from quest_runtime.atoms import NormalisedEvent
from quest_runtime.conditions import Condition
from quest_runtime.effects import Effect, EffectContext, run_effects
from quest_runtime.engine import dialogue, gates, timers
from quest_runtime.engine.merger import ResultBuilder, Section
from quest_runtime.engine.questlog import remaining
from quest_runtime.engine.shapes import EnsuresFailure, Node
from quest_runtime.engine.state import (
    LEVELS_PART,
    MARK_PART,
    ONCE_PART,
    TASK_PART,
    LevelSession,
    ListenerMark,
    PlayerState,
    TaskSession,
    TaskStatus,
    part_key,
)
from quest_runtime.levels.compiled import (
    CompiledLevel,
    CompiledListener,
    CompiledTask,
    CompiledTimer,
)

log = logging.getLogger(__name__)

#: NPC behaviour entries kept per session (repeats replace; this bounds the rest).
MAX_BEHAVIORS = 256
#: Effects completing tasks that complete tasks...: a level cannot loop us forever.
MAX_DEPTH = 16


#: A task's position in its level file (the order tasks are issued in).
_file_order = attrgetter("index")


class Turn:
    """Processing state for one rule event; implements ``EngineOps``."""

    def __init__(
        self, state: PlayerState, session: LevelSession, level: CompiledLevel, now: float,
        meta: dict[str, Any] | Any, out: ResultBuilder | None = None,
    ) -> None:
        self.state = state
        self.session = session
        self.level = level
        self.now = now
        self.meta = meta
        self.out = out if out is not None else ResultBuilder()
        self.end_requested: tuple[bool, str | None] = (False, None)
        self.ensures_failures: list[EnsuresFailure] = []
        self._depth = 0
        #: A dialogue program is running: ``start_dialogue`` only pushes (``dialogue.py``).
        self.dialogue_pumping = False

    # -- contexts --------------------------------------------------------------------

    def ctx(self, section: Section) -> EffectContext:
        return EffectContext(self.state, self.session, self.level, self.meta, self.now,
                             self.out, section, self)

    def holds(self, cond: Condition | None) -> bool:
        return cond is None or cond.holds(self.ctx(Section.TASKS))

    def run(self, effects: tuple[Effect, ...], section: Section) -> None:
        if not effects:
            return
        if self._depth >= MAX_DEPTH:
            log.error("effect chain too deep; stopped", extra={"level": self.level.id})
            return
        self._depth += 1
        try:
            run_effects(effects, self.ctx(section))
        finally:
            self._depth -= 1

    # -- TaskSession moments ---------------------------------------------------------

    def touch(self, task: CompiledTask) -> None:
        """The task's session is about to change: its storage part is written next."""
        self.state.touch(part_key(TASK_PART, task.id))

    def issue(self, task: CompiledTask, ts: TaskSession) -> None:
        """pending/failed/completed(repeatable) → issued; progress starts again."""
        self.touch(task)
        ts.move(TaskStatus.ISSUED, self.now)
        timers.task_issued(self.session, task, self.now)
        if self.session.issuable is not None:
            self.session.issuable.discard(task.id)
        node: Node = {"type": "task", "task_id": task.id, "title": task.title,
                      "text": task.on_issue or task.hint or task.title}
        if task.hint:
            node["hint"] = task.hint
        self.out.issued(task.index, node)
        self.out.note("tasks_issued", task.id)
        self.out.quest_log_dirty = True

    def eligible(self, task: CompiledTask, ts: TaskSession) -> bool:
        return gates.why_not_eligible(task, ts, self.session, self.now, self.holds) is None

    def issue_eligible(self) -> None:
        """Issue every task whose ``after`` tasks are done and whose ``requires`` holds.

        Only tasks that could be issued at all (pending automatic tasks, completed
        repeatable ones) are looked at, so a level whose tasks are all issued costs
        nothing here."""
        candidates = self.session.issuable
        if candidates is None:
            candidates = self.candidates()
        if not candidates:
            return
        session = self.session
        by_id = self.level.task_by_id
        sessions = session.tasks
        issued, pending = TaskStatus.ISSUED, TaskStatus.PENDING
        holds = self.holds
        waiting = session.waiting
        for task in sorted([by_id[t] for t in candidates], key=_file_order):
            ts = sessions.get(task.id)
            if ts is None or ts.status is issued:
                continue
            if ts.status is pending and waiting.get(task.id) == session.completed_epoch:
                continue  # still waiting for its ``after`` task: no task completed since
            blocked = gates.why_not_eligible(task, ts, session, self.now, holds)
            if blocked is None:
                waiting.pop(task.id, None)
                self.issue(task, ts)
            elif blocked.reason == "after" and ts.status is pending:
                # ``after`` is looked at before ``requires`` and only a completion
                # opens it (``counts_as_completed`` never goes back within a session)
                waiting[task.id] = session.completed_epoch

    def candidates(self) -> set[str]:
        """Ids of tasks that may become eligible (derived, kept on the session object)."""
        s = self.session
        if s.issuable is None:
            s.issuable = {
                t.id for t in self.level.tasks
                if not t.manual and (ts := s.tasks.get(t.id)) is not None
                and (ts.status is TaskStatus.PENDING
                     or (ts.status in gates.REISSUABLE and t.repeatable))
            }
        return s.issuable

    def advance(self, task: CompiledTask, ts: TaskSession, event: NormalisedEvent) -> None:
        """One matching event: progress +1 (capped), first open matching milestone +1."""
        if not task.milestones:  # the common case, kept short
            if ts.progress >= task.count:
                return
            self.state.touch(part_key(TASK_PART, task.id))
            ts.progress += 1
            self.out.note("tasks_progressed", task.id)
            if ts.progress >= task.count:
                self.complete(task, ts)
            else:
                self.out.node(Section.TASKS, {
                    "type": "task_progress", "task_id": task.id, "title": task.title,
                    "text": task.on_progress or task.hint or task.title,
                    "progress": ts.progress, "count": task.count,
                    "remaining": task.count - ts.progress,
                })
            return
        changed = False
        if ts.progress < task.count:
            ts.progress += 1
            changed = True
        hit = None
        for m in task.milestones:
            done = ts.milestones.get(m.id, 0)
            if done >= m.count:
                continue
            if not m.tokens or (m.tokens & event.tokens) or self._chat_hits(m.tokens, event):
                ts.milestones[m.id] = done + 1
                changed = True
                if done + 1 >= m.count:
                    hit = m
                break
        if not changed:
            return
        self.touch(task)
        self.out.note("tasks_progressed", task.id)
        if hit is not None:
            self.out.milestone(hit.id)
            node: Node = {"type": "task_milestone", "task_id": task.id,
                          "milestone_id": hit.id, "title": hit.title,
                          "text": hit.hint or hit.title}
            self.out.node(Section.TASKS, node)
        all_done = all(ts.milestones.get(m.id, 0) >= m.count for m in task.milestones)
        if ts.progress >= task.count and all_done:
            self.complete(task, ts)
        else:
            left = remaining(task, ts.progress, ts.milestones)
            self.out.node(Section.TASKS, {
                "type": "task_progress", "task_id": task.id, "title": task.title,
                "text": task.on_progress or task.hint or task.title,
                "progress": task.count - left if left <= task.count else 0,
                "count": task.count, "remaining": left,
            })

    @staticmethod
    def _chat_hits(tokens: frozenset[str], event: NormalisedEvent) -> bool:
        if event.chat_text is None:
            return False
        from quest_runtime.keywords import keyword_in

        return any(keyword_in(t, event.chat_text) for t in tokens)

    def complete(self, task: CompiledTask, ts: TaskSession) -> None:
        """→ completed: node, rewards (once, in order), ``on_complete``, ``ensures``."""
        self.touch(task)
        ts.move(TaskStatus.COMPLETED, self.now)
        self.session.completed_epoch += 1  # tasks waiting for an ``after`` are looked at again
        timers.task_closed(self.session, task, self.now)
        if task.repeatable and not task.manual and self.session.issuable is not None:
            self.session.issuable.add(task.id)
        ts.progress = max(ts.progress, task.count)
        self.out.completed(task.id)
        self.out.note("tasks_completed", task.id)
        self.out.quest_log_dirty = True
        self.out.node(Section.TASKS, {
            "type": "task_complete", "task_id": task.id, "title": task.title,
            "text": task.on_complete_text or task.title,
        })
        reward = task.reward
        if reward is not None:
            if reward.world_patch:
                self.out.patch(reward.world_patch)
            if reward.npc_dialogue is not None:
                self.out.node(Section.TASKS, cast(Node, dict(reward.npc_dialogue)))
            for cmd in reward.commands:
                self.out.command(Section.TASKS, cmd)
            for item, amount in reward.items:
                self.state.items[item] = self.state.items.get(item, 0) + amount
        self.run(task.on_complete, Section.TASKS)
        if task.ensures is not None:
            self.check_ensures(task.ensures, f"task '{task.id}'")

    def fail(self, task: CompiledTask, ts: TaskSession) -> None:
        if ts.status is not TaskStatus.ISSUED and ts.status is not TaskStatus.PENDING:
            return
        self.touch(task)
        ts.move(TaskStatus.FAILED, self.now)
        timers.task_closed(self.session, task, self.now)
        if self.session.issuable is not None:
            if task.repeatable and not task.manual:  # re-issued after its cooldown
                self.session.issuable.add(task.id)
            else:
                self.session.issuable.discard(task.id)
        self.out.note("tasks_failed", task.id)
        self.out.quest_log_dirty = True
        self.out.node(Section.TASKS, {"type": "task_failed", "task_id": task.id,
                                      "title": task.title, "text": task.title})
        self.run(task.on_fail, Section.TASKS)

    def check_ensures(self, cond: Condition, what: str) -> None:
        ctx = self.ctx(Section.TASKS)
        if cond.holds(ctx):
            return
        failing = cond.failing(ctx) or cond
        failure: EnsuresFailure = {"level": self.level.id, "file": self.level.path, "what": what,
                   "pointer": failing.pointer, "condition": failing.describe()}
        self.ensures_failures.append(failure)
        log.warning("ensures violated: %s: %s: %s [%s]", failure["file"], what,
                    failure["condition"], failure["pointer"], extra=failure)

    # -- level completion ------------------------------------------------------------

    def check_level_complete(self) -> None:
        s = self.session
        if s.summary_emitted or not self.level.tasks:
            return
        sessions = s.tasks
        completed = TaskStatus.COMPLETED
        for task in self.level.tasks:  # stops at the first open task: one look, usually
            ts = sessions.get(task.id)
            # ``gates.counts_as_completed``, inlined: this runs on every rule event
            if ts is None or (ts.status is not completed and ts.completions <= 0):
                return
        s.summary_emitted = True
        s.exit_ready = True
        self.out.exit_ready = True
        self.out.summary = {"type": "task_summary", "title": self.level.summary_title,
                            "text": self.level.summary_text}
        if self.level.id not in self.state.completed_levels:
            self.state.completed_levels.append(self.level.id)
            self.state.touch(LEVELS_PART)
        self.out.note("levels_completed", self.level.id)
        if self.level.ensures is not None:
            self.check_ensures(self.level.ensures, f"level '{self.level.id}'")

    # -- bindings --------------------------------------------------------------------

    def fire_listeners(self, event: NormalisedEvent,
                       hits: tuple[int, ...] | None = None) -> None:
        """The listeners hit by ``event`` (``hits``: their positions, when the caller
        has them from ``CompiledLevel.matches``), in file order."""
        listeners = self.level.listeners
        event_type = event.event_type
        for index in self.level.match_listeners(event) if hits is None else hits:
            listener = listeners[index]
            if gates.hears(listener, event_type):
                self.try_fire(listener)

    def _holds_listener(self, cond: Condition) -> bool:
        return cond.holds(self.ctx(Section.LISTENERS))

    def try_fire(self, listener: CompiledListener) -> None:
        s = self.session
        blocked = gates.why_not_fired(listener, self.level.id, self.state, s, self.now,
                                      self._holds_listener)
        if blocked is not None:
            if blocked.reason == "requires" and listener.blocked_text:
                self.out.node(Section.LISTENERS, {"type": "npc_dialogue",
                                                  "text": listener.blocked_text,
                                                  "listener_id": listener.id})
            return  # a dormant (gated) listener is silent
        self.fire(listener, s.listeners.get(listener.id))
        if listener.once == "player":
            self.state.once_marks.add(gates.once_key(self.level.id, listener))
            self.state.touch(ONCE_PART)

    def fire(self, listener: CompiledListener, mark: ListenerMark | None) -> None:
        if gates.needs_mark(listener):  # only these gates read a mark: the state
            if mark is None:            # document does not grow with plain listeners
                mark = self.session.listeners[listener.id] = ListenerMark()
            self.state.touch(part_key(MARK_PART, listener.id))
            mark.fired += 1
            mark.last_fired = self.now
        out = self.out
        out.note("listeners_fired", listener.id)
        out.touched = True
        if listener.dialogue is not None:
            out.node(Section.LISTENERS, cast(Node, dict(listener.dialogue)))
        if listener.world_patch:
            out.patch(listener.world_patch)
        for cmd in listener.commands:
            out.command(Section.LISTENERS, cmd)
        for behaviour in listener.update_behaviors:
            self.record_behaviour(behaviour)
        if listener.effects:
            self.run(listener.effects, Section.LISTENERS)

    def record_behaviour(self, behaviour: Any) -> None:
        key = f"{behaviour.get('type', '')}:{behaviour.get('id') or behaviour.get('particle', '')}"
        b = self.session.behaviors
        if key not in b and len(b) >= MAX_BEHAVIORS:
            b.pop(next(iter(b)))
        b[key] = dict(behaviour)
        self.out.behaviors.append(dict(behaviour))

    # -- EngineOps ---------------------------------------------------------------------

    def _task(self, task_id: str) -> tuple[CompiledTask, TaskSession] | None:
        task = self.level.task_by_id.get(task_id)
        ts = self.session.tasks.get(task_id)
        if task is None or ts is None:
            log.warning("effect names a task this level does not have",
                        extra={"level": self.level.id, "task": task_id})
            return None
        return task, ts

    def issue_task(self, ctx: EffectContext, task_id: str) -> None:
        found = self._task(task_id)
        if found is None:
            return
        task, ts = found
        if ts.status is TaskStatus.ISSUED:
            return
        if ts.status is TaskStatus.COMPLETED and not task.repeatable:
            return
        self.issue(task, ts)

    def complete_task(self, ctx: EffectContext, task_id: str) -> None:
        found = self._task(task_id)
        if found is None:
            return
        task, ts = found
        if ts.status in (TaskStatus.ISSUED, TaskStatus.PENDING):
            self.complete(task, ts)

    def fail_task(self, ctx: EffectContext, task_id: str) -> None:
        found = self._task(task_id)
        if found is not None:
            self.fail(*found)

    def end_level(self, ctx: EffectContext, next_level: str | None) -> None:
        self.end_requested = (True, next_level)

    # Dialogue programs (SPEC §3.4): ``engine/dialogue.py``.
    def start_dialogue(self, ctx: EffectContext, dialogue_id: str) -> None:
        dialogue.start(self, dialogue_id)

    # Timers (SPEC §4.7): state in ``engine/timers.py``; firing runs here.
    def schedule_timer(self, ctx: EffectContext, timer: str, delay: float | None) -> None:
        found = self._timer(timer)
        if found is None:
            return
        due, at_once = timers.schedule(self.session.timers, found, self.now, delay)
        self.out.note("timers_scheduled", {found.name: due})
        if at_once:  # a 0 s delay fires within the current result (§4.12.9)
            self.run_timer(found)

    def cancel_timer(self, ctx: EffectContext, timer: str) -> None:
        if timers.cancel(self.session.timers, timer):
            self.out.note("timers_cancelled", timer)

    def fire_timer(self, ctx: EffectContext, timer: str) -> None:
        found = self._timer(timer)
        if found is not None:
            timers.spend(self.session.timers, found)
            self.run_timer(found)

    def _timer(self, name: str) -> CompiledTimer | None:
        timer = self.level.timers.get(name)
        if timer is None:  # the compiler rejects unknown names; a reload may remove one
            log.warning("effect names a timer this level does not have",
                        extra={"level": self.level.id, "timer": name})
        return timer

    def run_timer(self, timer: CompiledTimer, section: Section = Section.TIMERS) -> None:
        """A timer's effects. Inside a rule event's result its output goes to position
        (4); in its own pushed result the timer is the event, so its output leads (like
        an event's tasks) and the tasks it made eligible follow."""
        timers.mark_fired(self.session.timers, timer.name)
        self.out.note("timers_fired", timer.name)
        self.run(timer.effects, section)

    def expire_limit(self, task_id: str, due: float) -> None:
        """A time limit fell due: the task fails, unless it closed meanwhile or a reload
        removed or lengthened the limit (then it waits for the new end)."""
        task = self.level.task_by_id.get(task_id)
        ts = self.session.tasks.get(task_id)
        if (task is None or ts is None or ts.status is not TaskStatus.ISSUED
                or not task.time_limit_seconds or ts.issued_at is None):
            return
        ends = ts.issued_at + task.time_limit_seconds
        if ends > due + timers.EPSILON:
            self.session.timers.limits[task_id] = ends
            return
        self.out.note("time_limits_expired", task_id)
        self.fail(task, ts)
