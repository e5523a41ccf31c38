"""Where one rule event's time goes, stage by stage, in process (no HTTP).

    .venv/bin/python bench/event_budget.py [--repeat 5] [--events 20000] [--cpu N]

Each stage adds one layer of the service's real code path to the one before, on the HTTP
bench's level and events (``bench/http_bench.py``: 10 ``near`` tasks and 10 listeners,
256 players, the plugin's ``near`` payload), so the difference between two rows is what
that layer costs per event:

1. ``validate``: the request body read as a ``RuleEventRequest``
   (``bridge_protocol.requests.parse``, as the service);
2. ``engine``: + ``Engine.handle`` on the cached ``PlayerState``;
3. ``encode``: + ``Runtime._step`` (the result's bytes, the journal entry and digest, the
   state's storage parts);
4. ``runtime``: ``Runtime.handle`` (lock, cache, engine, encode, commit step) on a store
   that stores nothing (``_NullStore``: what the runtime costs without a store);
5. ``sqlite c=64``: ``Runtime.handle`` on a real ``SQLiteStore`` (the default loop writer,
   ``synchronous=NORMAL``) with 64 concurrent callers, as the service at 64 connections:
   group commits, futures, the checkpointer thread on the same CPU;
6. ``batch100``: ``Runtime.handle_batch`` of 100-event batches (body validated as a
   ``BatchRequest``) on a real ``SQLiteStore``.

Figures are µs of wall time per event (the process is pinned to one CPU, so the
checkpointer's CPU is in it), the median of ``--repeat`` runs with the stages interleaved
run by run; the SQLite stages write a database that keeps growing across runs, so their
later runs include journal retention. The HTTP bench's floor answers one request in about
``1e6 / floor req/s`` µs: comparing the rows with it tells how much of the floor's time the
application itself would need (docs/operating.md "Performance").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop

from bridge_protocol.requests import BatchRequest, RuleEventRequest, parse
from quest_runtime.atoms import event_kind
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.store.base import Commit
from quest_runtime.store.memory import MemoryStore
from quest_runtime.store.sqlite import SQLiteStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench  # the HTTP bench's level and request bodies

PLAYERS = 256
CONCURRENCY = 64
BATCH = 100


class _NullStore(MemoryStore):
    """Accepts every commit and keeps nothing: the runtime's cost without a store."""

    async def commit(self, commit: Commit) -> int:
        return commit.version + 1


class Budget:
    """The stages, each a method timing ``events`` events (seconds)."""

    def __init__(self, levels: Path, db: Path, events: int) -> None:
        self.levels, self.db, self.events = levels, db, events
        self.bodies = [b.encode() for b in http_bench.single_bodies(PLAYERS)]
        self.batches = [b.encode() for b in http_bench.batch_bodies(PLAYERS, BATCH)]
        self.null: Runtime | None = None
        self.sqlite: Runtime | None = None

    async def open(self, *, null: bool = True, sqlite: bool = True) -> None:
        """Open the runtimes the stages use: on the null store (``validate`` to
        ``runtime``) and on SQLite (``sqlite c=64``, ``batch100``)."""
        if null:
            self.null = await self._runtime(_NullStore())
        if sqlite:
            self.sqlite = await self._runtime(SQLiteStore(self.db))

    async def close(self) -> None:
        for runtime in (self.null, self.sqlite):
            if runtime is not None:
                await runtime.close()

    async def _runtime(self, store: MemoryStore | SQLiteStore) -> Runtime:
        catalog = LevelCatalog(self.levels)
        catalog.load_all()
        runtime = Runtime(catalog, store)
        await runtime.open()
        for i in range(PLAYERS):
            await runtime.load(f"p{i}", http_bench.LEVEL_ID)
        return runtime

    def stages(self) -> dict[str, Callable[[], Awaitable[float]]]:
        return {"validate": self.validate, "engine": self.engine, "encode": self.encode,
                "runtime": self.runtime, "sqlite c=64": self.sqlite64,
                "batch100": self.batch100}

    def _request(self, i: int) -> RuleEventRequest:
        return parse(RuleEventRequest, self.bodies[i % len(self.bodies)])

    async def validate(self) -> float:
        started = time.perf_counter()
        for i in range(self.events):
            self._request(i)
        return time.perf_counter() - started

    async def engine(self, encode: bool = False) -> float:
        runtime = self.null
        assert runtime is not None
        now = runtime.clock.now()
        started = time.perf_counter()
        for i in range(self.events):
            req = self._request(i)
            state, version = runtime._states[req.player_id]
            kind = event_kind(req.event_type)
            outcome = runtime.engine.handle(state, kind, req.payload, now)
            if encode:
                runtime._step(state, version, kind, None, now, outcome)
        return time.perf_counter() - started

    async def encode(self) -> float:
        return await self.engine(encode=True)

    async def runtime(self) -> float:
        # the engine stages advanced the cached states in place: the versions still chain
        runtime = self.null
        assert runtime is not None
        started = time.perf_counter()
        for i in range(self.events):
            req = self._request(i)
            await runtime.handle(req.player_id, req.event_type, req.payload, req.event_id)
        return time.perf_counter() - started

    async def sqlite64(self) -> float:
        runtime = self.sqlite
        assert runtime is not None

        async def caller(slot: int) -> None:
            for i in range(slot, self.events, CONCURRENCY):
                req = self._request(i)
                await runtime.handle(req.player_id, req.event_type, req.payload, req.event_id)

        started = time.perf_counter()
        await asyncio.gather(*(caller(slot) for slot in range(CONCURRENCY)))
        return time.perf_counter() - started

    async def batch100(self) -> float:
        runtime = self.sqlite
        assert runtime is not None
        started = time.perf_counter()
        for k in range(self.events // BATCH):
            req = parse(BatchRequest, self.batches[k % len(self.batches)])
            await runtime.handle_batch(
                [(e.player_id, e.event_type, e.payload, e.event_id) for e in req.events])
        return time.perf_counter() - started


async def measure(repeat: int, events: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="quest-budget-") as tmp:
        levels = Path(tmp) / "levels"
        levels.mkdir()
        (levels / "bench.json").write_text(json.dumps(http_bench.bench_level()))
        budget = Budget(levels, Path(tmp) / "state.db", events)
        await budget.open()
        try:
            stages = budget.stages()
            for run in stages.values():  # warm-up: caches, the store's first pages
                await run()
            out: dict[str, list[float]] = {name: [] for name in stages}
            for r in range(repeat):
                for name, run in stages.items():
                    out[name].append(1e6 * await run() / events)
                print(f"run {r + 1}/{repeat}: " + ", ".join(
                    f"{n} {v[-1]:.1f}" for n, v in out.items()), file=sys.stderr)
        finally:
            await budget.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--cpu", type=int, default=None,
                        help="pin to this CPU (default: the highest allowed one)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.events < BATCH:
        parser.error(f"--repeat must be >= 1 and --events >= {BATCH}")
    if hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    import gc

    gc.set_threshold(50_000, 20, 100)  # as the service (server/main.py)
    results = uvloop.run(measure(args.repeat, args.events))
    print(f"{'stage':<12}  {'µs/event':>9}  {'+ this layer':>12}  runs")
    before: float | None = None
    for name, runs in results.items():
        med = statistics.median(runs)
        layer = "" if before is None or name == "batch100" else f"{med - before:+.1f}"
        print(f"{name:<12}  {med:>9.1f}  {layer:>12}  " + " ".join(f"{v:.1f}" for v in runs))
        before = med
    return 0


if __name__ == "__main__":
    sys.exit(main())
