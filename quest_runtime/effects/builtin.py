"""The built-in effect types (SPEC §3.3), registered in one visible list at the end.

Item effects change the quest ledger only (no commands); ``lose_item`` stops at 0.
``say`` defaults to node type ``npc_dialogue``; ``if`` branches are lists.
"""

from __future__ import annotations

from typing import Any

from quest_runtime.effects.core import Effect, EffectContext, EffectType, run_effects
from quest_runtime.engine.shapes import Node
from quest_runtime.params import Param

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
    node: Node = {"type": e.args.get("node_type", "npc_dialogue"), "text": e.args["text"]}
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
       condition: str | None = None, **params: Param) -> EffectType:
    fields = {name: param.types for name, param in params.items()}
    return EffectType(run, fields, required, branches, condition, summary, params)


def _s(description: str, example: str) -> Param:
    return Param(_STR, description, example)


_FLAG = _s("The player flag's name.", "met_mia")
_TASK = _s("A task id of this level.", "greet_mia")
_TIMER = _s("A timer name of this level's 'timers'.", "storm")
_VAR = _s("The player var's name.", "trust")
_ITEM = _s("The quest-ledger item's name.", "lantern")
_REF = _s("A rule ref: the 'rule_ref' of gated listeners.", "mia_gift")
_COUNT = Param((int,), "How many.", 1, 1)
_EFFECTS = "The effects to run: a list (or one effect object)."
_IF = {"condition": Param((dict,), "The condition to test.", {"type": "flag_set", "flag": "met_mia"}),  # noqa: E501
       "then": Param(_LIST, "Run when the condition holds. " + _EFFECTS, [{"type": "say", "text": "Welcome back!"}]),  # noqa: E501
       "else": Param(_LIST, "Run when it does not. " + _EFFECTS, [{"type": "say", "text": "Who are you?"}])}  # noqa: E501

# The built-in list: one line per type, alphabetical.
BUILTIN: dict[str, EffectType] = {
    "activate_rule": _t(activate_rule, "unlock gated listeners with this ref", ("ref",), ref=_REF.naming("ref_activated")),  # noqa: E501
    "cancel_timer": _t(cancel_timer, "cancel a pending timer", ("timer",), timer=_TIMER.naming("timer")),  # noqa: E501
    "clear_flag": _t(clear_flag, "clear a player flag", ("flag",), flag=_FLAG),
    "command": _t(command, "run a console command", ("command",), command=_s("A console command; {player} is the player's name.", "give {player} bread 1")),  # noqa: E501
    "complete_task": _t(complete_task, "complete a task (rewards included)", ("task",), task=_TASK.naming("task_effect")),  # noqa: E501
    "deactivate_rule": _t(deactivate_rule, "lock gated listeners again", ("ref",), ref=_REF),
    "end_level": _t(end_level, "end the level session (optionally load the next)", next_level=_s("A level to load next (none if left out).", "lakeside_night").naming("level")),  # noqa: E501
    "fail_task": _t(fail_task, "fail a task (runs on_fail)", ("task",), task=_TASK.naming("task_effect")),  # noqa: E501
    "fire_timer": _t(fire_timer, "fire a timer now", ("timer",), timer=_TIMER.naming("timer")),
    "gain_item": _t(gain_item, "add to the quest ledger", ("item",), item=_ITEM.naming("item_granted"), count=_COUNT),  # noqa: E501
    "if": EffectType(if_, {k: p.types for k, p in _IF.items()}, ("condition", "then"), ("then", "else"), "condition", "branch on a condition", _IF),  # noqa: E501
    "issue_task": _t(issue_task, "issue a task (ignores requires/after)", ("task",), task=_TASK.naming("task_effect")),  # noqa: E501
    "lose_item": _t(lose_item, "take from the quest ledger (stops at 0)", ("item",), item=_ITEM, count=_COUNT),  # noqa: E501
    "modify_var": _t(modify_var, "add delta to a var", ("var", "delta"), var=_VAR.naming("var_set"), delta=Param(_NUM, "Added to the var (negative to subtract).", 1)),  # noqa: E501
    "say": _t(say, "show a narration node", ("text",), text=_s("What is said.", "Thunder rolls over the lake."), title=_s("The node's title (the speaker).", "Mia"), node_type=Param(_STR, "The node type the plugin shows.", "npc_dialogue", "npc_dialogue")),  # noqa: E501
    "schedule_timer": _t(schedule_timer, "start a timer", ("timer",), timer=_TIMER.naming("timer"), delay_seconds=Param(_NUM, "Seconds until it fires (default: the timer's delay_seconds).", 30)),  # noqa: E501
    "set_flag": _t(set_flag, "set a player flag", ("flag",), flag=_FLAG.naming("flag_set")),
    "set_var": _t(set_var, "set a var", ("var", "value"), var=_VAR.naming("var_set"), value=Param(_NUM, "The new value.", 3)),  # noqa: E501
    "start_dialogue": _t(start_dialogue, "start a dialogue program", ("dialogue",), dialogue=_s("A dialogue id of this level's 'dialogues'.", "mia_intro").naming("dialogue")),  # noqa: E501
    "world_patch": _t(world_patch, "merge a world patch", ("patch",), patch=Param((dict,), "The world patch (the plugin's mc operations).", {"mc": {"weather": "RAIN"}})),  # noqa: E501
}
