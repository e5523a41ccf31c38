"""Commit throughput of ``SQLiteStore``: one commit at a time vs group commit.

    .venv/bin/python bench/store_bench.py [--runs 3] [--seconds 0.6]

For ``synchronous`` NORMAL and FULL, measures commits/s when one caller awaits each
commit before the next (every commit is its own transaction) and when 100 callers
commit concurrently (the writer thread batches them into one transaction), and prints
the median of ``--runs`` runs, the mean batch size, the event-loop CPU per commit and
the group/sequential ratio. Each run writes a fresh database in a temporary directory,
with ~600-byte documents and one journal entry per commit, as the runtime does.

The host is noisy (see PERFORMANCE-NOTES.md): compare figures from the same run only.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

from quest_runtime.store import Commit, JournalEntry, SQLiteStore

DOCUMENT = b'{"flags":{},"vars":{},"items":{},"session":' + b'"' + b"x" * 550 + b'"}'
RESULT = b'{"ok":true,"effects":[{"type":"narration","text":"You found the wood."}]}'
CONCURRENCY = 100


def make_commit(player: str, version: int, event_no: int) -> Commit:
    """A commit like the runtime's: whole document plus one journal entry."""
    entry = JournalEntry(
        player_id=player,
        event_id=f"{player}-e{event_no}",
        event_type="block_break",
        received_at=time.time(),
        effects={"progressed": ["fetch_wood"], "completed": []},
        result=RESULT,
        digest="sha256:0f1e2d",
    )
    return Commit(player, DOCUMENT, version, entry)


async def sequential(store: SQLiteStore, deadline: float) -> int:
    """One caller, each commit awaited before the next; players round-robin."""
    versions = [0] * CONCURRENCY
    done = 0
    while time.perf_counter() < deadline:
        slot = done % CONCURRENCY
        versions[slot] = await store.commit(make_commit(f"p{slot}", versions[slot], done))
        done += 1
    return done


async def concurrent(store: SQLiteStore, deadline: float) -> int:
    """``CONCURRENCY`` callers, one player each, committing back to back."""

    async def player(slot: int) -> int:
        version = 0
        while time.perf_counter() < deadline:
            version = await store.commit(make_commit(f"p{slot}", version, version))
        return version

    return sum(await asyncio.gather(*(player(slot) for slot in range(CONCURRENCY))))


Mode = Callable[[SQLiteStore, float], Awaitable[int]]


async def one_run(
    mode: Mode, synchronous: Literal["NORMAL", "FULL"], seconds: float
) -> tuple[float, float, float]:
    """commits/s, mean batch size and loop CPU µs per commit of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db", synchronous=synchronous)
        await store.open()
        try:
            cpu = time.thread_time()
            start = time.perf_counter()
            commits = await mode(store, start + seconds)
            elapsed = time.perf_counter() - start
            cpu = time.thread_time() - cpu
        finally:
            await store.close()
    return commits / elapsed, store.committed / max(store.transactions, 1), cpu / commits * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.6, help="length of one run")
    args = parser.parse_args()
    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}")
    print(f"median of {args.runs} runs of {args.seconds} s; {CONCURRENCY}-way for group commit")
    print("batch: commits per transaction; loop µs: event-loop CPU per commit")
    print(f"{'synchronous':<12}{'mode':<12}{'commits/s':>11}{'batch':>8}{'loop µs':>9}")
    for synchronous in ("NORMAL", "FULL"):
        rates: dict[str, float] = {}
        for name, mode in (("sequential", sequential), ("group", concurrent)):
            runs = [await one_run(mode, synchronous, args.seconds) for _ in range(args.runs)]
            rate = statistics.median(r[0] for r in runs)
            batch = statistics.median(r[1] for r in runs)
            loop_us = statistics.median(r[2] for r in runs)
            rates[name] = rate
            print(f"{synchronous:<12}{name:<12}{rate:>11,.0f}{batch:>8.1f}{loop_us:>9.1f}")
        print(f"{synchronous:<12}{'ratio':<12}{rates['group'] / rates['sequential']:>10.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
