"""Steps a level waits for that the DriftSystem plugin never sends (PLUGIN.md §6).

The plugin sends ``near`` (an NPC's visible name), ``chat``, ``interact_block``,
``interact_entity``, mapped NPC clicks (``npc_trigger_events``: the quest-event name as
the event type) and dialogue-choice answers (the option's ``rule_event``). Its trigger
zones (``mc.trigger_zones``) never fire: the zone poller is not connected to the bridge.
A task, milestone or listener that only a trigger zone's quest event can move is therefore
stuck for a player on the unchanged plugin; ``validate`` warns about each, naming that
fact. (Task types no event carries, e.g. ``conversation``, are reported by
``registry.check_level``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from quest_runtime.atoms import BUILTIN_EVENT_TYPES, token_variants
from quest_runtime.levels.compiled import CompiledLevel
from quest_runtime.levels.findings import join_pointer
from quest_runtime.levels.report import Reporter

#: The built-in event types (``atoms.BUILTIN_EVENT_TYPES``) as the plugin sends them
#: (PLUGIN.md §6), described for editors (the level schema's task and listener ``type``).
EVENT_TYPES: dict[str, str] = {
    "near": "the player came near an NPC (target: the NPC's visible name)",
    "chat": "a chat line (targets are keywords or phrases)",
    "interact_block": "a block click (target: the block type)",
    "interact_entity": "an entity click (target: its visible name or entity type)",
    "quest_event": "a quest-event name (a mapped NPC click, a scene trigger)",
    "choice": "a dialogue-panel answer",
}
assert set(EVENT_TYPES) == BUILTIN_EVENT_TYPES

ZONE_FACT = ("the DriftSystem plugin never fires trigger zones (its zone poller is not "
             "connected to the rule-event bridge)")
ZONE_HINT = ("add an event the plugin sends as an alternate: an NPC's name (near), a block "
             "or entity click (e.g. 'interact_block_bell'), a chat keyword or a mapped NPC "
             "click; the zone may stay as a shortcut")


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _tokens(value: Any) -> set[str]:
    return set(token_variants(value)) if isinstance(value, str) else set()


def zone_only_events(data: Any) -> set[str]:
    """Quest-event tokens that only trigger zones (or scene entry triggers) send."""
    zones: set[str] = set()
    sendable: set[str] = set()
    for obj in _walk(data):
        listed = obj.get("trigger_zones")
        for zone in listed if isinstance(listed, list) else ():
            if isinstance(zone, dict):
                zones |= _tokens(zone.get("quest_event"))
        trigger = obj.get("entry_trigger")
        if isinstance(trigger, dict):
            zones |= _tokens(trigger.get("quest_event"))
        for key in ("npc_trigger_events", "npc_triggers"):
            mapped = obj.get(key)
            for entry in mapped if isinstance(mapped, list) else ():
                if isinstance(entry, dict):
                    sendable |= _tokens(entry.get("quest_event"))
        options = obj.get("choices")  # a choice answer sends its option's rule_event
        for option in options if isinstance(options, list) else ():
            if isinstance(option, dict):
                sendable |= _tokens(option.get("rule_event") or option.get("event"))
    return zones - sendable


def check_plugin_events(level: CompiledLevel, data: Any, rep: Reporter) -> None:
    zone_only = zone_only_events(data)
    if not zone_only:
        return
    for task in level.tasks:
        if task.tokens and task.tokens <= zone_only:
            rep.warning(task.pointer, f"task '{task.id}' waits only for trigger-zone events "
                        f"({', '.join(sorted(task.tokens))}): {ZONE_FACT}, so a player "
                        "cannot complete it", ZONE_HINT, code="zone_only")
            continue
        for m in task.milestones:
            if m.tokens and m.tokens <= zone_only:
                rep.warning(task.pointer, f"milestone '{m.id}' of task '{task.id}' waits only "
                            f"for trigger-zone events ({', '.join(sorted(m.tokens))}): "
                            f"{ZONE_FACT}", ZONE_HINT, code="zone_only")
    for li in level.listeners:
        if li.tokens and li.tokens <= zone_only:
            rep.warning(li.pointer, f"listener '{li.id}' fires only on trigger-zone events "
                        f"({', '.join(sorted(li.tokens))}): {ZONE_FACT}", ZONE_HINT,
                        code="zone_only")


__all__ = ["EVENT_TYPES", "ZONE_FACT", "check_plugin_events", "join_pointer", "zone_only_events"]
