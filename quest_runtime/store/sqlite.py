"""``SQLiteStore``: the embedded default state store (SPEC §5.2), one SQLite file in WAL mode.

How a commit travels (``writer="loop"``, the default with ``synchronous=NORMAL``):

1. ``commit()`` (on the event loop) serialises the journal effects, appends the commit
   and a future to the group being collected and awaits the future; the first commit of
   a group schedules its flush with ``loop.call_soon``, so every commit made while the
   callbacks ready in this loop iteration run joins it. ``commit_many()`` (a rule-event
   batch) appends all its commits with one future for their outcomes.
2. The flush, on the loop thread itself, writes the group in ONE transaction (group
   commit): one ``executemany`` per statement, and each player's changed document parts
   coalesced into one write (``_plan``). If a commit breaks a rule (version conflict,
   repeated ``event_id``) the group is rolled back and redone commit by commit, each
   inside its own SAVEPOINT, so that commit fails alone and the rest of the group goes on.
3. After COMMIT the flush settles the futures; each caller's await returns its new row
   version or raises ``StoreError``. If the transaction itself fails (disk I/O, disk
   full) it is rolled back, every commit of the group gets ``StoreError`` and the next
   group tries again on the same connection (a ROLLBACK that failed too is repeated
   before the next BEGIN), so the store resumes by itself once the fault is gone.

Why on the loop: a WAL commit with ``synchronous=NORMAL`` is a few writes to the -wal
file (no fsync), microseconds; handing it to a thread cost more (the loop waited for the
thread to get the GIL, a switch interval at a time). What a WAL commit must not do on
the loop is checkpoint: the loop's connection has ``wal_autocheckpoint = 0`` and
``sqlite_checkpoint.Checkpointer`` copies the WAL into the database file from a thread
with its own connection (PASSIVE; RESTART when commits leave it no gap; TRUNCATE
when the -wal file still grows past 64 MiB). A
failed checkpoint never loses data: the WAL keeps every committed frame until a
checkpoint succeeds (or the next open recovers it).

``writer="thread"`` (the default with ``synchronous=FULL``, whose COMMIT fsyncs: held on
the loop, that fsync stalled every request, see ``default_writer``; or
``QUEST_RUNTIME_SQLITE_WRITER=thread`` for any store built without ``writer=``): a
writer thread takes every queued commit, i.e. all that arrived while it ran the previous
transaction, writes them as in 2., hands the outcomes back in one
``call_soon_threadsafe``, and SQLite's own checkpoints (``wal_autocheckpoint``) run
inside its COMMITs, off the loop.

Reads use a connection owned by the event-loop thread and run right there: they are
index lookups of a few µs that WAL never makes wait for the writer (a thread hop cost
more than the read, measured), and they see every commit whose await returned.

Tables: ``players`` (the core document, its row version, the next timer due and an
undelivered-results mark, in a partial index read at start-up: ``wakeups``),
``player_parts`` (a document's parts: one row per task session, listener mark and the
levels history; ``read_player`` joins them back, store/base.py "Parts") and
``journal`` (per-player entries, ``event_id`` unique per player, at least the last
``journal_limit`` kept and at most ``journal_limit // 16`` more: ``_trim_to``). The
schema is versioned with ``PRAGMA user_version``; ``MIGRATIONS`` lists one step per
version, and ``open()`` applies the missing ones in one transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from quest_runtime.store.base import Commit, StoreError, Wakeup, join_parts, journal_dict
from quest_runtime.store.sqlite_checkpoint import Checkpointer

# -- schema ---------------------------------------------------------------------------


def _v1_create_tables(conn: sqlite3.Connection) -> None:
    """Version 1: player documents, per-player journals, event_id lookup."""
    conn.execute(
        """CREATE TABLE players (
            player_id TEXT PRIMARY KEY,
            document BLOB NOT NULL,
            version INTEGER NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE journal (
            player_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event_id TEXT,
            event_type TEXT NOT NULL,
            received_at REAL NOT NULL,
            effects BLOB NOT NULL,
            result BLOB NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (player_id, seq)
        )"""
    )
    conn.execute(
        "CREATE UNIQUE INDEX journal_event_id ON journal (player_id, event_id) "
        "WHERE event_id IS NOT NULL"
    )


def _v2_wakeups(conn: sqlite3.Connection) -> None:
    """Version 2: each player's next timer due and undelivered-results mark beside the
    document, in a partial index, so start-up reads only the players the scheduler
    needs. Rows of version 1 are marked ``wake_known = 0`` (their documents are read
    once at start-up; their next commit records both)."""
    conn.execute("ALTER TABLE players ADD COLUMN due REAL")
    conn.execute("ALTER TABLE players ADD COLUMN outbox INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE players ADD COLUMN wake_known INTEGER NOT NULL DEFAULT 0")
    conn.execute(f"CREATE INDEX players_wakeup ON players (player_id) WHERE {_WAKES}")


#: The rows ``wakeups()`` returns (the partial index's condition, repeated verbatim in
#: the query so SQLite uses the index).
_WAKES = "due IS NOT NULL OR outbox != 0 OR wake_known = 0"

def _v3_parts(conn: sqlite3.Connection) -> None:
    """Version 3: a document's parts in rows of their own (store/base.py "Parts"), so a
    commit writes the parts that changed, not the whole document."""
    conn.execute(
        """CREATE TABLE player_parts (
            player_id TEXT NOT NULL,
            part TEXT NOT NULL,
            value BLOB NOT NULL,
            PRIMARY KEY (player_id, part)
        ) WITHOUT ROWID"""
    )


MIGRATIONS: Sequence[Callable[[sqlite3.Connection], None]] = (
    _v1_create_tables, _v2_wakeups, _v3_parts)
"""Schema steps in order: ``MIGRATIONS[n - 1]`` turns schema version n - 1 into n."""

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(
    conn: sqlite3.Connection,
    path: str,
    steps: Sequence[Callable[[sqlite3.Connection], None]] = MIGRATIONS,
) -> None:
    """Bring the database behind ``conn`` (autocommit mode) to version ``len(steps)``.

    All missing steps run in one transaction, so a failed step leaves the file as it
    was. A file newer than ``steps`` knows raises StoreError and is left untouched.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        (found,) = conn.execute("PRAGMA user_version").fetchone()
        if found > len(steps):
            raise StoreError(
                f"{path}: schema version {found} is newer than this quest-runtime knows "
                f"({len(steps)}); upgrade quest-runtime or point it at another file"
            )
        for version in range(found + 1, len(steps) + 1):
            steps[version - 1](conn)
            conn.execute(f"PRAGMA user_version = {version:d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# -- statements -----------------------------------------------------------------------

log = logging.getLogger(__name__)

_INSERT_PLAYER = (
    "INSERT INTO players (player_id, document, version, updated_at, due, outbox, wake_known) "
    "VALUES (?, ?, 1, ?, ?, ?, 1)"
)
_UPDATE_PLAYER = (
    "UPDATE players SET document = ?, version = version + 1, updated_at = ?, due = ?, "
    "outbox = ?, wake_known = 1 WHERE player_id = ? AND version = ?"
)
_WAKEUPS = f"SELECT player_id, due, outbox, wake_known FROM players WHERE {_WAKES}"
_LAST_SEQ = "SELECT MAX(seq) FROM journal WHERE player_id = ?"
_INSERT_JOURNAL = (
    "INSERT INTO journal "
    "(player_id, seq, event_id, event_type, received_at, effects, result, digest) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_TRIM_JOURNAL = "DELETE FROM journal WHERE player_id = ? AND seq <= ?"
_CLEAR_PARTS = "DELETE FROM player_parts WHERE player_id = ?"
_PUT_PART = "INSERT OR REPLACE INTO player_parts (player_id, part, value) VALUES (?, ?, ?)"
_DROP_PART = "DELETE FROM player_parts WHERE player_id = ? AND part = ?"
_READ_PARTS = "SELECT part, value FROM player_parts WHERE player_id = ?"

@dataclass(slots=True)
class _Plan:
    """A batch's rows, grouped by statement (``SQLiteStore._plan``)."""

    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    trims: list[tuple[str, int]] = field(default_factory=list)
    seqs: dict[str, int] = field(default_factory=dict)
    parts: dict[str, tuple[bool, dict[str, bytes | None]]] = field(default_factory=dict)


def _write_parts(conn: sqlite3.Connection,
                 parts: dict[str, tuple[bool, dict[str, bytes | None]]]) -> None:
    """Each player's parts: ``(clear, named)`` — clear every stored part first (a whole
    commit of a known player), then write the named ones (None: remove it)."""
    clears = [(pid,) for pid, (clear, _) in parts.items() if clear]
    if clears:
        conn.executemany(_CLEAR_PARTS, clears)
    puts = [(pid, name, value) for pid, (_, named) in parts.items()
            for name, value in named.items() if value is not None]
    if puts:
        conn.executemany(_PUT_PART, puts)
    drops = [(pid, name) for pid, (_, named) in parts.items()
             for name, value in named.items() if value is None]
    if drops:
        conn.executemany(_DROP_PART, drops)


#: The writer connection's page cache (KiB). Each commit touches a few pages per player
#: (its row, its changed parts, both ends of its journal). Against SQLite's 2 MiB default
#: it took a 10,000-entry journal from 1.56x to 1.47x the cost of a short one
#: (bench/history_bench.py --only journal, one quiet run): a gain, not the whole answer.
WRITER_CACHE_KIB = 65536

#: Retention deletes a player's oldest journal entries ``journal_limit // 16 + 1`` at a
#: time (store/sqlite.py ``_trim_to``): deleting one entry per commit dirtied the pages
#: at the far, old end of the journal's two indexes on every commit, which a long journal
#: (10,000 entries) paid for in every event.
TRIM_CHUNK_DIVISOR = 16

#: ``(player_id, event_id)`` pairs per ``find_results`` query (two variables each).
_KEYS_PER_QUERY = 400

_JournalRow = tuple[str | None, str, float, bytes, bytes, str]
"""event_id, event_type, received_at, effects (orjson), result, digest."""


def _journal_row(commit: Commit) -> _JournalRow | None:
    """The journal row of a commit (its effects encoded; StoreError if they are not
    JSON)."""
    entry = commit.journal
    if entry is None:
        return None
    try:
        effects = orjson.dumps(entry.effects)
    except TypeError as exc:
        raise StoreError(
            f"journal effects of player {commit.player_id!r} are not JSON: {exc}"
        ) from exc
    return (entry.event_id, entry.event_type, entry.received_at, effects, entry.result,
            entry.digest)


class _VersionConflict(Exception):
    """The stored row version is not the one the commit replaces."""


class _Group:
    """The commits of one ``commit_many``: one future for all their outcomes."""

    __slots__ = ("future", "outcomes")

    def __init__(self, future: asyncio.Future[list[_Outcome]], size: int) -> None:
        self.future = future
        self.outcomes: list[_Outcome | None] = [None] * size


class _Request:
    """One queued commit and the future its caller awaits (or its place in a group)."""

    __slots__ = ("commit", "future", "group", "index", "journal")

    def __init__(
        self, commit: Commit, journal: _JournalRow | None,
        future: asyncio.Future[int] | None, group: _Group | None = None, index: int = 0,
    ) -> None:
        self.commit = commit
        self.journal = journal
        self.future = future
        self.group = group
        self.index = index


_STOP = object()
"""Queued by ``close()``: the writer finishes what came before it, then exits."""

_Outcome = int | StoreError

Writer = Literal["loop", "thread"]
"""Where group transactions run: on the event loop (checkpoints on their own thread) or
on a writer thread (SQLite's own checkpoints inside its COMMITs)."""

#: Chooses the writer of stores built without ``writer=`` (the service's): ``default_writer``.
WRITER_ENV = "QUEST_RUNTIME_SQLITE_WRITER"


def default_writer(synchronous: str) -> Writer:
    """The writer of a store built without ``writer=``: ``QUEST_RUNTIME_SQLITE_WRITER`` if
    set (how the benchmarks and an operator compare the two on one machine), else the
    loop with ``synchronous=NORMAL`` and the thread with ``FULL``. Measured through the
    service (bench/http_bench.py, the writers alternating, medians; docs/decisions.md
    "The SQLite writer on the loop"): with NORMAL the loop answered more
    (64 connections 0.30 of the floor against 0.24); with FULL each COMMIT's fsync
    (~5 ms on the bench host) held the loop, so at 64 connections the thread answered
    1,421 req/s to the loop's 1,157 with p99 100 ms against 540 ms."""
    raw = os.environ.get(WRITER_ENV, "").strip().lower()
    if not raw:
        return "loop" if synchronous == "NORMAL" else "thread"
    if raw == "loop":
        return "loop"
    if raw == "thread":
        return "thread"
    raise ValueError(f"environment variable {WRITER_ENV}={raw!r}: the SQLite writer must be "
                     "'loop' or 'thread'")


def _settle(requests: list[_Request], outcomes: list[_Outcome]) -> None:
    """On the loop: hand each waiting caller its outcome (cancelled callers are gone); a
    group's caller gets every outcome of its commits at once."""
    groups: dict[int, _Group] = {}
    for request, outcome in zip(requests, outcomes, strict=True):
        group = request.group
        if group is not None:
            group.outcomes[request.index] = outcome
            groups[id(group)] = group
            continue
        future = request.future
        if future is None or future.done():
            continue
        if isinstance(outcome, StoreError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    for group in groups.values():
        if not group.future.done():
            group.future.set_result([o for o in group.outcomes if o is not None])


class SQLiteStore:
    """A ``StateStore`` in one SQLite file; see the module docstring for the design.

    ``transactions`` and ``committed`` count write transactions and successful commits
    since ``open()`` (observability: their ratio is the mean group-commit batch size).
    """

    #: The class of both connections (``sqlite3.connect(factory=...)``). Fault-injection
    #: tests set a subclass on an instance before ``open()`` to make statements fail.
    connection_factory: type[sqlite3.Connection] = sqlite3.Connection

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        journal_limit: int = 200,
        wal_autocheckpoint: int = 1000,
        writer: Writer | None = None,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        if journal_limit < 1:
            raise ValueError(f"journal_limit must be at least 1, got {journal_limit!r}")
        if wal_autocheckpoint < 0:
            raise ValueError(f"wal_autocheckpoint must be >= 0, got {wal_autocheckpoint!r}")
        if writer is None:
            writer = default_writer(synchronous)
        elif writer not in ("loop", "thread"):
            raise ValueError(f"writer must be 'loop' or 'thread', got {writer!r}")
        self.path = str(path)
        self.writer: Writer = writer
        self.synchronous = synchronous
        self.journal_limit = journal_limit
        self._trim_chunk = journal_limit // TRIM_CHUNK_DIVISOR
        self.wal_autocheckpoint = wal_autocheckpoint
        self.transactions = 0
        self.committed = 0
        self._seqs: dict[str, int] = {}  # the writer only: last journal seq per player
        self._state: Literal["new", "open", "closing", "closed"] = "new"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._writer_done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._writer_thread: threading.Thread | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._closed = asyncio.Event()
        # writer="loop": the writer connection, the commits of the group being collected
        # and whether its flush is scheduled, the checkpointer thread
        self._conn: sqlite3.Connection | None = None
        self._pending: list[_Request] = []
        self._flush_scheduled = False
        self._checkpointer: Checkpointer | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Create or migrate the schema, start the writer (thread, or connection and
        checkpointer), open the reader.

        Raises StoreError if the file cannot be opened, is not a database, or has a
        schema newer than this code knows. A store is opened once; to reopen the file,
        create a new ``SQLiteStore``.
        """
        if self._state != "new":
            raise StoreError(
                f"{self.path}: this SQLiteStore is {self._state}; a store opens once, "
                "create a new one to open the file again"
            )
        self._state = "open"
        self._loop = asyncio.get_running_loop()
        if self.writer == "loop":
            await self._open_loop_writer()
            return
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        writer = threading.Thread(
            target=self._run_writer, args=(ready,), name="quest-store-writer", daemon=True
        )
        writer.start()
        self._writer_thread = writer
        try:
            await asyncio.wrap_future(ready)
            self._read_conn = self._connect_reader()
        except BaseException:
            await self.close()
            raise

    async def _open_loop_writer(self) -> None:
        """writer="loop": open (and migrate) the writer connection in a worker thread,
        so a locked file never stalls the loop, then the reader and the checkpointer."""
        try:
            self._conn = await asyncio.to_thread(self._connect_writer, False)
            self._read_conn = self._connect_reader()
        except BaseException:
            await self.close()
            raise
        self._checkpointer = Checkpointer(
            self.path, self._connect_checkpointer,
            pages=self.wal_autocheckpoint or 1000)
        self._checkpointer.start()

    async def close(self) -> None:
        """Commit everything already queued, stop the writer, close both connections.

        Idempotent; concurrent callers all return once the store is closed. Commits
        and reads after ``close()`` started raise StoreError.
        """
        if self._state in ("closing", "closed"):
            await self._closed.wait()
            return
        was_open = self._state == "open"
        self._state = "closing"
        try:
            if was_open and self.writer == "thread":
                self._queue.put(_STOP)
                await asyncio.wrap_future(self._writer_done)
                # the thread has settled its last batch; let it leave (microseconds)
                if self._writer_thread is not None:
                    await asyncio.to_thread(self._writer_thread.join)
            elif was_open:
                self._flush()  # the group being collected, now
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._read_conn is not None:
                self._read_conn.close()
                self._read_conn = None
            if self._checkpointer is not None:  # closes last: the closing checkpoint
                await asyncio.wrap_future(self._checkpointer.stop())
                self._checkpointer.join()
                self._checkpointer = None
            self._state = "closed"
            self._closed.set()

    # -- commits ------------------------------------------------------------------------

    async def commit(self, commit: Commit) -> int:
        """Make ``commit`` durable in the next group transaction; returns the new row
        version (``commit.version + 1``).

        Commits are applied in the order ``commit()`` was called, so chained versions of
        one player (v0->1, v1->2) may be awaited together. Each commit stands alone: in
        a batch some may succeed while others fail. Raises StoreError on a version
        conflict, a repeated ``event_id``, a failed transaction, or a store that is not
        open. If the awaiting task is cancelled the commit may still be written.
        """
        if self._state != "open" or self._loop is None:
            raise StoreError(f"{self.path}: the store is {self._state}, cannot commit")
        future: asyncio.Future[int] = self._loop.create_future()
        request = _Request(commit, _journal_row(commit), future)
        if self.writer == "loop":
            self._pending.append(request)
            self._schedule_flush()
        else:
            self._queue.put(request)
        return await future

    async def commit_many(self, commits: list[Commit]) -> list[int | StoreError]:
        """Several commits in one group transaction, in order, with one future: each
        one's new row version or its StoreError (each stands alone, as in ``commit``)."""
        if self._state != "open" or self._loop is None:
            raise StoreError(f"{self.path}: the store is {self._state}, cannot commit")
        rows = [_journal_row(c) for c in commits]
        future: asyncio.Future[list[_Outcome]] = self._loop.create_future()
        group = _Group(future, len(commits))
        requests = [_Request(c, row, None, group, i)
                    for i, (c, row) in enumerate(zip(commits, rows, strict=True))]
        if self.writer == "loop":
            self._pending.extend(requests)
            self._schedule_flush()
        else:
            self._queue.put(requests)
        return await future

    # -- the writer on the loop (writer="loop") ------------------------------------------

    def _schedule_flush(self) -> None:
        """The first commit of a group schedules its flush: it runs once the callbacks
        ready now have run, so every commit made during this loop iteration joins."""
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """On the loop: write the collected group in one transaction, settle its futures
        and tell the checkpointer how much was written."""
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        conn = self._conn
        if not batch or conn is None:
            return
        _settle(batch, self._write_batch(conn, batch))
        if self._checkpointer is not None:
            self._checkpointer.changes = conn.total_changes

    # -- reads (on the loop thread) ------------------------------------------------------

    async def read_player(self, player_id: str) -> tuple[bytes, int] | None:
        """The player's last committed document and its row version, or None."""
        rows = self._query(
            "SELECT document, version FROM players WHERE player_id = ?", (player_id,)
        )
        if not rows:
            return None
        parts = dict(self._query(_READ_PARTS, (player_id,)))
        return join_parts(rows[0][0], parts), rows[0][1]

    async def find_result(self, player_id: str, event_id: str) -> bytes | None:
        """The stored result bytes of an already processed ``event_id``, or None."""
        rows = self._query(
            "SELECT result FROM journal WHERE player_id = ? AND event_id = ?",
            (player_id, event_id),
        )
        return rows[0][0] if rows else None

    async def find_results(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """The stored results of the keys already processed: one indexed query per
        ``_KEYS_PER_QUERY`` keys (row values through the ``(player_id, event_id)``
        index, searched once per key)."""
        found: dict[tuple[str, str], bytes] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _KEYS_PER_QUERY):
            chunk = unique[start:start + _KEYS_PER_QUERY]
            values = ", ".join("(?, ?)" for _ in chunk)
            # the keys drive the join (CROSS JOIN keeps them outer): one index search
            # per key. ``(player_id, event_id) IN (VALUES ...)`` scanned the whole
            # journal index instead (7.7 ms per batch at 35,000 journal rows).
            rows = self._query(
                f"SELECT j.player_id, j.event_id, j.result FROM (VALUES {values}) AS k "
                "CROSS JOIN journal AS j ON j.player_id = k.column1 "
                "AND j.event_id = k.column2 WHERE j.event_id IS NOT NULL",
                tuple(x for key in chunk for x in key))
            found.update({(pid, eid): result for pid, eid, result in rows})
        return found

    async def journal(self, player_id: str, limit: int) -> list[dict[str, Any]]:
        """The player's last ``limit`` journal entries, newest last, as JSON-ready dicts."""
        rows = self._query(
            "SELECT seq, event_id, event_type, received_at, effects, digest, result "
            "FROM journal WHERE player_id = ? ORDER BY seq DESC LIMIT ?",
            (player_id, max(limit, 0)),
        )
        rows.reverse()
        return [journal_dict(*row) for row in rows]

    async def players(self) -> list[str]:
        """Every player id with a stored document, sorted."""
        rows = self._query("SELECT player_id FROM players ORDER BY player_id", ())
        return [player_id for (player_id,) in rows]

    async def wakeups(self) -> list[Wakeup]:
        """Players with a timer or undelivered results, read through a partial index."""
        return [Wakeup(pid, due, bool(outbox), bool(known))
                for pid, due, outbox, known in self._query(_WAKEUPS, ())]

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Run one query on the reader connection, right here on the loop thread.

        Why not a thread: these are index lookups served from the page cache in a few
        µs, and in WAL mode they never wait for the writer; a thread hop cost the loop
        40-90 µs of CPU per read when measured. ``fetchall`` ends the read transaction
        with the call (a snapshot kept open would stall checkpoints).
        """
        conn = self._read_conn
        if self._state != "open" or conn is None:
            raise StoreError(f"{self.path}: the store is not open for reads ({self._state})")
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: read failed: {exc}") from exc

    # -- connections --------------------------------------------------------------------

    def _connect(self, busy_timeout: float, same_thread: bool = True) -> sqlite3.Connection:
        """A connection in autocommit mode (transactions are explicit), WAL, synchronous."""
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout,
                               factory=self.connection_factory,
                               check_same_thread=same_thread)
        try:
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode != "wal":
                raise StoreError(f"{self.path}: cannot use WAL mode (got {mode!r})")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_reader(self) -> sqlite3.Connection:
        """The loop thread's connection. A short busy timeout: in WAL mode a reader is
        only kept waiting in rare cases (recovery after a crash), never by commits."""
        try:
            conn = self._connect(busy_timeout=1.0)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open for reading: {exc}") from exc
        conn.execute("PRAGMA query_only = ON")
        return conn

    def _connect_writer(self, same_thread: bool = True) -> sqlite3.Connection:
        """The writer's connection; creates or migrates the schema. On the loop
        (``same_thread=False``: opened in a worker thread, used on the loop) SQLite never
        checkpoints inside a COMMIT (the checkpointer does) and a lock held by another
        process is waited for 2 s at most (the loop waits with it), not 10."""
        on_loop = not same_thread
        try:
            conn = self._connect(busy_timeout=2.0 if on_loop else 10.0, same_thread=same_thread)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open: {exc}") from exc
        try:
            autocheckpoint = 0 if on_loop else self.wal_autocheckpoint
            conn.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint:d}")
            conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB:d}")
            migrate(conn, self.path)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"{self.path}: cannot create or migrate the schema: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_checkpointer(self) -> sqlite3.Connection:
        """The checkpointer thread's connection (writer="loop"). A short busy timeout: a
        TRUNCATE checkpoint holds the write lock while it waits for readers, and the
        loop's next BEGIN waits as long."""
        return self._connect(busy_timeout=0.05)

    # -- the writer thread --------------------------------------------------------------

    def _run_writer(self, ready: concurrent.futures.Future[None]) -> None:
        """Writer thread body: open, then write batches until ``_STOP`` arrives."""
        try:
            conn = self._connect_writer()
        except BaseException as exc:
            ready.set_exception(exc)
            self._writer_done.set_result(None)
            return
        ready.set_result(None)
        try:
            stop = False
            while not stop:
                batch: list[_Request] = []
                item = self._queue.get()
                while True:
                    if item is _STOP:
                        stop = True
                    elif isinstance(item, _Request):
                        batch.append(item)
                    elif isinstance(item, list):  # a commit_many: all in this batch
                        batch.extend(item)
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch:
                    self._settle_on_loop(batch, self._write_batch(conn, batch))
        finally:
            conn.close()
            self._writer_done.set_result(None)

    def _write_fast(self, conn: sqlite3.Connection, batch: list[_Request]) -> list[_Outcome] | None:
        """The usual case: every commit is valid, so the batch is written with one
        ``executemany`` per statement, no savepoints and no sequence look-ups (the
        writer keeps each player's last journal seq). Returns None, having rolled back,
        when any commit breaks a rule; the caller then takes the careful path."""
        plan = self._plan(conn, batch)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if plan.inserts:
                conn.executemany(_INSERT_PLAYER, plan.inserts)
            if plan.updates and (conn.executemany(_UPDATE_PLAYER, plan.updates).rowcount
                                 != len(plan.updates)):
                raise _VersionConflict("a stored version differs")
            if plan.entries:
                conn.executemany(_INSERT_JOURNAL, plan.entries)
            if plan.trims:
                conn.executemany(_TRIM_JOURNAL, plan.trims)
            if plan.parts:
                _write_parts(conn, plan.parts)
            self._finish_transaction(conn)
        except (sqlite3.IntegrityError, _VersionConflict):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return None
        self._seqs.update(plan.seqs)
        return [request.commit.version + 1 for request in batch]

    def _plan(self, conn: sqlite3.Connection, batch: list[_Request]) -> _Plan:
        """The rows of a batch, statement by statement: player rows, journal entries with
        their sequence numbers, retention trims, and one coalesced write of parts per
        player (in commit order)."""
        now = time.time()
        plan = _Plan()
        for request in batch:
            commit = request.commit
            pid = commit.player_id
            if commit.whole:
                plan.parts[pid] = (commit.version > 0, dict(commit.parts))
            elif commit.parts:
                plan.parts.setdefault(pid, (False, {}))[1].update(commit.parts)
            if commit.version == 0:
                plan.inserts.append((pid, commit.document, now, commit.due, commit.outbox))
            else:
                plan.updates.append((commit.document, now, commit.due, commit.outbox, pid,
                                     commit.version))
            if request.journal is not None:
                seq = self._next_seq(conn, plan.seqs, pid)
                plan.entries.append((pid, seq, *request.journal))
                trim = self._trim_to(seq)
                if trim:
                    plan.trims.append((pid, trim))
        return plan

    def _trim_to(self, seq: int) -> int:
        """Retention in chunks: the entry numbered ``seq`` deletes every entry up to the
        returned seq (0: none). A player keeps at least the last ``journal_limit`` entries
        and at most ``_trim_chunk`` more; the oldest ones go ``_trim_chunk + 1`` at a time,
        in one range delete every that many commits, not one per commit."""
        over = seq - self.journal_limit
        return over if over > 0 and over % (self._trim_chunk + 1) == 0 else 0

    def _next_seq(self, conn: sqlite3.Connection, seqs: dict[str, int], pid: str) -> int:
        last = seqs.get(pid)
        if last is None:
            last = self._seqs.get(pid)
        if last is None:
            ((found,),) = conn.execute(_LAST_SEQ, (pid,)).fetchall()
            last = found or 0
        seqs[pid] = last + 1
        return last + 1

    def _write_batch(self, conn: sqlite3.Connection, batch: list[_Request]) -> list[_Outcome]:
        """Write ``batch`` in one transaction; each commit's outcome, in order."""
        outcomes: list[_Outcome]
        try:
            if conn.in_transaction:
                # the ROLLBACK after an earlier failure failed too: end that transaction
                # now (if this fails again, this batch fails and the next one tries)
                conn.execute("ROLLBACK")
            fast = self._write_fast(conn, batch)
            if fast is not None:
                self.transactions += 1
                self.committed += len(batch)
                return fast
            # a commit broke a rule: redo the batch commit by commit, so only it fails
            log.debug("group commit of %d rejected a commit; retrying one by one", len(batch))
            for request in batch:  # the careful path reads sequences from the table
                self._seqs.pop(request.commit.player_id, None)
            conn.execute("BEGIN IMMEDIATE")
            outcomes = [self._write_one(conn, request) for request in batch]
            self._finish_transaction(conn)
        except Exception as exc:  # any failure here must still answer every caller
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")  # if this fails, the next batch tries again
            # the cached journal seqs may be off if the COMMIT failed after writing (an
            # ambiguous commit): read them from the table again
            self._seqs.clear()
            outcomes = []
            for _ in batch:
                error = StoreError(
                    f"{self.path}: the transaction of {len(batch)} commit(s) failed: {exc}"
                )
                error.__cause__ = exc
                outcomes.append(error)
        else:
            self.transactions += 1
            self.committed += sum(1 for outcome in outcomes if isinstance(outcome, int))
        return outcomes

    def _settle_on_loop(self, batch: list[_Request], outcomes: list[_Outcome]) -> None:
        loop = self._loop
        if loop is not None:
            # RuntimeError: the loop is closed, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, batch, outcomes)

    def _finish_transaction(self, conn: sqlite3.Connection) -> None:
        """COMMIT (a separate method so tests can make it fail)."""
        conn.execute("COMMIT")

    def _write_one(self, conn: sqlite3.Connection, request: _Request) -> _Outcome:
        """Apply one commit inside a SAVEPOINT; a failure undoes only this commit.

        An error that ended the whole transaction (SQLite rolls back by itself on some
        I/O errors) is raised, failing the batch.
        """
        commit = request.commit
        conn.execute("SAVEPOINT one")
        try:
            version = self._apply(conn, commit, request.journal)
        except (sqlite3.Error, _VersionConflict) as exc:
            if not conn.in_transaction:
                raise
            conn.execute("ROLLBACK TO one")
            conn.execute("RELEASE one")
            return self._commit_error(commit, exc)
        conn.execute("RELEASE one")
        return version

    def _apply(self, conn: sqlite3.Connection, commit: Commit, row: _JournalRow | None) -> int:
        """The statements of one commit: player row, journal entry, retention."""
        now = time.time()
        if commit.version == 0:
            try:
                conn.execute(_INSERT_PLAYER, (commit.player_id, commit.document, now,
                                              commit.due, commit.outbox))
            except sqlite3.IntegrityError as exc:
                raise _VersionConflict("the player already exists") from exc
        else:
            cursor = conn.execute(_UPDATE_PLAYER, (commit.document, now, commit.due,
                                                   commit.outbox, commit.player_id,
                                                   commit.version))
            if cursor.rowcount != 1:
                raise _VersionConflict("the stored version differs or the player is missing")
        if commit.whole:
            _write_parts(conn, {commit.player_id: (commit.version > 0, dict(commit.parts))})
        elif commit.parts:
            _write_parts(conn, {commit.player_id: (False, dict(commit.parts))})
        if row is not None:
            ((last,),) = conn.execute(_LAST_SEQ, (commit.player_id,)).fetchall()
            seq = (last or 0) + 1
            conn.execute(_INSERT_JOURNAL, (commit.player_id, seq, *row))
            trim = self._trim_to(seq)
            if trim:
                conn.execute(_TRIM_JOURNAL, (commit.player_id, trim))
        return commit.version + 1

    def _commit_error(self, commit: Commit, exc: Exception) -> StoreError:
        """The StoreError a caller gets when only its own commit failed."""
        if isinstance(exc, _VersionConflict):
            message = (
                f"version conflict for player {commit.player_id!r}: the commit replaces "
                f"version {commit.version}, but {exc}"
            )
        elif isinstance(exc, sqlite3.IntegrityError) and commit.journal is not None:
            message = (
                f"event {commit.journal.event_id!r} of player {commit.player_id!r} is "
                f"already in the journal ({exc})"
            )
        else:
            message = f"{self.path}: commit of player {commit.player_id!r} failed: {exc}"
        error = StoreError(message)
        error.__cause__ = exc
        return error
