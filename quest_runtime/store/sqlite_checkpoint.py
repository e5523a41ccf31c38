"""The WAL checkpointer of ``SQLiteStore(writer="loop")``: its own connection, its own
thread, so copying the WAL into the database file (and its fsyncs) never runs on the
event loop.

The loop's writer connection has ``wal_autocheckpoint = 0`` (SQLite never checkpoints
inside its COMMITs). After each group transaction the loop stores the connection's
``total_changes`` in ``Checkpointer.changes`` (an int assignment, no lock, no wake-up);
the thread looks at it every ``poll`` seconds and runs ``PRAGMA wal_checkpoint(PASSIVE)``
when the rows changed since its last checkpoint reach ``pages`` (the store's
``wal_autocheckpoint``: a changed row dirties about one page) or when anything changed
and ``idle`` seconds passed. PASSIVE never waits for the writer nor blocks it. When a
checkpoint ends, the loop's next BEGIN writes the WAL from its beginning again only if
no frame was appended meanwhile; so the thread checkpoints again at once, up to
``catch_up`` times, until a pass finds nothing new to copy. Each pass has fewer frames to
copy, so under a steady load the ``-wal`` file stays within a few times ``pages`` pages
(without the passes it grew 80x that in a test, and filled a small disk in CI), except
while a pass's fsync waits on a busy disk: commits go on into the WAL meanwhile. Commits
that leave no gap at all (one connection sending event after event: a commit every
0.4 ms, a pass ~1 ms) are never caught up: the WAL never restarted and grew ~30 MB/s. So
when the WAL still holds more than ``restart_frames`` frames after the passes, the thread
runs ``wal_checkpoint(RESTART)``: it holds the write lock while it copies the few frames
the last pass left (about a millisecond here; the loop's next BEGIN waits that long) and
the next BEGIN writes the WAL from its beginning, reusing the file. Only if that fails
too (a reader holding old frames) and the file grows past ``truncate_bytes``, the thread
runs ``wal_checkpoint(TRUNCATE)``, which cuts the file back to zero; truncating a 64 MiB
file held the write lock, and so the loop, 55-85 ms (docs/decisions.md "The WAL restarts
under gapless commits").

A failed checkpoint loses nothing: the WAL keeps every committed frame, the next attempt
catches up (docs/operating.md "Store faults"). Failures are logged at debug level.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Checkpointer:
    """A daemon thread that checkpoints ``path``'s WAL on a connection of its own."""

    def __init__(
        self,
        path: str,
        connect: Callable[[], sqlite3.Connection],
        *,
        pages: int,
        poll: float = 0.05,
        idle: float = 1.0,
        truncate_bytes: int = 64 << 20,
        restart_frames: int | None = None,
        catch_up: int = 4,
    ) -> None:
        self.path = path
        self.pages = pages
        self.poll = poll
        self.idle = idle
        self.truncate_bytes = truncate_bytes
        #: WAL frames beyond which a pass that could not catch up is followed by a
        #: RESTART checkpoint (default: twice ``pages``).
        self.restart_frames = 2 * pages if restart_frames is None else restart_frames
        self.catch_up = catch_up
        #: The loop writer's ``total_changes`` after its last transaction (set by the loop).
        self.changes = 0
        #: Checkpoints run (PASSIVE and TRUNCATE) and the ones that failed (observability).
        self.runs = 0
        self.failures = 0
        self._connect = connect
        self._stop = threading.Event()
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, name="quest-store-checkpoint",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> concurrent.futures.Future[None]:
        """Ask the thread to exit; it closes its connection last (SQLite then makes the
        closing checkpoint off the loop). The future is done once it has."""
        self._stop.set()
        return self._done

    def join(self) -> None:
        """Wait for the thread to end (after ``stop()``'s future is done: at once)."""
        self._thread.join(timeout=5)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            done_at, last = self.changes, time.monotonic()
            while not self._stop.wait(self.poll):
                changes = self.changes
                if changes == done_at:
                    continue
                now = time.monotonic()
                if changes - done_at < self.pages and now - last < self.idle:
                    continue
                frames = self._checkpoint(conn, "PASSIVE")
                for _ in range(self.catch_up):  # copy what the loop appended meanwhile
                    if frames is None:
                        break
                    more = self._checkpoint(conn, "PASSIVE")
                    if more == frames:  # nothing new: the next BEGIN restarts the WAL
                        break
                    frames = more
                if frames is not None and frames > self.restart_frames:
                    # the WAL did not restart (commits kept coming faster than a pass, or
                    # a BEGIN came while a reader held a frame): copy the last few frames
                    # with the writer held off for that moment, so the next BEGIN restarts
                    self._checkpoint(conn, "RESTART")
                done_at, last = changes, now
                if self._wal_size() > self.truncate_bytes:
                    self._checkpoint(conn, "TRUNCATE")
        except Exception:  # a connection that cannot open: the WAL just grows
            log.warning("%s: the checkpointer stopped", self.path, exc_info=True)
        finally:
            if conn is not None:
                try:
                    conn.close()
                except sqlite3.Error:
                    log.debug("%s: closing the checkpointer failed", self.path,
                              exc_info=True)
            self._done.set_result(None)

    def _checkpoint(self, conn: sqlite3.Connection, mode: str) -> int | None:
        """Run one checkpoint; the number of frames the WAL held and it copied, or None
        when it could not copy them all (a failure, or readers still need frames)."""
        self.runs += 1
        try:
            (row,) = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error as exc:
            self.failures += 1
            log.debug("%s: %s checkpoint failed (the WAL keeps everything): %s",
                      self.path, mode, exc)
            return None
        busy, frames, copied = row
        return int(frames) if not busy and frames == copied else None

    def _wal_size(self) -> int:
        try:
            return os.stat(self.path + "-wal").st_size
        except OSError:
            return 0
