"""Raw level models: the shape of a level file as designers write it (SPEC §3).

These pydantic models check types and collect unknown keys; they accept every form the
SPEC allows (string/list/object targets, bare-string milestones, DriftSystem
``conditions[]``, ``reward`` and ``rewards[]``, listeners from ``rule_listeners`` and
``rules.listeners``). Owned parts keep unknown keys in ``model_extra`` so the validator
can report them with a did-you-mean (a near miss is an error, issue 10); the level's
foreign top-level keys (narrative, scene, exit, ...) are kept untouched.

They also generate the level JSON Schema (``schema.py``, ``quest-runtime schema``), which
editors use through ``"$schema"``: so every field has a title, a description and an
example, written for the designer who hovers over a key.

Conditions and effects stay plain objects here: their registries (``conditions``,
``effects``) check them at compile time, so adding a type is one function and one line.
Their schema is generated from the registries' field declarations (``clause_schema.py``),
and dialogue programs' from ``dialogue_model.py``, so editors complete a type's fields.

Values are strict (one policy with the schema, ``params.py``): ``"count": "3"`` and
``"once": "yes"`` are errors; an integer may be written ``3.0``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from quest_runtime.levels.migrations import CURRENT_FORMAT

#: Conditions and effects are checked by their registries when the level is compiled;
#: their schema (the ``Condition`` and ``Effect`` unions keyed by ``type``) is generated
#: from the same registries (``clause_schema.py``). ``{"x-ref": NAME}`` marks the place.
Condition = Annotated[dict[str, Any], WithJsonSchema({"x-ref": "Condition"})]
Effect = Annotated[dict[str, Any], WithJsonSchema({"x-ref": "Effect"})]
#: A dialogue program: checked by ``dialogues.py``, described by ``dialogue_model.py``.
DialogueProgram = Annotated[dict[str, Any], WithJsonSchema({"x-ref": "DialogueProgram"})]


def _integral(value: Any) -> Any:
    """``3.0`` is the integer 3 (JSON does not tell them apart); ``"3"`` stays an error."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: An integer under the strict value policy (``params.py``): no strings, no booleans.
Int = Annotated[int, BeforeValidator(_integral)]

#: One value policy for the whole file (``params.py``): strict types, so ``"count": "3"``
#: and ``"once": "yes"`` are errors, as in the schema.
_STRICT = ConfigDict(extra="allow", populate_by_name=True, strict=True)


#: Examples shown by editors for the task and listener lists.
_TASK: dict[str, Any] = {"id": "greet_mia", "type": "near", "target": "mia_npc",
                         "title": "Greet Mia", "hint": "Walk up to Mia by the lake."}
_LISTENER: dict[str, Any] = {"id": "mia_hello", "type": "near", "targets": ["mia_npc"],
                             "metadata": {"dialogue": {"title": "Mia", "text": "Hello!"}}}


class _Owned(BaseModel):
    """A part of the level the engine owns: unknown keys are kept for findings."""

    model_config = _STRICT


class TargetObject(_Owned):
    """A target written as an object: its `name` (or else its `type`) is the token."""

    name: str | None = Field(None, title="Name", examples=["mia_npc"],
                             description="What the player acts on (NPC, block, entity).")
    type: str | None = Field(None, title="Type", examples=["villager"],
                             description="Its kind, used when there is no name.")


Target = str | list[str] | TargetObject


class MilestoneModel(_Owned):
    """A checkpoint inside a task, with its own target and count."""

    id: str | None = Field(None, title="Milestone id", examples=["reach_pier"],
                           description="Unique in the level. Default `<task>_milestone_NN`.")
    title: str | None = Field(None, title="Title", examples=["Cross the water's edge"],
                              description="Shown in the milestone node and the quest log.")
    hint: str | None = Field(None, title="Hint", examples=["Walk out onto the pier."],
                             description="The milestone node's text.")
    target: Target | None = Field(None, title="Target", examples=["enter_pier"],
                                  description="Token(s) that count for this milestone.")
    event: str | None = Field(None, title="Event", examples=["enter_pier"],
                              description="A quest-event name that counts.")
    milestone_event: str | None = Field(None, title="Milestone event", examples=["enter_pier"],
                                        description="Same as `event` (DriftSystem name).")
    rule_event: str | None = Field(None, title="Rule event", examples=["approach_grandma"],
                                   description="A mapped rule-event name that counts.")
    alternates: list[str] = Field(default_factory=list, title="Alternates",
                                  examples=[["enter_dock"]],
                                  description="Other tokens that count.")
    count: Int = Field(1, ge=1, title="Count", examples=[1],
                       description="How many matching events complete it.")


class DriftConditionModel(_Owned):
    """DriftSystem's `conditions[]` entry: becomes (or merges into) a milestone."""

    id: str | None = Field(None, title="Id", examples=["visit_pier"],
                           description="Milestone id. Default `<task>_condition_NN`.")
    title: str | None = Field(None, title="Title", examples=["Visit the pier"],
                              description="Milestone title (default: its token).")
    hint: str | None = Field(None, title="Hint", examples=["The pier is past the boathouse."],
                             description="Milestone hint.")
    quest_event: str | None = Field(None, title="Quest event", examples=["enter_pier"],
                                    description="A quest-event name that counts.")
    rule_event: str | None = Field(None, title="Rule event", examples=["approach_grandma"],
                                   description="A rule-event name that counts.")
    location: str | None = Field(None, title="Location", examples=["lakeside_pier"],
                                 description="A location token that counts.")
    item: str | None = Field(None, title="Item", examples=["lantern"],
                             description="An item token that counts.")
    entity: str | None = Field(None, title="Entity", examples=["Tomas"],
                               description="An entity token that counts.")
    count: Int = Field(1, ge=1, title="Count", examples=[1],
                       description="How many matching events it takes.")


class RewardModel(_Owned):
    """The `reward` object, applied once with the completing result (SPEC §4.5)."""

    world_patch: dict[str, Any] | None = Field(
        None, title="World patch", examples=[{"mc": {"tell": "Mia waves."}}],
        description="Merged into the result's world patch.")
    npc_dialogue: str | dict[str, Any] | None = Field(
        None, title="NPC dialogue", examples=["Hello!"],
        description="An npc_dialogue node: a string, or an object with title/text/script.")
    commands: list[str] = Field(default_factory=list, title="Commands",
                                examples=[["give {player} bread 1"]],
                                description="Console commands; {player} is substituted.")


class TypedRewardModel(_Owned):
    """A `rewards[]` entry rendered through a command template (`xp`, `item`, `command`)."""

    type: str = Field(title="Reward type", examples=["xp"],
                      description="xp, item, command, or a type of the level's "
                      "reward_commands.")
    amount: int | float = Field(1, title="Amount", examples=[50],
                                description="Fills {amount} in the template.")
    data: dict[str, Any] = Field(default_factory=dict, title="Data",
                                 examples=[{"id": "lantern"}],
                                 description="Fills {data.x} (item: id; command: command).")


class TaskDialogueModel(_Owned):
    """Texts of a task's nodes."""

    on_issue: str | None = Field(None, title="On issue", examples=["Find Mia."],
                                 description="Text of the `task` node when it is issued.")
    on_progress: str | None = Field(None, title="On progress", examples=["Almost there."],
                                    description="Text of `task_progress` nodes.")
    on_complete: str | None = Field(None, title="On complete", examples=["You found Mia!"],
                                    description="Text of the `task_complete` node.")


class RepeatModel(_Owned):
    """`repeatable` as an object: re-issued after a cooldown."""

    cooldown_seconds: float = Field(0, ge=0, title="Cooldown (s)", examples=[86400],
                                    description="Seconds between completion and re-issue.")


class TaskModel(_Owned):
    """A level's objective (SPEC §3.1)."""

    id: str | None = Field(None, title="Task id", examples=["greet_mia"],
                           description="Unique in the level. Default `task_NN` (1-based).")
    type: str = Field("custom", title="Event type", examples=["near"],
                      description="The rule-event type that progresses it: near, chat, "
                      "interact_block, interact_entity, quest_event, choice.")
    target: Target | None = Field(None, title="Target", examples=["mia_npc"],
                                  description="What the event must name: a string, a list, "
                                  "or {name, type}. Case and colour codes do not matter.")
    title: str | None = Field(None, title="Title", examples=["Greet Mia"],
                              description="Shown in nodes and the quest log (default: id).")
    hint: str | None = Field(None, title="Hint", examples=["Walk up to Mia by the lake."],
                             description="Shown in the issue node and the quest log.")
    count: Annotated[int, Field(ge=1), BeforeValidator(_integral)] | None = Field(
        None, title="Count", examples=[1],
        description="Matching events needed. Default: the sum of the milestones' counts, or 1.")
    milestones: list[MilestoneModel | str] = Field(
        default_factory=list, title="Milestones", examples=[["chest", "lantern"]],
        description="Checkpoints: objects, or bare strings (id = title = target).")
    conditions: list[DriftConditionModel] = Field(
        default_factory=list, title="Conditions (DriftSystem)",
        examples=[[{"quest_event": "enter_pier", "count": 1}]],
        description="DriftSystem milestone form; merged into milestones.")
    rule_refs: list[str] = Field(default_factory=list, title="Rule refs",
                                 examples=[["approach_grandma"]],
                                 description="Extra tokens that count as its target.")
    rule_event: str | None = Field(None, title="Rule event", examples=["approach_grandma"],
                                   description="An extra token that counts as its target.")
    reward: RewardModel | None = Field(None, title="Reward",
                                       examples=[{"commands": ["give {player} bread 1"]}],
                                       description="Applied once with the completing result.")
    rewards: list[TypedRewardModel | str] = Field(
        default_factory=list, title="Typed rewards",
        examples=[[{"type": "xp", "amount": 50}]],
        description="Rendered through reward command templates.")
    dialogue: TaskDialogueModel | str | None = Field(
        None, title="Dialogue", examples=[{"on_issue": "Find Mia."}],
        description="Node texts; a string is `on_complete`.")
    requires: Condition | None = Field(None, title="Requires",
                                       examples=[{"type": "task_completed", "task": "wake_up"}],
                                       description="Checked before the task is issued.")
    after: list[str] = Field(default_factory=list, title="After", examples=[["wake_up"]],
                             description="Tasks that must be completed first.")
    on_complete: list[Effect] = Field(default_factory=list, title="On complete",
                                      examples=[[{"type": "set_flag", "flag": "met_mia"}]],
                                      description="Effects run when it completes.")
    on_fail: list[Effect] = Field(default_factory=list, title="On fail",
                                  examples=[[{"type": "issue_task", "task": "greet_mia"}]],
                                  description="Effects run when it fails.")
    repeatable: RepeatModel | bool = Field(False, title="Repeatable",
                                           examples=[{"cooldown_seconds": 86400}],
                                           description="Re-issued after completion "
                                           "(after the cooldown).")
    time_limit_seconds: float | None = Field(None, gt=0, title="Time limit (s)", examples=[300],
                                             description="Fails if not completed in time.")
    ensures: Condition | None = Field(None, title="Ensures",
                                      examples=[{"type": "has_item", "item": "lantern"}],
                                      description="Checked at completion; a failure is "
                                      "reported, never blocking.")
    issue: str = Field("auto", pattern="^(auto|manual)$", title="Issue", examples=["manual"],
                       description="auto (when eligible) or manual (only by issue_task).")


class ListenerMetadataModel(BaseModel):
    """Listener outputs. Free-form by tradition: unknown keys are kept silently, except a
    near miss of one of these keys (``comands``), which is an error."""

    model_config = _STRICT

    id: str | None = Field(None, title="Listener id", examples=["mia_hello"],
                           description="The listener's id (if not at the top).")
    rule_ref: str | None = Field(None, title="Rule ref", examples=["mia_gift"],
                                 description="Gate ref (if not at the top).")
    ref: str | None = Field(None, title="Ref", examples=["mia_gift"],
                            description="Same as `rule_ref`.")
    dialogue: str | list[str] | dict[str, Any] | None = Field(
        None, title="Dialogue", examples=[{"title": "Mia", "text": "Ready for adventure?"}],
        description="An npc_dialogue node: string, lines, or {title, text, script, choices}.")
    world_patch: dict[str, Any] | None = Field(
        None, title="World patch", examples=[{"mc": {"tell": "Mia waves at you."}}],
        description="Merged into the result's world patch.")
    commands: list[str] = Field(default_factory=list, title="Commands",
                                examples=[["title {player} subtitle Mia's voice"]],
                                description="Console commands; {player} is substituted.")
    update_behaviors: list[dict[str, Any]] = Field(
        default_factory=list, title="Update behaviours",
        examples=[[{"type": "particle", "particle": "heart"}]],
        description="NPC behaviour state, returned as updated_behaviors.")
    blocked_text: str | None = Field(None, title="Blocked text", examples=["Come back later."],
                                     description="Shown when it matches but requires fails.")


class ListenerModel(_Owned):
    """An NPC behaviour binding (SPEC §3.2)."""

    id: str | None = Field(None, title="Listener id", examples=["mia_hello"],
                           description="Default `listener_NN`; once/cooldown marks use it.")
    type: str | None = Field(None, title="Event type", examples=["near"],
                             description="near, chat, interact_block, interact_entity, choice "
                             "filter by event type; other words only describe.")
    targets: list[str] = Field(default_factory=list, title="Targets", examples=[["mia_npc"]],
                               description="Tokens it fires on (chat: keywords).")
    quest_event: str | None = Field(None, title="Quest event", examples=["near_mia_npc"],
                                    description="A quest-event token it fires on.")
    rule_ref: str | None = Field(None, title="Rule ref", examples=["mia_gift"],
                                 description="Gated: fires only once this ref is activated.")
    dialogue: str | list[str] | dict[str, Any] | None = Field(
        None, title="Dialogue", examples=["Hello!"],
        description="An npc_dialogue node (as in metadata).")
    requires: Condition | None = Field(None, title="Requires",
                                       examples=[{"type": "flag_set", "flag": "met_mia"}],
                                       description="Must hold for it to fire.")
    once: bool | Literal["session", "player"] = Field(False, title="Once", examples=[True],
                             description="true/\"session\": once per level session; "
                             "\"player\": once per player for ever.")
    cooldown_seconds: float = Field(0, ge=0, title="Cooldown (s)", examples=[30],
                                    description="Seconds between firings.")
    blocked_text: str | None = Field(None, title="Blocked text", examples=["Come back later."],
                                     description="Shown when it matches but requires fails.")
    metadata: ListenerMetadataModel = Field(default_factory=ListenerMetadataModel,
                                            title="Metadata",
                                            examples=[{"dialogue": "Hello!",
                                                       "commands": ["give {player} bread 1"]}],
                                            description="Outputs: dialogue, world_patch, "
                                            "commands, update_behaviors.")
    effects: list[Effect] = Field(default_factory=list, title="Effects",
                                  examples=[[{"type": "start_dialogue",
                                              "dialogue": "mia_intro"}]],
                                  description="Effects run when it fires.")


class RulesModel(BaseModel):
    """DriftSystem's `rules` object; its `listeners` are read like `rule_listeners`."""

    model_config = _STRICT

    listeners: list[ListenerModel] = Field(default_factory=list, title="Listeners",
                                           examples=[[_LISTENER]],
                                           description="Listener definitions.")


class SummaryModel(_Owned):
    """The summary node sent with `exit_ready`."""

    title: str | None = Field(None, title="Title", examples=["Lakeside — complete"],
                              description="Default: the level title + ' · summary'.")
    text: str | None = Field(None, title="Text", examples=["Every boat found its way home."],
                             description="The summary text.")


class FlagTextModel(_Owned):
    """How `{flag:NAME}` shows in narration (text variables)."""

    yes: str = Field("true", title="Yes", examples=["yes"],
                     description="Shown for a flag the player has.")
    no: str = Field("false", title="No", examples=["no"],
                    description="Shown for a flag the player does not have.")


class ExitModel(_Owned):
    """How a player leaves the level: the chat phrases, the farewell, where to go.

    The DriftSystem plugin ends the level when a chat line matches an alias
    (``GET /world/state``), shows ``farewell`` and sends the player to ``hub`` (``POST
    /world/story/end``); ``/advance`` starts ``next_level`` once the level is complete.
    DriftSystem's own keys (``phrase_aliases``, ``return_spawn`` + ``teleport``) are read too.
    """

    aliases: str | list[str] | None = Field(None, title="Exit phrases",
                                            examples=[["leave the lake", "go home"]],
                                            description="Chat phrases that end the level.")
    phrase_aliases: str | list[str] | None = Field(
        None, title="Exit phrases (DriftSystem)", examples=[["回到白天"]],
        description="DriftSystem's name for 'aliases'; both are read.")
    farewell: str | None = Field(None, title="Farewell", examples=["The lake grows quiet."],
                                 description="Shown when the player leaves the level.")
    hub: dict[str, Any] | None = Field(None, title="Hub",
                                       examples=[{"world": "world", "x": 0, "y": 64, "z": 0}],
                                       description="Where the player returns: {world, x, y, z}.")
    return_spawn: str | None = Field(None, title="Return world (DriftSystem)",
                                     examples=["KunmingLakeHub"],
                                     description="DriftSystem: the hub world's name.")
    teleport: dict[str, Any] | None = Field(None, title="Return position (DriftSystem)",
                                            examples=[{"x": 128.5, "y": 72, "z": -16.5}],
                                            description="DriftSystem: the hub position.")
    world_patch: dict[str, Any] | None = Field(None, title="Exit world patch",
                                               examples=[{"mc": {"weather": "CLEAR"}}],
                                               description="Applied when the level ends.")
    next_level: str | None = Field(None, title="Next level", examples=["lakeside_night"],
                                   description="Started by /advance once this level is done.")


class TimerModel(_Owned):
    """A named scheduled event (SPEC §4.7)."""

    delay_seconds: float = Field(0, ge=0, title="Delay (s)", examples=[120],
                                 description="Seconds from schedule_timer to firing.")
    repeat_seconds: float | None = Field(None, gt=0, title="Repeat (s)", examples=[60],
                                         description="Fires again every N seconds.")
    effects: list[Effect] = Field(default_factory=list, title="Effects",
                                  examples=[[{"type": "say", "text": "Thunder rolls."}]],
                                  description="Run when it fires (a pushed result).")


class LevelModel(BaseModel):
    """A level file. Foreign top-level keys are kept (``model_extra``), never fatal."""

    model_config = ConfigDict(
        extra="allow", strict=True,
        json_schema_extra={"description": "A quest-runtime level file (SPEC §3)."},
    )

    id: str | None = Field(None, title="Level id", examples=["lakeside"],
                           description="Unique across the folder. Default: the file name.")
    title: str | None = Field(None, title="Title", examples=["Lakeside Lantern"],
                              description="Shown in issue and summary nodes.")
    format: Int = Field(CURRENT_FORMAT, ge=1, le=CURRENT_FORMAT, title="Format", examples=[1],
                        description="Level-format version; older ones are migrated on load.")
    tasks: list[TaskModel] = Field(default_factory=list, title="Tasks", examples=[[_TASK]],
                                   description="The level's objectives.")
    rule_listeners: list[ListenerModel] = Field(default_factory=list, title="Rule listeners",
                                                examples=[[_LISTENER]],
                                                description="NPC behaviour bindings.")
    rules: RulesModel | None = Field(None, title="Rules", examples=[{"listeners": [_LISTENER]}],
                                     description="DriftSystem form: {listeners: [...]}.")
    dialogues: dict[str, DialogueProgram] = Field(
        default_factory=dict, title="Dialogues",
        examples=[{"mia_intro": {"entry": "hello", "nodes": {"hello": {
            "type": "line", "text": "You came!", "next": "end"}, "end": {"type": "end"}}}}],
        description="Dialogue programs by id (SPEC §3.4).")
    timers: dict[str, TimerModel] = Field(
        default_factory=dict, title="Timers",
        examples=[{"storm": {"delay_seconds": 120, "effects": [{"type": "say",
                                                                "text": "Thunder rolls."}]}}],
        description="Named scheduled events by id.")
    requires: Condition | None = Field(None, title="Requires",
                                       examples=[{"type": "level_completed",
                                                  "level": "tutorial"}],
                                       description="Entry precondition of a load.")
    blocked_text: str | None = Field(None, title="Blocked text",
                                     examples=["Finish the tutorial first."],
                                     description="The message of a blocked load.")
    ensures: Condition | None = Field(None, title="Ensures",
                                      examples=[{"type": "flag_set", "flag": "lantern_lit"}],
                                      description="Checked when the level completes.")
    world_patch: dict[str, Any] = Field(default_factory=dict, title="World patch",
                                        examples=[{"mc": {"tell": "Welcome!"}}],
                                        description="Applied on load (entry patch).")
    summary: SummaryModel | None = Field(None, title="Summary",
                                         examples=[{"title": "Lakeside — complete",
                                                    "text": "The boats are home."}],
                                         description="The summary node's title and text.")
    flag_text: FlagTextModel | None = Field(
        None, title="Flag text", examples=[{"yes": "yes", "no": "not yet"}],
        description="How {flag:NAME} shows in narration. Default: true / false.")
    aliases: dict[str, str] = Field(default_factory=dict, title="Aliases",
                                    examples=[{"tutorial_finish": "tutorial_complete"}],
                                    description="Extra token → canonical token.")
    exit: ExitModel | None = Field(None, title="Exit",
                                   examples=[{"aliases": ["leave the lake"],
                                              "farewell": "The lake grows quiet.",
                                              "next_level": "lakeside_night"}],
                                   description="Exit phrases, farewell, hub and next level.")
    reward_commands: dict[str, str] = Field(
        default_factory=dict, title="Reward commands",
        examples=[{"coins": "eco give {player} {amount}"}],
        description="Command templates of typed rewards, overriding the defaults.")


#: Keys per owned part, for did-you-mean on unknown keys.
def known_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)
