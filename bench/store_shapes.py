"""What a rule event's write costs SQLite in each table shape: the store's against a change log.

    .venv/bin/python bench/store_shapes.py [--repeat 5] [--events 60000] [--group 64]

A design experiment for issue 12 (Deliver 1), on raw ``sqlite3`` with the store's own
schema (``store.sqlite.migrate``), statements and retention rule, WAL, ``synchronous =
NORMAL``, SQLite's checkpoints on the same connection (so their CPU is counted). Each
event writes what the HTTP bench's ``near`` event writes: a 286-byte core document, one
41-byte part, one journal entry (its effects, no ``event_id``); ``--players`` players
take turns, ``--group`` events per transaction (the service's group commit), journals
kept at the last 200 entries per player as the store keeps them. Shapes:

1. ``store``: what ``SQLiteStore`` writes today: the ``players`` row, the ``journal`` row
   (its table and ``(player_id, seq)`` index), the part (``player_parts``), retention
   trims; and ``store, no journal``, the same without the journal row and its trims
   (what the journal's share is); ``store, clustered``, the journal as one B-tree in
   ``(player_id, seq)`` order (``WITHOUT ROWID``), and ``store, slots``, the journal's
   rowid made ``player slot << 32 | seq`` (each player's entries adjacent, no second
   index): two layouts that keep a player's entries together; ``store, chunks of 8``,
   the journal as each player's newest entries in one row (appended to, in the same
   kind of table as the parts) sealed into a chunk row every 8 entries, retention
   deleting whole chunks: one row written per event instead of an index entry; ``store,
   tail in row``, the same tail kept in the player's own ``players`` row (a column beside
   the core document, which every event rewrites anyway) and sealed into a chunk row every
   8 entries: no journal row at all for 7 events in 8 (the writer keeps each tail in
   memory, as it keeps each player's last seq; a replayable ``event_id`` would still need
   an index row of its own, which the plugin never sends);
2. ``log``: one row per event appended to a change log (one B-tree, always its last
   page) and nothing else: the lower bound of a log design;
3. ``log+fold N``: as 2, and every N events the log is folded into the tables of 1 in one
   transaction (each player's last core and parts once, its journal rows, its trims) and
   deleted: what a change log folded into the snapshot every N changes would cost.

Figures are CPU µs per event (``time.process_time``: the kernel's share of the writes
included, other processes' not), medians of ``--repeat`` runs with the shapes interleaved
run by run, and each shape's ratio to ``store``. Reads, the runtime and HTTP are not in
it: docs/operating.md "Performance" tells how the store's share of a request was found.
"""

from __future__ import annotations

import argparse
import functools
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import orjson

from quest_runtime.store import sqlite as store

CORE = b'{"v":2,"player_id":"p0",' + b"x" * 260 + b"}"
PART = b'{"status":"issued","progress":2' + b"0" * 9 + b"}"
EFFECTS = b'{"tasks_progressed":["reach_npc_0"],"listeners_fired":["greet_npc_0"]}'
DIGEST = "532a49345a22c042"
TASKS = 10
JOURNAL_LIMIT = 200
CHUNK = 8  # entries per sealed chunk of the "chunks" journal
#: Where a shape writes its journal: the store's table, none, the two player-ordered
#: tables, or per-player tail rows sealed into chunks (the module doc).
Journal = Literal["store", "none", "clustered", "slots", "chunks", "row"]
_LOG = ("CREATE TABLE change_log (seq INTEGER PRIMARY KEY, player_id TEXT NOT NULL, "
        "document BLOB NOT NULL, part TEXT, value BLOB, event_type TEXT NOT NULL, "
        "received_at REAL NOT NULL, effects BLOB NOT NULL, digest TEXT NOT NULL)")
_APPEND = ("INSERT INTO change_log (player_id, document, part, value, event_type, "
           "received_at, effects, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def _entry(seq: int, event_type: str, received_at: float, effects: bytes,
           digest: str) -> bytes:
    """One journal entry as a line of a chunked journal's tail or chunk."""
    return orjson.dumps([seq, event_type, received_at, orjson.Fragment(effects),
                         digest]) + b"\n"


def _chunk_trim(seq: int) -> int | None:
    """The chunked journals' retention: when entry ``seq`` starts a new chunk, the chunks
    ending at or before the returned seq go (None: none yet)."""
    return seq - 1 - JOURNAL_LIMIT - CHUNK if seq > JOURNAL_LIMIT + CHUNK else None


class Shape:
    """One database and its write path; ``write(group)`` is one transaction of events."""

    def __init__(self, path: Path, players: int, fold: int | None,
                 journal: Journal = "store") -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute(f"PRAGMA cache_size = -{store.WRITER_CACHE_KIB:d}")
        store.migrate(self.conn, str(path))
        if journal == "clustered":  # the journal as one B-tree in (player_id, seq) order
            self.conn.execute("DROP TABLE journal")
            self.conn.execute(
                "CREATE TABLE journal (player_id TEXT NOT NULL, seq INTEGER NOT NULL, "
                "event_id TEXT, event_type TEXT NOT NULL, received_at REAL NOT NULL, "
                "effects BLOB NOT NULL, result BLOB NOT NULL, digest TEXT NOT NULL, "
                "PRIMARY KEY (player_id, seq)) WITHOUT ROWID")
            self.conn.execute("CREATE UNIQUE INDEX journal_event_id ON journal "
                              "(player_id, event_id) WHERE event_id IS NOT NULL")
        if journal == "slots":  # rowid = player slot << 32 | seq: one B-tree, by player
            self.conn.execute("DROP TABLE journal")
            self.conn.execute(
                "CREATE TABLE journal (id INTEGER PRIMARY KEY, player_id TEXT NOT NULL, "
                "event_id TEXT, event_type TEXT NOT NULL, received_at REAL NOT NULL, "
                "effects BLOB NOT NULL, result BLOB NOT NULL, digest TEXT NOT NULL)")
            self.conn.execute("CREATE UNIQUE INDEX journal_event_id ON journal "
                              "(player_id, event_id) WHERE event_id IS NOT NULL")
        if journal == "row":  # the newest entries in the player's row, sealed every CHUNK
            self.conn.execute("ALTER TABLE players ADD COLUMN journal_tail BLOB NOT NULL "
                              "DEFAULT x''")
        if journal in ("chunks", "row"):  # the newest entries in one row, sealed every CHUNK
            if journal == "chunks":
                self.conn.execute("CREATE TABLE journal_tail (player_id TEXT PRIMARY KEY, "
                                  "entries BLOB NOT NULL) WITHOUT ROWID")
            self.conn.execute("CREATE TABLE journal_chunks (player_id TEXT NOT NULL, "
                              "last_seq INTEGER NOT NULL, entries BLOB NOT NULL, "
                              "PRIMARY KEY (player_id, last_seq)) WITHOUT ROWID")
        self.conn.execute(_LOG)
        self.players = [f"p{i}" for i in range(players)]
        self.seqs = dict.fromkeys(self.players, 0)
        self.tails = dict.fromkeys(self.players, b"")  # the "row" journal's, in memory
        self.versions = dict.fromkeys(self.players, 1)
        self.slot = {p: i + 1 for i, p in enumerate(self.players)}
        self.fold, self.logged, self.journal = fold, 0, journal
        # the store's own retention rule (an unopened store: no file, no thread)
        self.trim_to = store.SQLiteStore(path, journal_limit=JOURNAL_LIMIT)._trim_to
        self.conn.execute("BEGIN")
        self.conn.executemany(store._INSERT_PLAYER,
                              [(p, CORE, 0.0, None, 0) for p in self.players])
        self.conn.executemany(store._PUT_PART, [
            (p, f"session/tasks/reach_npc_{t}", PART) for p in self.players
            for t in range(TASKS)])
        self.conn.execute("COMMIT")

    def _tables(self, events: list[tuple[str, int, float]]) -> None:
        """The store's statements for ``events`` (player, task, time), inside a
        transaction: each player's last core and parts once, every journal row."""
        core: dict[str, tuple[bytes, float]] = {}
        parts: dict[tuple[str, str], bytes] = {}
        journal, trims = [], []
        for pid, task, now in events:
            core[pid] = (CORE, now)
            parts[(pid, f"session/tasks/reach_npc_{task}")] = PART
            self.seqs[pid] += 1
            seq = self.seqs[pid]
            journal.append((pid, seq, None, "near", now, EFFECTS, b"", DIGEST))
            if trim := self.trim_to(seq):
                trims.append((pid, trim))
        versions = self.versions
        if self.journal == "row":  # the player rows carry the journal: written together
            self._in_row(core, journal)
        else:
            self.conn.executemany(store._UPDATE_PLAYER, [
                (doc, now, None, 0, pid, versions[pid]) for pid, (doc, now) in core.items()])
        for pid in core:
            versions[pid] += 1
        if self.journal == "chunks":
            self._chunked(journal)
        elif self.journal == "slots":
            slot = self.slot
            self.conn.executemany(
                "INSERT INTO journal (id, player_id, event_id, event_type, received_at, "
                "effects, result, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(slot[r[0]] << 32 | r[1], *r[:1], *r[2:]) for r in journal])
            if trims:
                self.conn.executemany("DELETE FROM journal WHERE id BETWEEN ? AND ?",
                                      [(slot[p] << 32, slot[p] << 32 | t) for p, t in trims])
        elif self.journal in ("store", "clustered"):  # the same statements
            self.conn.executemany(store._INSERT_JOURNAL, journal)
            if trims:
                self.conn.executemany(store._TRIM_JOURNAL, trims)
        self.conn.executemany(store._PUT_PART, [(p, n, v) for (p, n), v in parts.items()])

    def _chunked(self, journal: list[tuple[Any, ...]]) -> None:
        """Each entry appended to its player's tail row; every ``CHUNK`` entries the tail
        is sealed as a chunk row and starts again (retention deletes whole chunks)."""
        appends, seals, starts, trims = [], [], [], []
        for pid, seq, _, event_type, received_at, effects, _, digest in journal:
            entry = _entry(seq, event_type, received_at, effects, digest)
            if seq % CHUNK == 1:
                if seq > 1:
                    seals.append((pid, seq - 1, pid))
                starts.append((pid, entry))
                if (trim := _chunk_trim(seq)) is not None:
                    trims.append((pid, trim))
            else:
                appends.append((entry, pid))
        if seals:  # the full tail, as a chunk, before a new tail replaces it
            self.conn.executemany(
                "INSERT INTO journal_chunks (player_id, last_seq, entries) "
                "SELECT ?, ?, entries FROM journal_tail WHERE player_id = ?", seals)
        if starts:
            self.conn.executemany(
                "INSERT INTO journal_tail (player_id, entries) VALUES (?, ?) ON CONFLICT "
                "(player_id) DO UPDATE SET entries = excluded.entries", starts)
        if appends:
            self.conn.executemany("UPDATE journal_tail SET entries = entries || ? "
                                  "WHERE player_id = ?", appends)
        self._drop_chunks(trims)

    def _drop_chunks(self, trims: list[tuple[str, int]]) -> None:
        if trims:
            self.conn.executemany(
                "DELETE FROM journal_chunks WHERE player_id = ? AND last_seq <= ?", trims)

    def _in_row(self, core: dict[str, tuple[bytes, float]],
                journal: list[tuple[Any, ...]]) -> None:
        """Each player's row rewritten once with its core document and its journal tail
        (the entries since the last seal); a tail of ``CHUNK`` entries is sealed into a
        chunk row first, and retention deletes whole chunks."""
        tails, seals, trims = self.tails, [], []
        for pid, seq, _, event_type, received_at, effects, _, digest in journal:
            if seq % CHUNK == 1 and seq > 1:
                seals.append((pid, seq - 1, tails[pid]))
                tails[pid] = b""
                if (trim := _chunk_trim(seq)) is not None:
                    trims.append((pid, trim))
            tails[pid] += _entry(seq, event_type, received_at, effects, digest)
        versions = self.versions
        self.conn.executemany(
            "UPDATE players SET document = ?, version = version + 1, updated_at = ?, "
            "due = ?, outbox = ?, wake_known = 1, journal_tail = ? "
            "WHERE player_id = ? AND version = ?",
            [(doc, now, None, 0, tails[pid], pid, versions[pid])
             for pid, (doc, now) in core.items()])
        if seals:
            self.conn.executemany("INSERT INTO journal_chunks (player_id, last_seq, entries) "
                                  "VALUES (?, ?, ?)", seals)
        self._drop_chunks(trims)

    def write(self, events: list[tuple[str, int, float]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        if self.fold is None:
            self._tables(events)
        else:
            self.conn.executemany(_APPEND, [
                (pid, CORE, f"session/tasks/reach_npc_{task}", PART, "near", now, EFFECTS,
                 DIGEST) for pid, task, now in events])
        self.conn.execute("COMMIT")
        if self.fold:
            self.logged += len(events)
            if self.logged >= self.fold:
                self._fold()

    def _fold(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        rows = self.conn.execute(
            "SELECT seq, player_id, part, received_at FROM change_log ORDER BY seq").fetchall()
        self._tables([(pid, int(part.rsplit("_", 1)[1]), now) for _, pid, part, now in rows])
        self.conn.execute("DELETE FROM change_log WHERE seq <= ?", (rows[-1][0],))
        self.conn.execute("COMMIT")
        self.logged = 0

    def close(self) -> None:
        self.conn.close()


def run(shape: Callable[[Path], Shape], events: int, group: int, players: int) -> float:
    """CPU µs per event of ``events`` events after a warm-up that fills the journals."""
    with tempfile.TemporaryDirectory(prefix="quest-shapes-") as tmp:
        db = shape(Path(tmp) / "s.db")
        try:
            n = 0

            def batch() -> list[tuple[str, int, float]]:
                nonlocal n
                out = [(db.players[(n + k) % players], (n + k) // players % TASKS,
                        time.time()) for k in range(group)]
                n += group
                return out

            for _ in range((JOURNAL_LIMIT + 20) * players // group):  # journals full
                db.write(batch())
            started = time.process_time()
            for _ in range(events // group):
                db.write(batch())
            return 1e6 * (time.process_time() - started) / (events // group * group)
        finally:
            db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--group", type=int, default=64)
    parser.add_argument("--players", type=int, default=256)
    parser.add_argument("--folds", type=int, nargs="*", default=[1_000, 10_000])
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.group < 1 or args.events < args.group or args.players < 1:
        parser.error("--repeat, --group and --players must be >= 1, --events >= --group")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    shapes: dict[str, Callable[[Path], Shape]] = {
        "store": lambda p: Shape(p, args.players, None),
        "store, no journal": lambda p: Shape(p, args.players, None, "none"),
        "store, clustered": lambda p: Shape(p, args.players, None, "clustered"),
        "store, slots": lambda p: Shape(p, args.players, None, "slots"),
        f"store, chunks of {CHUNK}": lambda p: Shape(p, args.players, None, "chunks"),
        "store, tail in row": lambda p: Shape(p, args.players, None, "row"),
        "log": lambda p: Shape(p, args.players, 0),
        **{f"log+fold {f}": functools.partial(Shape, players=args.players, fold=f)
           for f in args.folds},
    }
    out: dict[str, list[float]] = {name: [] for name in shapes}
    for r in range(args.repeat):
        for name, shape in shapes.items():
            out[name].append(run(shape, args.events, args.group, args.players))
        print(f"run {r + 1}/{args.repeat}: " + ", ".join(
            f"{n} {v[-1]:.1f}" for n, v in out.items()), flush=True)
    base = statistics.median(out["store"])
    print(f"\n{args.players} players, {args.group} events per transaction, journals at "
          f"{JOURNAL_LIMIT} entries")
    print(f"{'shape':<16}  {'CPU µs/event':>12}  {'ratio':>6}  runs")
    for name, values in out.items():
        med = statistics.median(values)
        print(f"{name:<16}  {med:>12.1f}  {med / base:>6.2f}  "
              + " ".join(f"{v:.1f}" for v in values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
