"""Atoms: what a rule event means, reduced to ``(kind, token)`` pairs (SPEC §4.1).

Glossary (one word per thing, SPEC §1):
- *rule event*: what a player did, as posted by the plugin (``player_id``, ``event_type``,
  ``payload``). Never call effects "events".
- *token*: a lower-cased, colour-code-free name; its *slug* (runs of characters outside
  ``[a-z0-9]`` folded to ``_``) is an equal alternative, so ``Mia NPC`` matches ``mia_npc``.
- *atom*: a normalised ``(kind, token)`` pair derived from a rule event. ``kind`` is the
  event type, or ``quest_event`` for quest-event names. Matching works on atoms only.
- *effect*: a state change or output that the engine produces (SPEC §3.3).

Level files and rule events go through the same ``token_variants`` so both sides agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from quest_runtime.record import record

#: Event types the plugin sends; any other ``event_type`` is a quest-event name too.
BUILTIN_EVENT_TYPES = frozenset(
    {"near", "chat", "interact_block", "interact_entity", "quest_event", "choice"}
)
#: Payload fields that name what the player acted on, in the order they are read.
TARGET_FIELDS = ("target", "target_id", "npc", "entity_name", "entity_type", "block_type")
WILDCARD = "*"
QUEST_EVENT = "quest_event"

_COLOUR = re.compile(r"§.?", re.DOTALL)
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def clean(raw: str) -> str:
    """Lower-case, strip ``§x`` colour codes and surrounding white space."""
    if "§" in raw:
        raw = _COLOUR.sub("", raw)
    return raw.strip().lower()


def event_kind(event_type: str | None) -> str:
    """A rule event's type as the engine, the journal and the metrics name it: trimmed,
    lower-case, ``""`` for none (the one place event types are normalised)."""
    return (event_type or "").strip().lower()


def slug(token: str) -> str:
    """The slug of a cleaned token: runs outside ``[a-z0-9]`` become ``_``, trimmed."""
    return _NON_SLUG.sub("_", token).strip("_")


#: Memo of ``token_variants``: NPC names, blocks and quest events repeat endlessly. Bounded
#: (it stops growing when full) because payloads may carry player-chosen names.
_VARIANTS: dict[str, tuple[str, ...]] = {}
_VARIANTS_MAX = 4096


def token_variants(raw: str) -> tuple[str, ...]:
    """The cleaned token and its slug (when different and not empty)."""
    found = _VARIANTS.get(raw)
    if found is None:
        found = _token_variants(raw)
        if len(_VARIANTS) < _VARIANTS_MAX:
            _VARIANTS[raw] = found
    return found


def _token_variants(raw: str) -> tuple[str, ...]:
    token = clean(raw)
    if not token:
        return ()
    s = slug(token)
    if s and s != token:
        return (token, s)
    return (token,)


@record
class NormalisedEvent:
    """A rule event after normalisation: its type, atoms and tokens.

    ``atoms`` holds ``(kind, token)`` pairs, wildcard included; ``tokens`` holds every
    non-wildcard token (what listeners and milestones compare against); ``chat_text`` is
    the cleaned chat line for keyword matching; ``meta`` is the original payload.
    """

    event_type: str
    atoms: tuple[tuple[str, str], ...]
    tokens: frozenset[str]
    chat_text: str | None
    meta: Mapping[str, Any]

    @property
    def empty(self) -> bool:
        return not self.atoms and self.chat_text is None


def normalise(
    event_type: str | None, payload: Mapping[str, Any], aliases: Mapping[str, str] | None = None
) -> NormalisedEvent:
    """Turn a rule event into atoms (SPEC §4.1). Pure; never raises on odd payloads.

    The plugin sends the same few shapes over and over (one NPC, one zone), so the atoms
    of non-chat events are memoised by the fields they derive from (and the level's aliases).
    """
    if event_type == "chat":
        return _normalise(event_type, payload, aliases)
    # The key holds the fields' values as sent (one C-level pass): equal values give the
    # same atoms, as ``_normalise`` reads nothing else. A value that cannot be a key (a
    # list or an object where a name belongs) is simply not memoised.
    key = (id(aliases) if aliases else 0, event_type, tuple(map(payload.get, _KEY_FIELDS)))
    try:
        found = _EVENTS.get(key)
    except TypeError:
        return _normalise(event_type, payload, aliases)
    if found is None or found[4] is not aliases:  # the entry holds its aliases: ids stay
        event = _normalise(event_type, payload, aliases)
        if len(_EVENTS) < _EVENTS_MAX:
            _EVENTS[key] = (event.event_type, event.atoms, event.tokens, event.chat_text,
                            aliases if aliases else None)
        return event
    return NormalisedEvent(found[0], found[1], found[2], found[3], payload)


_KEY_FIELDS = ("quest_event", *TARGET_FIELDS)
_EVENTS: dict[tuple[Any, ...], tuple[str, tuple[tuple[str, str], ...], frozenset[str],
                                      str | None, Mapping[str, str] | None]] = {}
_EVENTS_MAX = 4096


def _alias(atoms: list[tuple[str, str]], tokens: list[str],
           aliases: Mapping[str, str]) -> None:
    """A token with a level alias (an NPC's visible name) also counts as its canonical
    token, in every atom it is in."""
    for tok in list(tokens):
        canonical = aliases.get(tok)
        if canonical is not None:
            for kind, t in list(atoms):
                if t == tok:
                    atoms.append((kind, canonical))
            tokens.append(canonical)


def _normalise(
    event_type: str | None, payload: Mapping[str, Any], aliases: Mapping[str, str] | None
) -> NormalisedEvent:
    etype = event_kind(event_type)
    quest_raw = payload.get("quest_event")
    quest = quest_raw if isinstance(quest_raw, str) and quest_raw.strip() else None
    if not etype and quest is not None:
        etype = QUEST_EVENT
    atoms: list[tuple[str, str]] = []
    tokens: list[str] = []
    if etype:
        for field in TARGET_FIELDS:
            value = payload.get(field)
            if value.__class__ is str:
                for tok in token_variants(value):
                    atoms.append((etype, tok))
                    tokens.append(tok)
        if etype != QUEST_EVENT:
            atoms.append((etype, WILDCARD))
    if quest is not None:
        for tok in token_variants(quest):
            atoms.append((QUEST_EVENT, tok))
            tokens.append(tok)
    if etype and etype not in BUILTIN_EVENT_TYPES:
        for tok in token_variants(etype):
            atoms.append((QUEST_EVENT, tok))
            tokens.append(tok)
    chat_text: str | None = None
    if etype == "chat":
        text = payload.get("text")
        if isinstance(text, str):
            chat_text = clean(text) or None
    if aliases:
        _alias(atoms, tokens, aliases)
    return NormalisedEvent(
        event_type=etype,
        atoms=tuple(dict.fromkeys(atoms)),
        tokens=frozenset(tokens),
        chat_text=chat_text,
        meta=payload,
    )
