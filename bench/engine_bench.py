"""Engine benchmark: in-process rule events/s of ``Engine.handle`` on one core.

What it measures
----------------
The engine's real code path, exactly what the runtime calls per rule event:
``Engine.handle(state, event_type, payload, now)`` on ``PlayerState`` objects, with the
``levels`` callable being a plain lookup dict's ``.get`` (as ``LevelCatalog.get`` is).
No HTTP, no store, no ``orjson.dumps`` of the result: the application step alone.

Every level is built as a JSON dict → bytes → ``load_level_bytes`` (the loader the catalog
uses), so the compiled levels and their dispatch indexes are the real ones:

- the bench level ``bench``: 10 ``near`` tasks on ``npc_0..npc_9`` with count 10**9 (they
  never complete during a run) and L ``near`` listeners: listener i targets ``npc_i`` for
  i < 10 and its own ``l_<i>`` otherwise, so exactly one listener fires per event whatever
  L is; each answers with a ``metadata.world_patch`` tell and a command with ``{player}``;
- O other levels ``other_<j>`` in the same lookup (10 tasks, 10 listeners, own targets);
- P players, each a ``PlayerState`` with a session of ``bench`` made by ``Engine.load``
  before timing;
- events shaped like the plugin's ``near`` event, ``{"target": "npc_k", "quest_event":
  "near_npc_k", "location": {...}}``, rotating over the players and over npc_0..npc_9, so
  every event progresses one task and fires one listener (checked before timing).

SPEC §4.2: "The cost of one event must not grow with the number of tasks, listeners,
levels or players." Settings: the smallest (10 listeners, 0 other levels, 1,000 players),
then one axis at a time up to its largest (10,000 listeners; 1,000 other levels; 100,000
players), then all largest together (``--quick`` skips the intermediate 1,000 listeners and
100 other levels). Each setting runs N events (calibrated on the smallest setting to ``--seconds``),
``--repeat`` times, and the table quotes the MEDIAN. All worlds are built first and the
settings are measured interleaved, round by round, so host noise hits them alike; the
``spread`` column is (max − min) / median of a setting's runs, and ``cpu µs`` the median
thread CPU time per event (near ``µs/event`` when the host left the core alone).
Targets: ≥ 40,000 events/s on the smallest setting; every cost ratio (µs/event ÷ the
smallest setting's µs/event) ≤ 1.3.

The process is pinned to one CPU (``--cpu``, default the highest allowed one). The host is
noisy (shared/PERFORMANCE-NOTES.md): compare figures of the same run only.

How to run
----------
::

    .venv/bin/python bench/engine_bench.py                  # full run (~1-2 min)
    .venv/bin/python bench/engine_bench.py --quick          # CI smoke (fewer events/repeats)
    .venv/bin/python bench/engine_bench.py --json > engine.json
    .venv/bin/python bench/engine_bench.py --profile        # cProfile of the smallest setting
    .venv/bin/python bench/engine_bench.py --lakeside       # also the lakeside demo traffic
    .venv/bin/python bench/engine_bench.py --lakeside-only --profile

``--lakeside`` adds the demo level's traffic, the plugin's own events: every
``levels/lakeside*.scenario.jsonl`` played through (loads, rule events, ``end`` and the
timers of ``advance_seconds``, on a clock of its own) by ``--lakeside-players`` fresh
players, through ``Engine`` as above, plus what the runtime's ``_step`` encodes for the
engine (the result's orjson bytes and ``PlayerState.storage()``). Its figure is rule
events/s (loads and timer firings are in the time, not in the count); no target.

Progress goes to stderr; the table (or with ``--json`` the JSON report) to stdout. Exit
status 0, or 1 with ``--fail-on-miss`` when a target is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quest_runtime.engine.core import Engine
from quest_runtime.engine.state import PlayerState
from quest_runtime.levels.compiled import CompiledLevel
from quest_runtime.levels.loader import load_level_bytes

NPCS = 10
TASK_COUNT = 10**9  # large enough that no task completes during a run
BENCH_LEVEL = "bench"
NOW = 1_700_000_000.0

TARGET_EVENTS_PER_S = 40_000
TARGET_RATIO = 1.3

SMALL_LISTENERS, LARGE_LISTENERS = 10, 10_000
SMALL_OTHERS, LARGE_OTHERS = 0, 1_000
SMALL_PLAYERS, LARGE_PLAYERS = 1_000, 100_000


# -- levels ---------------------------------------------------------------------------


def bench_level_dict(listeners: int) -> dict[str, Any]:
    """The players' level: 10 never-completing near tasks, ``listeners`` near listeners."""
    return {
        "id": BENCH_LEVEL,
        "title": "Bench",
        "tasks": [
            {"id": f"greet_npc_{k}", "type": "near", "target": f"npc_{k}",
             "count": TASK_COUNT, "title": f"Greet NPC {k}", "hint": f"Walk up to npc_{k}."}
            for k in range(NPCS)
        ],
        "rule_listeners": [
            {"id": f"l_{i}", "type": "near",
             "targets": [f"npc_{i}" if i < NPCS else f"l_{i}"],
             "metadata": {"world_patch": {"mc": {"tell": f"Listener {i} waves."}},
                          "commands": ["title {player} subtitle hello from " + str(i)]}}
            for i in range(listeners)
        ],
    }


def other_level_dict(j: int) -> dict[str, Any]:
    """A level nobody plays in this bench: 10 tasks, 10 listeners, targets of its own."""
    return {
        "id": f"other_{j}",
        "title": f"Other {j}",
        "tasks": [
            {"id": f"o{j}_task_{k}", "type": "near", "target": f"o{j}_npc_{k}",
             "count": 3, "title": f"Other {j} task {k}"}
            for k in range(NPCS)
        ],
        "rule_listeners": [
            {"id": f"o{j}_l_{i}", "type": "near", "targets": [f"o{j}_npc_{i}"],
             "metadata": {"world_patch": {"mc": {"tell": "hi"}},
                          "commands": ["say {player} met other " + str(j)]}}
            for i in range(NPCS)
        ],
    }


def compile_level(data: dict[str, Any], name: str) -> CompiledLevel:
    raw = json.dumps(data).encode("utf-8")
    result = load_level_bytes(raw, f"{name}.json", name)
    if result.level is None:
        lines = "\n".join(f.format() for f in result.findings)
        raise SystemExit(f"bench level {name} does not compile:\n{lines}")
    return result.level


class LevelPool:
    """Compiles each level once; settings take what they need."""

    def __init__(self) -> None:
        self._bench: dict[int, CompiledLevel] = {}
        self._others: list[CompiledLevel] = []

    def bench(self, listeners: int) -> CompiledLevel:
        if listeners not in self._bench:
            self._bench[listeners] = compile_level(bench_level_dict(listeners), BENCH_LEVEL)
        return self._bench[listeners]

    def others(self, count: int) -> list[CompiledLevel]:
        while len(self._others) < count:
            j = len(self._others)
            self._others.append(compile_level(other_level_dict(j), f"other_{j}"))
        return self._others[:count]


# -- events ---------------------------------------------------------------------------


def near_payload(npc: int) -> dict[str, Any]:
    """A payload shaped exactly like the plugin's ``near`` event."""
    return {
        "target": f"npc_{npc}",
        "quest_event": f"near_npc_{npc}",
        "location": {"world": "world", "x": 1.5, "y": 64.0, "z": -3.25},
    }


PAYLOADS = [near_payload(k) for k in range(NPCS)]
Event = tuple[PlayerState, dict[str, Any]]


def schedule(states: list[PlayerState], start: int, n: int) -> list[Event]:
    """Events ``start .. start+n-1``: the player changes every event, the NPC shifts by one
    every pass over the players (so each player walks npc_0..npc_9 over time)."""
    p = len(states)
    return [(states[i % p], PAYLOADS[(i + i // p) % NPCS]) for i in range(start, start + n)]


# -- settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    name: str
    listeners: int
    others: int
    players: int


def settings(full: bool) -> list[Setting]:
    out = [Setting("smallest", SMALL_LISTENERS, SMALL_OTHERS, SMALL_PLAYERS)]
    if full:
        out.append(Setting("listeners 1,000", 1_000, SMALL_OTHERS, SMALL_PLAYERS))
    out.append(Setting("listeners 10,000", LARGE_LISTENERS, SMALL_OTHERS, SMALL_PLAYERS))
    if full:
        out.append(Setting("other levels 100", SMALL_LISTENERS, 100, SMALL_PLAYERS))
    out.append(Setting("other levels 1,000", SMALL_LISTENERS, LARGE_OTHERS, SMALL_PLAYERS))
    out.append(Setting("players 100,000", SMALL_LISTENERS, SMALL_OTHERS, LARGE_PLAYERS))
    out.append(Setting("all largest", LARGE_LISTENERS, LARGE_OTHERS, LARGE_PLAYERS))
    return out


@dataclass
class World:
    engine: Engine
    states: list[PlayerState]


def build_world(pool: LevelPool, s: Setting) -> World:
    lookup: dict[str, CompiledLevel] = {lv.id: lv for lv in pool.others(s.others)}
    lookup[BENCH_LEVEL] = pool.bench(s.listeners)
    engine = Engine(lookup.get)
    states = []
    for j in range(s.players):
        state = PlayerState(player_id=f"p{j}")
        engine.load(state, BENCH_LEVEL, NOW)
        states.append(state)
    return World(engine, states)


def check_world(world: World) -> None:
    """One event on a scratch player: one task progresses, one listener fires, its command
    names the player. A bench that matched nothing would measure nothing."""
    state = PlayerState(player_id="checker")
    world.engine.load(state, BENCH_LEVEL, NOW)
    out = world.engine.handle(state, "near", PAYLOADS[3], NOW)
    r = out.result
    ok = (
        r is not None
        and [n.get("type") for n in r["nodes"]] == ["task_progress"]
        and r["nodes"][0]["task_id"] == "greet_npc_3"
        and r["commands"] == ["title checker subtitle hello from 3"]
        and r["world_patch"] == {"mc": {"tell": "Listener 3 waves."}}
        and out.journal.get("listeners_fired") == ["l_3"]
        and r["active_tasks"] is None  # progress alone carries no quest log (issue 8)
    )
    if not ok:
        raise SystemExit(f"bench check failed: the event did not do what it should: {out!r}")


def run_events(handle: Callable[..., Any], events: list[Event]) -> int:
    """Time ``events`` through ``handle``; nanoseconds elapsed (wall clock)."""
    return run_events_timed(handle, events)[0]


def run_events_timed(handle: Callable[..., Any],
                     events: list[Event]) -> tuple[int, int]:
    """Time ``events`` through ``handle``: (wall ns, this thread's CPU ns). The wall clock
    is the figure; CPU time leaves out time the host gave to other processes, so a large
    gap between the two says the run was disturbed."""
    now = NOW
    c0 = time.thread_time_ns()
    t0 = time.perf_counter_ns()
    for state, payload in events:
        handle(state, "near", payload, now)
    t1 = time.perf_counter_ns()
    return t1 - t0, time.thread_time_ns() - c0


class Runner:
    """One setting's world and where its event sequence stands."""

    def __init__(self, setting: Setting, world: World) -> None:
        self.setting = setting
        self.world = world
        self.cursor = 0
        self.rates: list[float] = []
        self.cpu_us: list[float] = []

    def run(self, n: int) -> float:
        """The next ``n`` events of the sequence; events/s (CPU µs/event kept aside)."""
        events = schedule(self.world.states, self.cursor, n)
        self.cursor += n
        ns, cpu_ns = run_events_timed(self.world.engine.handle, events)
        self.cpu_us.append(cpu_ns / n / 1e3)
        return n / (ns / 1e9)


def freeze_heap() -> None:
    # The setup heap (up to 100,000 PlayerStates with their sessions, 1,000 compiled levels)
    # is long-lived. Collect it once and move it to the permanent generation, so the
    # garbage collector's periodic full passes during the timed loop do not walk it again
    # and again: otherwise the 100,000-player setting would mostly measure gc traversal of
    # setup objects, not the engine. gc stays enabled, as in the server.
    gc.collect()
    gc.freeze()


def thaw_heap() -> None:
    gc.unfreeze()
    gc.collect()


# -- main -----------------------------------------------------------------------------


def pin(cpu: int | None) -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = cpu if cpu is not None else allowed[-1]
    os.sched_setaffinity(0, {chosen})
    return chosen


def calibrate(pool: LevelPool, seconds: float) -> int:
    """Events that take about ``seconds`` on the smallest setting."""
    s = settings(False)[0]
    world = build_world(pool, s)
    freeze_heap()
    try:
        handle = world.engine.handle
        n = 2_000
        while True:
            ns = run_events(handle, schedule(world.states, 0, n))
            if ns >= 0.2e9 or n >= 10_000_000:
                break
            n *= 2
        return max(1_000, int(n * seconds / (ns / 1e9)))
    finally:
        del world
        thaw_heap()


def profile_smallest(pool: LevelPool, n: int, top: int) -> str:
    s = settings(False)[0]
    world = build_world(pool, s)
    freeze_heap()
    handle = world.engine.handle
    run_events(handle, schedule(world.states, 0, min(n, 5_000)))
    events = schedule(world.states, 5_000, n)
    prof = cProfile.Profile()
    prof.enable()
    run_events(handle, events)
    prof.disable()
    del world, events
    thaw_heap()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


# -- the lakeside demo traffic ------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
Steps = list[dict[str, Any]]


def lakeside_scripts(levels: Path) -> list[Steps]:
    """The steps of every lakeside scenario (their ``expect`` is not checked here:
    ``quest-runtime test levels`` does that)."""
    from quest_runtime.designer.scenario import parse_script

    return [[step.data for step in parse_script(path.read_text(encoding="utf-8"), str(path))]
            for path in sorted(levels.glob("lakeside*.scenario.jsonl"))]


def play_lakeside(engine: Engine, scripts: list[Steps], players: int) -> int:
    """Every script played by ``players`` fresh players; rule events handled."""
    import orjson

    from quest_runtime.errors import QuestError

    events = 0
    for p in range(players):
        for steps in scripts:
            state = PlayerState(player_id=f"Steve{p}")
            now = NOW
            for data in steps:
                if "advance_seconds" in data:
                    now += float(data["advance_seconds"])
                    engine.fire_due(state, now)
                    continue
                try:
                    if "load" in data:
                        out = engine.load(state, str(data["load"]), now)
                    elif data.get("end"):
                        out = engine.end(state, now)
                    else:
                        out = engine.handle(state, data.get("event_type"),
                                            data.get("payload") or {}, now)
                        events += 1
                except QuestError:  # a refused step (a blocked level): as the runtime
                    continue
                orjson.dumps(out.result)
                state.storage()
                state.changed = set()
                now += 1.0
    return events


def measure_lakeside(players: int, repeats: int, profile: bool) -> dict[str, Any]:
    from quest_runtime.designer.scenario import load_catalog

    levels = ROOT / "levels"
    catalog = load_catalog(levels)
    engine = Engine(catalog.get)
    scripts = lakeside_scripts(levels)
    play_lakeside(engine, scripts, 5)  # warm-up (memos, first-call costs)
    freeze_heap()
    try:
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            play_lakeside(engine, scripts, players)
            prof.disable()
            buf = io.StringIO()
            stats = pstats.Stats(prof, stream=buf)
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(30)
            print(buf.getvalue(), file=sys.stderr)
        rates: list[float] = []
        events = 0
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            events = play_lakeside(engine, scripts, players)
            rates.append(events / ((time.perf_counter_ns() - t0) / 1e9))
    finally:
        thaw_heap()
    med = statistics.median(rates)
    return {"setting": "lakeside traffic", "scenarios": len(scripts), "players": players,
            "events": events, "repeats": repeats, "events_per_s": rates,
            "median_events_per_s": med, "us_per_event": 1e6 / med,
            "spread": (max(rates) - min(rates)) / med}


def print_lakeside(row: dict[str, Any]) -> None:
    print(f"lakeside traffic ({row['scenarios']} scenarios x {row['players']} players, "
          f"{row['events']:,} rule events, with loads, timers and the runtime's encode): "
          f"{row['median_events_per_s']:,.0f} events/s, {row['us_per_event']:.1f} µs/event "
          f"(median of {row['repeats']}, spread {row['spread']:.0%})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke: ~0.2 s per measurement, 3 repeats, no intermediate settings")
    ap.add_argument("--json", action="store_true", help="print a JSON report instead of the table")
    ap.add_argument("--seconds", type=float, default=None,
                    help="target duration of one measurement (default 1.5, --quick 0.2)")
    ap.add_argument("--events", type=int, default=None,
                    help="events per measurement (default: calibrated to --seconds)")
    ap.add_argument("--repeat", type=int, default=None, help="repeats per setting (default 5)")
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: highest)")
    ap.add_argument("--profile", action="store_true",
                    help="also cProfile the smallest setting and print the top entries")
    ap.add_argument("--profile-only", action="store_true",
                    help="only cProfile the smallest setting")
    ap.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--lakeside", action="store_true",
                    help="also measure the lakeside demo traffic (levels/lakeside*.scenario.jsonl)")
    ap.add_argument("--lakeside-only", action="store_true",
                    help="only the lakeside demo traffic (with --profile: its cProfile)")
    ap.add_argument("--lakeside-players", type=int, default=100,
                    help="players playing every lakeside scenario per measurement (default 100)")
    args = ap.parse_args(argv)

    seconds = args.seconds if args.seconds is not None else (0.2 if args.quick else 1.5)
    repeats = args.repeat if args.repeat is not None else (3 if args.quick else 5)
    cpu = pin(args.cpu)
    err = sys.stderr
    pool = LevelPool()

    if args.profile_only:
        print(profile_smallest(pool, args.events or 50_000, 30))
        return 0
    if args.lakeside_only:
        only = measure_lakeside(args.lakeside_players, repeats, args.profile)
        if args.json:
            print(json.dumps({"bench": "engine", "python": platform.python_version(),
                              "cpu": cpu, "lakeside": only}, indent=2))
        else:
            print_lakeside(only)
        return 0

    n = args.events or calibrate(pool, seconds)
    warmup = max(200, n // 10)
    print(f"engine bench: cpu {cpu}, {n} events x {repeats} repeats per setting "
          f"(+{warmup} warm-up)", file=err)

    # Every world is built first and the settings are measured interleaved, one round at a
    # time (order reversed every other round), so a burst of host noise hits all settings
    # alike instead of one setting's five repeats.
    runners: list[Runner] = []
    for s in settings(not args.quick):
        t0 = time.perf_counter()
        world = build_world(pool, s)
        check_world(world)
        runners.append(Runner(s, world))
        print(f"  built {s.name:<20} in {time.perf_counter() - t0:.1f} s", file=err)
    freeze_heap()
    for r in runners:
        r.run(warmup)
        r.cpu_us.clear()
    for rnd in range(repeats):
        order = runners if rnd % 2 == 0 else runners[::-1]
        for r in order:
            r.rates.append(r.run(n))
        print(f"  round {rnd + 1}/{repeats}: " + ", ".join(
            f"{r.setting.name} {r.rates[-1]:,.0f}" for r in runners), file=err)

    rows: list[dict[str, Any]] = []
    for r in runners:
        s, rates = r.setting, r.rates
        med = statistics.median(rates)
        rows.append({"setting": s.name, "listeners": s.listeners, "other_levels": s.others,
                     "players": s.players, "events": n, "repeats": repeats,
                     "events_per_s": rates, "median_events_per_s": med,
                     "us_per_event": 1e6 / med,
                     "cpu_us_per_event": statistics.median(r.cpu_us),
                     "spread": (max(rates) - min(rates)) / med})
    del runners
    thaw_heap()
    lake = measure_lakeside(args.lakeside_players, repeats, False) if args.lakeside else None

    base_us = rows[0]["us_per_event"]
    all_pass = True
    for i, row in enumerate(rows):
        row["ratio"] = row["us_per_event"] / base_us
        if i == 0:
            row["target"] = f">= {TARGET_EVENTS_PER_S:,} ev/s"
            row["pass"] = row["median_events_per_s"] >= TARGET_EVENTS_PER_S
        else:
            row["target"] = f"ratio <= {TARGET_RATIO}"
            row["pass"] = row["ratio"] <= TARGET_RATIO
        all_pass = all_pass and row["pass"]

    if args.json:
        print(json.dumps({
            "bench": "engine", "python": platform.python_version(), "cpu": cpu,
            "events": n, "repeats": repeats,
            "targets": {"smallest_events_per_s": TARGET_EVENTS_PER_S, "max_ratio": TARGET_RATIO},
            "pass": all_pass, "settings": rows,
            **({"lakeside": lake} if lake is not None else {}),
        }, indent=2))
    else:
        print(f"Engine.handle, in process, one core (cpu {cpu}), Python "
              f"{platform.python_version()}; median of {repeats} x {n:,} events")
        head = (f"{'setting':<20} {'listeners':>9} {'others':>6} {'players':>7} "
                f"{'events/s':>9} {'µs/event':>8} {'cpu µs':>6} {'ratio':>5} {'spread':>6}  "
                f"{'target':<16} result")
        print(head)
        print("-" * len(head))
        for row in rows:
            print(f"{row['setting']:<20} {row['listeners']:>9,} {row['other_levels']:>6,} "
                  f"{row['players']:>7,} {row['median_events_per_s']:>9,.0f} "
                  f"{row['us_per_event']:>8.2f} {row['cpu_us_per_event']:>6.2f} "
                  f"{row['ratio']:>5.2f} {row['spread']:>6.0%}  "
                  f"{row['target']:<16} "
                  f"{'PASS' if row['pass'] else 'MISS'}")
        print(f"targets: >= {TARGET_EVENTS_PER_S:,} events/s on the smallest setting; "
              f"every cost ratio <= {TARGET_RATIO}: {'PASS' if all_pass else 'MISS'}")
        if lake is not None:
            print_lakeside(lake)

    if args.profile:
        print(profile_smallest(pool, n, 30), file=err if args.json else sys.stdout)
    return 1 if (args.fail_on_miss and not all_pass) else 0


if __name__ == "__main__":
    sys.exit(main())
