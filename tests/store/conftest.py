"""Every test of this folder runs once per SQLite writer (``loop``: group transactions on
the event loop, checkpoints on their own thread; ``thread``: a writer thread): the stores
they build without ``writer=`` take it from the environment variable (as the service's
does), so both writers keep the same guarantees (SPEC §5.2, docs/operating.md)."""

from __future__ import annotations

import pytest

from quest_runtime.store.sqlite import WRITER_ENV


@pytest.fixture(autouse=True, params=["loop", "thread"])
def sqlite_writer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    writer: str = request.param
    monkeypatch.setenv(WRITER_ENV, writer)
    return writer
