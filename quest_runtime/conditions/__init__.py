"""Conditions: typed predicates over player state and the rule event (SPEC §3.3).

A condition is an object tagged by ``type``. ``CONDITION_TYPES`` maps each type to its
check function and its fields; ``builtin.py`` fills it in one visible list. The level
compiler turns each condition object into a frozen ``Condition`` tree (fields checked,
children compiled) so the request path only evaluates.

Evaluation is three-valued (SPEC §4.12.6): ``True``, ``False`` or ``None`` (unknown: the
condition cannot be evaluated, e.g. no location). Unknown stays unknown through ``not``
and ``none_of`` and counts as false at the top: conditions fail closed. A check that
raises is logged with the level and the condition's pointer and counts as unknown.

The package: the core (``core.py``: the types, the registry, evaluation) and the
built-in types (``builtin.py``, which imports ``core``), registered here on import:
no module of the package imports the package itself.
"""

from quest_runtime.conditions.builtin import BUILTIN
from quest_runtime.conditions.core import (
    CONDITION_TYPES,
    Check,
    Condition,
    ConditionType,
    EvalContext,
    LevelView,
    Truth,
    register_condition,
)

for _name, _kind in BUILTIN.items():
    register_condition(_name, _kind)

__all__ = [
    "CONDITION_TYPES",
    "Check",
    "Condition",
    "ConditionType",
    "EvalContext",
    "LevelView",
    "Truth",
    "register_condition",
]
