"""The ``StateStore`` contract on ``PostgresStore``: the very tests that ``MemoryStore``
and ``SQLiteStore`` pass (tests/store/test_memory_store.py, test_store_batches.py) run
here against a real PostgreSQL database, plus what only a database server has: the
schema version table and its migrations."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest

from quest_runtime.store.base import StoreError
from quest_runtime.store.postgres import SCHEMA_VERSION, PostgresStore

STORE_TESTS = Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_postgres_contract_{name}",
                                                  STORE_TESTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_shared = _load("test_memory_store")
_batches = _load("test_store_batches")
CONTRACT: dict[str, Any] = {
    name: test for module in (_shared, _batches) for name, test in vars(module).items()
    if name.startswith("test_") and "store" in getattr(test, "__code__", test).co_varnames
    and "memory" not in name and "index" not in name
}
globals().update(CONTRACT)  # collected here, with this module's ``store`` fixture


@pytest.fixture
async def store(dsn: str) -> AsyncIterator[PostgresStore]:
    instance = PostgresStore(dsn, journal_limit=_shared.JOURNAL_LIMIT)
    await instance.open()
    yield instance
    await instance.close()


def test_the_contract_is_all_there() -> None:
    assert len(CONTRACT) >= 12, sorted(CONTRACT)


async def test_open_migrates_once_and_records_the_version(dsn: str) -> None:
    for _ in range(2):  # a second instance finds the schema current
        store = PostgresStore(dsn)
        await store.open()
        await store.close()
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT version FROM qr_schema_version").fetchall()
    assert rows == [(SCHEMA_VERSION,)]


async def test_a_newer_schema_is_refused(dsn: str) -> None:
    store = PostgresStore(dsn)
    await store.open()
    await store.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE qr_schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer"):
        await PostgresStore(dsn).open()


async def test_an_unreachable_database_is_a_store_error() -> None:
    store = PostgresStore("host=127.0.0.1 port=1 user=nobody dbname=none",
                          connect_timeout=1.0)
    with pytest.raises(StoreError, match="cannot connect"):
        await store.open()
