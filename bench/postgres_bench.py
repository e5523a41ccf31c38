"""PostgreSQL store benchmark (issue 13 Deliver 7): what a network of instances costs.

Starts a throwaway PostgreSQL cluster (``tests/store/postgres/pg_cluster.py``, fsync ON
unless ``--no-fsync``), then measures, each scenario ``--repeat`` times alternating, the
median of:

1. **store commits** — ``PostgresStore`` driven by ``--callers`` concurrent callers (each
   its own player, a journal entry per commit) in this process: group commit (the
   default) against one transaction per event (``group_limit=1`` with as many writer
   connections as the pool allows). Commits per second and per CPU-second (this
   process + the PostgreSQL server processes).
2. **events over HTTP** — one, then two ``quest-runtime serve --store postgres``
   instances (each pinned to its own CPU with ``--pin``), rule events from
   ``--connections`` keep-alive clients spread over the instances. Events per second
   and per CPU-second of the instances (from /proc), with the database's CPU beside.
3. **pgbench** on the same statement (``SELECT qr_commit(...)``, one transaction per
   call, ``--callers`` clients): the database's own ceiling for this commit.

    .venv/bin/python bench/postgres_bench.py [--seconds 5] [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "store" / "postgres"))

from pg_cluster import Cluster  # noqa: E402

from quest_runtime.store.base import Commit, JournalEntry  # noqa: E402
from quest_runtime.store.postgres import PostgresStore  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
LEVEL = {"id": "counter", "title": "Counter", "format": 1,
         "tasks": [{"id": "tally", "type": "near", "target": "beacon", "count": 10**9,
                    "title": "Tally", "hint": "walk near the beacon"}]}


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by ``pids`` (gone ones count 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def postgres_pids(cluster: Cluster) -> list[int]:
    out = subprocess.run(["pgrep", "-f", str(cluster.data)], capture_output=True, text=True)
    parent = [int(p) for p in out.stdout.split()]
    kids = subprocess.run(["pgrep", "-P", ",".join(map(str, parent)) or "0"],
                          capture_output=True, text=True)
    return parent + [int(p) for p in kids.stdout.split()]


# -- 1. store commits -------------------------------------------------------------------


async def store_run(dsn: str, seconds: float, callers: int, group: bool,
                    cluster: Cluster, run: int) -> dict[str, float]:
    store = (PostgresStore(dsn, pool_size=16, writers=2) if group else
             PostgresStore(dsn, pool_size=callers + 1, writers=callers, group_limit=1))
    await store.open()
    done = 0
    stop = time.monotonic() + seconds

    async def caller(n: int) -> None:
        nonlocal done
        pid, version = f"s{run}-{n}-{int(group)}", 0
        while time.monotonic() < stop:
            entry = JournalEntry(pid, f"e{version}", "near", time.time(), {"n": version},
                                 b'{"ok":true}', "d")
            version = await store.commit(Commit(pid, b'{"player_id":"x"}', version, entry))
            done += 1

    pg = postgres_pids(cluster)
    cpu0, pg0, t0 = time.process_time(), cpu_of(pg), time.monotonic()
    await asyncio.gather(*(caller(n) for n in range(callers)))
    wall = time.monotonic() - t0
    cpu, pg_cpu = time.process_time() - cpu0, cpu_of(pg) - pg0
    tx = store.transactions
    await store.close()
    return {"per_s": done / wall, "per_cpu_s": done / (cpu + pg_cpu),
            "client_cpu": cpu / wall, "db_cpu": pg_cpu / wall, "per_tx": done / max(tx, 1)}


# -- 2. events over HTTP ----------------------------------------------------------------


def start_instance(dsn: str, levels: Path, port: int, cpu: int | None,
                   log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "quest_runtime", "serve", "--store", "postgres",
           "--port", str(port), "--levels", str(levels), "--no-watch"]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    env = {**os.environ, "QUEST_RUNTIME_DSN": dsn, "QUEST_RUNTIME_LOG_LEVEL": "warning",
           "QUEST_RUNTIME_RATE_LIMIT_PER_SECOND": "0"}
    return subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def wait_ready(port: int) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(f"http://127.0.0.1:{port}/ready") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"instance on {port} did not become ready")


async def http_run(ports: list[int], seconds: float, connections: int, tag: str
                   ) -> tuple[int, float]:
    """Events answered 200 in ``seconds`` from ``connections`` clients (each its own
    player, loaded first) spread over ``ports``; returns (events, wall seconds)."""
    done = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def client(n: int) -> None:
            nonlocal done
            port, pid = ports[n % len(ports)], f"h{tag}-{n}"
            url = f"http://127.0.0.1:{port}/world/story"
            async with session.post(f"{url}/load", json={"player_id": pid,
                                                         "level_id": "counter"}) as r:
                assert r.status == 200, await r.text()
            await started.wait()
            k = 0
            while time.monotonic() < stop:
                body = orjson.dumps({"player_id": pid, "event_type": "near",
                                     "event_id": f"{pid}-{k}",
                                     "payload": {"target": "beacon"}})
                async with session.post(f"{url}/rule-event", data=body,
                                        headers={"Content-Type": "application/json"}) as r:
                    await r.read()
                    if r.status == 200:
                        done += 1
                k += 1

        started = asyncio.Event()
        stop = float("inf")
        tasks = [asyncio.create_task(client(n)) for n in range(connections)]
        await asyncio.sleep(1.0)  # loads done
        t0 = time.monotonic()
        stop = t0 + seconds
        started.set()
        await asyncio.gather(*tasks)
        return done, time.monotonic() - t0


async def instances_run(dsn: str, levels: Path, count: int, seconds: float, connections: int,
                        pin: bool, cluster: Cluster, run: int, logdir: Path
                        ) -> dict[str, float]:
    from socket import socket

    ports = []
    for _ in range(count):
        with socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    procs = [start_instance(dsn, levels, port, (k % (os.cpu_count() or 1)) if pin else None,
                            logdir / f"instance_{k}.log") for k, port in enumerate(ports)]
    try:
        await asyncio.gather(*(wait_ready(p) for p in ports))
        pids, pg = [p.pid for p in procs], postgres_pids(cluster)
        cpu0, pg0 = cpu_of(pids), cpu_of(pg)
        events, wall = await http_run(ports, seconds, connections, f"{count}-{run}")
        cpu, pg_cpu = cpu_of(pids) - cpu0, cpu_of(pg) - pg0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    return {"per_s": events / wall, "per_cpu_s": events / max(cpu, 1e-9),
            "instance_cpu": cpu / wall, "db_cpu": pg_cpu / wall}


# -- 3. pgbench ---------------------------------------------------------------------------


def pgbench_run(cluster: Cluster, dbname: str, seconds: float, clients: int) -> float:
    script = Path(tempfile.mkdtemp(prefix="qr-pgbench-")) / "commit.sql"
    script.write_text(
        "\\set p random(1, 100000)\n"
        "SELECT qr_commit('g' || :p, '\\x7b7d'::bytea, "
        "COALESCE((SELECT version FROM players WHERE player_id = 'g' || :p), 0), NULL, false, "
        "false, '{}'::text[], '{}'::bytea[], NULL, 'near', 0, '\\x7b7d'::bytea, "
        "'\\x7b7d'::bytea, 'd', 200, 0);\n")
    os.chmod(script.parent, 0o755)
    os.chmod(script, 0o644)
    cmd = [str(cluster.bin / "pgbench"), "-h", "127.0.0.1", "-p", str(cluster.port),
           "-U", "postgres", "-n", "-f", str(script), "-c", str(clients), "-j", "2",
           "-T", str(max(1, int(seconds))), dbname]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    match = re.search(r"tps = ([\d.]+)", out.stdout)
    if not match:
        raise RuntimeError(f"pgbench failed: {out.stdout[-800:]}{out.stderr[-800:]}")
    return float(match.group(1))


# -- main ---------------------------------------------------------------------------------


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def spread(runs: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in runs]
    return f"{min(values):,.0f}-{max(values):,.0f}"


async def bench(args: argparse.Namespace) -> None:
    cluster = Cluster(fsync=not args.no_fsync).start()
    work = Path(tempfile.mkdtemp(prefix="qr-pgb-"))
    try:
        dsn = cluster.new_database()
        dbname = dsn.rsplit("=", 1)[1]
        (work / "levels").mkdir()
        (work / "levels" / "counter.json").write_bytes(orjson.dumps(LEVEL))
        await (s := PostgresStore(dsn)).open()
        await s.close()
        store: dict[str, list[dict[str, float]]] = {"group": [], "single": []}
        http: dict[int, list[dict[str, float]]] = {1: [], 2: []}
        pgb: list[float] = []
        for run in range(args.repeat):  # alternate, so drift hits every scenario alike
            for mode in ("group", "single"):
                store[mode].append(await store_run(dsn, args.seconds, args.callers,
                                                   mode == "group", cluster, run))
            for count in (1, 2):
                http[count].append(await instances_run(
                    dsn, work / "levels", count, args.seconds, args.connections, args.pin,
                    cluster, run, work))
            pgb.append(pgbench_run(cluster, dbname, args.seconds, args.callers))
            print(f"run {run + 1}/{args.repeat} done", file=sys.stderr)
        n = args.repeat
        print(f"\nPostgreSQL store benchmark: medians of {n} runs ({args.seconds:g} s each, "
              f"alternating), fsync {'off' if args.no_fsync else 'on'}, "
              f"{os.cpu_count()} CPUs\n")
        print(f"store commits, {args.callers} callers (one player each, a journal entry "
              "per commit):")
        for mode, label in (("group", "group commit"), ("single", "one transaction/event")):
            r = store[mode]
            print(f"  {label:24} {median(r, 'per_s'):>9,.0f}/s  (range {spread(r, 'per_s')})"
                  f"  {median(r, 'per_cpu_s'):>7,.0f} per CPU-s (client+db)  "
                  f"db CPU {median(r, 'db_cpu'):.2f} cores  {median(r, 'per_tx'):.1f} "
                  "commits/tx")
        print(f"\nrule events over HTTP, {args.connections} keep-alive clients"
              f"{', instances pinned one per CPU' if args.pin else ''}:")
        for count in (1, 2):
            r = http[count]
            print(f"  {count} instance{'s' if count > 1 else ' '}              "
                  f"{median(r, 'per_s'):>9,.0f}/s  (range {spread(r, 'per_s')})  "
                  f"{median(r, 'per_cpu_s'):>7,.0f} per instance CPU-s  "
                  f"instances {median(r, 'instance_cpu'):.2f} cores, db "
                  f"{median(r, 'db_cpu'):.2f} cores")
        print(f"\npgbench, SELECT qr_commit(...) one transaction each, {args.callers} clients:"
              f"  {statistics.median(pgb):,.0f} tps (range {min(pgb):,.0f}-{max(pgb):,.0f})")
        print("\nThe load client shares the machine's CPUs with the instances and the "
              "database; on a 2-CPU machine every figure is bounded by that sharing.")
    finally:
        cluster.destroy()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--callers", type=int, default=64)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--no-fsync", action="store_true")
    p.add_argument("--quick", action="store_true", help="--seconds 1 --repeat 1")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.repeat = 1.0, 1
    asyncio.run(bench(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
