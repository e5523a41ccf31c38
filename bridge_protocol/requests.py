"""Requests the plugin sends (SPEC §2.1, §2.2). Unknown top-level fields are ignored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

PlayerId = str
#: The longest chat line (``payload.text``) a rule event may carry: Minecraft's own chat
#: limit is 256 characters; a longer line is refused with 422 rather than cut, so a
#: plugin that merges lines finds out instead of losing the end of one.
MAX_CHAT_TEXT = 4096


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RuleEventRequest(_Request):
    """One thing a player did. ``event_type`` is trimmed and lower-cased by the engine."""

    player_id: str = Field(min_length=1, max_length=64,
                           description="The player's name (the per-player key).",
                           examples=["Steve"])
    event_type: str | None = Field(None, max_length=128,
                                   description="near, chat, interact_block, interact_entity, "
                                   "quest_event, a mapped quest-event name, or a choice's "
                                   "rule_event.", examples=["near"])
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="Event fields: target, quest_event, location {world,x,y,z}, text, ... "
        f"(a chat line's text: at most {MAX_CHAT_TEXT} characters).",
        examples=[{"target": "mia_npc", "quest_event": "near_mia_npc",
                   "location": {"world": "world", "x": -11.3, "y": 75.0, "z": 209.7}}])
    event_id: str | None = Field(None, min_length=1, max_length=128,
                                 description="Idempotency key (or header Idempotency-Key).")

    @field_validator("payload")
    @classmethod
    def _chat_text_bound(cls, payload: dict[str, Any]) -> dict[str, Any]:
        text = payload.get("text")
        if isinstance(text, str) and len(text) > MAX_CHAT_TEXT:
            raise ValueError(f"payload.text has {len(text)} characters; at most "
                             f"{MAX_CHAT_TEXT} are accepted")
        return payload


class BatchRequest(_Request):
    """Several rule events, processed in order."""

    events: list[RuleEventRequest] = Field(min_length=1)


class LoadRequest(_Request):
    """Start a level session (ending the current one first)."""

    player_id: str = Field(min_length=1, max_length=64)
    level_id: str = Field(min_length=1, max_length=128)


class EndRequest(_Request):
    """End the player's level session."""

    player_id: str = Field(min_length=1, max_length=64)
