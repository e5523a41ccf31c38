"""Raw level models: the shape of a level file as designers write it (SPEC §3).

These pydantic models check types and collect unknown keys; they accept every form the
SPEC allows (string/list/object targets, bare-string milestones, DriftSystem
``conditions[]``, ``reward`` and ``rewards[]``, listeners from ``rule_listeners`` and
``rules.listeners``). Owned parts keep unknown keys in ``model_extra`` so the validator
can report them with a did-you-mean; the level's foreign top-level keys (narrative,
scene, exit, ...) are kept untouched. They also generate the level JSON Schema.

Conditions and effects stay plain objects here: their registries (``conditions``,
``effects``) check them at compile time, so adding a type is one function and one line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1

Condition = dict[str, Any]
Effect = dict[str, Any]


class _Owned(BaseModel):
    """A part of the level the engine owns: unknown keys are kept for findings."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TargetObject(_Owned):
    name: str | None = Field(None, description="What the player acts on (NPC, block, entity).")
    type: str | None = Field(None, description="Its kind, e.g. `villager`.")


Target = str | list[str] | TargetObject


class MilestoneModel(_Owned):
    """A checkpoint inside a task, with its own target and count."""

    id: str | None = Field(None, description="Default `<task>_milestone_NN`.")
    title: str | None = None
    hint: str | None = None
    target: Target | None = None
    event: str | None = None
    milestone_event: str | None = None
    rule_event: str | None = None
    alternates: list[str] = Field(default_factory=list, description="Other tokens that count.")
    count: int = Field(1, ge=1)


class DriftConditionModel(_Owned):
    """DriftSystem's `conditions[]` entry: becomes (or merges into) a milestone."""

    id: str | None = None
    title: str | None = None
    hint: str | None = None
    quest_event: str | None = None
    rule_event: str | None = None
    location: str | None = None
    item: str | None = None
    entity: str | None = None
    count: int = Field(1, ge=1)


class RewardModel(_Owned):
    """The `reward` object, applied once with the completing result (SPEC §4.5)."""

    world_patch: dict[str, Any] | None = None
    npc_dialogue: str | dict[str, Any] | None = None
    commands: list[str] = Field(default_factory=list)


class TypedRewardModel(_Owned):
    """A `rewards[]` entry rendered through a command template (`xp`, `item`, `command`)."""

    type: str
    amount: int | float = 1
    data: dict[str, Any] = Field(default_factory=dict)


class TaskDialogueModel(_Owned):
    on_issue: str | None = None
    on_progress: str | None = None
    on_complete: str | None = None


class RepeatModel(_Owned):
    cooldown_seconds: float = Field(0, ge=0)


class TaskModel(_Owned):
    """A level's objective (SPEC §3.1)."""

    id: str | None = Field(None, description="Default `task_NN` (1-based).")
    type: str = Field("custom", description="The event type that progresses it.")
    target: Target | None = None
    title: str | None = None
    hint: str | None = None
    count: int | None = Field(None, ge=1)
    milestones: list[MilestoneModel | str] = Field(default_factory=list)
    conditions: list[DriftConditionModel] = Field(default_factory=list)
    rule_refs: list[str] = Field(default_factory=list)
    rule_event: str | None = None
    reward: RewardModel | None = None
    rewards: list[TypedRewardModel | str] = Field(default_factory=list)
    dialogue: TaskDialogueModel | str | None = None
    requires: Condition | None = None
    after: list[str] = Field(default_factory=list)
    on_complete: list[Effect] = Field(default_factory=list)
    on_fail: list[Effect] = Field(default_factory=list)
    repeatable: bool | RepeatModel = False
    time_limit_seconds: float | None = Field(None, gt=0)
    ensures: Condition | None = None
    issue: str = Field("auto", pattern="^(auto|manual)$")


class ListenerMetadataModel(BaseModel):
    """Listener outputs. Free-form by tradition: unknown keys are kept silently."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    rule_ref: str | None = None
    ref: str | None = None
    dialogue: str | list[str] | dict[str, Any] | None = None
    world_patch: dict[str, Any] | None = None
    commands: list[str] = Field(default_factory=list)
    update_behaviors: list[dict[str, Any]] = Field(default_factory=list)
    blocked_text: str | None = None


class ListenerModel(_Owned):
    """An NPC behaviour binding (SPEC §3.2)."""

    id: str | None = None
    type: str | None = None
    targets: list[str] = Field(default_factory=list)
    quest_event: str | None = None
    rule_ref: str | None = None
    dialogue: str | list[str] | dict[str, Any] | None = None
    requires: Condition | None = None
    once: bool | str = False
    cooldown_seconds: float = Field(0, ge=0)
    blocked_text: str | None = None
    metadata: ListenerMetadataModel = Field(default_factory=ListenerMetadataModel)
    effects: list[Effect] = Field(default_factory=list)


class RulesModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    listeners: list[ListenerModel] = Field(default_factory=list)


class SummaryModel(_Owned):
    title: str | None = None
    text: str | None = None


class TimerModel(_Owned):
    delay_seconds: float = Field(0, ge=0)
    repeat_seconds: float | None = Field(None, gt=0)
    effects: list[Effect] = Field(default_factory=list)


class LevelModel(BaseModel):
    """A level file. Foreign top-level keys are kept (``model_extra``), never fatal."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"description": "A quest-runtime level file (SPEC §3)."},
    )

    id: str | None = None
    title: str | None = None
    format: int = Field(FORMAT_VERSION, ge=1)
    tasks: list[TaskModel] = Field(default_factory=list)
    rule_listeners: list[ListenerModel] = Field(default_factory=list)
    rules: RulesModel | None = None
    dialogues: dict[str, dict[str, Any]] = Field(default_factory=dict)
    timers: dict[str, TimerModel] = Field(default_factory=dict)
    requires: Condition | None = None
    blocked_text: str | None = None
    ensures: Condition | None = None
    world_patch: dict[str, Any] = Field(default_factory=dict)
    summary: SummaryModel | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    reward_commands: dict[str, str] = Field(default_factory=dict)


#: Keys per owned part, for did-you-mean on unknown keys.
def known_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)
