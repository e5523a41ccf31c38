"""HTTP benchmark: the quest-runtime service against a bare aiohttp floor, in the same run.

What it measures
----------------
Requests/s, events/s and p50/p99 latency of ``POST /world/story/rule-event`` (single events,
at 1, 8 and 64 keep-alive connections) and ``POST /world/story/rule-events`` (batches of 100
events, at 8 connections), for two servers started side by side on loopback:

- the floor (``bench/floor_server.py``): aiohttp reading the body, ``orjson.loads``, fixed
  response: the most the HTTP stack allows on this machine;
- the target: by default the real service, ``python -m quest_runtime serve``, with a
  generated levels folder holding one level ``bench`` (10 ``near`` tasks on ``npc_0..9``
  with count 1000000, so they never complete, and 10 ``near`` listeners answering with a
  ``world_patch``), and 256 players ``p0..p255`` loaded into it before measuring.

Plugin-shaped traffic (``bench/traffic.py``): ``lakeside c=64`` plays the demo level the way
the DriftSystem plugin does (its load path with ``{}``, near/chat/click/choice events
without ``event_id``, a quest-log read after each answer that changed the log), player
after player; ``history64 c=16`` sends the single-event bodies for 64 players who each
completed 20 levels, fired 1,000 once-per-player listeners and have a full journal, and
``fresh64 c=16`` the same bodies for 64 fresh players: ``history cost`` = the median over
the repeats of fresh req/s / history req/s in that repeat (≤ 1.3 means cost does not grow
with history; the scenarios' order alternates repeat by repeat, so drift favours neither).
``--baseline-cmd`` adds a second service (e.g. an older checkout) to the same run,
alternating with the others.

The host is noisy, so the two are measured in the same run, alternating (floor first on odd
repeats, target first on even ones), each measurement after a 1 s warm-up, and the table
quotes MEDIANS over ``--repeat`` runs. The ``ratio`` column is target req/s / floor req/s:
the share of the HTTP stack's ceiling the service reaches. ``--target-cmd floor`` runs a
second floor as the target; its ratio (≈ 1.0) shows how noisy the run is. The table warns
when a server's req/s varied more than 1.25× across repeats; ``--json`` also gives every
run and the median of the per-repeat (back-to-back) target/floor ratios. On a noisy host,
shorter and more numerous runs (``--seconds 2 --repeat 9``) resolve the ratio better.
A second table gives each server's CPU time per request (user + system of its process, all
threads, from ``/proc``) and floor CPU / target CPU: time the host took from the machine or
gave to other processes is not in it, so on a shared host it moves less than req/s does.

Each server is pinned to CPU 0 and ``wrk`` (one thread, keep-alive) to CPU 1, as
shared/PERFORMANCE-NOTES.md describes. Bodies are shaped exactly like the plugin's ``near``
event (~150 bytes), rotating over the players and NPCs. Only 127.0.0.1 is ever targeted;
every run is bounded by ``--seconds``; servers are stopped and temp files removed on exit,
Ctrl-C included.

How to run
----------
::

    .venv/bin/python bench/http_bench.py                      # floor vs. the service
    .venv/bin/python bench/http_bench.py --floor-only          # the floor alone
    .venv/bin/python bench/http_bench.py --target-cmd floor    # floor vs. floor: noise check
    .venv/bin/python bench/http_bench.py --seconds 10 --repeat 5 --json > bench.json

``wrk`` is installed with apt-get when missing (root only). ``--target-cmd`` takes a
command line with the placeholders ``{python}``, ``{port}``, ``{db}``, ``{levels}`` and
``{host}``, e.g. ``--target-cmd "{python} -m quest_runtime serve --port {port} --db {db}
--levels {levels}"`` (the default). When the target does not start (or its player preload
fails), the bench says why, reports the floor figures alone and exits with status 2.
Progress goes to stderr; the table (or with ``--json`` the JSON report) to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import traffic  # bench/traffic.py, beside this file

HOST = "127.0.0.1"  # the only address this bench ever sends traffic to
RULE_EVENT = "/world/story/rule-event"
RULE_EVENTS = "/world/story/rule-events"
LOAD = "/world/story/load"
HEALTH = "/health"
LEVEL_ID = "bench"
NPCS = 10
FLOOR_SERVER = Path(__file__).resolve().with_name("floor_server.py")
DEFAULT_TARGET_CMD = "{python} -m quest_runtime serve --port {port} --db {db} --levels {levels}"
MARK = "BENCH_JSON "
NOISY = 1.25  # max/min req/s across repeats above which the table warns

# One wrk script for every scenario: BENCH_BODIES names a file with one request body per
# line, BENCH_PATH the URL path; a line "METHOD<TAB>PATH<TAB>BODY" is that request instead
# (the plugin-shaped traffic of bench/traffic.py). Requests are formatted once in init()
# and rotated over, from a random line, or from the first with BENCH_IN_ORDER=1 (a
# play-through starts with its load); done() prints the figures as one JSON line
# (latencies in microseconds).
LUA_SCRIPT = r"""
local path = os.getenv("BENCH_PATH")
local bodies_file = os.getenv("BENCH_BODIES")
local reqs = {}
local n = 0
local i = 0

function init(args)
  local json = {["Content-Type"] = "application/json"}
  local plugin = {["Content-Type"] = "application/json; charset=utf-8"}
  for line in io.lines(bodies_file) do
    if #line > 0 then
      n = n + 1
      local method, url, body = line:match("^(%u+)\t([^\t]+)\t(.*)$")
      if method == "GET" then
        reqs[n] = wrk.format("GET", url)
      elseif method then
        reqs[n] = wrk.format(method, url, plugin, body)
      else
        reqs[n] = wrk.format("POST", path, json, line)
      end
    end
  end
  if os.getenv("BENCH_IN_ORDER") == "1" then i = 0 else i = math.random(n) - 1 end
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"mean_us":%.1f,"max_us":%.0f,' ..
    '"err_connect":%.0f,"err_read":%.0f,"err_write":%.0f,"err_status":%.0f,' ..
    '"err_timeout":%.0f}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


# --------------------------------------------------------------------------- fixtures


def bench_level() -> dict[str, Any]:
    """The fixture level: 10 never-completing near tasks and 10 near listeners."""
    return {
        "id": LEVEL_ID,
        "title": "HTTP bench",
        "tasks": [
            {
                "id": f"reach_npc_{k}",
                "type": "near",
                "target": f"npc_{k}",
                "count": 1_000_000,
                "title": f"Reach npc_{k}",
            }
            for k in range(NPCS)
        ],
        "rule_listeners": [
            {
                "id": f"greet_npc_{k}",
                "type": "near",
                "targets": [f"npc_{k}"],
                "metadata": {"world_patch": {"mc": {"tell": "hi"}}},
            }
            for k in range(NPCS)
        ],
    }


def near_event(player: str, npc: int) -> dict[str, Any]:
    """A rule event shaped exactly like the plugin's ``near`` event."""
    return {
        "player_id": player,
        "event_type": "near",
        "payload": {
            "target": f"npc_{npc}",
            "quest_event": f"near_npc_{npc}",
            "location": {"world": "world", "x": 1.5, "y": 64.0, "z": -3.25},
        },
    }


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def single_bodies(players: int) -> list[str]:
    """players × NPCS bodies: the player changes every request, the NPC every pass."""
    return [
        compact(near_event(f"p{j % players}", (j // players) % NPCS)) for j in range(players * NPCS)
    ]


def batch_bodies(players: int, size: int, count: int = 64) -> list[str]:
    """``count`` batch bodies of ``size`` events each, walking the single-event sequence."""
    total = players * NPCS
    out = []
    for b in range(count):
        events = [
            near_event(f"p{j % players}", (j // players) % NPCS)
            for j in ((b * size + k) % total for k in range(size))
        ]
        out.append(compact({"events": events}))
    return out


# --------------------------------------------------------------------------- processes


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() != 0:
        sys.exit(
            "http_bench: wrk is not installed and this is not root, so it cannot be "
            "installed here; run `apt-get update && apt-get install -y wrk` as root first."
        )
    log("wrk not found: installing it with apt-get ...")
    subprocess.run("apt-get update -qq && apt-get install -y -qq wrk", shell=True, check=True)
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("http_bench: apt-get finished but wrk is still not on PATH")
    return wrk


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def pinner(cpu: int | None) -> Callable[[], None] | None:
    """A preexec_fn pinning the child (and every thread it starts) to one CPU."""
    if cpu is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    return pin


@dataclass
class Server:
    role: str  # "floor", "target" or "baseline"
    cmd: list[str]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    failure: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.failure is None and self.proc is not None and self.proc.poll() is None

    def start(self, cpu: int | None) -> None:
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
                preexec_fn=pinner(cpu),
                cwd=Path(__file__).resolve().parent.parent,
                # 256 players at the floor's pace send ~50 events/s each, the default
                # per-player limit: the bench measures the event path, not the limiter
                env={**os.environ, "QUEST_RUNTIME_RATE_LIMIT_PER_SECOND": "0"},
            )

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join("    | " + ln for ln in text.splitlines()[-lines:])

    def fail(self, reason: str) -> None:
        self.failure = reason
        tail = self.log_tail()
        log(f"!! {self.role} unavailable: {reason}")
        if tail:
            log(f"   last lines of its output ({' '.join(self.cmd[:4])} ...):\n{tail}")


def request(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def wait_healthy(server: Server, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc is None or server.proc.poll() is not None:
            code = server.proc.returncode if server.proc else None
            server.fail(f"exited with code {code} during start-up")
            return False
        conn = http.client.HTTPConnection(HOST, server.port, timeout=2)
        try:
            status, body = request(conn, "GET", HEALTH)
            if status == 200:
                with contextlib.suppress(ValueError):
                    server.info = json.loads(body)
                return True
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    server.fail(f"GET {HEALTH} did not answer 200 within {timeout:.0f} s")
    return False


def check_ok(status: int, body: bytes, what: str) -> str | None:
    """None when the answer is a 200 with status "ok", else what went wrong."""
    if status != 200:
        return f"{what} answered HTTP {status}: {body[:300]!r}"
    try:
        data = json.loads(body)
    except ValueError:
        return f"{what} answered non-JSON: {body[:300]!r}"
    if not isinstance(data, dict) or data.get("status") != "ok":
        return f"{what} answered {body[:300]!r}"
    return None


def preload_and_check(server: Server, players: int, single: str, batch: str) -> bool:
    """Load the bench level for every player, then send one event and one batch."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        for p in range(players):
            body = compact({"player_id": f"p{p}", "level_id": LEVEL_ID}).encode()
            status, answer = request(conn, "POST", LOAD, body)
            problem = check_ok(status, answer, f"POST {LOAD} for p{p}")
            if problem:
                server.fail(problem)
                return False
        for path, body_text in ((RULE_EVENT, single), (RULE_EVENTS, batch)):
            status, answer = request(conn, "POST", path, body_text.encode())
            problem = check_ok(status, answer, f"POST {path}")
            if problem:
                server.fail(problem)
                return False
    except (OSError, http.client.HTTPException) as exc:
        server.fail(f"preload failed: {exc!r}")
        return False
    finally:
        conn.close()
    return True


# --------------------------------------------------------------------------- measuring


@dataclass
class Scenario:
    name: str
    path: str
    connections: int
    bodies_file: Path
    events_per_request: int
    body_bytes: int
    in_order: bool = False  # every run starts at the first line (a play-through)


def cpu_seconds(proc: subprocess.Popen[bytes] | None) -> float | None:
    """The CPU time (user + system, every thread) a server process has used so far, from
    ``/proc/<pid>/stat``; None where there is no such file."""
    if proc is None:
        return None
    try:
        stat = Path(f"/proc/{proc.pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    wrk: str, lua: Path, server: Server, sc: Scenario, seconds: int, cpu: int | None
) -> dict[str, Any]:
    env = dict(os.environ, BENCH_PATH=sc.path, BENCH_BODIES=str(sc.bodies_file),
               BENCH_IN_ORDER="1" if sc.in_order else "0")
    cmd = [
        wrk,
        "-t1",
        f"-c{sc.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        f"http://{HOST}:{server.port}{sc.path}",
    ]
    cpu_before = cpu_seconds(server.proc)
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=pinner(cpu),
    )
    try:
        stdout, stderr = proc.communicate(timeout=seconds + 60)
    finally:
        if proc.poll() is None:  # interrupted or timed out: never leave wrk behind
            proc.kill()
            proc.wait()
    cpu_after = cpu_seconds(server.proc)
    for line in stdout.splitlines():
        if line.startswith(MARK):
            raw = json.loads(line[len(MARK) :])
            break
    else:
        raise RuntimeError(
            f"wrk printed no result (exit {proc.returncode}): {stdout[-500:]} {stderr[-500:]}"
        )
    secs = raw["duration_us"] / 1e6
    req_s = raw["requests"] / secs if secs > 0 else 0.0
    errors = sum(raw[k] for k in raw if k.startswith("err_"))
    # the server's CPU per request: unlike req/s, time the host took from the VM (steal)
    # or gave to other processes is not in it, so it is the steadier figure on a shared host
    cpu_us = (1e6 * (cpu_after - cpu_before) / raw["requests"]
              if cpu_before is not None and cpu_after is not None and raw["requests"]
              else None)
    return {
        "cpu_us": cpu_us,
        "req_s": req_s,
        "events_s": req_s * sc.events_per_request,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "raw": raw,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("req_s", "events_s", "p50_ms", "p90_ms", "p99_ms", "max_ms")
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    cpu = [r["cpu_us"] for r in runs if r.get("cpu_us") is not None]
    med["cpu_us"] = statistics.median(cpu) if cpu else None
    med["errors"] = sum(r["errors"] for r in runs)
    med["runs"] = len(runs)
    rates = [r["req_s"] for r in runs]
    med["spread"] = max(rates) / min(rates) if min(rates) > 0 else None  # max/min req/s
    return med


# --------------------------------------------------------------------------- output


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fmt_rate(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def fmt_lat(m: dict[str, Any] | None) -> str:
    return "-" if m is None else f"{m['p50_ms']:.2f}/{m['p99_ms']:.2f}"


def history_cost(results: list[dict[str, Any]], role: str
                 ) -> tuple[float, float, float] | None:
    """(fresh req/s, history req/s, cost) of ``role``, when both scenarios ran: the two
    medians, and the cost as the median of each repeat's fresh / history ratio (the two
    runs of one repeat are measured moments apart, the two medians' runs may be minutes
    apart, so the host's drift cancels better)."""
    fresh = next((r for r in results if r["name"].startswith("fresh")), None)
    hist = next((r for r in results if r["name"].startswith("history")), None)
    if not (fresh and hist and fresh[role] and hist[role]):
        return None
    ratios = [f["req_s"] / h["req_s"] for f, h in
              zip(fresh[role]["runs"], hist[role]["runs"], strict=False) if h["req_s"]]
    if not ratios:
        return None
    return (fresh[role]["median"]["req_s"], hist[role]["median"]["req_s"],
            statistics.median(ratios))


def print_table(results: list[dict[str, Any]], target_label: str,
                baseline_label: str | None = None) -> None:
    """One row per scenario; with a baseline, its req/s and ratio beside the target's."""
    base = baseline_label is not None
    head = ["scenario", "conns", "floor req/s", "target req/s", "ratio"]
    head += ["baseline req/s", "b. ratio"] if base else []
    head += ["floor p50/p99 ms", "target p50/p99 ms", "floor ev/s", "target ev/s"]
    head += ["baseline ev/s"] if base else []
    rows = [head]
    notes = []
    for r in results:
        f, t = r["floor"]["median"], (r["target"] or {}).get("median")
        b = (r.get("baseline") or {}).get("median")
        batch = r["events_per_request"] > 1
        row = [r["name"], str(r["connections"]), fmt_rate(f["req_s"]),
               fmt_rate(t and t["req_s"]), fmt_ratio(r["ratio"])]
        row += [fmt_rate(b and b["req_s"]), fmt_ratio(r.get("baseline_ratio"))] if base else []
        row += [fmt_lat(f), fmt_lat(t), fmt_rate(f["events_s"]) if batch else "",
                fmt_rate(t and t["events_s"]) if batch else ""]
        row += [fmt_rate(b and b["events_s"]) if batch else ""] if base else []
        rows.append(row)
        for role, m in (("floor", f), ("target", t), ("baseline", b)):
            if m and m["errors"]:
                notes.append(f"!! {r['name']}: {role} had {m['errors']} errors/non-2xx answers")
            if m and m["spread"] and m["spread"] > NOISY:
                notes.append(
                    f"!! {r['name']}: {role} req/s varied {m['spread']:.2f}× across repeats "
                    "(noisy host: trust the ratio less, or raise --repeat)"
                )
    for role in ("target", "baseline"):
        cost = history_cost(results, role)
        if cost is not None:
            notes.insert(0, f"history cost ({role}): fresh {cost[0]:,.0f} req/s, history "
                         f"{cost[1]:,.0f} req/s (medians); the median of the repeats' "
                         f"fresh / history ratios = {cost[2]:.2f} (target <= 1.3)")
    print(f"target: {target_label}")
    if base:
        print(f"baseline: {baseline_label}")
    print_rows(rows)
    print_cpu_table(results, base)
    for note in notes:
        print(note)


def print_cpu_table(results: list[dict[str, Any]], base: bool) -> None:
    """The servers' CPU µs per request (medians) and floor CPU / target CPU: the ratio the
    req/s would have if both were CPU-bound on their pinned CPU."""
    head = ["scenario", "floor CPU µs/req", "target CPU µs/req", "CPU ratio"]
    head += ["baseline CPU µs/req", "b. CPU ratio"] if base else []
    rows = [head]
    for r in results:
        cpu = {role: ((r.get(role) or {}).get("median") or {}).get("cpu_us")
               for role in ("floor", "target", "baseline")}
        f = cpu["floor"]
        row = [r["name"], fmt_us(f), fmt_us(cpu["target"]),
               fmt_ratio(f / cpu["target"] if f and cpu["target"] else None)]
        if base:
            row += [fmt_us(cpu["baseline"]),
                    fmt_ratio(f / cpu["baseline"] if f and cpu["baseline"] else None)]
        rows.append(row)
    if all(row[1] == "-" for row in rows[1:]):
        return
    print()
    print_rows(rows)


def print_rows(rows: list[list[str]]) -> None:
    """A table: the first row is the header, then a rule; the first column left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(c.rjust(w) if i else c.ljust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def fmt_us(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark the quest-runtime HTTP service against a bare aiohttp floor "
        "(same run, medians). Loopback only.",
    )
    p.add_argument("--seconds", type=int, default=5, help="measured seconds per run (default 5)")
    p.add_argument("--repeat", type=int, default=3, help="runs per scenario and server (default 3)")
    p.add_argument(
        "--warmup", type=int, default=1, help="warm-up seconds before each run (default 1)"
    )
    p.add_argument("--connections", default="1,8,64", help="single-event connection counts")
    p.add_argument("--batch-connections", default="8", help="batch connection counts ('' = none)")
    p.add_argument("--batch-size", type=int, default=100, help="events per batch (default 100)")
    p.add_argument("--players", type=int, default=256, help="bench players p0..pN-1 (default 256)")
    p.add_argument("--lakeside-connections", default="64",
                   help="connection counts of the lakeside play-through ('' = none)")
    p.add_argument("--history-connections", default="16",
                   help="connection counts of the long-history and fresh players ('' = none)")
    p.add_argument("--history-players", type=int, default=64,
                   help="players with a long history, and as many fresh ones (default 64)")
    p.add_argument("--history-listeners", type=int, default=1000,
                   help="once-per-player listeners each history player fired (default 1000)")
    p.add_argument("--history-levels", type=int, default=20,
                   help="levels each history player completed (default 20)")
    p.add_argument("--floor-only", action="store_true", help="measure the floor alone")
    p.add_argument(
        "--target-cmd",
        default=DEFAULT_TARGET_CMD,
        help="target command line with {python} {port} {db} {levels} {host} placeholders, "
        "or 'floor' for a second floor server (noise check); default: %(default)r",
    )
    p.add_argument(
        "--baseline-cmd",
        help="a second service measured in the same run, alternating (e.g. an older "
        "checkout's `.../.venv/bin/quest-runtime serve --port {port} --db {db} --levels "
        "{levels}`; use its console script, not `python -m`, which would import this "
        "checkout's code): its req/s and ratio are columns of the table",
    )
    p.add_argument("--levels", help="levels folder for the target (default: a generated one)")
    p.add_argument(
        "--uvloop",
        choices=("auto", "on", "off"),
        default="auto",
        help="event loop of the floor server (default auto, like the service)",
    )
    p.add_argument("--startup-timeout", type=float, default=20.0)
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print machine-readable results on stdout")
    args = p.parse_args(argv)
    if args.seconds < 1 or args.repeat < 1 or args.warmup < 0 or args.players < 1:
        p.error("--seconds and --repeat must be >= 1, --warmup >= 0, --players >= 1")
    try:
        args.conns = [int(c) for c in args.connections.split(",") if c.strip()]
        args.bconns = [int(c) for c in args.batch_connections.split(",") if c.strip()]
        args.lconns = [int(c) for c in args.lakeside_connections.split(",") if c.strip()]
        args.hconns = [int(c) for c in args.history_connections.split(",") if c.strip()]
    except ValueError:
        p.error("--*-connections take comma-separated integers")
    if not 1 <= args.history_players <= args.players:
        p.error("--history-players must be from 1 to --players")
    if any(c < 1 for c in args.conns + args.bconns + args.lconns + args.hconns):
        p.error("connection counts must be >= 1")
    return args


def cpus(args: argparse.Namespace) -> tuple[int | None, int | None]:
    available = os.sched_getaffinity(0)
    if {args.server_cpu, args.client_cpu} <= available and args.server_cpu != args.client_cpu:
        return args.server_cpu, args.client_cpu
    log(
        f"!! CPUs {args.server_cpu}/{args.client_cpu} not both available ({sorted(available)}): "
        "not pinning; figures are less comparable"
    )
    return None, None


def floor_cmd(uvloop: str) -> list[str]:
    return [
        sys.executable,
        str(FLOOR_SERVER),
        "--host",
        HOST,
        "--port",
        "{port}",
        "--uvloop",
        uvloop,
    ]


def measure(args: argparse.Namespace, servers: list[Server], scenarios: list[Scenario],
            wrk: str, lua: Path, client_cpu: int | None
            ) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every scenario against every live server, ``--repeat`` times, alternating which
    server goes first and the scenarios' order (so a host that drifts during a repeat
    favours neither of two scenarios compared with each other, as fresh and history
    players are); the runs by (scenario, role)."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rep in range(args.repeat):
        order = servers if rep % 2 == 0 else servers[::-1]
        for sc in scenarios if rep % 2 == 0 else scenarios[::-1]:
            for s in order:
                if s.failure:
                    continue
                if not s.alive:
                    s.fail(f"exited with code {s.proc.returncode if s.proc else None} mid-run")
                    continue
                if args.warmup:
                    run_wrk(wrk, lua, s, sc, args.warmup, client_cpu)
                m = run_wrk(wrk, lua, s, sc, args.seconds, client_cpu)
                runs.setdefault((sc.name, s.role), []).append(m)
                log(
                    f"[{rep + 1}/{args.repeat}] {sc.name:<14} {s.role:<6} "
                    f"{m['req_s']:>9,.0f} req/s {m['events_s']:>10,.0f} ev/s  "
                    f"p50 {m['p50_ms']:.2f} ms  p99 {m['p99_ms']:.2f} ms"
                    + (f"  errors {m['errors']}" if m["errors"] else "")
                )
    return runs


def scenario_result(sc: Scenario, runs: dict[tuple[str, str], list[dict[str, Any]]]
                    ) -> dict[str, Any]:
    """One scenario's medians per role, and the target/floor ratios."""
    entry: dict[str, Any] = {
        "name": sc.name,
        "path": sc.path,
        "connections": sc.connections,
        "events_per_request": sc.events_per_request,
        "body_bytes": sc.body_bytes,
    }
    for role in ("floor", "target", "baseline"):
        rr = runs.get((sc.name, role))
        entry[role] = {"runs": rr, "median": summarise(rr)} if rr else None
    f, t, b = entry["floor"], entry["target"], entry["baseline"]
    entry["ratio"] = (
        t["median"]["req_s"] / f["median"]["req_s"]
        if f and t and f["median"]["req_s"]
        else None
    )
    entry["baseline_ratio"] = (
        b["median"]["req_s"] / f["median"]["req_s"]
        if f and b and f["median"]["req_s"]
        else None
    )
    # Floor and target measured in the same repeat, back to back: their ratios.
    pairs = list(zip((f or {}).get("runs") or [], (t or {}).get("runs") or [], strict=False))
    entry["paired_ratios"] = [b["req_s"] / a["req_s"] for a, b in pairs if a["req_s"]]
    entry["ratio_paired_median"] = (
        statistics.median(entry["paired_ratios"]) if entry["paired_ratios"] else None
    )
    return entry


def post_to(server: Server) -> tuple[http.client.HTTPConnection,
                                     Callable[[str, str, bytes], tuple[int, bytes]]]:
    conn = http.client.HTTPConnection(HOST, server.port, timeout=30)

    def post(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        return request(conn, method, path, body if method != "GET" else None)

    return conn, post


def preload_history(server: Server, args: argparse.Namespace) -> None:
    """Give the history players their history (bench/traffic.py), checking every answer."""
    started = time.monotonic()
    conn, post = post_to(server)
    try:
        for h in range(args.history_players):
            for method, path, body in traffic.history_requests(
                    f"h{h}", args.history_listeners, args.history_levels, LEVEL_ID):
                status, answer = post(method, path, compact(body).encode())
                problem = check_ok(status, answer, f"{method} {path} (history h{h})")
                if problem:
                    raise RuntimeError(problem)
    finally:
        conn.close()
    log(f"history ({server.role}): {args.history_players} players with "
        f"{args.history_listeners} fired listeners and {args.history_levels} completed "
        f"levels each, in "
        f"{time.monotonic() - started:.1f} s")


def shaped_scenarios(args: argparse.Namespace, tmp: Path, services: list[Server]
                     ) -> list[Scenario]:
    """The plugin-shaped scenarios (bench/traffic.py): the lakeside play-through, and the
    long-history players beside as many fresh ones. ``services``: the live servers that
    are not the floor (the quest-log reads follow what the first one's answers change;
    the history is stored in each)."""
    out: list[Scenario] = []
    if args.lconns:
        after: set[int] = set()
        if services:
            conn, post = post_to(services[0])
            try:
                after = traffic.probe_quest_log(post)
            finally:
                conn.close()
            log(f"lakeside: the quest log is read after steps {sorted(after)} "
                f"(of {len(traffic.lakeside_steps())})")
        lines = traffic.lakeside_lines(args.players, after)
        (tmp / "lakeside.txt").write_text("\n".join(lines) + "\n")
        size = statistics.median(len(x) for x in lines)
        out += [Scenario(f"lakeside c={c}", RULE_EVENT, c, tmp / "lakeside.txt", 1,
                         int(size), in_order=True) for c in args.lconns]
    if args.hconns:
        for server in services:
            preload_history(server, args)
        n = args.history_players
        fresh = single_bodies(n)
        (tmp / "fresh.txt").write_text("\n".join(fresh) + "\n")
        (tmp / "history.txt").write_text(
            "\n".join(b.replace('"player_id":"p', '"player_id":"h') for b in fresh) + "\n")
        for c in args.hconns:
            out += [Scenario(f"fresh{n} c={c}", RULE_EVENT, c, tmp / "fresh.txt", 1,
                             len(fresh[0])),
                    Scenario(f"history{n} c={c}", RULE_EVENT, c, tmp / "history.txt", 1,
                             len(fresh[0]))]
    return out


def bench(args: argparse.Namespace, stack: contextlib.ExitStack) -> dict[str, Any]:
    wrk = ensure_wrk()
    server_cpu, client_cpu = cpus(args)
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="quest-bench-")))

    lua = tmp / "bench.lua"
    lua.write_text(LUA_SCRIPT)
    singles = single_bodies(args.players)
    batches = batch_bodies(args.players, args.batch_size)
    (tmp / "single.txt").write_text("\n".join(singles) + "\n")
    (tmp / "batch.txt").write_text("\n".join(batches) + "\n")
    single_len = statistics.median(len(b) for b in singles)
    scenarios = [
        Scenario(f"single c={c}", RULE_EVENT, c, tmp / "single.txt", 1, int(single_len))
        for c in args.conns
    ] + [
        Scenario(
            f"batch{args.batch_size} c={c}",
            RULE_EVENTS,
            c,
            tmp / "batch.txt",
            args.batch_size,
            len(batches[0]),
        )
        for c in args.bconns
    ]

    levels = Path(args.levels) if args.levels else tmp / "levels"
    if not args.levels:
        levels.mkdir()
        (levels / f"{LEVEL_ID}.json").write_text(json.dumps(bench_level(), indent=2))
        shutil.copy(traffic.LAKESIDE_LEVEL, levels / "lakeside.json")
        for name, level in traffic.history_levels(args.history_listeners,
                                                  args.history_levels).items():
            (levels / f"{name}.json").write_text(json.dumps(level))

    def expand(template: list[str], port: int, role: str) -> list[str]:
        """Fill the {python} {port} {db} {levels} {host} placeholders (plain text swap)."""
        subst = {
            "{python}": sys.executable,
            "{port}": str(port),
            "{db}": str(tmp / f"{role}.db"),
            "{levels}": str(levels),
            "{host}": HOST,
        }
        out = []
        for part in template:
            for key, value in subst.items():
                part = part.replace(key, value)
            out.append(part)
        return out

    roles = {"floor": floor_cmd(args.uvloop)}
    if not args.floor_only:
        target_floor = args.target_cmd == "floor"
        roles["target"] = floor_cmd(args.uvloop) if target_floor else shlex.split(args.target_cmd)
        if args.baseline_cmd:
            roles["baseline"] = shlex.split(args.baseline_cmd)
    servers = []
    for role, template in roles.items():
        port = free_port()
        servers.append(Server(role, expand(template, port, role), port,
                              tmp / f"{role}.log"))
    for s in servers:
        stack.callback(s.stop)  # runs before the temp dir is removed (LIFO)

    for s in servers:
        log(f"starting {s.role} on {HOST}:{s.port}: {shlex.join(s.cmd)}")
        s.start(server_cpu)
    for s in servers:
        if wait_healthy(s, args.startup_timeout) and preload_and_check(
            s, args.players, singles[0], batches[0]
        ):
            log(f"{s.role} ready ({args.players} players loaded); /health: {s.info}")
    floor = servers[0]
    if not floor.alive:
        raise SystemExit("http_bench: the floor server did not start; nothing to measure")
    target = next((s for s in servers if s.role == "target"), None)
    if target is not None and not target.alive:
        log("!! reporting the floor figures only")

    services = [s for s in servers if s.role != "floor" and s.alive]
    scenarios += shaped_scenarios(args, tmp, services)

    runs = measure(args, servers, scenarios, wrk, lua, client_cpu)
    results = [scenario_result(sc, runs) for sc in scenarios]

    return {
        "config": {
            "seconds": args.seconds,
            "repeat": args.repeat,
            "warmup": args.warmup,
            "players": args.players,
            "batch_size": args.batch_size,
            "server_cpu": server_cpu,
            "client_cpu": client_cpu,
            "wrk": wrk,
            "host": HOST,
        },
        "servers": {
            s.role: {"cmd": s.cmd, "failure": s.failure, "health": s.info} for s in servers
        },
        "scenarios": results,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # Ctrl-C, kill and a closed terminal all unwind through the ExitStack (servers
    # stopped, temp dir removed); SIGINT even when started with it ignored (``cmd &``),
    # SIGHUP not when it is ignored on purpose (nohup).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, on_term)
    with contextlib.ExitStack() as stack:
        try:
            report = bench(args, stack)
        except KeyboardInterrupt:
            log("interrupted: stopping servers and removing temp files")
            return 130
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        srv = report["servers"]
        if args.floor_only:
            label = "none (--floor-only)"
        elif srv["target"]["failure"]:
            label = f"FAILED ({srv['target']['failure']})"
        else:
            label = shlex.join(srv["target"]["cmd"])
        baseline = srv.get("baseline")
        print_table(report["scenarios"], label, None if baseline is None else
                    f"FAILED ({baseline['failure']})" if baseline["failure"]
                    else shlex.join(baseline["cmd"]))
    target = report["servers"].get("target")
    return 0 if target is None or not target["failure"] else 2


if __name__ == "__main__":
    sys.exit(main())
