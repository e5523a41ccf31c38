"""Store fault injection for tests: a full disk and I/O errors, on the real ``SQLiteStore``.

Two tools, both driving the store's own code path (the writer thread, group commit,
rollback, the reader connection):

- ``Faults`` + ``inject(store, faults)``: the store's connections become a
  ``sqlite3.Connection`` subclass that consults ``faults`` before (and after) each
  statement, so a test can make the next N ``COMMIT``s fail with ``disk I/O error``
  (nothing written, as when the WAL write fails), fail them *after* the data is
  committed (an ambiguous commit: what a checkpoint error reported by the commit looks
  like), make ``ROLLBACK`` fail too, hold a ``COMMIT`` until the test lets it go, or
  make reads fail. The counters can be changed at any time, from the test's thread.
- ``small_disk`` (a context manager; the fixture is in ``tests/conftest.py``): a tmpfs
  of a few MB mounted for the test, with ``fill()`` (a ballast file up to ENOSPC) and
  ``free()``. Mounting needs root; without it the test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from quest_runtime.store.sqlite import SQLiteStore

#: Statements only the reader connection runs (the writer's reads are ``SELECT MAX``).
_READS = ("SELECT document", "SELECT result", "SELECT seq", "SELECT player_id",
          "SELECT j.")


@dataclass
class Faults:
    """What the injected connections break next; counters count down as faults fire."""

    commit_errors: int = 0
    """The next N ``COMMIT``s raise before running (the transaction stays open)."""
    commit_after_errors: int = 0
    """The next N ``COMMIT``s run, then raise: the data IS committed (ambiguous commit)."""
    rollback_errors: int = 0
    """The next N ``ROLLBACK``s raise before running."""
    read_errors: int = 0
    """The next N reads on the reader connection raise."""
    message: str = "disk I/O error"
    hold: threading.Event | None = None
    """When set, a ``COMMIT`` waits until the event is set (then clear ``hold``)."""
    holding: threading.Event = field(default_factory=threading.Event)
    """Set while a ``COMMIT`` is held."""
    fired: int = 0
    """Faults that fired so far."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _take(self, name: str) -> bool:
        with self.lock:
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                self.fired += 1
                return True
            return False

    def before(self, sql: str) -> None:
        head = sql.lstrip()[:16].upper()
        if head.startswith("COMMIT"):
            hold = self.hold
            if hold is not None:
                self.holding.set()
                hold.wait(timeout=30)
                self.holding.clear()
            if self._take("commit_errors"):
                raise sqlite3.OperationalError(self.message)
        elif head.startswith("ROLLBACK") and not head.startswith("ROLLBACK TO"):
            if self._take("rollback_errors"):
                raise sqlite3.OperationalError(self.message)
        elif sql.lstrip().startswith(_READS) and self._take("read_errors"):
            raise sqlite3.OperationalError(self.message)

    def after(self, sql: str) -> None:
        if sql.lstrip()[:6].upper() == "COMMIT" and self._take("commit_after_errors"):
            raise sqlite3.OperationalError(self.message)


def faulty_connection(faults: Faults) -> type[sqlite3.Connection]:
    """A ``sqlite3.Connection`` class whose ``execute`` consults ``faults``."""

    class FaultyConnection(sqlite3.Connection):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            faults.before(sql)
            cursor = super().execute(sql, parameters)
            faults.after(sql)
            return cursor

    return FaultyConnection


def inject(store: SQLiteStore, faults: Faults) -> SQLiteStore:
    """Make ``store`` (not opened yet) run its statements through ``faults``."""
    store.connection_factory = faulty_connection(faults)
    return store


# -- a small disk -----------------------------------------------------------------------


@dataclass
class SmallDisk:
    """A mounted tmpfs of ``size`` bytes at ``path``."""

    path: Path
    size: int
    ballast: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ballast = self.path / "ballast"

    def fill(self) -> int:
        """Write a ballast file until the disk is full; returns its size in bytes."""
        chunk = b"\0" * 65536
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (65536, 4096, 512, 1):
                piece = chunk[:size]
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, piece)
        finally:
            os.close(fd)
        return self.ballast.stat().st_size

    def free(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def available(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize


@contextlib.contextmanager
def small_disk(path: Path, size: int = 8 << 20) -> Iterator[SmallDisk]:
    """Mount a tmpfs of ``size`` bytes at ``path`` for the block; skip the test cleanly
    when this machine does not allow it (not root, no ``mount``, a container without
    CAP_SYS_ADMIN)."""
    if os.name != "posix" or shutil.which("mount") is None:
        pytest.skip("a full disk needs mount(8) to make a small tmpfs")
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a small tmpfs, and mounting one needs root")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700",
                           "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield SmallDisk(path, size)
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def is_disk_full(exc: BaseException) -> bool:
    text = str(exc)
    return "full" in text or os.strerror(errno.ENOSPC) in text
