"""Every SQLite test of this folder runs once per SQLite writer (``loop``: group
transactions on the event loop, checkpoints on their own thread; ``thread``: a writer
thread): the stores they build without ``writer=`` take it from the environment variable
(as the service's does), so both writers keep the same guarantees (SPEC §5.2,
docs/operating.md). The PostgreSQL tests (``postgres/``) have no SQLite writer: they run
once."""

from __future__ import annotations

import pytest

from quest_runtime.store.sqlite import WRITER_ENV

WRITERS = ["loop", "thread"]


@pytest.fixture(autouse=True)
def sqlite_writer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    writer: str | None = getattr(request, "param", None)
    if writer is not None:
        monkeypatch.setenv(WRITER_ENV, writer)
    return writer


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    in_postgres = "postgres" in metafunc.definition.path.parts
    if "sqlite_writer" in metafunc.fixturenames and not in_postgres:
        metafunc.parametrize("sqlite_writer", WRITERS, indirect=True)
