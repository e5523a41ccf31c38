"""The quest-log snapshot (``active_tasks``, SPEC §4.10) the plugin draws its HUD from."""

from __future__ import annotations

from typing import Any

from quest_runtime.engine.state import LevelSession, TaskStatus
from quest_runtime.levels.compiled import CompiledLevel, CompiledTask


def remaining(task: CompiledTask, progress: int, milestones: dict[str, int]) -> int:
    """max(count − progress, number of open milestones)."""
    open_milestones = sum(1 for m in task.milestones if milestones.get(m.id, 0) < m.count)
    return max(task.count - progress, open_milestones)


def snapshot(player_id: str, level: CompiledLevel, session: LevelSession) -> dict[str, Any] | None:
    """Every task not completed, in file order; None when all are completed."""
    tasks: list[dict[str, Any]] = []
    active = 0
    remaining_total = 0
    milestone_count = 0
    milestone_names: list[str] = []
    for task in level.tasks:
        ts = session.tasks.get(task.id)
        if ts is None or ts.status is TaskStatus.COMPLETED:
            continue
        left = remaining(task, ts.progress, ts.milestones)
        milestones = []
        for m in task.milestones:
            done = ts.milestones.get(m.id, 0)
            status = "completed" if done >= m.count else "open"
            milestones.append({"milestone_id": m.id, "title": m.title, "status": status,
                               "progress": done, "count": m.count})
            if status == "open" and ts.status is TaskStatus.ISSUED:
                milestone_count += 1
                milestone_names.append(m.title)
        if ts.status is TaskStatus.ISSUED:
            active += 1
            remaining_total += left
        tasks.append({
            "task_id": task.id, "title": task.title, "hint": task.hint,
            "status": ts.status.value, "progress": ts.progress, "count": task.count,
            "remaining": left, "type": task.type, "milestones": milestones,
        })
    if not tasks:
        return None
    return {
        "player_id": player_id,
        "level_id": level.id,
        "level_title": level.title,
        "tasks": tasks,
        "task_titles": [t["title"] for t in tasks if t["status"] == "issued"],
        "milestone_names": milestone_names,
        "active_count": active,
        "remaining_total": remaining_total,
        "milestone_count": milestone_count,
    }
