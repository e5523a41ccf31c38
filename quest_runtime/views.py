"""Read views: a player's committed state as the service's GET endpoints, the plugin's
calls, the preview and the tests show it. They read through ``Runtime.peek`` (committed
state only) and change nothing; the runtime itself stays the transaction.
"""

from __future__ import annotations

from typing import Any

from quest_runtime.conditions import EvalContext
from quest_runtime.designer.explain import task_listing
from quest_runtime.engine.questlog import snapshot
from quest_runtime.engine.shapes import QuestLog
from quest_runtime.engine.state import PlayerState
from quest_runtime.runtime import Runtime
from quest_runtime.store.base import StoreError
from quest_runtime.textvars import Values, fill_quest_log


async def state_view(runtime: Runtime, player_id: str) -> dict[str, Any] | None:
    """The player's state as ``GET /world/story/{player}/state`` shows it (None: never
    seen)."""
    state = await runtime.peek(player_id)
    if state is None:
        return None
    doc = state.to_doc()
    doc.pop("v", None)
    session = doc.get("session")
    if session is not None and state.session is not None:
        session["tasks"] = {k: ts.view() for k, ts in state.session.tasks.items()}
    doc["exit_ready"] = bool(session and session.get("exit_ready"))
    return doc


async def quest_log(runtime: Runtime, player_id: str) -> QuestLog | None:
    """The quest log of the player's level (SPEC §4.10), its texts filled."""
    state, level = await runtime.current_level(player_id)
    if state is None or state.session is None or level is None:
        return None
    return fill_quest_log(snapshot(player_id, level, state.session, runtime.clock.now()),
                          Values(player_id, state.vars, state.items, state.flags,
                                 level.flag_text))


async def journal(runtime: Runtime, player_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The player's last ``limit`` journal entries, newest last."""
    try:
        return await runtime.store.journal(player_id, limit)
    except StoreError as exc:
        raise runtime.unavailable("the journal cannot be read", exc) from exc


async def debug_tasks(runtime: Runtime, player_id: str) -> dict[str, Any]:
    """``GET /world/story/{player}/debug/tasks``: every task of the player's level with
    why it has not fired yet (explain's reasons)."""
    state, level = await runtime.current_level(player_id)
    if state is None or level is None:
        return {"player_id": player_id, "level_id": None, "tasks": []}
    return {"player_id": player_id, "level_id": level.id, "level_title": level.title,
            "exit_ready": bool(state.session and state.session.exit_ready),
            "tasks": task_listing(level, state, runtime.clock.now())}


async def recommendations(runtime: Runtime, player_id: str) -> list[dict[str, Any]]:
    """Levels the player may start now (their ``requires`` hold), not yet completed
    first, the current one left out."""
    state = await runtime.peek(player_id) or PlayerState(player_id)
    current = state.session.level_id if state.session else None
    now = runtime.clock.now()
    found: list[dict[str, Any]] = []
    for level_id, level in sorted(runtime.catalog.levels.items()):
        if level_id == current:
            continue
        if level.requires is not None and not level.requires.holds(
                EvalContext(state, None, level, {}, now)):
            continue
        found.append({"level_id": level_id, "title": level.title,
                      "completed": level_id in state.completed_levels,
                      "tasks": len(level.tasks)})
    found.sort(key=lambda r: r["completed"])
    return found
