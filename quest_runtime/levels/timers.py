"""Compiling a level's ``timers`` (SPEC §4.7).

- ``compile_timers``: each ``timers.<name>`` object → a ``CompiledTimer`` (delay, period,
  compiled effects); unknown keys get a did-you-mean. The level compiler passes in how it
  compiles effects and reports unknown keys, so this module does not import it. (The
  names that refer to timers are checked with the other references, in
  ``levels/references.py``.)
- ``elapsed_gates``: the distinct ``elapsed_at_least`` seconds in task ``requires``, so
  the engine can issue such a task at its due time (an internal timer per gate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from quest_runtime.conditions import Condition
from quest_runtime.levels.compiled import CompiledTask, CompiledTimer
from quest_runtime.levels.dialogues import CompileEffects
from quest_runtime.levels.findings import join_pointer
from quest_runtime.levels.limits import MIN_REPEAT_SECONDS
from quest_runtime.levels.model import TimerModel
from quest_runtime.levels.report import Reporter

#: Reports an owned object's unknown keys: (extra keys, known keys, pointer, what).
UnknownKeys = Callable[[dict[str, Any] | None, Iterable[str], str, str], None]


def compile_timers(timers: Mapping[str, TimerModel], rep: Reporter, effects: CompileEffects,
                   unknown_keys: UnknownKeys) -> dict[str, CompiledTimer]:
    out: dict[str, CompiledTimer] = {}
    for name, timer in timers.items():
        pointer = join_pointer("/timers", name)
        unknown_keys(timer.model_extra, TimerModel.model_fields, pointer, f"timer '{name}'")
        if timer.repeat_seconds is not None and timer.repeat_seconds < MIN_REPEAT_SECONDS:
            rep.error(join_pointer(pointer, "repeat_seconds"),
                      f"timer '{name}' repeats every {timer.repeat_seconds:g} s; the "
                      f"minimum period is {MIN_REPEAT_SECONDS:g} s",
                      "each repetition is a commit and a pushed result for every player "
                      "who scheduled it", code="short_period")
        compiled = effects(timer.effects, join_pointer(pointer, "effects"))
        if not timer.effects:
            rep.warning(pointer, f"timer '{name}' has no effects: firing it does nothing",
                        "add 'effects', e.g. a 'say' or a 'world_patch'", code="empty_timer")
        out[name] = CompiledTimer(name, float(timer.delay_seconds),
                                  None if timer.repeat_seconds is None
                                  else float(timer.repeat_seconds),
                                  compiled, pointer)
    return out


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
