"""History bench: what one rule event costs to decide, encode and persist, as a player's
history grows (issue: cost flat in history).

The real runtime path without HTTP: ``Runtime.handle`` over a ``LevelCatalog`` read from a
levels folder and a ``SQLiteStore`` file (WAL, ``synchronous=NORMAL``, group commit), 64
players each sending events one after another, all players at once (like 64 keep-alive
connections). Events are the plugin's ``near`` shape, rotating over ``npc_0..npc_9``; each
progresses one never-completing task and fires one listener (the HTTP bench's level).

Settings (one axis at a time against the smallest):
- ``smallest``: the player loaded the level and nothing else;
- ``fired listeners 10,000``: the level has 10,010 listeners and each player fired every
  one of them once before timing (through the engine);
- ``completed levels 1,000``: each player played 1,000 other levels to completion first;
- ``tasks 100``: the level has 100 tasks (the events touch 10 of them);
- ``journal 10,000``: each player's journal holds 10,000 entries (``journal_limit``
  10,000).

Each setting runs ``--seconds`` per repeat; settings alternate round by round; the table
gives the MEDIAN events/s, µs per event and the cost ratio against ``smallest`` (target
≤ 1.3), and the same for the process's CPU µs per event (steadier on a shared host).
Pinned to one CPU when the machine has two (the store's checkpoint thread, or with
``QUEST_RUNTIME_SQLITE_WRITER=thread`` its writer thread, shares it, as in the service).
The ``journal 10,000`` setting is the one retention cost shows in: the store trims each
journal in chunks (store/sqlite.py ``_trim_to``). Run::

    .venv/bin/python bench/history_bench.py                  # 5 repeats × 3 s
    .venv/bin/python bench/history_bench.py --quick          # CI smoke
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quest_runtime.clock import Clock, SystemClock
from quest_runtime.engine.core import Engine
from quest_runtime.engine.state import PlayerState, dump_state
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.store.base import Commit
from quest_runtime.store.sqlite import SQLiteStore

NPCS = 10
PLAYERS = 64
LEVEL = "bench"


def bench_level(listeners: int = NPCS, tasks: int = NPCS) -> dict[str, Any]:
    return {
        "id": LEVEL, "title": "History bench",
        "tasks": [{"id": f"reach_{k}", "type": "near", "target": f"npc_{k % NPCS}"
                   if k < NPCS else f"far_{k}", "count": 10**9, "title": f"Reach {k}"}
                  for k in range(tasks)],
        "rule_listeners": [
            {"id": f"l_{i}", "type": "near", "targets": [f"npc_{i}" if i < NPCS else f"l_{i}"],
             "metadata": {"world_patch": {"mc": {"tell": "hi"}}}}
            for i in range(listeners)],
    }


def done_level(j: int) -> dict[str, Any]:
    return {"id": f"done_{j}", "title": f"Done {j}",
            "tasks": [{"id": "only", "type": "near", "target": f"done_{j}_npc"}]}


def near(target: str) -> dict[str, Any]:
    return {"target": target, "quest_event": f"near_{target}",
            "location": {"world": "world", "x": 1.5, "y": 64.0, "z": -3.25}}


@dataclass
class World:
    name: str
    runtime: Runtime
    folder: Path


def settings(n: int = 10_000) -> dict[str, tuple[str, dict[str, int]]]:
    """The settings by key: each one's name and its ``build`` keywords (``n`` is 1,000
    with ``--quick``). ``bench/instructions.py --history`` counts the same worlds."""
    return {
        "smallest": ("smallest", {}),
        "listeners": (f"fired listeners {n + NPCS:,}", {"listeners": n + NPCS}),
        "levels": (f"completed levels {n // 10:,}", {"completed": n // 10}),
        "tasks": ("tasks 100", {"tasks": 100}),
        "journal": (f"journal {n:,}", {"journal": n}),
    }


def journal_limit(journal: int) -> int:
    """The store's ``journal_limit`` for a world whose journals hold ``journal`` entries."""
    return max(200, journal)


async def build(name: str, root: Path, *, listeners: int = NPCS, tasks: int = NPCS,
                completed: int = 0, journal: int = 0) -> World:
    folder = await build_folder(root / name.replace(" ", "_").replace(",", ""),
                                listeners=listeners, tasks=tasks, completed=completed,
                                journal=journal)
    return World(name, await open_runtime(folder, journal), folder)


async def build_folder(folder: Path, *, listeners: int = NPCS, tasks: int = NPCS,
                       completed: int = 0, journal: int = 0, now: float | None = None) -> Path:
    """A world's levels folder and ``state.db`` in ``folder``, no runtime open on them;
    the history made at ``now`` (default: the time)."""
    levels = folder / "levels"
    levels.mkdir(parents=True)
    (levels / f"{LEVEL}.json").write_bytes(orjson.dumps(bench_level(listeners, tasks)))
    for j in range(completed):
        (levels / f"done_{j}.json").write_bytes(orjson.dumps(done_level(j)))
    catalog = LevelCatalog(levels)
    catalog.load_all()
    assert catalog.get(LEVEL) is not None, catalog.files
    store = SQLiteStore(folder / "state.db", journal_limit=journal_limit(journal))
    await store.open()
    engine = Engine(catalog.get)
    now = time.time() if now is None else now
    for p in range(PLAYERS):  # the history, made by the engine itself
        state = PlayerState(f"p{p}")
        for j in range(completed):
            engine.load(state, f"done_{j}", now)
            engine.handle(state, "near", near(f"done_{j}_npc"), now)
        engine.load(state, LEVEL, now)
        for i in range(NPCS, listeners):
            engine.handle(state, "near", near(f"l_{i}"), now)
        await store.commit(Commit(state.player_id, dump_state(state), 0, None))
    await store.close()
    if journal:
        conn = sqlite3.connect(folder / "state.db", isolation_level=None)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO journal (player_id, seq, event_id, event_type, received_at, "
            "effects, result, digest) VALUES (?, ?, ?, 'near', 0, '{}', '', '0')",
            ((f"p{p}", s, f"old-{s}") for p in range(PLAYERS) for s in range(1, journal + 1)))
        conn.execute("COMMIT")
        conn.close()
    return folder


async def open_runtime(folder: Path, journal: int = 0, clock: Clock | None = None) -> Runtime:
    """The runtime the bench times on a ``build_folder`` folder (default: the system's
    clock)."""
    catalog = LevelCatalog(folder / "levels")
    catalog.load_all()
    store = SQLiteStore(folder / "state.db", journal_limit=journal_limit(journal))
    runtime = Runtime(catalog, store, clock=clock or SystemClock())
    await runtime.open()
    return runtime


async def measure(world: World, seconds: float) -> tuple[float, float]:
    """Events/s with every player sending one event after another, and the process's CPU
    µs per event (all its threads: less moved by other processes on a shared host than
    the rate is)."""
    stop = time.perf_counter() + seconds
    counts = [0] * PLAYERS
    payloads = [near(f"npc_{k}") for k in range(NPCS)]

    async def player(p: int) -> None:
        pid, k = f"p{p}", p
        while time.perf_counter() < stop:
            reply = await world.runtime.handle(pid, "near", payloads[k % NPCS])
            assert reply.result is not None
            k += 1
            counts[p] += 1

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(player(p) for p in range(PLAYERS)))
    events = sum(counts)
    return events / (time.perf_counter() - started), (time.process_time() - cpu) / events * 1e6


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="qr-history-") as tmp:
        root = Path(tmp)
        print("building worlds ...", file=sys.stderr, flush=True)
        worlds = [await build(name, root, **kw)
                  for k, (name, kw) in settings(1000 if args.quick else 10_000).items()
                  if k == "smallest" or not args.only or k in args.only]
        rates: dict[str, list[float]] = {w.name: [] for w in worlds}
        cpus: dict[str, list[float]] = {w.name: [] for w in worlds}
        for w in worlds:  # warm-up: every player's state cached
            await measure(w, 0.5)
        for rep in range(args.repeat):
            order = worlds if rep % 2 == 0 else worlds[::-1]
            for w in order:
                rate, cpu = await measure(w, args.seconds)
                rates[w.name].append(rate)
                cpus[w.name].append(cpu)
            print(f"  repeat {rep + 1}: " + "  ".join(
                f"{w.name} {rates[w.name][-1]:.0f}/s {cpus[w.name][-1]:.0f} µs CPU"
                for w in worlds),
                file=sys.stderr, flush=True)
        for w in worlds:
            await w.runtime.close()
    base = statistics.median(rates["smallest"])
    base_cpu = statistics.median(cpus["smallest"])
    print(f"{'setting':<26} {'events/s':>9} {'µs/event':>9} {'ratio':>6} {'CPU µs':>7} "
          f"{'ratio':>6}  (medians of {args.repeat}; target ratio <= 1.3)")
    worst = 0.0
    for name, r in rates.items():
        med = statistics.median(r)
        cpu = statistics.median(cpus[name])
        ratio = base / med
        worst = max(worst, ratio)
        print(f"{name:<26} {med:>9.0f} {1e6 / med:>9.1f} {ratio:>6.2f} {cpu:>7.1f} "
              f"{cpu / base_cpu:>6.2f}")
    print(f"worst cost ratio {worst:.2f}x (events/s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--quick", action="store_true", help="smaller history, 1 repeat of 1 s")
    ap.add_argument("--only", nargs="*", choices=["listeners", "levels", "tasks", "journal"],
                    help="measure these settings only (with the smallest)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.seconds = 1, 1.0
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
