"""Responses: the rule-event result and its parts (SPEC §2.1, §4.8, §4.10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Node(BaseModel):
    """A narration card. ``type`` decides the plugin's styling: task, task_progress,
    task_milestone, task_complete, task_failed, npc_dialogue, story_choice, or a
    level-defined type. Level-authored dialogue objects may carry further keys, so
    extra keys are allowed here (and only here).

    Nodes of a dialogue program carry ``dialogue_id``: its lines are an ``npc_dialogue``
    with ``title`` (the NPC), ``text`` (the lines joined by newlines) and ``script``
    (``[{"op": "npc_say", "npc", "text"}]``); its question is a ``story_choice`` with
    ``title`` and ``prompt`` (the question), ``node_id`` and ``choices``
    (``[{"id", "label", "index", "rule_event"}]``, the shown options numbered from 1).
    The plugin answers with ``event_type`` = the choice's ``rule_event`` (payload
    ``{choice_id, choice_label}``), a ``choice`` event with ``choice_id``, or a chat line
    with the option's number or label."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str | None = None
    text: str | None = None
    hint: str | None = None
    progress: int | None = None
    count: int | None = None
    remaining: int | None = None
    task_id: str | None = None
    milestone_id: str | None = None
    script: list[dict[str, Any]] | None = None
    choices: list[dict[str, Any]] | None = None


class Summary(_Strict):
    type: Literal["task_summary"] = "task_summary"
    title: str
    text: str


class QuestLogMilestone(_Strict):
    milestone_id: str
    title: str
    status: Literal["open", "completed"]
    progress: int
    count: int


class QuestLogTask(_Strict):
    task_id: str
    title: str
    hint: str | None
    status: Literal["issued", "pending", "failed"]
    progress: int
    count: int
    remaining: int
    type: str
    milestones: list[QuestLogMilestone]


class QuestLogUpcoming(_Strict):
    """A task still waiting for its ``after`` tasks or ``requires``."""

    task_id: str
    title: str


class QuestLogCooldown(_Strict):
    """A completed repeatable task in its cooldown: issued again in ``seconds_left``
    seconds (counted when the snapshot was made)."""

    task_id: str
    title: str
    seconds_left: float


class QuestLog(_Strict):
    """The ``active_tasks`` snapshot. ``tasks`` holds the open (issued) tasks in file
    order, the ones the player can work on now: the plugin prints every entry as a task
    to do and ignores ``status``. Tasks still waiting are in ``upcoming``. ``progress``
    is ``count - remaining``, so it never reads finished while the task is open. A
    repeatable task that is done for now is in ``cooldowns`` with its time left (the
    plugin reads only ``tasks``, so it never reads as one to do now)."""

    player_id: str
    level_id: str
    level_title: str
    tasks: list[QuestLogTask]
    upcoming: list[QuestLogUpcoming] = Field(default_factory=list)
    cooldowns: list[QuestLogCooldown] = Field(default_factory=list)
    task_titles: list[str]
    milestone_names: list[str]
    active_count: int
    remaining_total: int
    milestone_count: int


#: The value of each result key that the wire leaves out (``lean_result``).
RESULT_DEFAULTS: dict[str, Any] = {
    "world_patch": {}, "nodes": [], "completed_tasks": [], "milestones": [], "commands": [],
    "exit_ready": False, "summary": None, "active_tasks": None}


def lean_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """The result as sent: without the keys whose value is empty (``{}``, ``[]``,
    ``null``, ``false``), which SPEC §2.1 allows and which the plugin reads as absent
    anyway (PLUGIN.md §3). Only the top level: a node keeps its fields."""
    return {key: value for key, value in result.items() if value}


def full_result(result: dict[str, Any]) -> dict[str, Any]:
    """A lean result with its left-out keys back (the shape the engine builds)."""
    return {**RESULT_DEFAULTS, **result}


class RuleEventResult(_Strict):
    """A rule event's result. On the wire, keys whose value is empty (``{}``, ``[]``,
    ``null``, ``false``) are left out: an absent key has its default here."""

    world_patch: dict[str, Any] = Field(default_factory=dict)
    nodes: list[Node] = Field(default_factory=list)
    completed_tasks: list[str] = Field(default_factory=list)
    milestones: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)
    exit_ready: bool = False
    summary: Summary | None = None
    active_tasks: QuestLog | None = None
    updated_behaviors: list[dict[str, Any]] | None = None


class RuleEventResponse(_Strict):
    status: Literal["ok"] = "ok"
    result: RuleEventResult | None


class StreamMessage(_Strict):
    """One text frame of ``GET /world/story/stream`` (WebSocket): a result produced
    without a request (a timer fired), for one player. One message per firing, in due
    order; a result no stream client took comes with the player's next rule-event
    response instead (merged in), never both."""

    player_id: str
    result: RuleEventResult


class BatchResponse(_Strict):
    status: Literal["ok"] = "ok"
    results: list[RuleEventResult | None]
