"""The DriftSystem plugin's own calls, answered in the shapes it reads (PLUGIN.md §2).

The plugin starts a level with ``POST /story/load/{player}/{level}`` and reads only the
root ``msg`` and ``bootstrap_patch`` of the answer; it learns the exit phrases from
``GET /world/state/{player}``, ends a level with ``POST /world/story/end`` (root
``world_patch`` with ``exit_summary``) and moves on with ``POST /story/advance/{player}``
(root ``node.text`` and ``world_patch``). This module builds those shapes from engine
results and compiled levels; it is pure (no I/O), used by ``server/plugin_routes.py``.

What the plugin does not read from a load answer still reaches the player:
1. the issue cards (``task`` nodes) are drawn into the bootstrap patch as ``tell`` lines,
   the way the plugin draws a ``task`` node (headline, then hint);
2. everything else of the load result (other nodes, commands, the quest log) waits in
   the player's outbox and comes with the next rule-event response (``plugin_rest``).
"""

from __future__ import annotations

from typing import Any

from quest_runtime.engine.merger import merge_patch
from quest_runtime.engine.shapes import (
    Node,
    QuestLog,
    QuestLogTask,
    QuestLogUpcoming,
    Result,
    WorldPatch,
)
from quest_runtime.levels.compiled import CompiledLevel

#: Calls of DriftSystem's AI story, tutorial and minimap features: not quest features.
OUTSIDE_PREFIXES = ("/story/inject", "/story/state", "/ai/", "/world/apply", "/tutorial/",
                    "/minimap/")


def card_lines(nodes: list[Node]) -> list[str]:
    """``task`` issue nodes as chat lines: "【任务】 title", then the hint or text."""
    lines: list[str] = []
    for node in nodes:
        if node.get("type") != "task":
            continue
        title = node.get("title") or node.get("text") or node.get("task_id") or ""
        lines.append(f"\u00a76【任务】\u00a7r {title}")
        detail = node.get("hint") or (node.get("text") if node.get("text") != title else None)
        if detail:
            lines.append(f"\u00a77{detail}")
    return lines


def bootstrap_patch(result: Result | None) -> WorldPatch:
    """The entry world patch, plus the issue cards as ``tell`` lines, all under ``mc``:
    the plugin's ``/level`` runs only ``mc`` when it is an object, so operations at the
    patch's top level are moved into it. Empty for a null result."""
    if result is None:
        return {}
    entry = result.get("world_patch") or {}
    patch = merge_patch({}, {"mc": entry["mc"]} if "mc" in entry else {})
    top = {k: v for k, v in entry.items() if k != "mc"}
    if top:
        merge_patch(patch, {"mc": top})
    cards = card_lines(list(result.get("nodes") or ()))
    if cards:
        merge_patch(patch, {"mc": {"tell": cards}})
    return patch


def plugin_rest(result: Result) -> Result | None:
    """What of a load result the plugin's load handler drops: delivered later through the
    outbox. None when nothing is left (the world patch and the cards went out already)."""
    nodes = [n for n in result.get("nodes") or () if n.get("type") != "task"]
    rest: Result = {"world_patch": {}, "nodes": nodes,
            "completed_tasks": list(result.get("completed_tasks") or ()),
            "milestones": list(result.get("milestones") or ()),
            "commands": list(result.get("commands") or ()),
            "exit_ready": bool(result.get("exit_ready")), "summary": result.get("summary"),
            "active_tasks": result.get("active_tasks")}
    if not (nodes or rest["commands"] or rest["completed_tasks"] or rest["milestones"]
            or rest["exit_ready"] or rest["active_tasks"] is not None):
        return None
    return rest


def exit_profile(level: CompiledLevel | None) -> dict[str, Any]:
    """``exit_profile`` of ``GET /world/state/{player}``: the chat phrases that end it."""
    if level is None:
        return {"level_id": None, "aliases": []}
    profile: dict[str, Any] = {"level_id": level.id, "aliases": list(level.exit.aliases)}
    if level.exit.farewell:
        profile["farewell"] = level.exit.farewell
    if level.exit.hub:
        profile["hub"] = dict(level.exit.hub)
    return profile


def exit_patch(level: CompiledLevel | None) -> dict[str, Any]:
    """The root ``world_patch`` of ``POST /world/story/end``: the level's exit patch and,
    when the level defines any of them, ``exit_summary {farewell, hub, aliases}``."""
    if level is None:
        return {}
    patch = merge_patch({}, level.exit.world_patch or {})
    summary: dict[str, Any] = {}
    if level.exit.farewell:
        summary["farewell"] = level.exit.farewell
    if level.exit.hub:
        summary["hub"] = dict(level.exit.hub)
    if level.exit.aliases:
        summary["aliases"] = list(level.exit.aliases)
    if summary:
        summary["level_id"] = level.id
        patch["exit_summary"] = summary
    return patch


def next_level_of(level: CompiledLevel) -> str | None:
    """Where ``/advance`` goes from a completed level: ``exit.next_level``, else the first
    ``end_level`` effect's ``next_level``."""
    return level.exit.next_level or (level.next_levels[0] if level.next_levels else None)


def what_is_left(level: CompiledLevel, quest_log: QuestLog | None) -> str:
    """The advance node's text for a level that is not complete yet: the open tasks
    first, then the ones still waiting."""
    tasks: list[QuestLogTask | QuestLogUpcoming] = [] if quest_log is None else [
        *(quest_log.get("tasks") or ()), *(quest_log.get("upcoming") or ())]
    if not tasks:
        return f"{level.title} is not complete yet."
    names = ", ".join(str(t.get("title")) for t in tasks[:5])
    more = f" and {len(tasks) - 5} more" if len(tasks) > 5 else ""
    word = "task" if len(tasks) == 1 else "tasks"
    return f"{level.title} is not complete yet: {len(tasks)} {word} left ({names}{more})."
