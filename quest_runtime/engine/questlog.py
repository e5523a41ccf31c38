"""The quest-log snapshot (``active_tasks``, SPEC §4.10) the plugin draws its HUD from."""

from __future__ import annotations

from quest_runtime.engine.shapes import (
    QuestLog,
    QuestLogCooldown,
    QuestLogMilestone,
    QuestLogTask,
    QuestLogUpcoming,
)
from quest_runtime.engine.state import LevelSession, TaskStatus
from quest_runtime.levels.compiled import CompiledLevel, CompiledTask


def remaining(task: CompiledTask, progress: int, milestones: dict[str, int]) -> int:
    """max(count − progress, number of open milestones)."""
    open_milestones = sum(1 for m in task.milestones if milestones.get(m.id, 0) < m.count)
    return max(task.count - progress, open_milestones)


def snapshot(player_id: str, level: CompiledLevel, session: LevelSession,
             now: float | None = None) -> QuestLog | None:
    """The open (issued) tasks in file order, as the plugin can draw them truthfully
    (it ignores ``status``, so a pending task in ``tasks`` would read as one to do now);
    tasks still waiting for ``after``/``requires`` are listed apart in ``upcoming``, and
    (given ``now``) a completed repeatable task still in its cooldown in ``cooldowns``
    with the seconds left until it is issued again. None when every task is completed
    and none is cooling down (a failed task keeps the snapshot, with empty lists).

    ``progress`` never reads as finished while the task is open: it is
    ``count - remaining`` (open milestones count as remaining).

    On the per-event path (every result that issues, completes or fails a task carries
    it), so it is written as one pass with no helper calls.
    """
    issued_status = TaskStatus.ISSUED
    completed_status = TaskStatus.COMPLETED
    stasks = session.tasks
    tasks: list[QuestLogTask] = []
    upcoming: list[QuestLogUpcoming] = []
    titles: list[str] = []
    names: list[str] = []
    cooldowns: list[QuestLogCooldown] = []
    active = remaining_total = milestone_count = closed = 0
    for task in level.tasks:
        ts = stasks.get(task.id)
        if ts is None:
            continue
        if ts.status is completed_status:
            if (now is not None and task.repeatable and not task.manual
                    and ts.closed_at is not None):
                cooling = task.cooldown_seconds - (now - ts.closed_at)
                if cooling > 0:
                    cooldowns.append({"task_id": task.id, "title": task.title,
                                      "seconds_left": round(cooling, 3)})
            continue
        if ts.status is not issued_status:
            if ts.status is TaskStatus.PENDING:
                upcoming.append({"task_id": task.id, "title": task.title})
            else:
                closed += 1  # failed: no longer to do, but the level is not done
            continue
        left = task.count - ts.progress
        milestones: list[QuestLogMilestone] = []
        if task.milestones:
            done_map = ts.milestones
            open_n = 0
            for m in task.milestones:
                done = done_map.get(m.id, 0)
                if done >= m.count:
                    mstatus = "completed"
                else:
                    mstatus = "open"
                    open_n += 1
                    names.append(m.title)
                milestones.append({"milestone_id": m.id, "title": m.title, "status": mstatus,
                                   "progress": done, "count": m.count})
            left = max(left, open_n)
            milestone_count += open_n
        elif left < 0:
            left = 0
        active += 1
        remaining_total += left
        titles.append(task.title)
        tasks.append({"task_id": task.id, "title": task.title, "hint": task.hint,
                      "status": ts.status._value_,
                      "progress": task.count - left if left <= task.count else 0,
                      "count": task.count, "remaining": left, "type": task.type,
                      "milestones": milestones})
    if not tasks and not upcoming and not closed and not cooldowns:
        return None
    return {"player_id": player_id, "level_id": level.id, "level_title": level.title,
            "tasks": tasks, "upcoming": upcoming, "cooldowns": cooldowns,
            "task_titles": titles,
            "milestone_names": names, "active_count": active,
            "remaining_total": remaining_total, "milestone_count": milestone_count}
