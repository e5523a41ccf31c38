"""``SQLiteStore`` under storage faults: a full disk (a real tmpfs), I/O errors on COMMIT,
on ROLLBACK and on reads, an error reported after the data was committed, and
checkpoints that fail. What must hold (SPEC §5.2, docs/operating.md "Store faults"):

- a failed commit raises ``StoreError`` (never anything else) and leaves nothing of its
  transaction behind;
- every commit that returned a version is in the file: while the disk is full, after
  space comes back, and after close and reopen (``PRAGMA integrity_check`` is ``ok``);
- the same store object takes commits again as soon as the fault is gone (no reopen).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import orjson
import pytest
from store_faults import Faults, SmallDisk, inject, is_disk_full

from quest_runtime.store import Commit, JournalEntry, SQLiteStore, StoreError


def doc(player: str, version: int, size: int = 0) -> bytes:
    return orjson.dumps({"player": player, "v": version, "pad": os.urandom(size).hex()})


def commit(player: str, version: int, event_id: str | None = None, size: int = 0) -> Commit:
    journal = None
    if event_id is not None:
        result = orjson.dumps({"event": event_id})
        journal = JournalEntry(player, event_id, "near", 1.0, {}, result, "d")
    return Commit(player, doc(player, version + 1, size), version, journal)


class Ledger:
    """What the callers were told: every commit that returned a version."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.documents: dict[str, bytes] = {}
        self.events: dict[str, set[str]] = {}
        self.failures: list[StoreError] = []

    async def send(self, store: SQLiteStore, player: str, event_id: str,
                   size: int = 0) -> bool:
        c = commit(player, self.versions.get(player, 0), event_id, size)
        try:
            version = await store.commit(c)
        except StoreError as exc:
            self.failures.append(exc)
            return False
        self.versions[player] = version
        self.documents[player] = c.document
        self.events.setdefault(player, set()).add(event_id)
        return True

    async def check(self, store: SQLiteStore) -> None:
        for player, version in self.versions.items():
            assert await store.read_player(player) == (self.documents[player], version)
            journaled = {e["event_id"] for e in await store.journal(player, 10_000)}
            assert self.events[player] <= journaled, f"{player}: acknowledged commits lost"


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


# -- a full disk ----------------------------------------------------------------------


async def test_full_disk_fails_commits_and_the_same_store_resumes(
    small_disk: SmallDisk,
) -> None:
    """A small autocheckpoint makes SQLite checkpoint inside every few COMMITs, so the
    checkpoints fail on the full disk too; commits that still fit in the WAL succeed,
    the rest fail with StoreError; nothing acknowledged is lost."""
    path = small_disk.path / "state.db"
    store = SQLiteStore(path, journal_limit=100_000, wal_autocheckpoint=8)
    await store.open()
    ledger = Ledger()
    try:
        for n in range(40):
            assert await ledger.send(store, f"p{n % 8}", f"warm-{n}", size=1500)
        small_disk.fill()
        assert small_disk.available() == 0
        for n in range(400):
            await ledger.send(store, f"p{n % 8}" if n % 2 else f"new{n}", f"full-{n}",
                              size=1500)
            if len(ledger.failures) >= 20:
                break
        assert ledger.failures, "the full disk never failed a commit"
        assert all(is_disk_full(e) for e in ledger.failures), ledger.failures[0]
        await ledger.check(store)  # reads work while the disk is full

        small_disk.free()
        for n in range(40):  # the same store object, no reopen
            assert await ledger.send(store, f"p{n % 8}", f"after-{n}", size=1500)
        await ledger.check(store)
    finally:
        await store.close()
    assert integrity(path) == "ok"
    reopened = SQLiteStore(path)
    await reopened.open()
    try:
        await ledger.check(reopened)
    finally:
        await reopened.close()


async def test_closing_on_a_full_disk_keeps_every_commit(small_disk: SmallDisk) -> None:
    """The checkpoint of ``close()`` (and an explicit one) fails on the full disk: the
    WAL stays, and the next open finds everything in it."""
    path = small_disk.path / "state.db"
    store = SQLiteStore(path, journal_limit=100_000)
    await store.open()
    ledger = Ledger()
    for n in range(60):
        assert await ledger.send(store, f"p{n % 6}", f"e{n}", size=3000)
    small_disk.fill()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="full"):
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        other.close()
    await ledger.check(store)
    await store.close()
    assert (small_disk.path / "state.db-wal").exists(), "the WAL was checkpointed anyway"

    small_disk.free()
    reopened = SQLiteStore(path)
    await reopened.open()
    try:
        await ledger.check(reopened)
    finally:
        await reopened.close()
    assert integrity(path) == "ok"


# -- injected I/O errors ----------------------------------------------------------------


async def test_io_errors_for_a_while_then_recovery(tmp_path: Path) -> None:
    faults = Faults()
    store = inject(SQLiteStore(tmp_path / "state.db"), faults)
    await store.open()
    faults.commit_errors = 5
    ledger = Ledger()
    try:
        for n in range(30):
            await asyncio.gather(*(ledger.send(store, f"p{i}", f"e{n}-{i}") for i in range(4)))
        assert faults.fired == 5 and ledger.failures
        assert all("disk I/O error" in str(e) for e in ledger.failures)
        assert not any(isinstance(e.__cause__, StoreError) for e in ledger.failures)
        await ledger.check(store)
        assert sum(len(v) for v in ledger.events.values()) == 120 - len(ledger.failures)
    finally:
        await store.close()


async def test_a_failed_rollback_does_not_wedge_the_writer(tmp_path: Path) -> None:
    """COMMIT fails, and so does the ROLLBACK after it: the writer connection is still
    inside that transaction. The next batch must roll it back and go on, not fail with
    "cannot start a transaction within a transaction" for ever."""
    faults = Faults()
    store = inject(SQLiteStore(tmp_path / "state.db"), faults)
    await store.open()
    faults.commit_errors = faults.rollback_errors = 1
    ledger = Ledger()
    try:
        assert not await ledger.send(store, "alex", "e1")
        for n in range(2, 6):
            assert await ledger.send(store, "alex", f"e{n}"), ledger.failures[-1]
        await ledger.check(store)
        journaled = [e["event_id"] for e in await store.journal("alex", 10)]
        assert journaled == ["e2", "e3", "e4", "e5"]
    finally:
        await store.close()


async def test_an_error_after_the_commit_leaves_a_consistent_store(tmp_path: Path) -> None:
    """An error reported after the data is durable (as a failing checkpoint in the
    commit's WAL hook would be): the caller gets StoreError although the commit is
    stored. The store must stay consistent: the committed version is what a read
    returns, and commits made from it go on (the journal numbering included)."""
    faults = Faults()
    store = inject(SQLiteStore(tmp_path / "state.db", journal_limit=3), faults)
    await store.open()
    try:
        assert await store.commit(commit("alex", 0, "e1")) == 1
        faults.commit_after_errors = 1
        with pytest.raises(StoreError, match="disk I/O error"):
            await store.commit(commit("alex", 1, "e2"))
        stored = await store.read_player("alex")
        assert stored is not None and stored[1] == 2  # it was committed after all
        assert await store.find_result("alex", "e2") == orjson.dumps({"event": "e2"})
        for n, version in enumerate(range(2, 6), start=3):
            assert await store.commit(commit("alex", version, f"e{n}")) == version + 1
        entries = await store.journal("alex", 10)
        assert [e["event_id"] for e in entries] == ["e4", "e5", "e6"]
        assert [e["seq"] for e in entries] == [4, 5, 6]
    finally:
        await store.close()


async def test_read_errors_are_store_errors(tmp_path: Path) -> None:
    faults = Faults()
    store = inject(SQLiteStore(tmp_path / "state.db"), faults)
    await store.open()
    try:
        await store.commit(commit("alex", 0, "e1"))
        for read in (store.read_player("alex"), store.find_result("alex", "e1"),
                     store.journal("alex", 5), store.players()):
            faults.read_errors = 1
            with pytest.raises(StoreError, match="disk I/O error"):
                await read
        assert await store.read_player("alex") is not None
    finally:
        await store.close()
