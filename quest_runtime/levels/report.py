"""The reporter: collects findings for one level file, with positions from its source."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from quest_runtime.levels.findings import Finding, Severity, join_pointer
from quest_runtime.levels.source import LevelSource
from quest_runtime.suggest import near_miss

#: Near-miss keys that other systems really read, per engine-owned object (the kind
#: passed to :meth:`Reporter.unknown_key`). Each was decided case by case from the
#: DriftSystem corpus; docs/decisions.md, "Typos are errors (issue 10)", says why.
FOREIGN_NEAR_MISSES: dict[str, frozenset[str]] = {
    # DriftSystem's flagship tutorial: a list of hint lines, not a misspelt string `hint`.
    "task": frozenset({"hints"}),
}


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
        key: bool, column: int | None = None,
    ) -> None:
        if severity is Severity.WARNING and self.strict:
            severity = Severity.ERROR
        pos = self.source.key_position(pointer) if key else self.source.position(pointer)
        col = pos[1] if column is None else column
        self.findings.append(
            Finding(self.source.path, pos[0], col, pointer, severity, message, hint, code)
        )

    def error(
        self, pointer: str, message: str, hint: str | None = None, code: str = "",
        *, key: bool = False, column: int | None = None,
    ) -> None:
        """``column`` points inside the value (a text variable in a string)."""
        self._add(Severity.ERROR, pointer, message, hint, code, key, column)

    def warning(
        self, pointer: str, message: str, hint: str | None = None, code: str = "",
        *, key: bool = False,
    ) -> None:
        self._add(Severity.WARNING, pointer, message, hint, code, key)

    def unknown_key(
        self, pointer: str, key: str, known: Iterable[str], what: str, kind: str,
        fallback: str | None = None, *, foreign: Collection[str] = (),
    ) -> None:
        """An unknown ``key`` (at ``pointer``) of an engine-owned object (issue 10).

        A near miss of a key the object takes (``amout`` for ``amount``, ``cooldown`` for
        ``cooldown_seconds``) is an error: the level would otherwise go live with the key
        silently ignored. Any other unknown key is a warning with ``fallback`` as the hint
        (keys the plugin or other tools read), and so is a near miss listed as foreign for
        ``kind`` in :data:`FOREIGN_NEAR_MISSES` (or passed in ``foreign``).
        """
        match = near_miss(key, known)
        if match is not None and key not in foreign and \
                key not in FOREIGN_NEAR_MISSES.get(kind, ()):
            self.error(pointer, f"unknown key '{key}' in {what}: a typo of '{match}'? It "
                       "would be ignored", f"did you mean '{match}'?", code="unknown_key",
                       key=True)
            return
        if match is not None:
            fallback = f"kept for other systems; did you mean '{match}'?"
        self.warning(pointer, f"unknown key '{key}' in {what}", fallback, code="unknown_key",
                     key=True)

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


__all__ = ["FOREIGN_NEAR_MISSES", "Reporter", "join_pointer"]
