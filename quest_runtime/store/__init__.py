"""Durable state: per-player documents and journals behind one small interface (SPEC §5).

The runtime talks to a ``StateStore`` only:

- ``open()`` once at start-up, ``close()`` at shutdown (it flushes pending commits);
- ``read_player()`` when a player's state is not in memory;
- ``find_result()`` before processing an event that carries an ``event_id``;
- ``commit()`` after each state change, answering the plugin only when it returns.

``MemoryStore`` keeps everything in dicts (preview tool, tests); ``SQLiteStore`` is the
embedded default: one WAL file, group commit (on the event loop, or a writer
thread with ``synchronous=FULL``), a versioned schema.
"""

from quest_runtime.store.base import Commit, JournalEntry, StateStore, StoreError
from quest_runtime.store.memory import MemoryStore
from quest_runtime.store.sqlite import SQLiteStore

__all__ = [
    "Commit",
    "JournalEntry",
    "MemoryStore",
    "SQLiteStore",
    "StateStore",
    "StoreError",
]
