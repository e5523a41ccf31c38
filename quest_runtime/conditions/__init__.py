"""Conditions: typed predicates over player state and the rule event (SPEC §3.3).

A condition is an object tagged by ``type``. ``CONDITION_TYPES`` maps each type to its
check function and its fields; ``builtin.py`` fills it in one visible list. The level
compiler turns each condition object into a frozen ``Condition`` tree (fields checked,
children compiled) so the request path only evaluates.

Evaluation is three-valued (SPEC §4.12.6): ``True``, ``False`` or ``None`` (unknown: the
condition cannot be evaluated, e.g. no location). Unknown stays unknown through ``not``
and ``none_of`` and counts as false at the top: conditions fail closed. A check that
raises is logged with the level and the condition's pointer and counts as unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quest_runtime.params import Param

if TYPE_CHECKING:
    from quest_runtime.engine.state import LevelSession, PlayerState
    from quest_runtime.levels.compiled import CompiledLevel

log = logging.getLogger(__name__)

Truth = bool | None


@dataclass(slots=True)
class EvalContext:
    """What a condition may look at: the player, the level session, the event, the time."""

    state: PlayerState
    session: LevelSession | None
    level: CompiledLevel | None
    meta: Mapping[str, Any]
    now: float


Check = Callable[["Condition", EvalContext], Truth]


@dataclass(frozen=True, slots=True)
class ConditionType:
    """A registered condition type: its check and the fields it takes.

    ``fields`` maps field name to the accepted Python types; ``required`` names the ones
    that must be present. ``children`` is ``"conditions"`` (a list) or ``"condition"``
    (one) for combinators.
    """

    check: Check
    fields: Mapping[str, tuple[type, ...]]
    required: tuple[str, ...]
    children: str | None = None
    summary: str = ""
    #: Each field's declaration (type, description, example, default): the compiler
    #: checks ``fields`` (its types) and the level JSON Schema is generated from it.
    params: Mapping[str, Param] = field(default_factory=dict)


CONDITION_TYPES: dict[str, ConditionType] = {}


def register_condition(name: str, kind: ConditionType) -> None:
    """Add a condition type. Registering a name twice is a programming error."""
    if name in CONDITION_TYPES:
        raise ValueError(f"condition type {name!r} is already registered")
    CONDITION_TYPES[name] = kind


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition: type, checked arguments, compiled children, where it is."""

    type: str
    args: Mapping[str, Any]
    children: tuple[Condition, ...]
    check: Check
    pointer: str
    level_file: str = ""

    def evaluate(self, ctx: EvalContext) -> Truth:
        try:
            return self.check(self, ctx)
        except Exception:  # fail closed, leave a trace
            log.exception(
                "condition failed to evaluate; counted as not met",
                extra={"level_file": self.level_file, "pointer": self.pointer, "type": self.type},
            )
            return None

    def holds(self, ctx: EvalContext) -> bool:
        return self.evaluate(ctx) is True

    def failing(self, ctx: EvalContext) -> Condition | None:
        """The smallest sub-condition that makes this one not hold (None if it holds)."""
        if self.evaluate(ctx) is True:
            return None
        if self.type == "all_of":
            for child in self.children:
                found = child.failing(ctx)
                if found is not None:
                    return found
        if self.type == "not" and self.children:
            return self
        return self

    def describe(self) -> str:
        """A short readable form, e.g. ``flag_set(flag='met_mia')``."""
        if self.children:
            inner = ", ".join(c.describe() for c in self.children)
            return f"{self.type}({inner})"
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.type}({args})"


# The built-in types, listed in builtin.py (imported last: it uses the names above).
from quest_runtime.conditions.builtin import BUILTIN  # noqa: E402

for _name, _kind in BUILTIN.items():
    register_condition(_name, _kind)
