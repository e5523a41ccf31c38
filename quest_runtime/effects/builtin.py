"""The built-in effect types (SPEC §3.3), registered in one visible list at the end.

Item effects change the quest ledger only (no commands); ``lose_item`` stops at 0.
``say`` defaults to node type ``npc_dialogue``; ``if`` branches are lists.
"""

from __future__ import annotations

from typing import Any

from quest_runtime.effects import Effect, EffectContext, EffectType, run_effects

_NUM = (int, float)
_STR = (str,)
_LIST = (list, dict)


def set_flag(e: Effect, ctx: EffectContext) -> None:
    ctx.state.flags.add(e.args["flag"])
    ctx.out.note("flags_set", e.args["flag"])


def clear_flag(e: Effect, ctx: EffectContext) -> None:
    ctx.state.flags.discard(e.args["flag"])
    ctx.out.note("flags_cleared", e.args["flag"])


def gain_item(e: Effect, ctx: EffectContext) -> None:
    item, count = e.args["item"], e.args.get("count", 1)
    ctx.state.items[item] = ctx.state.items.get(item, 0) + count
    ctx.out.note("items", {item: count})


def lose_item(e: Effect, ctx: EffectContext) -> None:
    item, count = e.args["item"], e.args.get("count", 1)
    have = ctx.state.items.get(item, 0)
    ctx.state.items[item] = max(0, have - count)
    ctx.out.note("items", {item: -min(have, count)})


def modify_var(e: Effect, ctx: EffectContext) -> None:
    name = e.args["var"]
    ctx.state.vars[name] = ctx.state.vars.get(name, 0) + e.args["delta"]
    ctx.out.note("vars", {name: ctx.state.vars[name]})


def set_var(e: Effect, ctx: EffectContext) -> None:
    ctx.state.vars[e.args["var"]] = e.args["value"]
    ctx.out.note("vars", {e.args["var"]: e.args["value"]})


def activate_rule(e: Effect, ctx: EffectContext) -> None:
    if ctx.session is not None:
        ctx.session.refs.add(e.args["ref"])
        ctx.out.note("refs_activated", e.args["ref"])


def deactivate_rule(e: Effect, ctx: EffectContext) -> None:
    if ctx.session is not None:
        ctx.session.refs.discard(e.args["ref"])
        ctx.out.note("refs_deactivated", e.args["ref"])


def issue_task(e: Effect, ctx: EffectContext) -> None:
    ctx.ops.issue_task(ctx, e.args["task"])


def complete_task(e: Effect, ctx: EffectContext) -> None:
    ctx.ops.complete_task(ctx, e.args["task"])


def fail_task(e: Effect, ctx: EffectContext) -> None:
    ctx.ops.fail_task(ctx, e.args["task"])


def start_dialogue(e: Effect, ctx: EffectContext) -> None:
    ctx.ops.start_dialogue(ctx, e.args["dialogue"])


def schedule_timer(e: Effect, ctx: EffectContext) -> None:
    ctx.ops.schedule_timer(ctx, e.args["timer"], e.args.get("delay_seconds"))


def cancel_timer(e: Effect, ctx: EffectContext) -> None:
    ctx.ops.cancel_timer(ctx, e.args["timer"])


def fire_timer(e: Effect, ctx: EffectContext) -> None:
    ctx.ops.fire_timer(ctx, e.args["timer"])


def say(e: Effect, ctx: EffectContext) -> None:
    node: dict[str, Any] = {"type": e.args.get("node_type", "npc_dialogue"), "text": e.args["text"]}
    if "title" in e.args:
        node["title"] = e.args["title"]
    ctx.out.node(ctx.section, node)


def world_patch(e: Effect, ctx: EffectContext) -> None:
    ctx.out.patch(e.args["patch"])


def command(e: Effect, ctx: EffectContext) -> None:
    ctx.out.command(ctx.section, e.args["command"])


def end_level(e: Effect, ctx: EffectContext) -> None:
    ctx.ops.end_level(ctx, e.args.get("next_level"))


def if_(e: Effect, ctx: EffectContext) -> None:
    assert e.condition is not None and e.branches is not None  # the compiler sets both
    branch = "then" if e.condition.holds(ctx) else "else"
    run_effects(e.branches.get(branch, ()), ctx)


def _t(run: Any, summary: str, required: tuple[str, ...] = (), branches: tuple[str, ...] = (),
       condition: str | None = None, **fields: tuple[type, ...]) -> EffectType:
    return EffectType(run, fields, required, branches, condition, summary)


# The built-in list: one line per type, alphabetical.
BUILTIN: dict[str, EffectType] = {
    "activate_rule": _t(activate_rule, "unlock gated listeners with this ref", ("ref",), ref=_STR),
    "cancel_timer": _t(cancel_timer, "cancel a pending timer", ("timer",), timer=_STR),
    "clear_flag": _t(clear_flag, "clear a player flag", ("flag",), flag=_STR),
    "command": _t(command, "run a console command", ("command",), command=_STR),
    "complete_task": _t(complete_task, "complete a task (rewards included)", ("task",), task=_STR),
    "deactivate_rule": _t(deactivate_rule, "lock gated listeners again", ("ref",), ref=_STR),
    "end_level": _t(end_level, "end the level session (optionally load the next)", next_level=_STR),
    "fail_task": _t(fail_task, "fail a task (runs on_fail)", ("task",), task=_STR),
    "fire_timer": _t(fire_timer, "fire a timer now", ("timer",), timer=_STR),
    "gain_item": _t(gain_item, "add to the quest ledger", ("item",), item=_STR, count=(int,)),
    "if": EffectType(if_, {"condition": (dict,), "then": _LIST, "else": _LIST}, ("condition", "then"), ("then", "else"), "condition", "branch on a condition"),  # noqa: E501
    "issue_task": _t(issue_task, "issue a task (ignores requires/after)", ("task",), task=_STR),
    "lose_item": _t(lose_item, "take from the quest ledger (stops at 0)", ("item",), item=_STR, count=(int,)),  # noqa: E501
    "modify_var": _t(modify_var, "add delta to a var", ("var", "delta"), var=_STR, delta=_NUM),
    "say": _t(say, "show a narration node", ("text",), text=_STR, title=_STR, node_type=_STR),
    "schedule_timer": _t(schedule_timer, "start a timer", ("timer",), timer=_STR, delay_seconds=_NUM),  # noqa: E501
    "set_flag": _t(set_flag, "set a player flag", ("flag",), flag=_STR),
    "set_var": _t(set_var, "set a var", ("var", "value"), var=_STR, value=_NUM),
    "start_dialogue": _t(start_dialogue, "start a dialogue program", ("dialogue",), dialogue=_STR),
    "world_patch": _t(world_patch, "merge a world patch", ("patch",), patch=(dict,)),
}
