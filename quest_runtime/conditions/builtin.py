"""The built-in condition types (SPEC §3.3), registered in one visible list at the end.

Each check returns True, False or None (unknown). Missing state reads as empty: an unset
flag is not set, an unset var reads 0, a missing item has count 0.
"""

from __future__ import annotations

import math
from typing import Any

from quest_runtime.conditions.core import (
    Condition,
    ConditionType,
    EvalContext,
    Truth,
)
from quest_runtime.engine.state import TaskStatus
from quest_runtime.params import Param

_NUM = (int, float)
_STR = (str,)


def flag_set(c: Condition, ctx: EvalContext) -> Truth:
    return bool(c.args["flag"] in ctx.state.flags)


def flag_not_set(c: Condition, ctx: EvalContext) -> Truth:
    return c.args["flag"] not in ctx.state.flags


def has_item(c: Condition, ctx: EvalContext) -> Truth:
    return bool(ctx.state.items.get(c.args["item"], 0) >= c.args.get("count", 1))


def missing_item(c: Condition, ctx: EvalContext) -> Truth:
    return ctx.state.items.get(c.args["item"], 0) <= 0


def _var(ctx: EvalContext, name: str) -> float:
    return ctx.state.vars.get(name, 0)


def var_at_least(c: Condition, ctx: EvalContext) -> Truth:
    return bool(_var(ctx, c.args["var"]) >= c.args["value"])


def var_at_most(c: Condition, ctx: EvalContext) -> Truth:
    return bool(_var(ctx, c.args["var"]) <= c.args["value"])


def var_equals(c: Condition, ctx: EvalContext) -> Truth:
    return bool(_var(ctx, c.args["var"]) == c.args["value"])


def _task_status(ctx: EvalContext, task_id: str) -> TaskStatus | None:
    if ctx.session is None:
        return None
    ts = ctx.session.tasks.get(task_id)
    return ts.status if ts is not None else None


def task_completed(c: Condition, ctx: EvalContext) -> Truth:
    if ctx.session is None:
        return False
    ts = ctx.session.tasks.get(c.args["task"])
    return ts is not None and ts.counts_as_completed


def task_active(c: Condition, ctx: EvalContext) -> Truth:
    return _task_status(ctx, c.args["task"]) is TaskStatus.ISSUED


def milestone_completed(c: Condition, ctx: EvalContext) -> Truth:
    if ctx.session is None or ctx.level is None:
        return False
    found = ctx.level.milestone_by_id.get(c.args["milestone"])
    if found is None:
        return False
    task_id, count = found
    ts = ctx.session.tasks.get(task_id)
    return ts is not None and ts.milestones.get(c.args["milestone"], 0) >= count


def level_completed(c: Condition, ctx: EvalContext) -> Truth:
    return bool(c.args["level"] in ctx.state.completed_levels)


def at_location(c: Condition, ctx: EvalContext) -> Truth:
    loc = ctx.meta.get("location")
    if not isinstance(loc, dict):
        return None
    try:
        x, y, z = (float(loc[k]) for k in ("x", "y", "z"))
    except (KeyError, TypeError, ValueError):
        return None
    world = c.args.get("world")
    if world is not None and loc.get("world") != world:
        return False
    a = c.args
    return bool(math.dist((x, y, z), (a["x"], a["y"], a["z"])) <= a["radius"])


def elapsed_at_least(c: Condition, ctx: EvalContext) -> Truth:
    if ctx.session is None:
        return False
    # the slack absorbs float rounding: the gate's internal timer fires at exactly
    # started_at + seconds, and (a + b) - a may come out a hair under b
    return bool(ctx.now - ctx.session.started_at + 1e-6 >= c.args["seconds"])


def timer_fired(c: Condition, ctx: EvalContext) -> Truth:
    if ctx.session is None:
        return False
    return bool(c.args["timer"] in ctx.session.timers.fired)


def timer_pending(c: Condition, ctx: EvalContext) -> Truth:
    if ctx.session is None:
        return False
    return bool(c.args["timer"] in ctx.session.timers.pending)


def all_of(c: Condition, ctx: EvalContext) -> Truth:
    result: Truth = True
    for child in c.children:
        value = child.evaluate(ctx)
        if value is False:
            return False
        if value is None:
            result = None
    return result


def any_of(c: Condition, ctx: EvalContext) -> Truth:
    result: Truth = False
    for child in c.children:
        value = child.evaluate(ctx)
        if value is True:
            return True
        if value is None:
            result = None
    return result


def none_of(c: Condition, ctx: EvalContext) -> Truth:
    value = any_of(c, ctx)
    return None if value is None else not value


def not_(c: Condition, ctx: EvalContext) -> Truth:
    value = c.children[0].evaluate(ctx)
    return None if value is None else not value


def _t(check: Any, summary: str, required: tuple[str, ...] = (), children: str | None = None,
       **params: Param) -> ConditionType:
    fields = {name: param.types for name, param in params.items()}
    return ConditionType(check, fields, required, children, summary, params)


def _s(description: str, example: str) -> Param:
    return Param(_STR, description, example)


def _n(description: str, example: float) -> Param:
    return Param(_NUM, description, example)


_FLAG = _s("The player flag's name.", "met_mia")
_TASK = _s("A task id of this level.", "greet_mia")
_TIMER = _s("A timer name of this level's 'timers'.", "storm")
_VAR = _s("The player var's name (an unset var reads 0).", "trust")
_ITEM = _s("The quest-ledger item's name.", "lantern")

# The built-in list: one line per type, alphabetical.
BUILTIN: dict[str, ConditionType] = {
    "all_of": _t(all_of, "every sub-condition holds", children="conditions"),
    "any_of": _t(any_of, "at least one sub-condition holds", children="conditions"),
    "at_location": _t(at_location, "the event's location is within radius", ("x", "y", "z", "radius"), world=_s("The world's name (any world if left out).", "world"), x=_n("Centre x.", 120), y=_n("Centre y.", 64), z=_n("Centre z.", -30), radius=_n("Blocks from the centre.", 5)),  # noqa: E501
    "elapsed_at_least": _t(elapsed_at_least, "seconds since the level session started", ("seconds",), seconds=_n("Seconds since the level was loaded.", 60)),  # noqa: E501
    "flag_not_set": _t(flag_not_set, "the player's flag is not set", ("flag",), flag=_FLAG.naming("flag_read")),  # noqa: E501
    "flag_set": _t(flag_set, "the player's flag is set", ("flag",), flag=_FLAG.naming("flag_read")),
    "has_item": _t(has_item, "the quest ledger holds at least count", ("item",), item=_ITEM.naming("item_required"), count=Param((int,), "How many at least.", 2, 1)),  # noqa: E501
    "level_completed": _t(level_completed, "the player completed that level", ("level",), level=_s("A level id.", "tutorial").naming("level")),  # noqa: E501
    "milestone_completed": _t(milestone_completed, "the milestone is complete in this session", ("milestone",), milestone=_s("A milestone id of this level.", "reach_pier").naming("milestone")),  # noqa: E501
    "missing_item": _t(missing_item, "the quest ledger holds none", ("item",), item=_ITEM),
    "none_of": _t(none_of, "no sub-condition holds", children="conditions"),
    "not": _t(not_, "the sub-condition does not hold", children="condition"),
    "task_active": _t(task_active, "the task is issued and open", ("task",), task=_TASK.naming("task")),  # noqa: E501
    "task_completed": _t(task_completed, "the task completed in this session", ("task",), task=_TASK.naming("task")),  # noqa: E501
    "timer_fired": _t(timer_fired, "the timer fired in this session", ("timer",), timer=_TIMER.naming("timer")),  # noqa: E501
    "timer_pending": _t(timer_pending, "the timer is scheduled", ("timer",), timer=_TIMER.naming("timer")),  # noqa: E501
    "var_at_least": _t(var_at_least, "var >= value", ("var", "value"), var=_VAR.naming("var_read"), value=_n("The bound.", 3)),  # noqa: E501
    "var_at_most": _t(var_at_most, "var <= value", ("var", "value"), var=_VAR.naming("var_read"), value=_n("The bound.", 3)),  # noqa: E501
    "var_equals": _t(var_equals, "var == value", ("var", "value"), var=_VAR.naming("var_read"), value=_n("The value.", 3)),  # noqa: E501
}
