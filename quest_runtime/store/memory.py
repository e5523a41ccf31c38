"""``MemoryStore``: the state store kept in dicts, for the preview tool and tests.

It follows the same rules as ``SQLiteStore``, so code tested against it behaves the same
on disk:

- a commit must name the row version it replaces (0 for a new player), otherwise it
  fails with ``StoreError`` and changes nothing;
- an ``event_id`` may appear once per player journal; a repeat fails that commit;
- each player keeps the last ``journal_limit`` journal entries, and ``find_result`` only
  finds events that are still kept;
- ``effects`` go through orjson at commit, so what ``journal`` returns is what a
  durable store would return (and unserialisable effects fail at commit, not later);
- reads and commits before ``open()`` or after ``close()`` raise ``StoreError``.

Nothing is durable: every commit "returns once durable" immediately.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from quest_runtime.store.base import (
    Commit,
    JournalEntry,
    StoreError,
    Wakeup,
    join_parts,
    journal_dict,
)


@dataclass(slots=True)
class _Row:
    """One player's stored state: document, row version and journal."""

    document: bytes
    version: int
    due: float | None = None
    outbox: bool = False
    parts: dict[str, bytes] = field(default_factory=dict)
    last_seq: int = 0
    journal: deque[tuple[int, JournalEntry, bytes]] = field(default_factory=deque)
    """(seq, entry, effects as orjson bytes), oldest first."""
    results: dict[str, bytes] = field(default_factory=dict)
    """event_id -> result bytes, for the entries still in ``journal``."""


class MemoryStore:
    """A ``StateStore`` in plain dicts; see the module docstring for its rules."""

    def __init__(self, *, journal_limit: int = 200) -> None:
        if journal_limit < 1:
            raise ValueError(f"journal_limit must be at least 1, got {journal_limit!r}")
        self.journal_limit = journal_limit
        self._rows: dict[str, _Row] = {}
        self._open = False
        self._closed = False

    async def open(self) -> None:
        """Make the store usable. A closed store cannot be opened again."""
        if self._closed:
            raise StoreError("this MemoryStore is closed; create a new one")
        self._open = True

    async def close(self) -> None:
        """Refuse further reads and commits. Idempotent."""
        self._open = False
        self._closed = True

    async def read_player(self, player_id: str) -> tuple[bytes, int] | None:
        """The player's last committed document and its row version, or None."""
        self._check_open()
        row = self._rows.get(player_id)
        return None if row is None else (join_parts(row.document, row.parts), row.version)

    async def commit(self, commit: Commit) -> int:
        """Store ``commit`` and return the new row version (``commit.version + 1``)."""
        self._check_open()
        row = self._rows.get(commit.player_id)
        current = 0 if row is None else row.version
        if commit.version != current:
            raise StoreError(
                f"version conflict for player {commit.player_id!r}: the commit replaces "
                f"version {commit.version}, the stored version is {current}"
            )
        entry = commit.journal
        effects = b""
        if entry is not None:
            if entry.event_id is not None and row is not None and entry.event_id in row.results:
                raise StoreError(
                    f"event {entry.event_id!r} of player {commit.player_id!r} is already "
                    "in the journal"
                )
            try:
                effects = orjson.dumps(entry.effects)
            except TypeError as exc:
                raise StoreError(
                    f"journal effects of player {commit.player_id!r} are not JSON: {exc}"
                ) from exc
        if row is None:
            row = self._rows[commit.player_id] = _Row(commit.document, 0)
        row.document = commit.document
        row.version = current + 1
        row.due, row.outbox = commit.due, commit.outbox
        if commit.whole:
            row.parts = {}
        for name, value in commit.parts.items():
            if value is None:
                row.parts.pop(name, None)
            else:
                row.parts[name] = value
        if entry is not None:
            self._append(row, entry, effects)
        return row.version

    async def commit_many(self, commits: list[Commit]) -> list[int | StoreError]:
        """Each commit in order; a failing one does not stop the rest."""
        out: list[int | StoreError] = []
        for commit in commits:
            try:
                out.append(await self.commit(commit))
            except StoreError as exc:
                if not self._open:
                    raise
                out.append(exc)
        return out

    async def find_results(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The stored results of the keys already processed."""
        self._check_open()
        found: dict[tuple[str, str], bytes] = {}
        for player_id, event_id in keys:
            row = self._rows.get(player_id)
            if row is not None and event_id in row.results:
                found[(player_id, event_id)] = row.results[event_id]
        return found

    async def find_result(self, player_id: str, event_id: str) -> bytes | None:
        """The stored result bytes of an already processed ``event_id``, or None."""
        self._check_open()
        row = self._rows.get(player_id)
        return None if row is None else row.results.get(event_id)

    async def journal(self, player_id: str, limit: int) -> list[dict[str, Any]]:
        """The player's last ``limit`` journal entries, newest last, as JSON-ready dicts."""
        self._check_open()
        row = self._rows.get(player_id)
        if row is None or limit <= 0:
            return []
        kept = list(row.journal)[-limit:]
        return [journal_dict(seq, entry.event_id, entry.event_type, entry.received_at, effects,
                             entry.digest, entry.result)
                for seq, entry, effects in kept]

    async def players(self) -> list[str]:
        """Every player id with a stored document, sorted."""
        self._check_open()
        return sorted(self._rows)

    async def wakeups(self) -> list[Wakeup]:
        """Players with a timer or an undelivered result."""
        self._check_open()
        return [Wakeup(pid, row.due, row.outbox) for pid, row in self._rows.items()
                if row.due is not None or row.outbox]

    def _append(self, row: _Row, entry: JournalEntry, effects: bytes) -> None:
        """Add ``entry`` to the row's journal and drop what falls out of retention."""
        row.last_seq += 1
        row.journal.append((row.last_seq, entry, effects))
        if entry.event_id is not None:
            row.results[entry.event_id] = entry.result
        while len(row.journal) > self.journal_limit:
            _, dropped, _ = row.journal.popleft()
            if dropped.event_id is not None:
                del row.results[dropped.event_id]

    def _check_open(self) -> None:
        if not self._open:
            state = "closed" if self._closed else "not open yet"
            raise StoreError(f"the memory store is {state}")
