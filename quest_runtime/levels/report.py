"""The reporter: collects findings for one level file, with positions from its source."""

from __future__ import annotations

from quest_runtime.levels.findings import Finding, Severity, join_pointer
from quest_runtime.levels.source import LevelSource


class Reporter:
    """Every problem of one file, in the order found (sorted when printed)."""

    def __init__(self, source: LevelSource, strict: bool = False) -> None:
        self.source = source
        self.strict = strict
        self.findings: list[Finding] = []
        #: Names that clauses refer to, resolved once the whole file is compiled:
        #: ``(kind, name, pointer)``, e.g. ``("timer", "storm", "/tasks/0/on_complete/0")``.
        self.refs: list[tuple[str, str, str]] = []

    def _add(
        self, severity: Severity, pointer: str, message: str, hint: str | None, code: str,
        key: bool,
    ) -> None:
        if severity is Severity.WARNING and self.strict:
            severity = Severity.ERROR
        pos = self.source.key_position(pointer) if key else self.source.position(pointer)
        self.findings.append(
            Finding(self.source.path, pos[0], pos[1], pointer, severity, message, hint, code)
        )

    def error(
        self, pointer: str, message: str, hint: str | None = None, code: str = "",
        *, key: bool = False,
    ) -> None:
        self._add(Severity.ERROR, pointer, message, hint, code, key)

    def warning(
        self, pointer: str, message: str, hint: str | None = None, code: str = "",
        *, key: bool = False,
    ) -> None:
        self._add(Severity.WARNING, pointer, message, hint, code, key)

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


__all__ = ["Reporter", "join_pointer"]
