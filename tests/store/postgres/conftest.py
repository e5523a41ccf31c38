"""Fixtures of the PostgreSQL tests: one throwaway cluster per test session (never a
mock, never skipped: a missing PostgreSQL fails the run), a fresh database per test."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))

from pg_cluster import Cluster
from pg_procs import instances

from quest_runtime.store.postgres import PostgresStore

__all__ = ["cluster", "dsn", "instances", "pg_store"]


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    made = Cluster().start()
    try:
        yield made
    finally:
        made.destroy()


@pytest.fixture
def dsn(cluster: Cluster) -> str:
    return cluster.new_database()


@pytest.fixture
async def pg_store(dsn: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(dsn, journal_limit=5)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
