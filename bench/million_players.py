"""A million stored players: start-up time and per-event cost against a thousand.

What it measures, each setting against the small baseline in the same run:

- ``ready``: seconds from starting ``quest-runtime serve`` until ``GET /ready`` answers 200,
  on a SQLite file holding N player documents (each in a level session of the HTTP bench's
  level; 1 % of them with a timer pending a day ahead, so the scheduler has something to
  index). Start-up reads the store's wakeup index, not the documents.
- ``event``: ``POST /world/story/rule-event`` req/s with 16 connections, where 90 % of the
  events go to a hot set of players (cached after the warm-up) and 10 % to players drawn
  from all N (mostly not cached: a store read) — against 1,000 stored players where every
  player is hot. The ratio ``small / large`` of req/s is the per-event cost ratio.

Medians over ``--repeat`` runs; the two settings alternate. Run::

    .venv/bin/python bench/million_players.py                     # 1,000,000 vs 1,000
    .venv/bin/python bench/million_players.py --players 100000 --repeat 3 --seconds 3

The file of N players is built once per run in a temporary folder (about 0.4 KB each:
1M players take ~30 s to write and ~450 MB of disk), removed on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench as hb  # the HTTP bench's server and wrk helpers

ROOT = Path(__file__).resolve().parent.parent
HOT = 1000  # players that get 90 % of the events


def level() -> dict[str, Any]:
    lv = hb.bench_level()
    lv["timers"] = {"later": {"delay_seconds": 86400, "effects": []}}
    return lv


def document(player: str, timer: bool) -> bytes:
    tasks: dict[str, list[Any]] = {f"reach_npc_{k}": ["issued", 0, 0, 0.0, None, {}]
                                   for k in range(hb.NPCS)}
    session: dict[str, Any] = {
        "level_id": hb.LEVEL_ID, "level_version": "", "started_at": 0.0, "tasks": tasks,
        "refs": [], "listeners": {}, "behaviors": {}, "summary_emitted": False,
        "exit_ready": False}
    if timer:
        session["timers"] = {"pending": {"later": time.time() + 86400}}
    return orjson.dumps({"v": 2, "player_id": player, "flags": ["met_mia"],
                         "vars": {"courage": 3}, "items": {}, "completed_levels": [],
                         "once_marks": [], "session": session})


def build_store(path: Path, players: int) -> None:
    """A store file with ``players`` documents, made by the service's own schema."""
    hb.log(f"writing {players:,} players to {path.name} ...")
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", (
        "import asyncio, sys; from quest_runtime.store.sqlite import SQLiteStore\n"
        "async def go():\n    s = SQLiteStore(sys.argv[1]); await s.open(); await s.close()\n"
        "asyncio.run(go())"), str(path)], check=True, cwd=ROOT)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(players)")}
    conn.execute("BEGIN")
    if "due" in columns:
        conn.executemany(
            "INSERT INTO players (player_id, document, version, updated_at, due, outbox, "
            "wake_known) VALUES (?, ?, 1, 0, ?, 0, 1)",
            ((f"p{i}", document(f"p{i}", i % 100 == 7), time.time() + 86400 if i % 100 == 7
              else None) for i in range(players)))
    else:  # a quest-runtime from before the wakeup index (for before/after figures)
        conn.executemany(
            "INSERT INTO players (player_id, document, version, updated_at) "
            "VALUES (?, ?, 1, 0)",
            ((f"p{i}", document(f"p{i}", i % 100 == 7)) for i in range(players)))
    conn.execute("COMMIT")
    conn.close()
    hb.log(f"  written in {time.monotonic() - started:.1f} s")


def start(db: Path, levels: Path, cpu: int | None, log_path: Path) -> tuple[hb.Server, float]:
    """Start the service; seconds until /ready answers 200."""
    port = hb.free_port()
    cmd = [sys.executable, "-m", "quest_runtime", "serve", "--port", str(port), "--db",
           str(db), "--levels", str(levels), "--no-watch"]
    server = hb.Server("target", cmd, port, log_path)
    started = time.monotonic()
    server.start(cpu)
    deadline = started + 120
    while time.monotonic() < deadline:
        if server.proc is None or server.proc.poll() is not None:
            raise RuntimeError(f"the service exited during start-up:\n{server.log_tail()}")
        conn = http.client.HTTPConnection(hb.HOST, port, timeout=2)
        try:
            status, _ = hb.request(conn, "GET", "/ready")
            if status == 200:
                return server, time.monotonic() - started
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.02)
    server.stop()
    raise RuntimeError("the service was not ready within 120 s")


def bodies(players: int, path: Path, count: int = 20000) -> Path:
    rng = random.Random(7)
    lines = []
    for j in range(count):
        player = (rng.randrange(min(HOT, players)) if rng.random() < 0.9
                  else rng.randrange(players))
        lines.append(hb.compact(hb.near_event(f"p{player}", j % hb.NPCS)))
    path.write_text("\n".join(lines) + "\n")
    return path


def warm(server: hb.Server, players: int) -> None:
    conn = http.client.HTTPConnection(hb.HOST, server.port, timeout=10)
    try:
        for p in range(min(HOT, players)):
            body = hb.compact(hb.near_event(f"p{p}", 0)).encode()
            status, answer = hb.request(conn, "POST", hb.RULE_EVENT, body)
            if status != 200:
                raise RuntimeError(f"warm-up event answered {status}: {answer[:200]!r}")
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--players", type=int, default=1_000_000)
    ap.add_argument("--baseline", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args(argv)
    wrk = hb.ensure_wrk()
    server_cpu, wrk_cpu = (0, 1) if len(os.sched_getaffinity(0)) > 1 else (None, None)
    with tempfile.TemporaryDirectory(prefix="qr-million-") as tmp:
        root = Path(tmp)
        levels = root / "levels"
        levels.mkdir()
        (levels / "bench.json").write_bytes(orjson.dumps(level()))
        lua = root / "bench.lua"
        lua.write_text(hb.LUA_SCRIPT)
        figures: dict[int, dict[str, list[float]]] = {}
        for n in (args.baseline, args.players):
            build_store(root / f"{n}.db", n)
            bodies(n, root / f"{n}.bodies")
            figures[n] = {"ready": [], "req_s": []}
        for rep in range(args.repeat):
            order = (args.baseline, args.players) if rep % 2 == 0 else (args.players,
                                                                          args.baseline)
            for n in order:
                server, ready = start(root / f"{n}.db", levels, server_cpu,
                                      root / f"{n}.log")
                try:
                    warm(server, n)
                    sc = hb.Scenario(f"{n}", hb.RULE_EVENT, args.connections,
                                     root / f"{n}.bodies", 1, 150)
                    run = hb.run_wrk(wrk, lua, server, sc, args.seconds, wrk_cpu)
                finally:
                    server.stop()
                if run["errors"]:
                    raise RuntimeError(f"{run['errors']} failed requests with {n} players")
                figures[n]["ready"].append(ready)
                figures[n]["req_s"].append(run["req_s"])
                hb.log(f"  repeat {rep + 1}: {n:>9,} players  ready {ready:5.2f} s  "
                       f"{run['req_s']:8.0f} req/s")
    small, large = figures[args.baseline], figures[args.players]
    med = {k: (statistics.median(small[k]), statistics.median(large[k]))
           for k in ("ready", "req_s")}
    print(f"{'players':>12} {'ready (s)':>10} {'req/s':>9}   (medians of {args.repeat})")
    print(f"{args.baseline:>12,} {med['ready'][0]:>10.2f} {med['req_s'][0]:>9.0f}")
    print(f"{args.players:>12,} {med['ready'][1]:>10.2f} {med['req_s'][1]:>9.0f}")
    print(f"ready with {args.players:,} players: {med['ready'][1]:.2f} s (target <= 5 s); "
          f"per-event cost ratio {med['req_s'][0] / med['req_s'][1]:.2f}x (target <= 1.3x)")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
