"""Explain: why a rule event did (or did not) fire each task and listener, as a dry run.

``explain`` answers the designer's most common question, "why doesn't my task fire?",
without changing anything. It copies the player's state twice (``dump_state`` →
``load_state``): the engine's own ``handle`` runs on one copy, so what *did* happen is
exactly what the service would do; the other copy is the state the event met, against
which each task and listener that did not fire is diagnosed, in the engine's order:

tasks (matched through the level's dispatch index, ``CompiledLevel.match_tasks``)
  ``type``       the task listens for another event type (wildcard tasks included);
  ``target``     right type, but none of its tokens is on the event (closest token shown);
  ``not_issued`` the task is pending: ``manual``, waiting for ``after`` tasks, or its
                 ``requires`` fails (the failing sub-condition, ``Condition.failing``);
  ``closed``     already completed (repeatable: cooling down) or failed;
  ``no_change``  matched while issued but changed nothing (count reached, no open
                 milestone takes the event).
listeners (``CompiledLevel.match_listeners``; checked against the state after the event's
tasks, as the engine does, so a ref activated by this event counts)
  ``type``, ``target`` as above; ``gated`` (its ``rule_ref`` is not active, with the
  effects that would activate it); ``once``; ``cooldown`` (seconds left); ``requires``
  (the failing sub-condition, and whether ``blocked_text`` was shown).
dialogue (a level with dialogue programs, when a choice is waiting: ``Explanation.dialogue``)
  the waiting choice, each hidden option with the smallest failing sub-condition of its
  ``requires``, and what the program did with the event: ``none`` (not an answer),
  ``accepted``, ``taken`` (a chat answer: it goes no further) or ``refused`` (a hidden or
  stale option). When the dialogue kept the event, each task and listener that matched it
  has reason ``dialogue``.
loads (``explain_load``, and loads a rule event asks for: the default level, an
``end_level`` next level) a blocked level is a ``level`` entry with reason ``requires``
  and the failing sub-condition.

The result is the protocol's ``bridge_protocol.explain.Explanation`` (plain data:
``explanation_dict``), served by ``POST
/world/story/explain`` and printed by ``quest-runtime preview --explain``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from bridge_protocol.explain import DialogueExplanation, Explanation, HiddenOption, NotFired
from quest_runtime.atoms import WILDCARD, NormalisedEvent, normalise
from quest_runtime.conditions import Condition, EvalContext
from quest_runtime.effects import Effect
from quest_runtime.engine import gates
from quest_runtime.engine.core import Engine, Outcome, sync_session
from quest_runtime.engine.dialogue import waiting
from quest_runtime.engine.shapes import Result
from quest_runtime.engine.state import (
    PlayerState,
    TaskSession,
    TaskStatus,
    dump_state,
    load_state,
)
from quest_runtime.errors import LevelBlocked, LevelUnavailable, UnknownLevel
from quest_runtime.levels.compiled import CompiledLevel, CompiledListener, CompiledTask
from quest_runtime.suggest import closeness


def _not_fired(kind: str, ident: str, reason: str, message: str, pointer: str,
               detail: Mapping[str, Any]) -> NotFired:
    return NotFired(kind=kind, id=ident, reason=reason, message=message, pointer=pointer,
                    **detail)


def _explanation(player_id: str, level_id: str | None, event_type: str,
                 atoms: list[tuple[str, str]], chat_text: str | None,
                 fired: dict[str, list[str]], result: Result | None,
                 not_fired: list[NotFired], note: str | None = None,
                 dialogue: DialogueExplanation | None = None) -> Explanation:
    """The protocol's ``Explanation``; the result is the engine's own dict, kept as it is
    (it is the exact result the event would give, not a re-validated copy)."""
    return Explanation.model_construct(
        player_id=player_id, level_id=level_id, event_type=event_type,
        atoms=[list(a) for a in atoms], chat_text=chat_text, fired=fired,
        result=result,  # type: ignore[arg-type]  # the engine's dict, by design (above)
        not_fired=not_fired, note=note, dialogue=dialogue)


def explanation_dict(found: Explanation) -> dict[str, Any]:
    """Plain data for JSON (``POST /world/story/explain``, ``preview --explain --json``):
    a reason carries only the detail fields it has."""
    talk = found.dialogue
    return {"player_id": found.player_id, "level_id": found.level_id,
            "event_type": found.event_type, "atoms": found.atoms,
            "chat_text": found.chat_text, "fired": found.fired, "result": found.result,
            "not_fired": [n.model_dump(exclude_none=True) for n in found.not_fired],
            "note": found.note, "dialogue": talk.model_dump() if talk else None}


_FIRED_KEYS = ("tasks_progressed", "tasks_completed", "tasks_issued", "listeners_fired")


def explain(engine: Engine, state: PlayerState, event_type: str | None,
            payload: Mapping[str, Any], now: float) -> Explanation:
    """Dry-run one rule event for ``state``'s player; ``state`` is never changed."""
    document = dump_state(state)
    before, after = load_state(document), load_state(document)
    try:
        outcome = engine.handle(after, event_type, payload, now)
    except LevelUnavailable:
        outcome = Outcome(None)
    fired = {k: [str(v) for v in outcome.journal.get(k, [])] for k in _FIRED_KEYS}
    refused_loads = _refused_loads(engine, before, outcome.journal, now)
    if before.session is None and engine.default_level is not None:
        # the engine loaded the default level first: meet the event the same way
        with contextlib.suppress(UnknownLevel, LevelBlocked):
            engine.load(before, engine.default_level, now)
    session = before.session
    level = engine.levels(session.level_id) if session is not None else None
    if session is None or level is None:
        event = normalise(event_type, payload)
        note = ("the player has no level session: nothing can fire (load a level first)"
                if session is None else f"level '{session.level_id}' is not loaded")
        if refused_loads:
            note = "; ".join([note, *(r.message for r in refused_loads)])
        return _explanation(state.player_id, session.level_id if session else None,
                           event.event_type, list(event.atoms), event.chat_text, fired,
                           outcome.result, list(refused_loads), note)
    if session.level_version != level.version:
        sync_session(session, level)
    event = normalise(event_type, payload, level.aliases or None)
    done = set(fired["tasks_progressed"]) | set(fired["tasks_completed"])
    task_hits = set(level.match_tasks(event))
    reasons = [_task_reason(level, t, event, before, now, t.index in task_hits)
               for t in level.tasks if t.id not in done]
    listener_state = after if (after.session is not None
                               and after.session.level_id == level.id) else before
    heard = set(fired["listeners_fired"])
    listener_hits = set(level.match_listeners(event))
    reasons += [_listener_reason(level, li, event, listener_state, now,
                                 li.index in listener_hits)
                for li in level.listeners if li.id not in heard]
    talk = _dialogue_view(level, before, event, outcome.journal, now)
    if talk is not None and talk.answer in ("taken", "refused"):
        # the dialogue kept the event: what it matched never saw it
        hit_ids = ({level.tasks[i].id for i in task_hits}
                   | {level.listeners[i].id for i in listener_hits})
        kept = (f"matched, but the dialogue '{talk.dialogue_id}' kept the event "
                f"({talk.answer} as an answer): tasks and listeners never see it")
        reasons = [n.model_copy(update={"reason": "dialogue", "message": kept})
                   if n.id in hit_ids else n for n in reasons]
    reasons += refused_loads
    notes = ["the event has no type and no quest_event: it matches nothing"
             if event.empty else None, *(r.message for r in refused_loads)]
    joined = "; ".join(n for n in notes if n) or None
    return _explanation(state.player_id, level.id, event.event_type, list(event.atoms),
                        event.chat_text, fired, outcome.result, reasons, joined, talk)


def explain_load(engine: Engine, state: PlayerState, level_id: str,
                 now: float) -> Explanation:
    """Dry-run a level load: whether it would start, and if the level is blocked, the
    smallest failing sub-condition of its ``requires``. ``state`` is never changed."""
    copy = load_state(dump_state(state))
    level = engine.levels(level_id)
    reasons: list[NotFired] = []
    note: str | None = None
    if level is None:
        note = f"level '{level_id}' is not loaded (unknown, or its file has errors)"
    else:
        blocked = _blocked(level, copy, now)
        if blocked is not None:
            reasons.append(blocked)
    return _explanation(state.player_id, level_id, "load", [], None,
                        {k: [] for k in _FIRED_KEYS}, None, reasons, note)


def _blocked(level: CompiledLevel, state: PlayerState, now: float) -> NotFired | None:
    if level.requires is None:
        return None
    failing = level.requires.failing(EvalContext(state, None, level, {}, now))
    if failing is None:
        return None
    shown = f" (the player reads: {level.blocked_text})" if level.blocked_text else ""
    return _not_fired("level", level.id, "requires", f"level '{level.id}' is blocked: its "
                      f"requires fails at {failing.describe()}{shown}", "/requires",
                      _condition(failing))


def _refused_loads(engine: Engine, state: PlayerState, journal: Mapping[str, Any],
                   now: float) -> list[NotFired]:
    """The loads this event asked for (the default level, an ``end_level`` next level)
    that were refused, each with why."""
    out: list[NotFired] = []
    for entry in journal.get("load_refused", []):
        if not isinstance(entry, Mapping):
            continue
        level_id = str(entry.get("level"))
        level = engine.levels(level_id)
        blocked = _blocked(level, state, now) if level is not None else None
        out.append(blocked or _not_fired("level", level_id, "requires",
                                         f"level '{level_id}' could not be loaded "
                                         f"({entry.get('code')})", "", {}))
    return out


# -- dialogue ---------------------------------------------------------------------------


def _dialogue_view(level: CompiledLevel, state: PlayerState, event: NormalisedEvent,
                   journal: Mapping[str, Any], now: float) -> DialogueExplanation | None:
    """The waiting choice the event met, its hidden options, and the verdict."""
    assert state.session is not None
    top = waiting(state.session) if level.dialogues.programs else None
    if top is None:
        return None
    program = level.dialogues.get(top[0])
    node = program.nodes.get(top[1]) if program is not None else None
    if node is None:
        return None
    ctx = EvalContext(state, state.session, level, event.meta, now)
    shown: list[str] = []
    hidden: list[HiddenOption] = []
    for option in node.options:
        failing = option.requires.failing(ctx) if option.requires is not None else None
        if failing is None:
            shown.append(option.id)
        else:
            hidden.append(HiddenOption(option=option.id, label=option.label,
                                       **_condition(failing)))
    where = f"dialogue '{top[0]}' waits at '{top[1]}'"
    chosen = [c for c in journal.get("dialogue_choices", []) if isinstance(c, Mapping)]
    refused = [c for c in journal.get("dialogue_answers_refused", [])
               if isinstance(c, Mapping)]

    def view(answer: str, message: str, choice: str | None = None) -> DialogueExplanation:
        return DialogueExplanation(dialogue_id=top[0], node_id=top[1],
                                   answer=answer,
                                   message=message, choice=choice, shown=shown, hidden=hidden)

    if chosen:
        cid = str(chosen[0].get("choice"))
        if event.event_type == "chat":
            number = shown.index(cid) + 1 if cid in shown else None
            said = f"option {number}, '{cid}'" if number else f"'{cid}'"
            return view("taken", f"{where}: the chat line “{event.chat_text}” was taken as "
                        f"the answer {said}; tasks and listeners never see it", cid)
        return view("accepted", f"{where}: the event answers '{cid}'; it also goes on to "
                    "tasks and listeners", cid)
    if refused:
        rid = refused[0].get("choice")
        why = next((f"the option is hidden: its requires fails at {h.condition}"
                    for h in hidden if h.option == rid), None)
        if why is None:
            why = (f"'{rid}' is not shown at this node" if rid
                   else "it answers another dialogue or node (a stale panel)")
        return view("refused", f"{where}: the answer was refused ({why}); the choice is "
                    "shown again and tasks and listeners never see the event",
                    str(rid) if rid else None)
    hidden_text = f"; {len(hidden)} hidden" if hidden else ""
    return view("none", f"{where} (shown: {', '.join(shown) or 'none'}{hidden_text}); "
                "this event is not an answer to it")


# -- tasks ------------------------------------------------------------------------------


def _task_reason(level: CompiledLevel, task: CompiledTask, event: NormalisedEvent,
                 state: PlayerState, now: float, hit: bool) -> NotFired:
    assert state.session is not None  # explain() checked
    ts = state.session.tasks.get(task.id)
    status = ts.status.value if ts is not None else "pending"
    detail: dict[str, Any] = {"status": status}

    def why(reason: str, message: str, **more: Any) -> NotFired:
        return _not_fired("task", task.id, reason, message, task.pointer, {**detail, **more})

    if not hit:
        kinds = {kind for kind, _ in event.atoms}
        if event.chat_text is not None:
            kinds.add("chat")
        if task.type not in kinds:
            return why("type", f"listens for '{task.type}' events; this is a "
                       f"'{event.event_type or 'untyped'}' event" + (
                           " with no quest_event" if task.type == "quest_event" else ""))
        reason, message, closest = _target_miss(task.tokens, _tokens_of(event, task.type),
                                                event)
        return why(reason, message, closest=closest)
    ctx = EvalContext(state, state.session, level, event.meta, now)
    blocked = gates.why_not_eligible(task, ts or TaskSession(), state.session, now,
                                     lambda cond: cond.holds(ctx))
    if blocked is None or blocked.reason == "closed":
        if ts is not None and ts.status is TaskStatus.COMPLETED:
            return why("closed", "is already completed")
        if ts is not None and ts.status is TaskStatus.FAILED:
            return why("closed", "has failed; an issue_task effect re-issues it")
        if ts is not None and ts.status is TaskStatus.ISSUED:
            return why("no_change", f"matched but changed nothing (progress {ts.progress}/"
                       f"{task.count}, no open milestone takes this event)")
        return why("not_issued", "was not issued when the event arrived")
    if blocked.reason == "manual":
        if ts is not None and ts.status is not TaskStatus.PENDING:
            return why("closed", f"is {ts.status.value}; it is manual: only an issue_task "
                       "effect issues it again")
        return why("not_issued", "is manual: only an issue_task effect issues it")
    if blocked.reason == "cooldown":
        assert blocked.left is not None
        was = "completed" if blocked.status is TaskStatus.COMPLETED else "failed"
        return why("closed", f"is {was}; it is re-issued in {blocked.left:g} s "
                   "(repeatable cooldown)", cooldown_left=blocked.left)
    closed = ts is not None and ts.status is not TaskStatus.PENDING
    if blocked.reason == "after":
        return why("closed" if closed else "not_issued",
                   f"is not issued yet: it comes after '{blocked.task}', which is not "
                   "completed", waiting_for=blocked.task)
    assert blocked.condition is not None  # "requires"
    failing = blocked.condition.failing(ctx) or blocked.condition
    return why("closed" if closed else "not_issued",
               f"is not issued: its requires fails at {failing.describe()}",
               **_condition(failing))


#: How many distinct chat words (each cut to how many characters) the "closest" hint
#: compares with a task's targets.
CLOSEST_WORDS = 32
CLOSEST_WORD_CHARS = 64


def _tokens_of(event: NormalisedEvent, kind: str) -> list[str]:
    return [tok for k, tok in event.atoms if k == kind and tok != WILDCARD]


def _target_miss(wanted: frozenset[str], got: list[str],
                 event: NormalisedEvent) -> tuple[str, str, str]:
    """(reason, message, closest) — the closest pair of wanted and offered tokens."""
    words = list(got)
    if event.chat_text is not None:
        # the closest word is a hint: the first distinct words of the line (cut to a
        # length) are enough, and keep this linear in the line
        chat_words = dict.fromkeys(w[:CLOSEST_WORD_CHARS] for w in
                                   event.chat_text.replace(",", " ").split() if w)
        words += list(chat_words)[:CLOSEST_WORDS]
    if not words:
        return ("target", f"wants {_names(wanted)}; the event names no target", "")
    best = max(((w, g) for w in sorted(wanted) for g in words),
               key=lambda pair: closeness(*pair))
    message = (f"wants {_names(wanted)}; the event carries {_names(dict.fromkeys(got))}"
               if got else f"wants {_names(wanted)}; the chat line does not contain it")
    return ("target", f"{message} (closest: '{best[1]}' vs '{best[0]}')", best[1])


def _names(tokens: Any) -> str:
    shown = [f"'{t}'" for t in list(tokens)[:6]]
    return ", ".join(shown) + (", ..." if len(list(tokens)) > 6 else "") if shown else "nothing"


def _condition(failing: Condition) -> dict[str, Any]:
    return {"condition": failing.describe(), "condition_pointer": failing.pointer}


# -- listeners --------------------------------------------------------------------------


def _listener_reason(level: CompiledLevel, li: CompiledListener, event: NormalisedEvent,
                     state: PlayerState, now: float, hit: bool) -> NotFired:
    session = state.session
    assert session is not None  # explain() checked

    def why(reason: str, message: str, **more: Any) -> NotFired:
        return _not_fired("listener", li.id, reason, message, li.pointer, more)

    if not gates.hears(li, event.event_type):
        return why("type", f"fires on '{li.filter_type}' events only; this is a "
                   f"'{event.event_type or 'untyped'}' event")
    if not hit:
        if not li.tokens and li.filter_type is None:
            return why("target", "has no targets, no quest_event and no filtering type: "
                       "it never fires")
        reason, message, closest = _target_miss(li.tokens, sorted(event.tokens), event)
        return why(reason, message, closest=closest)
    ctx = EvalContext(state, session, level, event.meta, now)
    blocked = gates.why_not_fired(li, level.id, state, session, now,
                                  lambda cond: cond.holds(ctx))
    if blocked is None:
        return why("not_fired", "matched but did not fire (an earlier effect of this event "
                   "changed what it checks)")
    if blocked.reason == "gated":
        ref = blocked.ref or ""
        sources = [f"{owner} ({e.pointer})" for owner, e in _activations(level, ref)]
        hint = ("activated by " + ", ".join(sources)) if sources else \
            "no effect of this level activates it"
        return why("gated", f"is gated by ref '{ref}', which is not active ({hint})",
                   ref=ref)
    if blocked.reason == "once":
        return why("once", "already fired in this level session (once: true)"
                   if blocked.scope == "session"
                   else "already fired for this player (once: \"player\")")
    if blocked.reason == "cooldown":
        return why("cooldown", f"is cooling down: {blocked.left:g} s of "
                   f"{li.cooldown_seconds:g} s left", cooldown_left=blocked.left)
    assert blocked.condition is not None  # "requires"
    failing = blocked.condition.failing(ctx) or blocked.condition
    shown = " (its blocked_text was shown)" if li.blocked_text else ""
    return why("requires", f"matched, but its requires fails at "
               f"{failing.describe()}{shown}", **_condition(failing))


def _activations(level: CompiledLevel, ref: str) -> Iterator[tuple[str, Effect]]:
    """Effects of the level that activate ``ref``, with who runs them."""
    for t in level.tasks:
        for e in _walk(t.on_complete):
            if e.type == "activate_rule" and e.args.get("ref") == ref:
                yield f"task '{t.id}' on_complete", e
    for li in level.listeners:
        for e in _walk(li.effects):
            if e.type == "activate_rule" and e.args.get("ref") == ref:
                yield f"listener '{li.id}'", e


def _walk(effects: tuple[Effect, ...]) -> Iterator[Effect]:
    for e in effects:
        yield e
        for branch in (e.branches or {}).values():
            yield from _walk(branch)


def task_listing(level: CompiledLevel, state: PlayerState, now: float) -> list[dict[str, Any]]:
    """Every task of the player's level with its status, progress and, when it is not
    done, why it has not fired yet (the same reasons as ``explain``), in file order."""
    session = state.session
    assert session is not None and session.level_id == level.id
    quiet = normalise(None, {})
    out: list[dict[str, Any]] = []
    for task in level.tasks:
        ts = session.tasks.get(task.id)
        status = ts.status.value if ts is not None else "pending"
        entry: dict[str, Any] = {"task_id": task.id, "title": task.title, "type": task.type,
                                 "status": status, "progress": ts.progress if ts else 0,
                                 "count": task.count, "pointer": task.pointer}
        if ts is not None and ts.status is TaskStatus.ISSUED:
            open_milestones = [m.title for m in task.milestones
                               if ts.milestones.get(m.id, 0) < m.count]
            wanted = _names(task.tokens) if task.tokens else f"any '{task.type}' event"
            entry["why"] = (f"waits for a '{task.type}' event on {wanted}" if task.tokens
                            else f"waits for {wanted}")
            if open_milestones:
                entry["open_milestones"] = open_milestones
        elif ts is None or ts.status is not TaskStatus.COMPLETED or task.repeatable:
            reason = _task_reason(level, task, quiet, state, now, hit=True)
            entry["why"] = reason.message
            entry["reason"] = reason.reason
        out.append(entry)
    return out
