"""The state store interface: what the runtime needs from durable storage.

The engine never talks to a database. It mutates a player's state in memory; the
runtime (``quest_runtime/runtime.py``) then hands the store one *commit*: the player's
state document (orjson bytes, SPEC §5.1) plus the journal entry of the rule event that
produced it (SPEC §5.3). A commit returns only once it is durable, so the runtime
answers the plugin after the state change is safe.

Parts: what one event costs to store must not grow with the player's history. So a
document is stored as a *core* (``Commit.document``) plus *parts*: named pieces that
grow with history (one per task session and listener mark, the completed levels, the
``once`` marks; ``PlayerState.storage``). A part's name is its path in the document
(``session/tasks/greet``, RFC 6901 escaping). A commit carries the core and the parts
that changed (``whole=False``), or every part (``whole=True``: the stored parts are
replaced, e.g. when a session starts or ends). ``read_player`` answers the whole
document: the core with every stored part put back in place (``join_parts``), so
readers never see the split. The optimistic row version and the journal are the
core row's, as before.

Implementations:
- ``memory.MemoryStore``: dicts, for the preview tool and tests.
- ``sqlite.SQLiteStore``: the embedded default (WAL, group commit, versioned schema).
- ``postgres.PostgresStore``: PostgreSQL shared by several instances (``shared = True``:
  a commit is a conditional write that may lose a race, ``VersionConflict`` or
  ``DuplicateEvent``, and the runtime then re-reads and re-runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from quest_runtime.record import record


@record
class JournalEntry:
    """One processed rule event, as kept in the per-player journal (SPEC §5.3).

    ``result`` is the exact JSON (orjson bytes) of the ``result`` object that was sent
    back, so a replay of ``event_id`` answers byte-for-byte the same thing. It is kept
    only for events that carry an ``event_id`` (the only ones that can be replayed);
    for the others it is ``b""`` and ``digest`` still identifies the result.
    ``effects`` is a small JSON-ready summary: tasks progressed/completed, milestones,
    refs, flags, timers, commands.
    """

    player_id: str
    event_id: str | None
    event_type: str
    received_at: float
    effects: dict[str, Any]
    result: bytes
    digest: str


@record
class Commit:
    """The unit of durability: a player's new state document and its journal entry.

    ``version`` is the row version the document replaces (0 for a new player); a store
    may use it for optimistic concurrency. ``journal`` is None for state changes that
    are not rule events (a delivered push). ``due`` (the player's next timer, if any)
    and ``outbox`` (undelivered results) are kept beside the document, indexed, so
    start-up finds the players the scheduler needs without reading every document.
    """

    player_id: str
    document: bytes
    version: int
    journal: JournalEntry | None
    due: float | None = None
    outbox: bool = False
    parts: Mapping[str, bytes | None] = field(default_factory=dict)
    """Stored parts written by this commit (None: the part is removed)."""
    whole: bool = True
    """``parts`` replace every stored part of the player (else only those named)."""


def join_parts(core: bytes, parts: Mapping[str, bytes]) -> bytes:
    """The whole document: ``core`` with each part put at its path (objects on the way
    are created when missing)."""
    if not parts:
        return core
    doc = orjson.loads(core)
    for name, value in parts.items():
        *path, last = [t.replace("~1", "/").replace("~0", "~") for t in name.split("/")]
        node = doc
        for token in path:
            child = node.get(token)
            if not isinstance(child, dict):
                child = node[token] = {}
            node = child
        node[last] = orjson.loads(value)
    return orjson.dumps(doc)


def journal_dict(seq: int, event_id: str | None, event_type: str, received_at: float,
                 effects: bytes, digest: str, result: bytes) -> dict[str, Any]:
    """One stored journal row as ``StateStore.journal`` answers it (JSON-ready; the stored
    result bytes decoded, ``None`` when none were kept)."""
    return {
        "seq": int(seq),
        "event_id": event_id,
        "event_type": event_type,
        "received_at": received_at,
        "effects": orjson.loads(effects),
        "digest": digest,
        "result": orjson.loads(result) if result else None,
    }


@dataclass(frozen=True, slots=True)
class Wakeup:
    """A stored player the scheduler must know about at start-up. ``known`` is False
    for a document written before the store kept ``due``/``outbox``: the runtime reads
    that document to find out (once: its next commit records them)."""

    player_id: str
    due: float | None
    outbox: bool
    known: bool = True


class StoreError(Exception):
    """The store could not read or commit (disk full, database closed, ...)."""


class VersionConflict(StoreError):
    """A commit lost a race: the player's stored row version is no longer the one the
    commit replaces (another instance committed first). Nothing of it was stored."""


class LevelsBehind(VersionConflict):
    """The player last played a newer level generation than this instance serves (a
    network of instances, ``levels publish``): reload the levels, then run it again.
    Nothing of the commit was stored."""


class DuplicateEvent(StoreError):
    """The commit's ``event_id`` is already in the player's journal (another instance
    processed the event first): answer the stored result as a replay. Nothing of it
    was stored."""


class StateStore(Protocol):
    """Durable per-player state documents and journals."""

    async def open(self) -> None:
        """Create or migrate the schema; ready for reads and commits afterwards."""

    async def close(self) -> None:
        """Flush pending commits and release resources. Idempotent."""

    async def read_player(self, player_id: str) -> tuple[bytes, int] | None:
        """The player's last committed document and its row version, or None."""

    async def commit(self, commit: Commit) -> int:
        """Make ``commit`` durable (group-committed with concurrent ones); returns the new
        row version. Raises StoreError when it could not be committed."""

    async def commit_many(self, commits: list[Commit]) -> list[int | StoreError]:
        """Several commits in one group transaction, in order, awaited once: each one's
        new row version or its StoreError (each stands alone, as in ``commit``)."""

    async def find_result(self, player_id: str, event_id: str) -> bytes | None:
        """The stored result bytes of an already processed ``event_id``, or None."""

    async def find_results(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The stored results of those ``(player_id, event_id)`` already processed (one
        look-up for a whole batch)."""

    async def journal(self, player_id: str, limit: int) -> list[dict[str, Any]]:
        """The player's last ``limit`` journal entries, newest last, as JSON-ready dicts:
        ``{seq, event_id, event_type, received_at, effects, digest, result}`` where
        ``result`` is the decoded result object."""

    async def players(self) -> list[str]:
        """Every player id with a stored document (admin and tests)."""

    async def wakeups(self) -> list[Wakeup]:
        """The players with a timer due some day or an undelivered result (and those
        whose document predates this record) — an index read, not a scan of documents."""
