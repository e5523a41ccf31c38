"""The shapes of what the engine builds and keeps, for the type checker (SPEC §2.1, §4.8,
§4.10, §4.12.1, §3.4).

Typing only: these are ``TypedDict``s, so at run time every value is the plain ``dict``
it always was (no validation, no copies). The wire shapes are also pydantic models in
``bridge_protocol/results.py`` (validation, the OpenAPI document);
``tests/engine/test_shapes.py`` keeps the two from drifting.

Open parts stay open: a world patch and an NPC behaviour are level data the plugin
reads (``WorldPatch``, ``Behaviour``), and a level-authored dialogue node may carry keys
of its own beyond the ones listed in ``Node``.
"""

# No ``from __future__ import annotations`` here: Required/NotRequired must stay visible
# at run time (``__required_keys__``), which the drift test reads.
from typing import Any, NotRequired, Required, TypedDict

#: A world patch: plugin operations, level data (``merger.merge_patch``).
WorldPatch = dict[str, Any]
#: An NPC behaviour entry of ``updated_behaviors``, as the level wrote it.
Behaviour = dict[str, Any]


class ScriptEntry(TypedDict):
    """One line of an ``npc_dialogue`` script: ``npc_say`` (with ``npc``) or ``narrate``."""

    op: str
    npc: NotRequired[str]
    text: str


class Choice(TypedDict):
    """One shown option of a ``story_choice`` (numbered from 1 in ``index``)."""

    id: str
    label: str
    index: int
    rule_event: str


class Node(TypedDict, total=False):
    """A narration card of ``nodes``. ``type`` is always there: ``task`` (issued),
    ``task_progress`` (``progress``/``count``/``remaining``), ``task_milestone``
    (``milestone_id``), ``task_complete``, ``task_failed``, ``npc_dialogue`` (``script``;
    from a dialogue program also ``dialogue_id``; a blocked listener's line has
    ``listener_id``), ``story_choice`` (``prompt``, ``choices``, ``dialogue_id``,
    ``node_id``), or a level-defined type. The ``task*`` kinds carry ``task_id``."""

    type: Required[str]
    title: str
    text: str
    hint: str
    progress: int
    count: int
    remaining: int
    task_id: str
    milestone_id: str
    script: list[ScriptEntry]
    choices: list[Choice]
    prompt: str
    dialogue_id: str
    node_id: str
    listener_id: str


class Summary(TypedDict):
    """``summary``: the level-complete card."""

    type: str
    title: str
    text: str


class QuestLogMilestone(TypedDict):
    milestone_id: str
    title: str
    status: str
    progress: int
    count: int


class QuestLogTask(TypedDict):
    task_id: str
    title: str
    hint: str | None
    status: str
    progress: int
    count: int
    remaining: int
    type: str
    milestones: list[QuestLogMilestone]


class QuestLogUpcoming(TypedDict):
    task_id: str
    title: str


class QuestLogCooldown(TypedDict):
    task_id: str
    title: str
    seconds_left: float


class QuestLog(TypedDict):
    """``active_tasks``: the quest-log snapshot (``engine/questlog.py``)."""

    player_id: str
    level_id: str
    level_title: str
    tasks: list[QuestLogTask]
    upcoming: list[QuestLogUpcoming]
    cooldowns: list[QuestLogCooldown]
    task_titles: list[str]
    milestone_names: list[str]
    active_count: int
    remaining_total: int
    milestone_count: int


class Result(TypedDict):
    """The rule-event result object (SPEC §2.1), as ``ResultBuilder.build`` makes it."""

    world_patch: WorldPatch
    nodes: list[Node]
    completed_tasks: list[str]
    milestones: list[str]
    commands: list[str]
    exit_ready: bool
    summary: Summary | None
    active_tasks: QuestLog | None
    updated_behaviors: NotRequired[list[Behaviour]]


class OutboxEntry(TypedDict):
    """A pushed result not delivered yet (``PlayerState.outbox``, ``engine/outbox.py``)."""

    at: float
    result: Result


class DialogueFrame(TypedDict):
    """A running dialogue program and the node it is at (the top of the stack is last).
    ``node`` is None after a node without a ``next`` (the program then ends)."""

    program: str
    node: str | None


class DialogueMark(TypedDict):
    """A visited dialogue node (``choice``: the option taken there); ``at`` is the time."""

    program: str
    node: str
    choice: NotRequired[str]
    at: NotRequired[float]


class DialogueState(TypedDict):
    """``LevelSession.dialogue`` (``engine/dialogue.py``)."""

    stack: list[DialogueFrame]
    history: list[DialogueMark]


class EnsuresFailure(TypedDict):
    """An ``ensures`` condition that did not hold after its task or level completed."""

    level: str
    file: str
    what: str
    pointer: str
    condition: str
