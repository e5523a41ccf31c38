"""Compiled levels: frozen, indexed, ready for the request path (STYLE 5, 6).

The compiler builds these from the raw models once per load. Nothing here is mutated
after construction; a reload builds a new ``CompiledLevel`` and swaps it in whole.

Dispatch indexes (SPEC §4.2): ``task_index`` maps ``(kind, token)`` to task positions,
``task_wildcards`` maps an event type to its token-less tasks, ``listener_index`` maps a
token to listener positions, ``listener_wildcards`` a filtering type to its token-less
listeners; ``*_phrases`` match chat lines by keyword. The cost of one rule event depends
on its atoms, not on how many tasks or listeners a level has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from quest_runtime.atoms import NormalisedEvent
from quest_runtime.conditions import Condition
from quest_runtime.effects import Effect
from quest_runtime.keywords import PhraseIndex
from quest_runtime.levels.dialogues import DialogueBook
from quest_runtime.levels.findings import Finding

#: Event shapes whose matches one level keeps (``CompiledLevel.matches``).
MATCH_MEMO_MAX = 4096


@dataclass(frozen=True, slots=True)
class CompiledMilestone:
    id: str
    title: str
    hint: str | None
    tokens: frozenset[str]
    count: int


@dataclass(frozen=True, slots=True)
class CompiledReward:
    """``reward`` and ``rewards[]`` rendered at compile time (SPEC §4.5)."""

    world_patch: Mapping[str, Any] | None
    npc_dialogue: Mapping[str, Any] | None
    commands: tuple[str, ...]
    items: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class CompiledTask:
    id: str
    index: int
    type: str
    title: str
    hint: str | None
    tokens: frozenset[str]
    count: int
    milestones: tuple[CompiledMilestone, ...]
    reward: CompiledReward | None
    on_issue: str | None
    on_progress: str | None
    on_complete_text: str | None
    requires: Condition | None
    after: tuple[str, ...]
    on_complete: tuple[Effect, ...]
    on_fail: tuple[Effect, ...]
    repeatable: bool
    cooldown_seconds: float
    time_limit_seconds: float | None
    ensures: Condition | None
    manual: bool
    pointer: str


@dataclass(frozen=True, slots=True)
class CompiledListener:
    id: str
    index: int
    type: str | None
    filter_type: str | None
    tokens: frozenset[str]
    phrases: frozenset[str]  # its targets, matched as keywords in chat lines
    gate_ref: str | None
    requires: Condition | None
    once: str | None  # None, "session" or "player"
    cooldown_seconds: float
    blocked_text: str | None
    dialogue: Mapping[str, Any] | None
    world_patch: Mapping[str, Any] | None
    commands: tuple[str, ...]
    update_behaviors: tuple[Mapping[str, Any], ...]
    effects: tuple[Effect, ...]
    pointer: str


@dataclass(frozen=True, slots=True)
class CompiledTimer:
    """A named scheduled event (SPEC §4.7): default delay, period, effects."""

    name: str
    delay_seconds: float
    repeat_seconds: float | None
    effects: tuple[Effect, ...]
    pointer: str


@dataclass(frozen=True, slots=True)
class ExitProfile:
    """The level's ``exit``: chat phrases that end it, farewell, hub, next level."""

    aliases: tuple[str, ...] = ()
    farewell: str | None = None
    hub: Mapping[str, Any] | None = None
    world_patch: Mapping[str, Any] | None = None
    next_level: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledLevel:
    id: str
    title: str
    path: str
    version: str
    loaded_at: float
    tasks: tuple[CompiledTask, ...]
    listeners: tuple[CompiledListener, ...]
    task_by_id: Mapping[str, CompiledTask]
    milestone_by_id: Mapping[str, tuple[str, int]]
    task_index: Mapping[tuple[str, str], tuple[int, ...]]
    task_wildcards: Mapping[str, tuple[int, ...]]
    task_phrases: PhraseIndex
    listener_index: Mapping[str, tuple[int, ...]]
    listener_wildcards: Mapping[str, tuple[int, ...]]
    listener_phrases: PhraseIndex
    aliases: Mapping[str, str]
    world_patch: Mapping[str, Any]
    summary_title: str
    summary_text: str
    requires: Condition | None
    ensures: Condition | None
    blocked_text: str | None
    dialogues: DialogueBook
    timers: Mapping[str, CompiledTimer]
    foreign: Mapping[str, Any]
    findings: tuple[Finding, ...] = field(default=())
    #: Distinct ``elapsed_at_least`` seconds in task ``requires``: each gets an internal
    #: timer at load, so such a task is issued at its due time (SPEC §4.12.2).
    elapsed_gates: tuple[float, ...] = ()
    exit: ExitProfile = field(default_factory=ExitProfile)
    #: ``next_level`` of the level's ``end_level`` effects, in file order.
    next_levels: tuple[str, ...] = ()
    #: How ``{flag:NAME}`` shows in narration: (set, not set) (``flag_text``).
    flag_text: tuple[str, str] = ("true", "false")
    #: Some narration text holds a brace: results are filled (``textvars``), else the
    #: engine skips that pass.
    text_variables: bool = False
    #: Memo of ``match_tasks``/``match_listeners`` for events without a chat line, by
    #: (event type, atoms): the plugin sends the same few shapes over and over. Derived
    #: from the indexes above (never stored, not compared); bounded by ``MATCH_MEMO_MAX``.
    _match_memo: dict[tuple[str, tuple[tuple[str, str], ...]],
                      tuple[tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=dict, compare=False, repr=False)

    def matches(self, event: NormalisedEvent) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(``match_tasks``, ``match_listeners``) of the event, memoised when it has no
        chat line (keyword matching reads the line itself)."""
        if event.chat_text is not None:
            return self.match_tasks(event), self.match_listeners(event)
        key = (event.event_type, event.atoms)
        memo = self._match_memo
        found = memo.get(key)
        if found is None:
            found = (self.match_tasks(event), self.match_listeners(event))
            if len(memo) < MATCH_MEMO_MAX:
                memo[key] = found
        return found

    def match_tasks(self, event: NormalisedEvent) -> tuple[int, ...]:
        """Positions of tasks one of whose atoms/keywords the event hits, file order."""
        index = self.task_index
        found_one: tuple[int, ...] | None = None
        hits: set[int] = set()
        for atom in event.atoms:
            found = index.get(atom)
            if found:
                if found_one is None and not hits:
                    found_one = found
                else:
                    hits.update(found)
        wild = self.task_wildcards.get(event.event_type)
        chat = event.chat_text is not None and bool(self.task_phrases)
        if found_one is not None and not hits and not wild and not chat:
            return found_one  # one index entry, already in file order
        if found_one is not None:
            hits.update(found_one)
        if wild:
            hits.update(wild)
        if chat and event.chat_text is not None:
            hits.update(self.task_phrases.owners(event.chat_text))
        return tuple(sorted(hits))

    def match_listeners(self, event: NormalisedEvent) -> tuple[int, ...]:
        """Positions of listeners whose tokens the event carries, file order.
        The caller still applies the type filter, gates and requires."""
        hits: set[int] = set()
        index = self.listener_index
        for token in event.tokens:
            found = index.get(token)
            if found:
                hits.update(found)
        wild = self.listener_wildcards.get(event.event_type)
        if wild:
            hits.update(wild)
        if event.chat_text is not None and self.listener_phrases:
            hits.update(self.listener_phrases.owners(event.chat_text))
        return tuple(sorted(hits))
