"""The explain endpoint's response (``POST /world/story/explain``, a designer tool).

The request is a ``RuleEventRequest``. The service dry-runs it against the player's live
state without changing it and answers why each task and listener of the player's level
did or did not fire (see ``quest_runtime/designer/explain.py`` for the reasons).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge_protocol.results import RuleEventResult

Reason = Literal["type", "target", "not_issued", "closed", "no_change", "gated", "once",
                 "cooldown", "requires", "not_fired", "dialogue"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotFired(_Strict):
    """One task or listener that did not fire on the event, and why."""

    kind: Literal["task", "listener", "level"]
    id: str = Field(description="The task, listener or level id.")
    reason: Reason = Field(description="type, target, not_issued, closed, no_change "
                           "(tasks); type, target, gated, once, cooldown, requires "
                           "(listeners); dialogue (either: a waiting dialogue kept the "
                           "event); requires (a level whose load was refused: blocked).")
    message: str = Field(description="The reason as a sentence.",
                         examples=["wants 'mia_npc'; the event carries 'tomas' "
                                   "(closest: 'tomas' vs 'mia_npc')"])
    pointer: str = Field(description="JSON pointer of the task or listener in its level file.")
    status: str | None = Field(None, description="The task's status (tasks only).")
    closest: str | None = Field(None, description="For `target`: the event token closest "
                                "to what the task or listener wants.")
    condition: str | None = Field(None, description="For `requires`/`not_issued`: the "
                                  "smallest failing sub-condition.")
    condition_pointer: str | None = Field(None, description="Where that sub-condition is.")
    waiting_for: str | None = Field(None, description="The `after` task not completed yet.")
    ref: str | None = Field(None, description="For `gated`: the rule ref not active.")
    cooldown_left: float | None = Field(None, description="Seconds of cooldown left.")


class HiddenOption(_Strict):
    """An option of the waiting choice that is not shown, and the condition hiding it."""

    option: str
    label: str
    condition: str = Field(description="The smallest failing sub-condition of its requires.")
    condition_pointer: str


class DialogueExplanation(_Strict):
    """The dialogue choice the event met, and what the program did with the event."""

    dialogue_id: str
    node_id: str
    answer: Literal["none", "accepted", "taken", "refused"] = Field(
        description="none: not an answer (the event went on); accepted: an answer that "
        "also goes on to tasks and listeners; taken: a chat answer (goes no further); "
        "refused: a hidden, unknown or stale option (nothing changes).")
    message: str
    choice: str | None = Field(None, description="The option taken or refused.")
    shown: list[str] = Field(description="The ids of the options shown, in order (1..n).")
    hidden: list[HiddenOption]


class Explanation(_Strict):
    """A dry-run rule event: its atoms, what fired, the result it would give, and the
    reason for everything that did not fire."""

    player_id: str
    level_id: str | None = Field(description="The player's level (null without a session).")
    event_type: str = Field(description="The normalised event type.")
    atoms: list[list[str]] = Field(description="The event's `[kind, token]` atoms.",
                                   examples=[[["near", "mia_npc"], ["near", "*"],
                                              ["quest_event", "near_mia_npc"]]])
    chat_text: str | None = None
    fired: dict[str, list[str]] = Field(description="tasks_progressed, tasks_completed, "
                                        "tasks_issued, listeners_fired.")
    result: RuleEventResult | None = Field(description="The result the event would give.")
    not_fired: list[NotFired]
    note: str | None = Field(None, description="Why nothing could fire at all, if so; a "
                             "load the event asked for that was refused.")
    dialogue: DialogueExplanation | None = Field(
        None, description="The waiting dialogue choice, if the level has one.")


class ExplainResponse(_Strict):
    status: Literal["ok"] = "ok"
    explanation: Explanation
