"""The core of ``quest_runtime.conditions`` (see the package docstring): types, registry,
evaluation. The built-in types are in ``builtin.py``; the package registers them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from quest_runtime.params import Param

if TYPE_CHECKING:
    from quest_runtime.engine.state import LevelSession, PlayerState

log = logging.getLogger(__name__)

Truth = bool | None


class LevelView(Protocol):
    """What a condition reads of the level being played (a ``levels.compiled.CompiledLevel``;
    a protocol, so this package does not import the level compiler's output and the two
    form no import cycle)."""

    @property
    def milestone_by_id(self) -> Mapping[str, tuple[str, int]]: ...


@dataclass(slots=True)
class EvalContext:
    """What a condition may look at: the player, the level session, the event, the time."""

    state: PlayerState
    session: LevelSession | None
    level: LevelView | None
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
