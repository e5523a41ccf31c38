"""The core of ``quest_runtime.effects`` (see the package docstring): types, registry,
evaluation. The built-in types are in ``builtin.py``; the package registers them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from quest_runtime.conditions import Condition, EvalContext
from quest_runtime.params import Param

if TYPE_CHECKING:
    from quest_runtime.engine.merger import ResultBuilder, Section

log = logging.getLogger(__name__)


class EngineOps(Protocol):
    """What effects may ask of the engine."""

    def issue_task(self, ctx: EffectContext, task_id: str) -> None: ...
    def complete_task(self, ctx: EffectContext, task_id: str) -> None: ...
    def fail_task(self, ctx: EffectContext, task_id: str) -> None: ...
    def start_dialogue(self, ctx: EffectContext, dialogue_id: str) -> None: ...
    def schedule_timer(self, ctx: EffectContext, timer: str, delay: float | None) -> None: ...
    def cancel_timer(self, ctx: EffectContext, timer: str) -> None: ...
    def fire_timer(self, ctx: EffectContext, timer: str) -> None: ...
    def end_level(self, ctx: EffectContext, next_level: str | None) -> None: ...


@dataclass(slots=True)
class EffectContext(EvalContext):
    """An evaluation context plus where outputs go and the engine's operations."""

    out: ResultBuilder
    section: Section
    ops: EngineOps


Run = Callable[["Effect", EffectContext], None]


@dataclass(frozen=True, slots=True)
class EffectType:
    """A registered effect type: its run function and its fields (as ``ConditionType``).

    ``branches`` names fields holding effect lists (``then``/``else`` of ``if``) and
    ``condition`` a field holding a condition.
    """

    run: Run
    fields: Mapping[str, tuple[type, ...]]
    required: tuple[str, ...]
    branches: tuple[str, ...] = ()
    condition: str | None = None
    summary: str = ""
    #: Each field's declaration (type, description, example, default): the compiler
    #: checks ``fields`` (its types) and the level JSON Schema is generated from it.
    params: Mapping[str, Param] = field(default_factory=dict)


EFFECT_TYPES: dict[str, EffectType] = {}


def register_effect(name: str, kind: EffectType) -> None:
    """Add an effect type. Registering a name twice is a programming error."""
    if name in EFFECT_TYPES:
        raise ValueError(f"effect type {name!r} is already registered")
    EFFECT_TYPES[name] = kind


@dataclass(frozen=True, slots=True)
class Effect:
    """A compiled effect: type, checked arguments, compiled branches, where it is."""

    type: str
    args: Mapping[str, Any]
    run: Run
    pointer: str
    condition: Condition | None = None
    branches: Mapping[str, tuple[Effect, ...]] | None = None
    level_file: str = ""


def run_effects(effects: tuple[Effect, ...], ctx: EffectContext) -> None:
    """Run effects in order. One that raises is logged and skipped; the rest still run."""
    for effect in effects:
        try:
            effect.run(effect, ctx)
        except Exception:
            log.exception(
                "effect failed; skipped",
                extra={"level_file": effect.level_file, "pointer": effect.pointer},
            )
