"""Commit throughput of ``SQLiteStore``: the writer on the loop against the writer thread.

    .venv/bin/python bench/store_bench.py [--runs 5] [--seconds 0.6] [--writers loop thread]

For ``synchronous`` NORMAL and FULL, and each ``writer`` (``loop``: group transactions
on the event loop, checkpoints on their own thread; ``thread``: a writer thread),
measures commits/s when one caller awaits each commit before the next (``c=1``), when
64 callers commit concurrently (``c=64``: group commit) and when one caller commits
batches of 100 with ``commit_many`` (``batch100``), and prints the median of ``--runs``
runs, the mean group size, the event-loop CPU per commit and the loop/thread ratio.
Writers alternate run by run, so both see the same machine. Each run writes a fresh
database in a temporary directory, with ~600-byte documents and one journal entry per
commit, as the runtime does; the process is pinned to one CPU when there are two (the
service shares one core between its loop and the writer thread).

The host is noisy (see PERFORMANCE-NOTES.md): compare figures from the same run only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

from quest_runtime.store import Commit, JournalEntry, SQLiteStore
from quest_runtime.store.sqlite import Writer

DOCUMENT = b'{"flags":{},"vars":{},"items":{},"session":' + b'"' + b"x" * 550 + b'"}'
RESULT = b'{"ok":true,"effects":[{"type":"narration","text":"You found the wood."}]}'
CONCURRENCY = 64
BATCH = 100


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


async def batches(store: SQLiteStore, deadline: float) -> int:
    """One caller committing ``BATCH`` players at a time with ``commit_many``."""
    versions = [0] * BATCH
    done = 0
    while time.perf_counter() < deadline:
        commits = [make_commit(f"p{i}", versions[i], done + i) for i in range(BATCH)]
        outcomes = await store.commit_many(commits)
        for i, outcome in enumerate(outcomes):
            assert isinstance(outcome, int), outcome
            versions[i] = outcome
        done += BATCH
    return done


Mode = Callable[[SQLiteStore, float], Awaitable[int]]
MODES: dict[str, Mode] = {"c=1": sequential, f"c={CONCURRENCY}": concurrent,
                          f"batch{BATCH}": batches}


async def one_run(
    mode: Mode, synchronous: Literal["NORMAL", "FULL"], writer: Writer, seconds: float
) -> tuple[float, float, float]:
    """commits/s, mean group size and loop CPU µs per commit of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db", synchronous=synchronous, writer=writer)
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
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.6, help="length of one run")
    parser.add_argument("--writers", nargs="+", choices=["loop", "thread"],
                        default=["loop", "thread"])
    parser.add_argument("--synchronous", nargs="+", choices=["NORMAL", "FULL"],
                        default=["NORMAL", "FULL"])
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}")
    print(f"median of {args.runs} runs of {args.seconds} s, writers alternating")
    print("group: commits per transaction; loop µs: event-loop CPU per commit")
    print(f"{'synchronous':<12}{'mode':<10}{'writer':<8}{'commits/s':>11}{'group':>8}"
          f"{'loop µs':>9}")
    for synchronous in args.synchronous:
        for name, mode in MODES.items():
            runs: dict[str, list[tuple[float, float, float]]] = {w: [] for w in args.writers}
            for n in range(args.runs):
                order = args.writers if n % 2 == 0 else args.writers[::-1]
                for writer in order:
                    runs[writer].append(await one_run(mode, synchronous, writer, args.seconds))
            rates: dict[str, float] = {}
            for writer, results in runs.items():
                rate = statistics.median(r[0] for r in results)
                group = statistics.median(r[1] for r in results)
                loop_us = statistics.median(r[2] for r in results)
                rates[writer] = rate
                print(f"{synchronous:<12}{name:<10}{writer:<8}{rate:>11,.0f}{group:>8.1f}"
                      f"{loop_us:>9.1f}")
            if "loop" in rates and "thread" in rates:
                print(f"{synchronous:<12}{name:<10}{'ratio':<8}"
                      f"{rates['loop'] / rates['thread']:>10.2f}x  (loop / thread)")


if __name__ == "__main__":
    asyncio.run(main())
