"""Compiling a level's ``timers`` (SPEC §4.7) and checking the names that refer to them.

- ``compile_timers``: each ``timers.<name>`` object → a ``CompiledTimer`` (delay, period,
  compiled effects); unknown keys get a did-you-mean.
- ``check_timer_refs``: every ``schedule_timer``/``cancel_timer``/``fire_timer`` effect
  and ``timer_fired``/``timer_pending`` condition anywhere in the file (the clause
  compiler notes them on the reporter) must name a timer of the level; an unknown name
  is an error with the closest known name.
- ``elapsed_gates``: the distinct ``elapsed_at_least`` seconds in task ``requires``, so
  the engine can issue such a task at its due time (an internal timer per gate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from quest_runtime.conditions import Condition
from quest_runtime.levels.compiled import CompiledTask, CompiledTimer
from quest_runtime.levels.findings import join_pointer
from quest_runtime.levels.limits import MIN_REPEAT_SECONDS
from quest_runtime.levels.model import TimerModel
from quest_runtime.levels.report import Reporter
from quest_runtime.suggest import hint_for

if TYPE_CHECKING:
    from quest_runtime.levels.compiler import LevelCompiler



def compile_timers(c: LevelCompiler, timers: Mapping[str, TimerModel]) -> dict[str, CompiledTimer]:
    out: dict[str, CompiledTimer] = {}
    for name, timer in timers.items():
        pointer = join_pointer("/timers", name)
        c._unknown_keys(timer.model_extra, TimerModel.model_fields, pointer, f"timer '{name}'")
        if timer.repeat_seconds is not None and timer.repeat_seconds < MIN_REPEAT_SECONDS:
            c.rep.error(join_pointer(pointer, "repeat_seconds"),
                        f"timer '{name}' repeats every {timer.repeat_seconds:g} s; the "
                        f"minimum period is {MIN_REPEAT_SECONDS:g} s",
                        "each repetition is a commit and a pushed result for every player "
                        "who scheduled it", code="short_period")
        effects = c._effects(timer.effects, join_pointer(pointer, "effects"))
        if not timer.effects:
            c.rep.warning(pointer, f"timer '{name}' has no effects: firing it does nothing",
                          "add 'effects', e.g. a 'say' or a 'world_patch'", code="empty_timer")
        out[name] = CompiledTimer(name, float(timer.delay_seconds),
                                  None if timer.repeat_seconds is None
                                  else float(timer.repeat_seconds),
                                  effects, pointer)
    return out


def check_timer_refs(rep: Reporter, timers: Mapping[str, CompiledTimer]) -> None:
    """Every timer name used by an effect or condition of this file resolves."""
    known = sorted(timers)
    for kind, name, pointer in rep.refs:
        if kind != "timer" or name in timers:
            continue
        rep.error(pointer, f"unknown timer '{name}'",
                  hint_for(name, known)
                  or (f"known timers: {', '.join(known)}" if known
                      else "define it under the level's 'timers'"),
                  code="unknown_timer")


def _elapsed(cond: Condition | None) -> Iterable[float]:
    if cond is None:
        return
    if cond.type == "elapsed_at_least":
        yield float(cond.args["seconds"])
    for child in cond.children:
        yield from _elapsed(child)


def elapsed_gates(tasks: Iterable[CompiledTask]) -> tuple[float, ...]:
    gates: set[float] = set()
    for task in tasks:
        gates.update(s for s in _elapsed(task.requires) if s > 0)
    return tuple(sorted(gates))
