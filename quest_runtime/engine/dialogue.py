"""Dialogue programs at run time (SPEC §3.4, §4.12.10).

State (in ``LevelSession.dialogue``, stored with the player's document, so a disconnect
or a restart resumes at the same node)::

    {"stack": [{"program": "mia_intro", "node": "ask"}, ...],   # the top is last
     "history": [{"program": "mia_intro", "node": "hello", "at": 12.0},
                 {"program": "mia_intro", "node": "ask", "choice": "yes", "at": 14.0}, ...]}

The top frame is the active program and its node. Between rule events it always waits at
a ``choice`` node: a program runs (``pump``) until it reaches a choice or an end.

``start``
    A program not running is pushed and run. One waiting at a choice counts as running:
    starting another pushes on top of it; starting one that is already on the stack
    brings it to the top and shows its current node again. When a program ends, the one
    below resumes at the node it stopped at (a choice is shown again).
``answer``
    Called for every rule event of a level with dialogues, before tasks and listeners.
    The top program takes the answer: the option's ``rule_event`` as event type, a
    ``choice`` event whose ``choice_id`` is the option id (or its rule event), or a chat
    line equal to the option's number among the shown options or to its text as shown
    (text variables filled; trimmed, case-insensitive). ``requires`` is checked again
    when the answer arrives. Outcomes:

    - ``NOT_AN_ANSWER``: the event goes on to tasks and listeners untouched;
    - ``ACCEPTED`` (rule event or ``choice`` event): the option's effects and the nodes
      after it ran; the event also goes on to tasks and listeners, so a task can count
      a choice by its rule event;
    - ``CONSUMED``: a chat answer (taken, goes no further), or an answer to a hidden
      option, to another node, or to a program that is not waiting (stale): nothing
      changes, the waiting choice is shown again, and tasks and listeners never see it —
      so a forged or repeated click cannot count for a task.

Output: runs of ``line`` nodes of one program become one ``npc_dialogue`` node
(``title`` the NPC, ``text`` the lines joined by newlines, ``script`` of
``{"op": "npc_say", "npc", "text"}``); a choice becomes a ``story_choice`` node with
``choices[] {id, label, index, rule_event}`` of the options whose ``requires`` hold. The
same choice shown again in one result with nothing said in between (a listener starting
the program that is waiting, after it was started or shown by this event) updates that
node instead of adding a second panel.
Everything goes to section 5 of the result (``Section.DIALOGUES``) in the order
produced; effects of dialogue nodes run there too. A choice whose options are all hidden
ends its program (logged). Scripts of different programs are never joined.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, cast

from quest_runtime.atoms import clean
from quest_runtime.engine.merger import Section
from quest_runtime.engine.shapes import (
    DialogueFrame,
    DialogueMark,
    DialogueState,
    Node,
    ScriptEntry,
)
from quest_runtime.levels.dialogues import (
    CompiledDialogue,
    DialogueBook,
    DialogueNode,
    DialogueOption,
)
from quest_runtime.textvars import Values, fill

if TYPE_CHECKING:
    from quest_runtime.atoms import NormalisedEvent
    from quest_runtime.conditions import Condition
    from quest_runtime.effects import Effect
    from quest_runtime.engine.merger import ResultBuilder
    from quest_runtime.engine.state import LevelSession, PlayerState
    from quest_runtime.levels.compiled import CompiledLevel


class Turn(Protocol):
    """What a dialogue program needs of the turn running it (``engine/turn.Turn``), so
    this module does not import the turn that calls it."""

    state: PlayerState
    session: LevelSession
    level: CompiledLevel
    now: float
    out: ResultBuilder
    dialogue_pumping: bool

    def holds(self, cond: Condition | None) -> bool: ...

    def run(self, effects: tuple[Effect, ...], section: Section) -> None: ...

log = logging.getLogger(__name__)

#: Programs on one player's stack at most (a start beyond it is refused and logged).
MAX_STACK = 8
#: Entries of history kept per level session (oldest dropped first).
MAX_HISTORY = 100
#: Nodes one pump may visit: validation forbids line loops, this bounds the rest
#: (programs starting each other in circles).
MAX_STEPS = 500


class Answer(Enum):
    NOT_AN_ANSWER = "not_an_answer"
    ACCEPTED = "accepted"
    CONSUMED = "consumed"


# -- state -------------------------------------------------------------------------------


def _state(session: LevelSession) -> DialogueState:
    d = session.dialogue
    if d is None:
        d = session.dialogue = {"stack": [], "history": []}
    else:
        d.setdefault("stack", [])
        d.setdefault("history", [])
    return d


def _stack(session: LevelSession) -> list[DialogueFrame]:
    return _state(session)["stack"]


def waiting(session: LevelSession) -> tuple[str, str] | None:
    """``(program, node)`` of the active program, or None."""
    d = session.dialogue
    if not d or not d.get("stack"):
        return None
    top = d["stack"][-1]
    return str(top["program"]), str(top["node"])


def _remember(turn: Turn, entry: DialogueMark) -> None:
    history = _state(turn.session)["history"]
    entry["at"] = turn.now
    history.append(entry)
    if len(history) > MAX_HISTORY:
        del history[: len(history) - MAX_HISTORY]


# -- output ------------------------------------------------------------------------------


def _say(turn: Turn, program: CompiledDialogue, node: DialogueNode) -> None:
    """Add a line node's lines to the open script of this program, or open one."""
    speaker = node.speaker or program.npc or ""
    entries: list[ScriptEntry] = [{"op": "npc_say", "npc": speaker, "text": text}
                                  for text in node.lines]
    last = turn.out.last_node(Section.DIALOGUES)
    if (last is not None and last.get("type") == "npc_dialogue"
            and last.get("dialogue_id") == program.id and "script" in last):
        last["script"].extend(entries)
        last["text"] = "\n".join(e["text"] for e in last["script"])
        return
    title = program.npc or speaker
    out: Node = {"type": "npc_dialogue"}
    if title:
        out["title"] = title
    out["text"] = "\n".join(node.lines)
    out["script"] = entries
    out["dialogue_id"] = program.id
    turn.out.node(Section.DIALOGUES, out)


def shown_options(turn: Turn, node: DialogueNode) -> list[DialogueOption]:
    """The options whose ``requires`` hold now, in order (they are numbered 1..n)."""
    return [o for o in node.options if turn.holds(o.requires)]


def _show_choice(turn: Turn, program: CompiledDialogue, node: DialogueNode,
                 shown: list[DialogueOption]) -> None:
    prompt = node.prompt
    out: Node = {"type": "story_choice"}
    title = prompt or program.npc
    if title:
        out["title"] = title
    if prompt:
        out["prompt"] = prompt
    out["choices"] = [{"id": o.id, "label": o.label, "index": i, "rule_event": o.rule_event}
                      for i, o in enumerate(shown, start=1)]
    out["dialogue_id"] = program.id
    out["node_id"] = node.id
    last = turn.out.last_node(Section.DIALOGUES)
    if (last is not None and last.get("type") == "story_choice"
            and last.get("dialogue_id") == program.id and last.get("node_id") == node.id):
        panel = cast(dict[str, Any], last)  # the same dict, cleared and refilled
        panel.clear()  # shown again with nothing said since (a restart): one panel, updated
        panel.update(out)
        return
    turn.out.node(Section.DIALOGUES, out)


# -- running -----------------------------------------------------------------------------


def pump(turn: Turn) -> None:
    """Run the top program until it waits at a choice or the stack is empty.

    Effects of dialogue nodes may start programs: while pumping, ``start`` only pushes
    and this loop runs the new top next."""
    book: DialogueBook = turn.level.dialogues
    stack = _stack(turn.session)
    was_pumping, turn.dialogue_pumping = turn.dialogue_pumping, True
    steps = 0
    try:
        while stack:
            steps += 1
            if steps > MAX_STEPS:
                log.error("dialogue programs did not settle; all of them were ended",
                          extra={"level": turn.level.id,
                                 "programs": [f["program"] for f in stack]})
                for frame in stack:
                    turn.out.note("dialogues_ended", frame["program"])
                stack.clear()
                return
            frame = stack[-1]
            program = book.get(str(frame["program"]))
            node = program.nodes.get(str(frame["node"])) if program is not None else None
            if program is None or node is None:
                log.warning("dialogue state names a program or node the level no longer "
                            "has; that program ends", extra={"level": turn.level.id, **frame})
                stack.pop()
                turn.out.note("dialogues_ended", frame["program"])
                continue
            if node.type == "line":
                _remember(turn, {"program": program.id, "node": node.id})
                _say(turn, program, node)
                frame["node"] = node.next
                turn.run(node.effects, Section.DIALOGUES)
            elif node.type == "choice":
                shown = shown_options(turn, node)
                if not shown:
                    log.warning("every option of a dialogue choice is hidden; the program "
                                "ends", extra={"level": turn.level.id, "dialogue": program.id,
                                               "node": node.id})
                    stack.pop()
                    turn.out.note("dialogues_ended", program.id)
                    continue
                history = _state(turn.session)["history"]
                last = history[-1] if history else None
                if not (last and last.get("program") == program.id
                        and last.get("node") == node.id and "choice" not in last):
                    _remember(turn, {"program": program.id, "node": node.id})
                _show_choice(turn, program, node, shown)
                return
            else:  # end: leave first, so its effects see the caller on top
                _remember(turn, {"program": program.id, "node": node.id})
                stack.pop()
                turn.out.note("dialogues_ended", program.id)
                turn.out.touched = True
                turn.run(node.effects, Section.DIALOGUES)
    finally:
        turn.dialogue_pumping = was_pumping


def start(turn: Turn, dialogue_id: str) -> None:
    """The ``start_dialogue`` effect."""
    program = turn.level.dialogues.get(dialogue_id)
    if program is None:
        log.warning("start_dialogue names a dialogue this level does not have",
                    extra={"level": turn.level.id, "dialogue": dialogue_id})
        return
    stack = _stack(turn.session)
    at = next((i for i, f in enumerate(stack) if f["program"] == dialogue_id), None)
    if at is not None:
        if at == len(stack) - 1:
            if turn.dialogue_pumping:
                return  # it is running right now: its next node follows anyway
        else:
            stack.append(stack.pop(at))  # bring it to the top; its node is shown again
    else:
        if len(stack) >= MAX_STACK:
            log.warning("too many dialogue programs running; start refused",
                        extra={"level": turn.level.id, "dialogue": dialogue_id})
            return
        stack.append({"program": dialogue_id, "node": program.entry})
        turn.out.note("dialogues_started", dialogue_id)
    turn.out.touched = True
    if not turn.dialogue_pumping:
        pump(turn)


def _choose(turn: Turn, program: CompiledDialogue, node: DialogueNode,
            option: DialogueOption) -> None:
    _remember(turn, {"program": program.id, "node": node.id, "choice": option.id})
    turn.out.note("dialogue_choices", {"dialogue": program.id, "node": node.id,
                                       "choice": option.id})
    turn.out.touched = True
    _stack(turn.session)[-1]["node"] = option.next
    turn.dialogue_pumping = True  # a start_dialogue in the option's effects only pushes
    try:
        turn.run(option.effects, Section.DIALOGUES)
    finally:
        turn.dialogue_pumping = False
    pump(turn)


def _reshow(turn: Turn) -> None:
    if waiting(turn.session) is not None:
        turn.out.touched = True
        pump(turn)  # the top waits at its choice: this shows it again


def answer(turn: Turn, event: NormalisedEvent) -> Answer:
    """Let the waiting program take this rule event as an answer (see the module doc)."""
    book: DialogueBook = turn.level.dialogues
    etype = event.event_type
    known = book.by_event.get(etype) if etype.startswith("choice__") else None
    top = waiting(turn.session)
    if top is None:
        # nothing waits: an answer event is stale, anything else is none of our business
        return Answer.CONSUMED if known is not None else Answer.NOT_AN_ANSWER
    program = book.get(top[0])
    node = program.nodes.get(top[1]) if program is not None else None
    if program is None or node is None or node.type != "choice":
        pump(turn)  # the level changed under the program: settle it first
        top = waiting(turn.session)
        if top is None:
            return Answer.CONSUMED if known is not None else Answer.NOT_AN_ANSWER
        program = book.get(top[0])
        node = program.nodes.get(top[1]) if program is not None else None
        if program is None or node is None:
            return Answer.NOT_AN_ANSWER
    if known is not None:
        option = _option(node, known[1]) if known[0] == program.id else None
        return _take(turn, program, node, option, Answer.ACCEPTED)
    if etype == "choice":
        raw = event.meta.get("choice_id")
        if not isinstance(raw, str) or not raw.strip():
            return Answer.NOT_AN_ANSWER
        cid = clean(raw)
        owner = book.by_event.get(cid)
        if owner is not None:  # the choice_id is an option's rule event
            option = _option(node, owner[1]) if owner[0] == program.id else None
            return _take(turn, program, node, option, Answer.ACCEPTED)
        option = _option(node, cid)
        if option is None:
            return Answer.NOT_AN_ANSWER  # some other choice panel's answer
        return _take(turn, program, node, option, Answer.ACCEPTED)
    if etype == "chat":
        text = event.meta.get("text")
        if not isinstance(text, str):
            return Answer.NOT_AN_ANSWER
        said = clean(text)
        shown = shown_options(turn, node)
        picked: DialogueOption | None = None
        if said.isdecimal():  # (not isdigit: "²" is a digit int() refuses)
            if len(said) <= 3 and 1 <= int(said) <= len(shown):
                picked = shown[int(said) - 1]
        else:
            picked = next((o for o in shown if clean(_shown_label(turn, o.label)) == said),
                          None)
        if picked is None:
            return Answer.NOT_AN_ANSWER  # ordinary chat
        _choose(turn, program, node, picked)
        return Answer.CONSUMED
    return Answer.NOT_AN_ANSWER


def _shown_label(turn: Turn, label: str) -> str:
    """The option's label as the player sees it (text variables filled, ``textvars``)."""
    if "{" not in label and "}" not in label:
        return label
    state = turn.state
    return fill(label, Values(state.player_id, state.vars, state.items, state.flags,
                              turn.level.flag_text))


def _option(node: DialogueNode, option_id: str) -> DialogueOption | None:
    wanted = option_id.lower()
    return next((o for o in node.options if o.id.lower() == wanted), None)


def _take(turn: Turn, program: CompiledDialogue, node: DialogueNode,
          option: DialogueOption | None, verdict: Answer) -> Answer:
    """Apply an answer if its option is one of the node's and is shown now; otherwise
    change nothing, show the waiting choice again and keep the event from going on."""
    if option is None or not turn.holds(option.requires):
        turn.out.note("dialogue_answers_refused", {"dialogue": program.id, "node": node.id,
                                                   "choice": option.id if option else None})
        _reshow(turn)
        return Answer.CONSUMED
    _choose(turn, program, node, option)
    return verdict


def sync(session: LevelSession, level: CompiledLevel) -> None:
    """Follow a reloaded level (SPEC §6): a frame whose program or node was removed ends;
    the rest keep their place."""
    d = session.dialogue
    if not d or not d.get("stack"):
        return
    book: DialogueBook = level.dialogues
    kept = []
    for frame in d["stack"]:
        program = book.get(str(frame.get("program")))
        if program is not None and str(frame.get("node")) in program.nodes:
            kept.append(frame)
    d["stack"] = kept
