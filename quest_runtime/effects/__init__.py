"""Effects: typed state changes and outputs (SPEC §3.3).

An effect is an object tagged by ``type``. ``EFFECT_TYPES`` maps each type to its run
function and its fields; ``builtin.py`` fills it in one visible list. The level compiler
turns effect objects into frozen ``Effect`` values; the engine runs them in order, and
later effects (and later listeners of the same event) see what earlier ones set.

Effects that act on the engine itself (issuing, completing or failing a task, starting a
dialogue, timers, ending the level) go through the ``EngineOps`` protocol, which the
engine implements: this package never imports the engine.

The package: the core (``core.py``: the types, the registry, evaluation) and the
built-in types (``builtin.py``, which imports ``core``), registered here on import:
no module of the package imports the package itself.
"""

from quest_runtime.effects.builtin import BUILTIN
from quest_runtime.effects.core import (
    EFFECT_TYPES,
    Effect,
    EffectContext,
    EffectType,
    EngineOps,
    Run,
    register_effect,
    run_effects,
)

for _name, _kind in BUILTIN.items():
    register_effect(_name, _kind)

__all__ = [
    "EFFECT_TYPES",
    "Effect",
    "EffectContext",
    "EffectType",
    "EngineOps",
    "Run",
    "register_effect",
    "run_effects",
]
