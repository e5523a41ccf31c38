"""Instructions per event, layer by layer, counted by valgrind: an A/B that a noisy host
cannot move.

    .venv/bin/python bench/instructions.py [--events 400] [--stages engine,runtime]
        [--baseline DIR]

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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGES = ("validate", "engine", "encode", "runtime", "sqlite c=64", "batch100")
SQLITE_STAGES = ("sqlite c=64", "batch100")
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


def count(tree: Path, stage: str, events: int, cpu: int | None) -> int:
    """The instructions of one child run on ``tree``'s code."""
    env = dict(os.environ, PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([str(tree), str(HERE)]))
    cmd = ["setarch", "-R", "valgrind", "--tool=cachegrind", "--cache-sim=no",
           "--cachegrind-out-file=/dev/null", sys.executable, str(Path(__file__).resolve()),
           "--child", stage, "--events", str(events)]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True,
                          check=False)
    found = REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"instructions: {stage!r} on {tree} failed "
                         f"(exit {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_event(tree: Path, stage: str, events: int, cpu: int | None) -> float:
    once = count(tree, stage, events, cpu)
    twice = count(tree, stage, 2 * events, cpu)
    return (twice - once) / events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--stages", default=",".join(STAGES),
                        help=f"comma-separated, of: {', '.join(STAGES)}")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a second checkout to count the same way")
    parser.add_argument("--cpu", type=int, default=None,
                        help="pin the children to this CPU (default: the highest allowed)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        run_stage(args.child, args.events)
        return 0
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown or args.events < 100:
        parser.error(f"unknown stages {unknown}" if unknown else "--events must be >= 100")
    if shutil.which("valgrind") is None:
        raise SystemExit("instructions: valgrind is not installed "
                         "(Debian: apt-get install -y valgrind)")
    if args.baseline is not None and not (args.baseline / "quest_runtime").is_dir():
        parser.error(f"--baseline {args.baseline}: no quest_runtime/ there")
    cpu = args.cpu
    if cpu is None and hasattr(os, "sched_getaffinity") and shutil.which("taskset"):
        cpu = max(os.sched_getaffinity(0))
    trees = [ROOT] + ([args.baseline.resolve()] if args.baseline is not None else [])
    rows = []
    for stage in stages:
        figures = [per_event(tree, stage, args.events, cpu) for tree in trees]
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
