"""Requests the plugin sends (SPEC §2.1, §2.2). Unknown top-level fields are ignored."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, TypeVar, cast

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

#: Characters a player id may not hold: control characters (C0, DEL, C1) and ``{`` ``}``.
#: A trailing line break passed the old ``re.match(...$)`` name check and reached
#: commands; a brace can never be read back (``/world/story/{player_id}/state`` does not
#: route a segment holding one).
#: Searched for, never matched with anchors, so ``$`` before a final newline cannot
#: let one through.
_FORBIDDEN_IN_PLAYER_ID = re.compile(r"[\x00-\x1f\x7f-\x9f{}]")
#: The same rule for JSON Schema: "no control character anywhere", written without ``$``
#: (Python-based validators search with ``re``, where ``$`` matches before a final
#: line break); the length is minLength/maxLength.
PLAYER_ID_PATTERN = r"^(?![\s\S]*[\x00-\x1f\x7f-\x9f{}])"


def player_id_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable player id, or None (requests, paths, queries)."""
    if not 1 <= len(value) <= 64:
        return "player_id must be 1 to 64 characters"
    if _FORBIDDEN_IN_PLAYER_ID.search(value) is not None:
        return ("player_id must not contain control characters (line breaks, tabs, ...) "
                "or braces")
    return None


def _check_player_id(value: str) -> str:
    problem = player_id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


PlayerId = Annotated[str, Field(min_length=1, max_length=64,
                                json_schema_extra={"pattern": PLAYER_ID_PATTERN}),
                     AfterValidator(_check_player_id)]
#: The longest chat line (``payload.text``) a rule event may carry: Minecraft's own chat
#: limit is 256 characters; a longer line is refused with 422 rather than cut, so a
#: plugin that merges lines finds out instead of losing the end of one.
MAX_CHAT_TEXT = 4096


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RuleEventRequest(_Request):
    """One thing a player did. ``event_type`` is trimmed and lower-cased by the engine."""

    player_id: PlayerId = Field(description="The player's name (the per-player key); "
                                "1 to 64 characters, no control characters, no braces.",
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
    def _payload_bounds(cls, payload: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        text = payload.get("text")
        if isinstance(text, str) and len(text) > MAX_CHAT_TEXT:
            raise ValueError(f"payload.text has {len(text)} characters; at most "
                             f"{MAX_CHAT_TEXT} are accepted")
        if info.context is _FINITE:  # parsed by orjson (``parse``): no NaN, no infinity
            return payload
        where = _non_finite(payload)
        if where is not None:
            raise ValueError(f"payload{where} is not a finite number (NaN, Infinity and "
                             "numbers too large for a double are not JSON)")
        return payload


def _finite(value: Any) -> bool:
    """True when no number inside ``value`` is NaN or infinite: the walk of every rule
    event, so it builds no paths (``_non_finite`` finds the path once this says no)."""
    todo = [value]
    pop, push = todo.pop, todo.extend
    while todo:
        item = pop()
        if isinstance(item, dict):
            push(item.values())
        elif isinstance(item, list):
            push(item)
        elif isinstance(item, float) and not math.isfinite(item):
            return False
    return True


def _non_finite(value: Any) -> str | None:
    """The path of the first NaN or infinite number inside ``value``, or None. The JSON
    parser of pydantic reads ``NaN`` and ``Infinity``, and ``1e999`` becomes infinity;
    none of them is JSON, and orjson would write them back as null. Walked with an
    explicit stack (no recursion, however deep the payload)."""
    if _finite(value):
        return None
    todo: list[tuple[str, Any]] = [("", value)]
    while todo:
        path, item = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path
        if isinstance(item, dict):
            todo.extend((f"{path}.{k}", v) for k, v in item.items())
        elif isinstance(item, list):
            todo.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
    return None


_FINITE = {"numbers": "finite"}
"""The validation context of a body ``parse`` read with orjson, which refuses ``NaN``,
``Infinity`` and numbers beyond a double: the payloads' walk for them is skipped."""

_Model = TypeVar("_Model", bound=BaseModel)


def parse(model: type[_Model], body: bytes) -> _Model:
    """``body`` validated as ``model``: what ``model.model_validate_json`` answers,
    with the same errors, at about half the cost for a rule event.

    orjson reads the body (0.8 µs for a rule event against pydantic's parser with the
    finiteness walk, ~1.7 µs more), and pydantic validates the objects. When orjson
    refuses the body (``NaN``, ``Infinity``, ``1e999``, a byte-order mark, ...) or the
    objects are not valid, pydantic's own JSON mode runs on the body: its errors say
    "an object" and "an array" (JSON's words, where the Python mode says "a dictionary"
    and "a list"), and the payload walk names a non-finite number's path. One
    difference: an integer beyond 64 bits in a payload is read as the nearest double
    (pydantic's parser kept it exact; orjson writes only 64-bit integers back)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return model.model_validate_json(body)
    try:  # ``model.model_validate(data, context=_FINITE)``, without its Python frame
        return cast(_Model, model.__pydantic_validator__.validate_python(data,
                                                                          context=_FINITE))
    except ValidationError:
        return model.model_validate_json(body)


class BatchRequest(_Request):
    """Several rule events, processed in order."""

    events: list[RuleEventRequest] = Field(min_length=1)


class LoadRequest(_Request):
    """Start a level session (ending the current one first)."""

    player_id: PlayerId
    level_id: str = Field(min_length=1, max_length=128)


class EndRequest(_Request):
    """End the player's level session."""

    player_id: PlayerId
