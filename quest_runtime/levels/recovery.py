"""Recovery after a type error: keep checking a level that pydantic refused.

A wrong type (``"count": "two"``) stops ``LevelModel.model_validate``, and before this
module it stopped the whole check: the compiler never ran, so a misspelt task id in the
same file went unreported until the designer fixed the first problem and ran again.
STYLE 8 wants every problem at once, so after pydantic's findings are reported:

1. :func:`recover` copies the raw data and *neutralises* each refused value: a member of
   an object is removed (its default applies), and a value that cannot be removed (an
   array item, a required field) is replaced by the first placeholder pydantic accepts;
2. the repaired data validates, and the loader runs the compiler and the registry checks
   on it with a scratch reporter;
3. their findings at, under or directly holding a neutralised pointer are dropped (they
   are about the placeholder, not the designer's file), the rest are reported.

The level is never served: the file still has the original errors. This module also owns
:func:`pointer_of`, the map from a pydantic ``loc`` to the JSON pointer of the file.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from quest_runtime.levels.findings import join_pointer, unescape_pointer_token
from quest_runtime.levels.model import LevelModel

_UNION_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})
_REMOVE = object()
#: What is tried, in order, at a refused pointer.
_PLACEHOLDERS: tuple[Any, ...] = (_REMOVE, "", {}, [], 1, None, False)


def pointer_of(data: Any, loc: tuple[int | str, ...]) -> str:
    """The file's JSON pointer for a pydantic ``loc``.

    Union members add tags to ``loc`` (``str``, ``MilestoneModel``); we walk the data and
    keep only the parts that exist, so the pointer names the file's own path. A missing
    required field is pointed at by name (its position falls back to its parent).
    """
    pointer = ""
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
            pointer = join_pointer(pointer, part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            pointer = join_pointer(pointer, part)
        elif isinstance(node, dict) and isinstance(part, str) and part[:1].islower() and (
            "[" not in part and part not in _UNION_TAGS
        ):
            pointer = join_pointer(pointer, part)
            node = None
    return pointer


def recover(data: dict[str, Any], error: ValidationError) -> tuple[LevelModel, list[str]] | None:
    """A model of ``data`` with every refused value neutralised, and their pointers; None
    when no placeholder satisfies pydantic (the caller then reports pydantic's findings
    only)."""
    data = copy.deepcopy(data)
    attempts: dict[str, int] = {}
    errors = error.errors(include_url=False)
    for _ in range(len(_PLACEHOLDERS) * 4):
        pointers = list(dict.fromkeys(pointer_of(data, e["loc"]) for e in errors))
        for pointer in pointers:
            n = attempts.get(pointer, 0)
            if pointer == "" or n >= len(_PLACEHOLDERS):
                return None
            attempts[pointer] = n + 1
            if not _place(data, pointer, _PLACEHOLDERS[n]):
                return None
        try:
            model = LevelModel.model_validate(data)
        except ValidationError as again:
            errors = again.errors(include_url=False)
            continue
        return model, list(attempts)
    return None


def related(pointer: str, roots: Iterable[str]) -> bool:
    """Whether ``pointer`` is one of ``roots``, inside one, or an object holding one (a
    finding there, such as "this task has no target", may be about the placeholder).
    The document root holds everything and does not count."""
    return any(pointer == r or pointer.startswith(r + "/")
               or (pointer and r.startswith(pointer + "/")) for r in roots)


def _place(data: Any, pointer: str, value: Any) -> bool:
    """Put ``value`` (or remove the member, for ``_REMOVE``) at ``pointer``."""
    tokens = [unescape_pointer_token(t) for t in pointer.split("/")[1:]]
    parent = data
    for token in tokens[:-1]:
        if isinstance(parent, dict) and token in parent:
            parent = parent[token]
        elif isinstance(parent, list) and token.isdecimal() and int(token) < len(parent):
            parent = parent[int(token)]
        else:
            return False
    last = tokens[-1]
    if isinstance(parent, dict):
        if value is _REMOVE:
            parent.pop(last, None)
        else:
            parent[last] = value
        return True
    if isinstance(parent, list) and last.isdecimal() and int(last) < len(parent):
        # an array item cannot be removed without moving its neighbours' pointers
        parent[int(last)] = {} if value is _REMOVE else value
        return True
    return False
