"""Findings: the one shape every level-file problem is reported in.

A :class:`Finding` says *where* (file, 1-based line and column, RFC 6901 JSON pointer),
*what* (a sentence) and, when we can tell, *how to fix it* (a hint such as
"did you mean 'conditions'?"). The loader, the validator, ``quest-runtime validate``
(SPEC §7) and ``/admin/levels`` all speak this type, so a designer sees the same text
everywhere, one line per finding (wrapped here)::

    levels/forest.json:12:7: error: unknown key 'conditons' [/tasks/0/conditons]
        (did you mean 'conditions'?)

This module also owns JSON-pointer building (:func:`join_pointer`), because a finding's
pointer must match what :mod:`quest_runtime.levels.source` indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is: an ERROR rejects the level, a WARNING does not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one level file.

    ``line`` and ``column`` are 1-based and count characters (not bytes), as editors do.
    ``pointer`` is an RFC 6901 JSON pointer; ``""`` is the document root. ``code`` is a
    short machine-readable name ("unknown_key", "invalid_json", "bad_type", ...) for
    tools and tests that should not match on wording.
    """

    file: str
    line: int
    column: int
    pointer: str
    severity: Severity
    message: str
    hint: str | None = None
    code: str = ""

    def format(self) -> str:
        """The one-line text form: ``file:line:col: severity: message [pointer] (hint)``.

        The root pointer prints as ``[/]`` so the brackets are never empty.
        """
        text = (
            f"{self.file}:{self.line}:{self.column}: {self.severity.value}: "
            f"{self.message} [{self.pointer or '/'}]"
        )
        return text if self.hint is None else f"{text} ({self.hint})"

    def to_dict(self) -> dict[str, str | int | None]:
        """The JSON form used by ``validate --format json`` and ``/admin/levels``."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "code": self.code,
        }


def escape_pointer_token(token: str) -> str:
    """Escape one reference token for a JSON pointer (RFC 6901 §3).

    ``~`` becomes ``~0`` and ``/`` becomes ``~1``.
    """
    # Order matters: escaping "/" first would turn its "~1" into "~01".
    return token.replace("~", "~0").replace("/", "~1")


def unescape_pointer_token(token: str) -> str:
    """The object key or array index one escaped pointer token names (RFC 6901 §4)."""
    # Order matters: "~01" is "~1" written literally, not "/".
    return token.replace("~1", "/").replace("~0", "~")


def join_pointer(base: str, *parts: str | int) -> str:
    """Append reference tokens (object keys or array indexes) to the pointer ``base``.

    >>> join_pointer("/tasks", 0, "milestones")
    '/tasks/0/milestones'
    >>> join_pointer("", "a/b")
    '/a~1b'
    """
    return base + "".join("/" + escape_pointer_token(str(part)) for part in parts)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in reading order: by file, then line, then column (stable otherwise)."""
    return sorted(findings, key=lambda f: (f.file, f.line, f.column))


def count_errors(findings: Iterable[Finding]) -> int:
    """How many findings are errors (what decides ``validate``'s exit code)."""
    return sum(1 for f in findings if f.severity is Severity.ERROR)
