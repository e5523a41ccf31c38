"""Reference checks: every name a level file refers to resolves inside the file (SPEC §3).

The one place the level path checks references (the names are collected once, by
``levels/facts.py``, from the fields each condition and effect type declares as naming
something). Each unknown name is an error at the field that holds it, with the closest
known name as the hint:

- ``after`` naming an unknown task (``task 'b' comes after unknown task 'a'``);
- ``issue_task``/``complete_task``/``fail_task`` naming an unknown task;
- a timer effect or condition (``schedule_timer``, ``cancel_timer``, ``fire_timer``,
  ``timer_fired``, ``timer_pending``) naming a timer the level's ``timers`` does not
  define;
- ``task_completed``/``task_active`` naming an unknown task, ``milestone_completed`` an
  unknown milestone, ``start_dialogue`` an unknown dialogue.

An effect naming the empty task or timer (``""``) names an unknown one too; a condition
or ``start_dialogue`` naming ``""`` is left alone. The checks across files (flags, vars,
items, level ids) are ``levels/registry.Registry``'s.
"""

from __future__ import annotations

from collections.abc import Collection

from quest_runtime.levels.facts import LevelFacts
from quest_runtime.levels.report import Reporter
from quest_runtime.suggest import hint_for

#: The kinds of use that name something the level defines, in the order they are checked.
_DEFINED = ("task", "milestone", "dialogue")


def check_references(facts: LevelFacts, rep: Reporter) -> None:
    """Report every reference of one level file that does not resolve (module docstring)."""
    _tasks(facts, rep)
    _timers(facts, rep)
    _defined(facts, rep)


def _tasks(facts: LevelFacts, rep: Reporter) -> None:
    task_ids = list(facts.tasks)
    for task_id, uses in facts.after.items():
        for use in uses:
            if use.name not in facts.tasks:
                rep.error(use.pointer, f"task '{task_id}' comes after unknown task "
                          f"'{use.name}'", hint_for(use.name, task_ids), code="unknown_task")
    for use in facts.uses.get("task_effect", ()):
        if use.name not in facts.tasks:
            rep.error(use.pointer, f"{use.by} names unknown task '{use.name}'",
                      hint_for(use.name, task_ids), code="unknown_task")


def _timers(facts: LevelFacts, rep: Reporter) -> None:
    known = sorted(facts.timers)
    for use in facts.uses.get("timer", ()):
        if use.name in facts.timers:
            continue
        rep.error(use.pointer, f"unknown timer '{use.name}'",
                  hint_for(use.name, known)
                  or (f"known timers: {', '.join(known)}" if known
                      else "define it under the level's 'timers'"),
                  code="unknown_timer")


def _defined(facts: LevelFacts, rep: Reporter) -> None:
    tables: dict[str, Collection[str]] = {
        "task": facts.tasks, "milestone": facts.milestones, "dialogue": facts.dialogues}
    for word in _DEFINED:
        known = tables[word]
        for use in facts.named(word):
            if use.name in known:
                continue
            fallback = (f"this level defines no {word}s" if not known
                        else f"known {word}s: {', '.join(sorted(known)[:8])}")
            rep.error(use.pointer, f"{use.by} names unknown {word} '{use.name}'",
                      hint_for(use.name, sorted(known)) or fallback, code=f"unknown_{word}")


__all__ = ["check_references"]
