"""Instructions per event, layer by layer, counted by valgrind: an A/B that a noisy host
cannot move.

    .venv/bin/python bench/instructions.py [--events 400] [--stages engine,runtime]
        [--baseline DIR]
    .venv/bin/python bench/instructions.py --history [--events 6400] [--stages journal]

On a shared host, two runs of the same code differ by 1.2-3x in time, so a change worth
a few per cent cannot be seen by timing it. ``valgrind --tool=cachegrind --cache-sim=no``
counts the instructions a process executes instead; for the same code, inputs and
environment the count is the same whatever else the machine does.

Each stage is one of ``bench/event_budget.py``'s (validation, engine, encoding, the
runtime on a store that keeps nothing, the SQLite store with 64 callers, batches of 100),
run in a child process under valgrind twice: with ``--events`` events and with twice as
many. The difference of the two counts, divided by ``--events``, is what one event costs:
the interpreter's start-up, the imports and the 256 players' loads are in both counts
and cancel. The children run with ``PYTHONHASHSEED=0`` (the same dict layouts every run),
without address-space randomisation (``setarch -R``), pinned to one CPU, and with the
garbage collector off while the stage runs (a collection would fall in one of the two
runs and not the other; its cost is not counted). The in-memory stages open no SQLite
store, and the SQLite stages' checkpointer thread is told to wait an hour between polls:
a second thread's polls, and the interpreter's switches to it, fall by the clock. So the
SQLite stages count the loop's transactions without the checkpoints.

``--baseline DIR`` counts a second checkout (``git worktree add /tmp/base <commit>``) in
the same way, with this checkout's bench code on top of that checkout's
``quest_runtime`` and ``bridge_protocol``, and prints the ratio per stage. Two runs of
the same tree agree closely (the figures in docs/operating.md "Performance").

Under valgrind Python runs ~50x slower: the default (400 events, every stage, one tree)
takes a few minutes.

``--history`` counts issue 12's acceptance line 3 instead (per-event cost flat in a
player's history: each setting at most 1.3x the smallest's), on ``bench/history_bench.py``'s
worlds: ``smallest``, ``listeners`` (10,010 fired listeners), ``levels`` (1,000 completed
levels), ``tasks`` (100 tasks in the level), ``journal`` (10,000 journal entries), made by
its ``build_folder`` (``--quick``: its ``--quick`` sizes). Each event is
``Runtime.handle`` on a real ``SQLiteStore``, 64 players each sending ``near`` events one
after another, all at once (64 concurrent callers), as ``history_bench`` times them (on
uvloop, as the service). Building a world takes up to ~20 s natively (the 10,000
listeners fired through the engine), far too long for valgrind, so the parent builds each
world's folder (levels and ``state.db``) once without it, then plays it until every
journal is in retention's steady state, the players' trims spread evenly over the trim
period: a window of counted events holds its share of the trims (within one) in every
setting, where a fresh world would have none. The runtime's clock, in the parent and in
the children, is ``Ticks`` (fixed timestamps, so the same pages in every build). Each
child copies the folder, opens the runtime on the copy, waits out the checkpointer's
last poll (then 3600 s, as in the SQLite stages: its checkpoints are made by
``Checkpoints`` instead, by the count of changed rows, not by the clock), plays a warm-up
(2 events per player: every state cached, its rows read), then runs the counted events
with the collector off; the N and 2N runs start from the same bytes, with the same
warm-up. ``--events`` must be a multiple of 64; the default 6,400 is 100 events per
player. The count per event creeps
up with N (+0.2 % at 19,200, in every setting alike: the ratios move by 0.001). A run of
all five settings takes ~11 minutes on a 2-CPU host, 8 of them the 10,010-listener
level's compilation under valgrind (4.5 s without it), in each of its two runs. Two runs
of the same tree agree to a few instructions per event (12 at most, in 2026-12); but a
change that only moves the process's memory layout (a docstring, the checkout's path, the
environment's size) moves the counts by up to 0.5 % (``journal 10,000``; ``smallest``
0.1 %), so differences below that between two trees are not the code's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quest_runtime.runtime import Runtime
    from quest_runtime.store.sqlite_checkpoint import Checkpointer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGES = ("validate", "engine", "encode", "runtime", "sqlite c=64", "batch100")
SQLITE_STAGES = ("sqlite c=64", "batch100")
HISTORY_EVENTS = 6_400  # 100 per player
WARM_UP = 2  # events per player before the count, in both runs
TARGET = 1.3  # issue 12, acceptance line 3: each setting's cost / smallest's
#: ``--history``'s time: the worlds' history made at BUILT, the parent's play from BUILT + 1,
#: the children's from PLAYED (past all of it)
BUILT, PLAYED = 1_790_000_000.0, 1_790_003_600.0
REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def run_stage(stage: str, events: int) -> None:
    """(In the child.) Set up the budget's runtimes and run ``stage`` once for ``events``
    events; no warm-up, so that the 2N run is exactly the N run plus N more events."""
    sys.path.insert(0, str(HERE))
    import gc

    import event_budget
    import http_bench
    import uvloop

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="quest-instr-") as tmp:
            levels = Path(tmp) / "levels"
            levels.mkdir()
            (levels / "bench.json").write_text(json.dumps(http_bench.bench_level()))
            budget = event_budget.Budget(levels, Path(tmp) / "state.db", events)
            # the in-memory stages without a SQLite runtime: no checkpointer thread beside
            await budget.open(null=stage not in SQLITE_STAGES and stage != "validate",
                              sqlite=stage in SQLITE_STAGES)
            if budget.sqlite is not None:
                checkpointer = getattr(budget.sqlite.store, "_checkpointer", None)
                if checkpointer is not None:  # its polls and passes would fall by the clock
                    checkpointer.poll = 3600.0
                    await asyncio.sleep(1.0)  # its last poll, and any pass, before the stage
            gc.collect()
            gc.disable()  # a collection falls in one run and not the other: not counted
            try:
                await budget.stages()[stage]()
            finally:
                await budget.close()

    uvloop.run(main())


def history_settings(quick: bool) -> dict[str, tuple[str, dict[str, int]]]:
    sys.path.insert(0, str(HERE))
    import history_bench

    return history_bench.settings(1000 if quick else 10_000)


class Ticks:
    """A clock ~1 ms further on at each reading, from ``start``: the same timestamps in
    every run. The system clock's differ in their digits, so in the bytes of state parts
    and journal rows, so in how SQLite's pages split while a world is built, and so in
    what later events cost (``tasks 100``: two runs 35-180 instructions per event apart
    on the system clock, 2-4 on this one). The
    step, 1.0001 ms, gives timestamps as many digits as the system clock's (17 or 18
    characters, most of them); whole milliseconds would be 14, and cheaper to encode."""

    STEP = 0.0010001

    def __init__(self, start: float) -> None:
        self.start, self.readings = start, 0

    def now(self) -> float:
        self.readings += 1
        return self.start + self.readings * self.STEP


class Checkpoints:
    """The store's checkpointer's rule, a PASSIVE checkpoint once ``pages`` rows changed
    since the last one, applied after each event on the loop's thread (with the
    checkpointer's connection and ``_checkpoint``), where its thread applies it at polls
    50 ms apart by the clock. So the count holds the checkpoints' work (about 0.5 % of an
    event), as the service's CPU does, and the WAL stays as short as the service's."""

    def __init__(self, checkpointer: Checkpointer) -> None:
        self.checkpointer = checkpointer
        self.conn = checkpointer._connect()
        self.done = checkpointer.changes

    def after_event(self) -> None:
        changes = self.checkpointer.changes
        if changes - self.done >= self.checkpointer.pages:
            self.checkpointer._checkpoint(self.conn, "PASSIVE")
            self.done = changes

    def close(self) -> None:
        self.conn.close()


async def play(runtime: Runtime, rounds: int, start: int = 0,
               counts: list[int] | None = None,
               checkpoints: Checkpoints | None = None) -> None:
    """``history_bench``'s load: every player sends its events one after another, all
    players at once (64 callers), ``near`` events rotating over the NPCs; ``rounds``
    events each (or ``counts[p]`` for player ``p``), the rotation ``start`` events on."""
    import history_bench

    payloads = [history_bench.near(f"npc_{k}") for k in range(history_bench.NPCS)]

    async def player(p: int) -> None:
        pid = f"p{p}"
        for k in range(p + start, p + start + (rounds if counts is None else counts[p])):
            reply = await runtime.handle(pid, "near", payloads[k % history_bench.NPCS])
            assert reply.result is not None
            if checkpoints is not None:
                checkpoints.after_event()

    await asyncio.gather(*(player(p) for p in range(history_bench.PLAYERS)))


def run_history(key: str, world: Path, events: int, quick: bool) -> None:
    """(In the child.) Copy ``world`` (built once by the parent, never written after),
    open the runtime on the copy, warm up (every player's state cached, its rows read),
    then run ``events`` events on it: the N and the 2N run start from the same bytes."""
    sys.path.insert(0, str(HERE))
    import gc

    import history_bench
    import uvloop

    journal = history_settings(quick)[key][1].get("journal", 0)

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="quest-instr-") as tmp:
            folder = Path(tmp) / "world"
            shutil.copytree(world, folder)
            runtime = await history_bench.open_runtime(folder, journal, Ticks(PLAYED))
            checkpoints = None
            try:
                checkpointer = getattr(runtime.store, "_checkpointer", None)
                assert checkpointer is not None, "the loop writer (the default)"
                checkpointer.poll = 3600.0  # as in the SQLite stages; then checkpoints
                await asyncio.sleep(1.0)    # by the count of changed rows instead
                checkpoints = Checkpoints(checkpointer)
                await play(runtime, WARM_UP, checkpoints=checkpoints)
                gc.collect()
                gc.disable()
                await play(runtime, events // history_bench.PLAYERS, WARM_UP,
                           checkpoints=checkpoints)
            finally:
                if checkpoints is not None:
                    checkpoints.close()
                await runtime.close()

    uvloop.run(main())


async def build_history(root: Path, keys: list[str], quick: bool) -> dict[str, Path]:
    """(In the parent, without valgrind.) Each setting's world folder, built once by
    ``history_bench.build_folder`` and then played until every player's journal is in
    retention's steady state (trims of ``journal_limit // 16 + 1`` entries, one every
    that many events) with the players' trims spread evenly over that period: the
    counted events then include their share of the trims, in every setting alike."""
    import history_bench

    from quest_runtime.store.sqlite import TRIM_CHUNK_DIVISOR

    folders = {}
    for key in keys:
        name, kw = history_settings(quick)[key]
        print(f"building {name} ...", file=sys.stderr, flush=True)
        folder = await history_bench.build_folder(root / key, **kw, now=BUILT)
        limit = history_bench.journal_limit(kw.get("journal", 0))
        period = limit // TRIM_CHUNK_DIVISOR + 1
        conn = sqlite3.connect(folder / "state.db")
        last = dict(conn.execute("SELECT player_id, MAX(seq) FROM journal GROUP BY 1"))
        conn.close()
        # player p's journal ends at entry limit + period + p * period / 64: its first trim
        # done, its next one period - p * period / 64 events on
        counts = [limit + period + p * period // history_bench.PLAYERS - last.get(f"p{p}", 0)
                  for p in range(history_bench.PLAYERS)]
        runtime = await history_bench.open_runtime(folder, kw.get("journal", 0),
                                                   Ticks(BUILT + 1))
        try:
            await play(runtime, 0, counts=counts)
        finally:
            await runtime.close()
        conn = sqlite3.connect(folder / "state.db", isolation_level=None)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the whole world in state.db
        conn.close()  # the last connection: SQLite removes the -wal and -shm files
        folders[key] = folder
    return folders


def count(tree: Path, stage: str, events: int, cpu: int | None,
          extra: Sequence[str] = ()) -> int:
    """The instructions of one child run on ``tree``'s code."""
    env = dict(os.environ, PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([str(tree), str(HERE)]))
    cmd = ["setarch", "-R", "valgrind", "--tool=cachegrind", "--cache-sim=no",
           "--cachegrind-out-file=/dev/null", sys.executable, str(Path(__file__).resolve()),
           "--child", stage, "--events", str(events), *extra]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True,
                          check=False)
    found = REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"instructions: {stage!r} on {tree} failed "
                         f"(exit {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_event(tree: Path, stage: str, events: int, cpu: int | None,
              extra: Sequence[str] = ()) -> float:
    once = count(tree, stage, events, cpu, extra)
    twice = count(tree, stage, 2 * events, cpu, extra)
    return (twice - once) / events


def history(keys: list[str], events: int, cpu: int | None, quick: bool) -> None:
    """``--history``: each setting's instructions per event and its ratio to
    ``smallest``'s, against the target."""
    names = history_settings(quick)
    rows = []
    with tempfile.TemporaryDirectory(prefix="quest-instr-worlds-") as tmp:
        folders = asyncio.run(build_history(Path(tmp), keys, quick))
        for key in keys:
            started = time.monotonic()
            extra = ["--world", str(folders[key]), *(["--quick"] if quick else [])]
            figure = per_event(ROOT, f"history:{key}", events, cpu, extra)
            rows.append((names[key][0], figure))
            print(f"{names[key][0]}: {figure:,.0f} ({time.monotonic() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    base = rows[0][1]
    print(f"{'setting':<26}  {'instructions/event':>18}  {'ratio':>6}  "
          f"(target ratio <= {TARGET})")
    for name, figure in rows:
        print(f"{name:<26}  {figure:>18,.0f}  {figure / base:>6.3f}")
    worst = max(figure / base for _, figure in rows)
    print(f"worst ratio {worst:.3f} ({'within' if worst <= TARGET else 'above'} the target)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=None,
                        help=f"N (default 400; with --history {HISTORY_EVENTS:,})")
    parser.add_argument("--stages", default=None,
                        help=f"comma-separated, of: {', '.join(STAGES)}; with --history, "
                        "of history_bench.py's settings (smallest always; default: all)")
    parser.add_argument("--history", action="store_true",
                        help="count history_bench's settings instead of the layers")
    parser.add_argument("--quick", action="store_true",
                        help="with --history: history_bench --quick's smaller histories")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a second checkout to count the same way")
    parser.add_argument("--cpu", type=int, default=None,
                        help="pin the children to this CPU (default: the highest allowed)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--world", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    events = args.events
    if events is None:
        events = HISTORY_EVENTS if args.history else 400
    if args.child is not None and args.child.startswith("history:"):
        run_history(args.child.removeprefix("history:"), args.world, events, args.quick)
        return 0
    if args.child is not None:
        run_stage(args.child, events)
        return 0
    # --history: history_bench.settings()'s keys, the one list of them
    known = tuple(history_settings(args.quick)) if args.history else STAGES
    stages = [s.strip() for s in (args.stages or ",".join(known)).split(",") if s.strip()]
    unknown = [s for s in stages if s not in known]
    if unknown:
        parser.error(f"unknown stages {unknown}")
    if args.history and (events < 64 or events % 64 or args.baseline is not None):
        parser.error("with --history, --events must be a multiple of 64 (the players), "
                     "and no --baseline (this checkout's store builds the worlds)")
    if not args.history and events < 100:
        parser.error("--events must be >= 100")
    if shutil.which("valgrind") is None:
        raise SystemExit("instructions: valgrind is not installed "
                         "(Debian: apt-get install -y valgrind)")
    if args.baseline is not None and not (args.baseline / "quest_runtime").is_dir():
        parser.error(f"--baseline {args.baseline}: no quest_runtime/ there")
    cpu = args.cpu
    if cpu is None and hasattr(os, "sched_getaffinity") and shutil.which("taskset"):
        cpu = max(os.sched_getaffinity(0))
    if args.history:
        history(["smallest", *(s for s in known if s in stages and s != "smallest")],
                events, cpu, args.quick)
        return 0
    trees = [ROOT] + ([args.baseline.resolve()] if args.baseline is not None else [])
    rows = []
    for stage in stages:
        figures = [per_event(tree, stage, events, cpu) for tree in trees]
        rows.append((stage, figures))
        print(f"{stage}: " + ", ".join(f"{f:,.0f}" for f in figures), file=sys.stderr,
              flush=True)
    head = f"{'stage':<12}  {'instructions/event':>18}"
    if len(trees) > 1:
        head += f"  {'baseline':>12}  {'ratio':>6}"
    print(head)
    for stage, figures in rows:
        line = f"{stage:<12}  {figures[0]:>18,.0f}"
        if len(figures) > 1:
            ratio = figures[0] / figures[1] if figures[1] else float("nan")
            line += f"  {figures[1]:>12,.0f}  {ratio:>6.3f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
