"""``PostgresStore``: the networked state store, shared by several quest-runtime instances.

Any instance may serve any player at any moment, so no instance holds the truth: every
commit is a *conditional write* on the player's row version, validated by the database.

How a commit travels:

1. ``commit()`` (on the event loop) encodes the commit's row (``_row``: the journal
   effects as JSON, the parts as two arrays), puts it on a queue with a future and
   awaits it; ``commit_many()`` (a rule-event batch) queues all its rows as one item.
2. One of ``writers`` writer tasks takes everything queued (every commit that arrived
   while it ran its previous transaction) and sends it as ONE transaction (group
   commit): rows sorted by player id (stable, so one player's commits keep their order,
   and two instances lock rows in the same order: no deadlock), one ``qr_commit(...)``
   call per commit, all pipelined (``executemany`` in pipeline mode: one round trip).
3. ``qr_commit`` (a PL/pgSQL function, migrations 2-4) is one commit: if the ``event_id``
   is already in the player's journal it answers 2 (``DuplicateEvent``); if the player last
   played a newer level generation than this instance serves, 3 (``LevelsBehind``:
   postgres_levels.py); else the player row
   is written only if its version is the one the commit replaces (``UPDATE ... WHERE
   version = $n``, or ``INSERT ... ON CONFLICT DO NOTHING`` for a new player) and it
   answers 1 (``VersionConflict``) when no row matched; else it writes the parts, the
   journal entry (its seq kept on the player row) and trims the journal to the last
   ``journal_limit`` entries, and answers 0. A commit that answers 1 or 2 changed
   nothing. A concurrent commit of the same player on another instance waits for the
   row lock, then sees the new version: it answers 1. A commit that leaves undelivered
   results NOTIFYs ``qr_outbox`` (delivered only if the transaction commits).
4. If every commit answered 0 the transaction commits, and each caller's await returns
   its new row version. Otherwise the transaction is rolled back and sent again without
   the failed commits and without the later commits of their players (a player's later
   commit was computed on the failed one's state); the failed ones get their
   ``VersionConflict``/``DuplicateEvent``. The runtime (``runtime.py``, ``shared``)
   then forgets its cached state, re-reads, replays or re-runs the engine.
5. A transaction the database refuses as a whole (connection lost, server restarting,
   deadlock) fails every commit of it with ``StoreError`` (a deadlock or serialization
   failure is first retried); the pool replaces broken connections, so the store
   resumes by itself when the database is back.

Reads (``read_player``, ``find_result(s)``, ``journal``, ``wakeups``) each take a pooled
connection for one statement; ``read_player`` joins the core and its parts in one
statement (one snapshot).

Timers across instances: ``claim_due`` (``FOR UPDATE SKIP LOCKED`` and a lease) and
``listen`` (LISTEN ``qr_outbox``) serve the scheduler's sweep (scheduler.py).

Tables: the same as SQLite's (sqlite.py): ``players`` (document, version, next timer
``due`` in a partial index, ``outbox`` mark, last journal ``seq``, the claim lease, the
last played level generation), ``player_parts``, ``journal`` (``event_id`` unique per
player), plus ``qr_levels`` (published level generations). The schema is versioned in the
``qr_schema_version`` table; ``MIGRATIONS`` lists one step per version and ``open()``
applies the missing ones in one transaction under an advisory lock (instances starting
together migrate once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson

from quest_runtime.store.base import (
    Commit,
    DuplicateEvent,
    LevelsBehind,
    StoreError,
    VersionConflict,
    Wakeup,
    join_parts,
    journal_dict,
)

try:  # an optional import so that SQLite-only installs still import the store package
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg_pool import AsyncConnectionPool
except ImportError:  # pragma: no cover - psycopg is a dependency
    psycopg = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# -- schema ---------------------------------------------------------------------------

#: The NOTIFY channel of commits that leave undelivered results (payload: player id).
OUTBOX_CHANNEL = "qr_outbox"
#: The NOTIFY channel of published level generations (payload: the generation).
LEVELS_CHANNEL = "qr_levels"

_V1_TABLES = (
    """CREATE TABLE players (
        player_id TEXT PRIMARY KEY,
        document BYTEA NOT NULL,
        version BIGINT NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        due DOUBLE PRECISION,
        outbox BOOLEAN NOT NULL DEFAULT FALSE,
        seq BIGINT NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX players_due ON players (due) WHERE due IS NOT NULL",
    "CREATE INDEX players_outbox ON players (player_id) WHERE outbox",
    """CREATE TABLE player_parts (
        player_id TEXT NOT NULL,
        part TEXT NOT NULL,
        value BYTEA NOT NULL,
        PRIMARY KEY (player_id, part)
    )""",
    """CREATE TABLE journal (
        player_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        event_id TEXT,
        event_type TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        effects BYTEA NOT NULL,
        result BYTEA NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (player_id, seq)
    )""",
    "CREATE UNIQUE INDEX journal_event_id ON journal (player_id, event_id) "
    "WHERE event_id IS NOT NULL",
)

_V2_COMMIT_FUNCTION = (
    """CREATE OR REPLACE FUNCTION qr_commit(
        p_player TEXT, p_document BYTEA, p_version BIGINT, p_due DOUBLE PRECISION,
        p_outbox BOOLEAN, p_whole BOOLEAN, p_names TEXT[], p_values BYTEA[],
        p_event_id TEXT, p_event_type TEXT, p_received DOUBLE PRECISION, p_effects BYTEA,
        p_result BYTEA, p_digest TEXT, p_limit INTEGER) RETURNS INTEGER
    LANGUAGE plpgsql AS $fn$
    DECLARE
        v_seq BIGINT;
        v_step INTEGER := CASE WHEN p_event_type IS NULL THEN 0 ELSE 1 END;
        v_now DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
    BEGIN
        IF p_event_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM journal WHERE player_id = p_player AND event_id = p_event_id)
        THEN
            RETURN 2;
        END IF;
        IF p_version = 0 THEN
            INSERT INTO players (player_id, document, version, updated_at, due, outbox, seq)
            VALUES (p_player, p_document, 1, v_now, p_due, p_outbox, v_step)
            ON CONFLICT (player_id) DO NOTHING
            RETURNING seq INTO v_seq;
        ELSE
            UPDATE players SET document = p_document, version = version + 1,
                updated_at = v_now, due = p_due, outbox = p_outbox, seq = seq + v_step
            WHERE player_id = p_player AND version = p_version
            RETURNING seq INTO v_seq;
        END IF;
        IF v_seq IS NULL THEN
            RETURN 1;
        END IF;
        IF p_whole AND p_version > 0 THEN
            DELETE FROM player_parts WHERE player_id = p_player;
        END IF;
        IF cardinality(p_names) > 0 THEN
            INSERT INTO player_parts (player_id, part, value)
            SELECT p_player, u.n, u.v FROM unnest(p_names, p_values) AS u(n, v)
            WHERE u.v IS NOT NULL
            ON CONFLICT (player_id, part) DO UPDATE SET value = EXCLUDED.value;
            DELETE FROM player_parts WHERE player_id = p_player AND part IN (
                SELECT u.n FROM unnest(p_names, p_values) AS u(n, v) WHERE u.v IS NULL);
        END IF;
        IF v_step = 1 THEN
            INSERT INTO journal (player_id, seq, event_id, event_type, received_at,
                                 effects, result, digest)
            VALUES (p_player, v_seq, p_event_id, p_event_type, p_received, p_effects,
                    p_result, p_digest);
            IF v_seq > p_limit THEN
                DELETE FROM journal WHERE player_id = p_player AND seq <= v_seq - p_limit;
            END IF;
        END IF;
        RETURN 0;
    END
    $fn$""",
)

_V3_TIMERS_ACROSS_INSTANCES = (
    "ALTER TABLE players ADD COLUMN claimed_until DOUBLE PRECISION",
    _V2_COMMIT_FUNCTION[0].replace(
        "        RETURN 0;\n    END",
        "        IF p_outbox THEN\n"
        "            PERFORM pg_notify('" + OUTBOX_CHANNEL + "', p_player);\n"
        "        END IF;\n"
        "        RETURN 0;\n    END"),
)
"""Version 3: a lease on due players (``claim_due``: instances sweeping for due timers
do not all fire the same player) and a NOTIFY on every commit that leaves results
undelivered, so the instance holding the player's stream pushes them (``listen``)."""

_OLD_SIGNATURE = ("TEXT, BYTEA, BIGINT, DOUBLE PRECISION, BOOLEAN, BOOLEAN, TEXT[], BYTEA[], "
                  "TEXT, TEXT, DOUBLE PRECISION, BYTEA, BYTEA, TEXT, INTEGER")

_V4_LEVEL_GENERATIONS = (
    """CREATE TABLE qr_levels (
        generation BIGINT PRIMARY KEY,
        published_at DOUBLE PRECISION NOT NULL,
        files BYTEA NOT NULL
    )""",
    "ALTER TABLE players ADD COLUMN level_generation BIGINT NOT NULL DEFAULT 0",
    f"DROP FUNCTION qr_commit({_OLD_SIGNATURE})",
    _V3_TIMERS_ACROSS_INSTANCES[1]
    .replace("p_result BYTEA, p_digest TEXT, p_limit INTEGER)",
             "p_result BYTEA, p_digest TEXT, p_limit INTEGER, p_generation BIGINT)")
    .replace("        IF p_version = 0 THEN\n",
             "        IF p_version > 0 AND EXISTS (SELECT 1 FROM players WHERE player_id = "
             "p_player AND level_generation > p_generation) THEN\n"
             "            RETURN 3;\n"
             "        END IF;\n"
             "        IF p_version = 0 THEN\n")
    .replace("INSERT INTO players (player_id, document, version, updated_at, due, outbox, seq)\n"
             "            VALUES (p_player, p_document, 1, v_now, p_due, p_outbox, v_step)",
             "INSERT INTO players (player_id, document, version, updated_at, due, outbox, seq,\n"
             "                                 level_generation)\n"
             "            VALUES (p_player, p_document, 1, v_now, p_due, p_outbox, v_step,\n"
             "                    p_generation)")
    .replace("outbox = p_outbox, seq = seq + v_step\n",
             "outbox = p_outbox, seq = seq + v_step,\n"
             "                level_generation = p_generation\n"),
)
"""Version 4: level generations published to the database (``publish_levels``), and each
player's last played generation: a commit from an instance serving an older generation
answers 3 (``LevelsBehind``) and changes nothing, so nobody goes back a version."""

MIGRATIONS: Sequence[Sequence[str]] = (_V1_TABLES, _V2_COMMIT_FUNCTION,
                                       _V3_TIMERS_ACROSS_INSTANCES, _V4_LEVEL_GENERATIONS)
"""Schema steps in order: ``MIGRATIONS[n - 1]`` (its statements) turns version n - 1 into n."""

SCHEMA_VERSION = len(MIGRATIONS)

#: Any key: the advisory lock that serialises migrations of instances starting together.
_MIGRATION_LOCK = 0x51_52_00_01

_COMMIT = (
    "SELECT qr_commit(%s, %s, %s, %s, %s, %s, %s::text[], %s::bytea[], %s, %s, %s, %s, "
    "%s, %s, %s, %s)"
)
_READ_PLAYER = (
    "SELECT p.document, p.version, "
    "COALESCE(array_agg(pp.part) FILTER (WHERE pp.part IS NOT NULL), '{}'), "
    "COALESCE(array_agg(pp.value) FILTER (WHERE pp.part IS NOT NULL), '{}') "
    "FROM players p LEFT JOIN player_parts pp ON pp.player_id = p.player_id "
    "WHERE p.player_id = %s GROUP BY p.player_id"
)
_WAKEUPS = "SELECT player_id, due, outbox FROM players WHERE due IS NOT NULL OR outbox"

#: A whole transaction refused for a reason that a second try may not meet.
_RETRY_TRANSACTION = 3

_Outcome = int | StoreError


class _Queued:
    """One caller's commits (one for ``commit``, several for ``commit_many``), their
    encoded rows and the future awaiting their outcomes."""

    __slots__ = ("commits", "future", "rows")

    def __init__(self, commits: list[Commit], rows: list[tuple[Any, ...]],
                 future: asyncio.Future[list[_Outcome]]) -> None:
        self.commits = commits
        self.rows = rows
        self.future = future


def _require_driver() -> None:
    if psycopg is None:  # pragma: no cover
        raise StoreError("the postgres store needs psycopg: pip install 'psycopg[binary]' "
                         "psycopg-pool")


class PostgresStore:
    """A ``StateStore`` on a PostgreSQL database shared by several instances (module
    docstring). ``shared`` tells the runtime that other processes write the same rows.

    ``transactions`` and ``committed`` count write transactions and successful commits
    since ``open()``; ``conflicts`` counts commits answered VersionConflict or
    DuplicateEvent.
    """

    shared = True

    #: The commit statement; a test-only subclass swaps it for a blind write.
    commit_sql = _COMMIT

    def __init__(self, dsn: str, *, journal_limit: int = 200, pool_size: int = 8,
                 writers: int | None = None, connect_timeout: float = 5.0,
                 group_limit: int | None = None) -> None:
        if journal_limit < 1:
            raise ValueError(f"journal_limit must be at least 1, got {journal_limit!r}")
        if pool_size < 2:
            raise ValueError(f"pool_size must be at least 2, got {pool_size!r}")
        if writers is None:
            writers = min(2, pool_size - 1)
        if not 1 <= writers < pool_size:
            raise ValueError(f"writers must be from 1 to pool_size - 1, got {writers!r}")
        self.dsn = dsn
        self.journal_limit = journal_limit
        self.pool_size = pool_size
        self.writers = writers
        self.connect_timeout = connect_timeout
        #: Most callers' commits in one transaction (None: all that are queued; 1: one
        #: transaction per event, the benchmark's baseline).
        self.group_limit = group_limit
        #: The level generation this instance serves (``postgres_levels.LevelSync``);
        #: every commit carries it, and a player who played a newer one is refused.
        self.level_generation = 0
        #: Awaited by a caller whose commit was refused as ``LevelsBehind``, before it
        #: gets the error (and the runtime re-runs the event): reload the levels.
        self.on_levels_behind: Callable[[], Awaitable[None]] | None = None
        self.transactions = 0
        self.committed = 0
        self.conflicts = 0
        self._pool: AsyncConnectionPool | None = None
        self._queue: asyncio.Queue[_Queued | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._state = "new"

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect the pool, create or migrate the schema, start the writers. Raises
        StoreError when the database cannot be reached or its schema is newer."""
        _require_driver()
        if self._state != "new":
            raise StoreError(f"this PostgresStore is {self._state}; a store opens once")
        self._state = "open"
        pool = AsyncConnectionPool(
            self.dsn, min_size=self.pool_size, max_size=self.pool_size, open=False,
            timeout=self.connect_timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(self.connect_timeout))},
)
        try:
            await pool.open(wait=True, timeout=self.connect_timeout)
        except Exception as exc:
            await pool.close()
            self._state = "closed"
            raise StoreError(f"cannot connect to the database: {exc}") from exc
        self._pool = pool
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise
        self._tasks = [asyncio.create_task(self._run_writer(), name=f"quest-pg-writer-{n}")
                       for n in range(self.writers)]

    async def close(self) -> None:
        """Finish the queued commits, stop the writers, close the pool. Idempotent."""
        if self._state == "closed":
            return
        self._state = "closing"
        self._queue.put_nowait(None)  # each writer stopping puts it back for the next
        for task in self._tasks:
            if task.get_name() == "quest-pg-listen":
                task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        self._state = "closed"

    async def ping(self) -> bool:
        """True when a pooled connection answers (``/ready``)."""
        pool = self._pool
        if pool is None or self._state != "open":
            return False
        try:  # a short wait: a load balancer's health check must not hang on an outage
            async with pool.connection(timeout=min(1.0, self.connect_timeout)) as conn:
                await conn.execute("SELECT 1")
        except Exception:  # any failure to answer is "not ready"
            return False
        return True

    async def _migrate(self, steps: Sequence[Sequence[str]] = MIGRATIONS) -> None:
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS qr_schema_version (version INTEGER NOT NULL)")
            row = await (await conn.execute("SELECT max(version) FROM qr_schema_version")
                         ).fetchone()
            found = (row[0] if row else None) or 0
            if found > len(steps):
                raise StoreError(
                    f"the database's schema version {found} is newer than this "
                    f"quest-runtime knows ({len(steps)}); upgrade quest-runtime")
            for version in range(found + 1, len(steps) + 1):
                for statement in steps[version - 1]:
                    await conn.execute(statement)
                await conn.execute("DELETE FROM qr_schema_version")
                await conn.execute("INSERT INTO qr_schema_version VALUES (%s)", (version,))

    @contextlib.asynccontextmanager
    async def _connection(self) -> Any:
        """A pooled connection; any database or pool failure becomes StoreError."""
        pool = self._pool
        if pool is None or self._state not in ("open", "closing"):
            raise StoreError(f"the store is not open ({self._state})")
        try:
            async with pool.connection() as conn:
                yield conn
        except StoreError:
            raise
        except (psycopg.Error, OSError) as exc:
            raise StoreError(f"database error: {exc}") from exc
        except Exception as exc:  # psycopg_pool.PoolTimeout and friends
            if type(exc).__module__.startswith("psycopg"):
                raise StoreError(f"database unavailable: {exc}") from exc
            raise

    # -- commits ------------------------------------------------------------------------

    def _row(self, commit: Commit) -> tuple[Any, ...]:
        names = list(commit.parts)
        values = [commit.parts[n] for n in names]
        entry = commit.journal
        if entry is None:
            journal: tuple[Any, ...] = (None, None, None, None, None, None)
        else:
            try:
                effects = orjson.dumps(entry.effects)
            except TypeError as exc:
                raise StoreError(f"journal effects of player {commit.player_id!r} are not "
                                 f"JSON: {exc}") from exc
            journal = (entry.event_id, entry.event_type, entry.received_at, effects,
                       entry.result, entry.digest)
        return (commit.player_id, commit.document, commit.version, commit.due,
                commit.outbox, commit.whole, names, values, *journal, self.journal_limit,
                self.level_generation)

    async def commit(self, commit: Commit) -> int:
        [outcome] = await self._enqueue([commit])
        if isinstance(outcome, StoreError):
            raise outcome
        return outcome

    async def commit_many(self, commits: list[Commit]) -> list[int | StoreError]:
        if not commits:
            return []
        return await self._enqueue(commits)

    async def _enqueue(self, commits: list[Commit]) -> list[_Outcome]:
        if self._state != "open":
            raise StoreError(f"the store is not open for commits ({self._state})")
        rows = [self._row(c) for c in commits]
        future: asyncio.Future[list[_Outcome]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Queued(commits, rows, future))
        outcomes = await future
        hook = self.on_levels_behind
        if hook is not None and any(isinstance(o, LevelsBehind) for o in outcomes):
            await hook()  # newer levels first; the runtime then re-runs the event
        return outcomes

    async def _run_writer(self) -> None:
        stop = False
        while not stop:
            first = await self._queue.get()
            batch: list[_Queued] = []
            item: _Queued | None = first
            while True:
                if item is None:
                    stop = True
                else:
                    batch.append(item)
                if self._queue.empty() or (self.group_limit is not None
                                           and len(batch) >= self.group_limit):
                    break
                item = self._queue.get_nowait()
            if batch:
                await self._write(batch)
            if stop:
                self._queue.put_nowait(None)

    async def _write(self, batch: list[_Queued]) -> None:
        """One group transaction for ``batch``; every caller gets its outcomes."""
        flat = [(q, i) for q in batch for i in range(len(q.commits))]
        flat.sort(key=lambda qi: qi[0].commits[qi[1]].player_id)  # stable: order per player
        outcomes: dict[tuple[int, int], _Outcome] = {}
        try:
            await self._transaction(flat, outcomes)
        except Exception as exc:  # every caller must be answered
            for q, i in flat:
                if (id(q), i) not in outcomes:
                    error = StoreError(f"the transaction of {len(flat)} commit(s) failed: "
                                       f"{exc}")
                    error.__cause__ = exc
                    outcomes[(id(q), i)] = error
        for q in batch:
            if not q.future.done():
                q.future.set_result([outcomes[(id(q), i)] for i in range(len(q.commits))])

    async def _transaction(self, flat: list[tuple[_Queued, int]],
                           outcomes: dict[tuple[int, int], _Outcome]) -> None:
        """Send ``flat`` in one transaction until every commit left in it succeeds
        (module docstring, steps 2-4)."""
        tries = 0
        while flat:
            try:
                statuses = await self._send([q.rows[i] for q, i in flat])
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
                tries += 1
                if tries >= _RETRY_TRANSACTION:
                    raise
                continue
            if all(s == 0 for s in statuses):
                self.transactions += 1
                self.committed += len(flat)
                for q, i in flat:
                    outcomes[(id(q), i)] = q.commits[i].version + 1
                return
            failed: set[str] = set()
            keep: list[tuple[_Queued, int]] = []
            for (q, i), status in zip(flat, statuses, strict=True):
                commit = q.commits[i]
                if status != 0 or commit.player_id in failed:
                    failed.add(commit.player_id)
                    outcomes[(id(q), i)] = self._failure(commit, status)
                    self.conflicts += 1
                else:
                    keep.append((q, i))
            flat = keep

    async def _send(self, rows: list[tuple[Any, ...]]) -> list[int]:
        """The commit statements of ``rows`` in one transaction, pipelined; COMMIT only
        if all answered 0, else ROLLBACK. Returns each one's status."""
        async with self._connection() as conn:
            statuses: list[int] = []
            async with conn.transaction() as tx:
                async with conn.cursor() as cur:
                    await cur.executemany(self.commit_sql, rows, returning=True)
                    while True:
                        row = await cur.fetchone()
                        statuses.append(int(row[0]) if row else 0)
                        if not cur.nextset():
                            break
                if any(statuses):
                    raise psycopg.Rollback(tx)
            return statuses

    def _failure(self, commit: Commit, status: int) -> StoreError:
        pid = commit.player_id
        if status == 2 and commit.journal is not None:
            return DuplicateEvent(f"event {commit.journal.event_id!r} of player {pid!r} is "
                                  "already in the journal")
        if status == 3:
            return LevelsBehind(f"player {pid!r} last played a newer level generation than "
                                f"{self.level_generation}, the one this instance serves")
        if status == 0:  # a later commit of a player whose earlier commit failed
            return VersionConflict(f"version conflict for player {pid!r}: an earlier commit "
                                   "of the same batch failed")
        return VersionConflict(f"version conflict for player {pid!r}: the commit replaces "
                               f"version {commit.version}, which is no longer stored")

    # -- reads --------------------------------------------------------------------------

    async def _fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any]
                     ) -> list[tuple[Any, ...]]:
        async with self._connection() as conn:
            cur = await conn.execute(sql, params)
            return list(await cur.fetchall())

    async def read_player(self, player_id: str) -> tuple[bytes, int] | None:
        rows = await self._fetch(_READ_PLAYER, (player_id,))
        if not rows:
            return None
        core, version, names, values = rows[0]
        parts = {n: bytes(v) for n, v in zip(names, values, strict=True)}
        return join_parts(bytes(core), parts), int(version)

    async def find_result(self, player_id: str, event_id: str) -> bytes | None:
        rows = await self._fetch(
            "SELECT result FROM journal WHERE player_id = %s AND event_id = %s",
            (player_id, event_id))
        return bytes(rows[0][0]) if rows else None

    async def find_results(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        rows = await self._fetch(
            "SELECT j.player_id, j.event_id, j.result FROM journal j "
            "JOIN unnest(%s::text[], %s::text[]) AS k(p, e) "
            "ON j.player_id = k.p AND j.event_id = k.e",
            ([p for p, _ in unique], [e for _, e in unique]))
        return {(p, e): bytes(r) for p, e, r in rows}

    async def journal(self, player_id: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT seq, event_id, event_type, received_at, effects, digest, result "
            "FROM journal WHERE player_id = %s ORDER BY seq DESC LIMIT %s",
            (player_id, max(limit, 0)))
        rows.reverse()
        return [journal_dict(*row) for row in rows]

    async def players(self) -> list[str]:
        rows = await self._fetch("SELECT player_id FROM players ORDER BY player_id", ())
        return [str(r[0]) for r in rows]

    async def wakeups(self) -> list[Wakeup]:
        return [Wakeup(str(p), due, bool(outbox))
                for p, due, outbox in await self._fetch(_WAKEUPS, ())]

    # -- timers across instances -------------------------------------------------------

    async def claim_due(self, now: float, lease: float, limit: int = 500) -> list[str]:
        """Claim players whose next timer is due by ``now`` and that no instance claimed
        in the last ``lease`` seconds (``FOR UPDATE SKIP LOCKED``: instances sweeping at
        once take different players). A claim only spares work: the firing itself is a
        conditional write, so a timer fires once even if two instances fire it."""
        rows = await self._fetch(
            "UPDATE players SET claimed_until = %(until)s WHERE player_id IN ("
            " SELECT player_id FROM players WHERE due IS NOT NULL AND due <= %(now)s"
            " AND (claimed_until IS NULL OR claimed_until < %(now)s)"
            " ORDER BY due LIMIT %(limit)s FOR UPDATE SKIP LOCKED) RETURNING player_id",
            {"now": now, "until": now + lease, "limit": limit})
        return [str(r[0]) for r in rows]

    async def outbox_players(self) -> list[str]:
        """Players with undelivered results (partial index ``players_outbox``)."""
        return [str(r[0]) for r in await self._fetch(
            "SELECT player_id FROM players WHERE outbox", ())]

    # -- level generations ----------------------------------------------------------------

    async def publish_levels(self, files: Mapping[str, bytes]) -> int:
        """Store ``files`` (relative path -> content) as the next level generation and
        NOTIFY every instance; returns the generation."""
        blob = orjson.dumps({path: content.decode() for path, content in files.items()})
        async with self._connection() as conn, conn.transaction():
            await conn.execute("LOCK TABLE qr_levels IN EXCLUSIVE MODE")
            row = await (await conn.execute(
                "INSERT INTO qr_levels (generation, published_at, files) SELECT "
                "COALESCE(max(generation), 0) + 1, %s, %s FROM qr_levels "
                "RETURNING generation", (time.time(), blob))).fetchone()
            assert row is not None
            generation = int(row[0])
            await conn.execute("SELECT pg_notify(%s, %s)", (LEVELS_CHANNEL, str(generation)))
        return generation

    async def published_levels(self, after: int = 0) -> tuple[int, dict[str, bytes]] | None:
        """The newest published generation and its files, if newer than ``after``."""
        rows = await self._fetch(
            "SELECT generation, files FROM qr_levels WHERE generation > %s "
            "ORDER BY generation DESC LIMIT 1", (after,))
        if not rows:
            return None
        generation, blob = rows[0]
        files = orjson.loads(bytes(blob))
        return int(generation), {path: text.encode() for path, text in files.items()}

    def listen_levels(self, notified: Callable[[str | None], None]) -> None:
        """Like ``listen``, for published level generations (payload: the generation)."""
        self._tasks.append(asyncio.create_task(self._listen(notified, LEVELS_CHANNEL),
                                               name="quest-pg-listen"))

    def listen(self, notified: Callable[[str | None], None]) -> None:
        """Call ``notified(player_id)`` for every commit (of any instance) that leaves
        undelivered results, on a connection of its own; after it (re)connects,
        ``notified(None)``: notifications may have been missed, sweep. Stops with
        ``close()``."""
        self._tasks.append(asyncio.create_task(self._listen(notified),
                                               name="quest-pg-listen"))

    async def _listen(self, notified: Callable[[str | None], None],
                      channel: str = OUTBOX_CHANNEL) -> None:
        while self._state == "open":
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=max(1, int(self.connect_timeout)))
            except (psycopg.Error, OSError) as exc:
                log.debug("LISTEN connection failed: %s", exc)
                await asyncio.sleep(1.0)
                continue
            try:
                async with conn:
                    await conn.execute(f"LISTEN {channel}")
                    notified(None)
                    async for note in conn.notifies():
                        notified(note.payload)
            except (psycopg.Error, OSError) as exc:
                log.debug("LISTEN connection lost: %s", exc)
                await asyncio.sleep(1.0)
