"""The fields of condition and effect types: one declaration for the check and the schema.

Each registered type lists its fields as :class:`Param` values (``builtin.py`` of
``conditions`` and ``effects``). The level compiler checks a clause's fields against
them (``levels/clauses.py``) and the level JSON Schema describes them
(``levels/clause_schema.py``), so the two cannot drift apart.

The value policy is strict and the same everywhere in a level file (docs/decisions.md,
"The schema is the whole format"): a number written as a string (``"3"``) and a boolean
written as a word (``"yes"``) are errors; an integer may be written ``3.0``, because JSON
does not tell the two apart (JSON Schema's ``integer`` accepts it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_JSON_TYPES: dict[type, str] = {int: "integer", float: "number", str: "string",
                                dict: "object", list: "array", bool: "boolean"}


@dataclass(frozen=True, slots=True)
class Param:
    """One field of a condition or effect type."""

    types: tuple[type, ...]
    description: str
    example: Any
    #: The value used when the field is left out (None: no default, or it is required).
    default: Any = None

    def json_types(self) -> list[str]:
        names = [_JSON_TYPES[t] for t in self.types]
        if "integer" in names and "number" in names:
            names.remove("integer")
        return names


def type_ok(value: Any, types: tuple[type, ...]) -> bool:
    """The strict policy: booleans are not numbers, integral floats are integers."""
    if isinstance(value, bool):
        return bool in types
    if int in types and isinstance(value, float) and value.is_integer():
        return True
    return isinstance(value, types)


def normalise(value: Any, types: tuple[type, ...]) -> Any:
    """``3.0`` for an integer field becomes ``3`` (item counts stay integers)."""
    if isinstance(value, float) and int in types and float not in types and value.is_integer():
        return int(value)
    return value


def quoted_hint(value: Any, types: tuple[type, ...]) -> str | None:
    """The hint for a number or boolean written as a string (``"3"``, ``"yes"``)."""
    if not isinstance(value, str):
        return None
    if int in types or float in types:
        try:
            float(value)
        except ValueError:
            return None
        return f"write the number without quotes: {value.strip()}"
    if bool in types:
        return "write true or false, without quotes"
    return None


__all__ = ["Param", "normalise", "quoted_hint", "type_ok"]
