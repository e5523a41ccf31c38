"""What only ``SQLiteStore`` promises: group commit, isolation of failures inside a batch,
durability across close, reopen and SIGKILL, and schema migrations.

Every test uses a real database file in ``tmp_path``. The shared contract (round trip,
versions, retention, ``find_result``) is in ``test_memory_store.py``.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pytest

from quest_runtime.store import Commit, JournalEntry, SQLiteStore, StoreError
from quest_runtime.store.sqlite import MIGRATIONS, SCHEMA_VERSION, migrate


def commit(player: str, version: int, event_id: str | None = None) -> Commit:
    journal = None
    if event_id is not None:
        result = orjson.dumps({"event": event_id})
        journal = JournalEntry(player, event_id, "chat", 1.0, {"flags": ["met"]}, result, "d")
    return Commit(player, orjson.dumps({"v": version + 1}), version, journal)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    instance = SQLiteStore(tmp_path / "state.db")
    await instance.open()
    yield instance
    await instance.close()


@pytest.fixture
async def thread_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """The writer-thread store: ``writer_held`` can hold its COMMIT while the loop runs
    (the loop writer's batch boundaries are tested in test_sqlite_loop_writer.py)."""
    instance = SQLiteStore(tmp_path / "state.db", writer="thread")
    await instance.open()
    yield instance
    await instance.close()


@asynccontextmanager
async def writer_held(store: SQLiteStore) -> AsyncIterator[None]:
    """Keep the writer thread inside the COMMIT of a one-commit batch until the block ends.

    Commits queued inside the block must all go into the next transaction: this is how
    the tests pin batch boundaries down instead of hoping for them.
    """
    entered, release = threading.Event(), threading.Event()
    finish = store._finish_transaction

    def held_finish(conn: sqlite3.Connection) -> None:
        store._finish_transaction = finish  # type: ignore[method-assign]
        entered.set()
        release.wait(timeout=10)
        finish(conn)

    # deliberate: the test swaps the store's method for a stand-in (it restores itself)
    store._finish_transaction = held_finish  # type: ignore[method-assign]
    [hold] = await queued(store, [commit("holder", 0)])
    try:
        while not entered.is_set():
            await asyncio.sleep(0.001)
        yield
    finally:
        release.set()
        await hold


async def queued(store: SQLiteStore, commits: list[Commit]) -> list[asyncio.Task[int]]:
    """Start one task per commit and let each put its commit on the writer's queue."""
    tasks = [asyncio.create_task(store.commit(c)) for c in commits]
    await asyncio.sleep(0)
    return tasks


# -- group commit ---------------------------------------------------------------------


async def test_concurrent_commits_share_few_transactions(store: SQLiteStore) -> None:
    versions = await asyncio.gather(*(store.commit(commit(f"p{i}", 0, "e")) for i in range(200)))
    assert versions == [1] * 200
    assert store.committed == 200
    assert store.transactions <= 20, f"{store.transactions} transactions for 200 commits"
    assert len(await store.players()) == 200


async def test_commits_arriving_during_a_transaction_form_the_next_one(
    thread_store: SQLiteStore,
) -> None:
    store = thread_store
    async with writer_held(store):
        tasks = await queued(store, [commit(f"p{i}", 0, "e") for i in range(50)])
    assert await asyncio.gather(*tasks) == [1] * 50
    assert (store.transactions, store.committed) == (2, 51)


async def test_a_failing_commit_does_not_fail_its_batch(thread_store: SQLiteStore) -> None:
    store = thread_store
    await store.commit(commit("alex", 0, "e1"))
    async with writer_held(store):
        tasks = await queued(
            store,
            [
                commit("p0", 0, "e1"),
                commit("alex", 1, "e1"),  # event id already in alex's journal
                commit("p1", 0, "e1"),
                commit("alex", 5, "e2"),  # stale version
                commit("p2", 0, "e1"),
            ],
        )
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes[0::2] == [1, 1, 1]
    assert isinstance(outcomes[1], StoreError)
    assert "already in the journal" in str(outcomes[1])
    assert isinstance(outcomes[3], StoreError)
    assert "version conflict" in str(outcomes[3])
    assert store.transactions == 3  # alex's first commit, the holder, one batch of five
    assert await store.read_player("alex") == (orjson.dumps({"v": 1}), 1)
    assert [row["event_id"] for row in await store.journal("alex", 10)] == ["e1"]


async def test_a_failed_transaction_fails_its_batch_and_the_store_recovers(
    store: SQLiteStore,
) -> None:
    finish = store._finish_transaction

    def broken_disk(conn: sqlite3.Connection) -> None:
        store._finish_transaction = finish  # type: ignore[method-assign]
        raise sqlite3.OperationalError("disk I/O error")

    # deliberate: the test swaps the store's method for a stand-in (it restores itself)
    store._finish_transaction = broken_disk  # type: ignore[method-assign]
    outcomes = await asyncio.gather(
        *(store.commit(commit(f"p{i}", 0, "e")) for i in range(10)), return_exceptions=True
    )
    failed = [o for o in outcomes if isinstance(o, StoreError)]
    assert failed, "the first batch should have failed"
    assert all("disk I/O error" in str(o) for o in failed)
    assert (await store.players()) == sorted(f"p{i}" for i, o in enumerate(outcomes) if o == 1)
    assert await store.commit(commit("p0", 0, "e")) == 1
    assert await store.read_player("p0") == (orjson.dumps({"v": 1}), 1)


# -- durability -----------------------------------------------------------------------


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "state.db", journal_limit=3)
    await first.open()
    version = 0
    for n in range(5):
        version = await first.commit(commit("alex", version, f"e{n}"))
    await first.close()

    second = SQLiteStore(tmp_path / "state.db", journal_limit=3)
    await second.open()
    try:
        assert await second.read_player("alex") == (orjson.dumps({"v": 5}), 5)
        assert [r["seq"] for r in await second.journal("alex", 10)] == [3, 4, 5]
        assert await second.find_result("alex", "e4") == orjson.dumps({"event": "e4"})
        assert await second.commit(commit("alex", 5, "e5")) == 6
    finally:
        await second.close()


async def test_close_flushes_queued_commits_and_refuses_new_ones(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db", synchronous="FULL", writer="thread")
    await store.open()
    async with writer_held(store):
        tasks = await queued(store, [commit(f"p{i}", 0, "e") for i in range(100)])
        closing = [asyncio.create_task(store.close()) for _ in range(2)]
        await asyncio.sleep(0)  # close() queued its stop behind the 100 commits
        with pytest.raises(StoreError, match="closing"):
            await store.commit(commit("late", 0))
    await asyncio.gather(*closing)
    assert [task.result() for task in tasks] == [1] * 100
    with pytest.raises(StoreError, match="closed"):
        await store.commit(commit("late", 0))
    with pytest.raises(StoreError, match="closed"):
        await store.players()
    assert not [t for t in threading.enumerate() if t.name == "quest-store-writer"]

    reopened = SQLiteStore(tmp_path / "state.db")
    await reopened.open()
    try:
        assert len(await reopened.players()) == 101  # with the writer_held "holder"
    finally:
        await reopened.close()


async def test_a_store_is_opened_once(store: SQLiteStore) -> None:
    with pytest.raises(StoreError, match="a store opens once"):
        await store.open()


KILLED_WRITER = """
import asyncio, sys
from quest_runtime.store import Commit, JournalEntry, SQLiteStore

async def player(store, slot):
    version = 0
    while True:
        entry = JournalEntry(f"p{slot}", f"e{version}", "tick", 0.0, {}, b"{}", "d")
        version = await store.commit(Commit(f"p{slot}", b"%d" % version, version, entry))
        print(slot, version, flush=True)

async def main():
    store = SQLiteStore(sys.argv[1], wal_autocheckpoint=50)
    await store.open()
    await asyncio.gather(*(player(store, slot) for slot in range(8)))

asyncio.run(main())
"""


async def test_sigkill_keeps_every_acknowledged_commit(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    acked: dict[str, int] = {}
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        lines: list[bytes] = []
        while len(lines) < 400:
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read().decode()}"
            lines.append(line)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lines += proc.stdout.read().splitlines(keepends=True)
        assert proc.returncode == -signal.SIGKILL
    for line in lines:
        if line.endswith(b"\n"):  # a cut-off last line was not fully acknowledged
            slot, acked_version = line.decode().split()
            acked[f"p{slot}"] = max(acked.get(f"p{slot}", 0), int(acked_version))

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        for player, version in acked.items():
            row = await store.read_player(player)
            assert row is not None and row[1] >= version, (player, row, version)
            assert row[0] == b"%d" % (row[1] - 1)
            assert await store.find_result(player, f"e{version - 1}") == b"{}"
    finally:
        await store.close()


# -- schema ---------------------------------------------------------------------------


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        return int(version)
    finally:
        conn.close()


async def test_an_empty_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    store = SQLiteStore(path)
    await store.open()
    await store.close()
    assert user_version(path) == SCHEMA_VERSION == len(MIGRATIONS)
    conn = sqlite3.connect(path)
    try:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    finally:
        conn.close()
    assert {"players", "journal", "journal_event_id"} <= names
    assert mode == "wal"


async def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    store = SQLiteStore(path)
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        await store.open()
    assert user_version(path) == SCHEMA_VERSION + 1
    with pytest.raises(StoreError, match="closed"):
        await store.commit(commit("alex", 0))


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages you are looking for" * 100)
    with pytest.raises(StoreError, match="is not a database") as caught:
        await SQLiteStore(path).open()
    assert str(path) in str(caught.value)


def test_migrate_applies_only_the_missing_steps(tmp_path: Path) -> None:
    calls: list[str] = []

    def v2_add_note(conn: sqlite3.Connection) -> None:
        calls.append("v2")
        conn.execute("ALTER TABLE players ADD COLUMN note TEXT")

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    try:
        migrate(conn, "old.db")  # today's schema
        migrate(conn, "old.db", [*MIGRATIONS, v2_add_note])
        migrate(conn, "old.db", [*MIGRATIONS, v2_add_note])  # nothing left to do
        columns = [row[1] for row in conn.execute("PRAGMA table_info(players)")]
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    finally:
        conn.close()
    assert calls == ["v2"]
    assert version == SCHEMA_VERSION + 1
    assert "note" in columns


def test_failing_step_leaves_the_file_unchanged(tmp_path: Path) -> None:
    def v2_broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("step failed")

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    try:
        migrate(conn, "old.db")
        with pytest.raises(sqlite3.OperationalError, match="step failed"):
            migrate(conn, "old.db", [*MIGRATIONS, v2_broken])
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    finally:
        conn.close()
    assert "half" not in names
    assert version == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"synchronous": "OFF"}, "synchronous", id="synchronous"),
        pytest.param({"journal_limit": 0}, "journal_limit", id="journal_limit"),
        pytest.param({"wal_autocheckpoint": -1}, "wal_autocheckpoint", id="checkpoint"),
    ],
)
def test_bad_settings_name_the_setting(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SQLiteStore("unused.db", **options)  # type: ignore[arg-type]  # deliberately bad values
