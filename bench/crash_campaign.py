"""The crash campaign: SIGKILL ``quest-runtime serve`` under concurrent load, again and
again, and check that nothing acknowledged is ever lost (SPEC §5.2, §5.3; issue 9).

Each run
--------
1. copies the bundled levels (``levels/``) and starts ``python -m quest_runtime serve``
   on a fresh SQLite file in a temp folder (rate limit off, journal kept in full,
   ``synchronous`` NORMAL or FULL, see ``--synchronous``);
2. drives ``--clients`` concurrent keep-alive clients, one player each: the player
   loads the demo level ``lakeside`` and plays the rule events of
   ``levels/lakeside.scenario.jsonl`` over and over (reloading the level at the start of
   every round), every event with a unique ``event_id``; a quarter of the clients send
   them as batches of 5 (``/world/story/rule-events``);
3. SIGKILLs the server at a random moment within ``--seconds`` (no shutdown, no flush)
   and runs ``PRAGMA integrity_check`` on what the crash left;
4. restarts the server on the same file and checks, for every player, in the file
   itself: each event answered 200 is journaled (else *lost*), no ``event_id`` is
   journaled twice (*doubled*), nothing is journaled that was never sent; then resends
   every acknowledged event with its ``event_id``: the answer must be 200 with byte for
   byte the body answered before the crash (else a *replay mismatch*) and must not
   add a journal entry (else *doubled*); events that were in flight at the kill are
   resent too and must end up journaled exactly once;
5. stops the server (SIGTERM) and runs ``PRAGMA integrity_check`` again (*corrupt*
   counts runs where either check did not answer ``ok``).

It prints one summary line (progress and problems go to stderr)::

    crash campaign: 50 runs, 404558 acknowledged, 0 lost, 0 doubled, 0 corrupt, 0 replay mismatches

and exits 1 when anything is wrong (2 when a server does not start).

How to run
----------
::

    .venv/bin/python bench/crash_campaign.py                        # 10 runs, 16 clients, 3 s
    .venv/bin/python bench/crash_campaign.py --runs 50 --clients 32 --seconds 4
    .venv/bin/python bench/crash_campaign.py --runs 3 --seconds 2   # what CI runs

It reuses the service tests' subprocess helper (``tests/server/http_helpers.py``:
``Proc``, ``Ledger``), which is also what ``tests/server/test_http_durability.py`` uses.
Only 127.0.0.1 is used; temp folders are removed at the end (``--keep`` keeps a failed
run's folder for a look).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "server"))
sys.path.insert(0, str(ROOT))

from http_helpers import DEMO_LEVELS, Ledger, Proc  # noqa: E402

EVENT = "/world/story/rule-event"
BATCH = "/world/story/rule-events"
LOAD = "/world/story/load"
JSON = {"Content-Type": "application/json"}
SCRIPT = DEMO_LEVELS / "lakeside.scenario.jsonl"
LEVEL = "lakeside"
BATCH_SIZE = 5


def scenario_events(path: Path = SCRIPT) -> list[tuple[str, dict[str, Any]]]:
    """The (event_type, payload) of every rule-event step of a scenario script."""
    events = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            step = orjson.loads(line)
            if "event_type" in step:
                events.append((step["event_type"], step.get("payload") or {}))
    return events


@dataclass
class Tally:
    """The campaign's counts; ``problems`` says what went wrong, one line each."""

    runs: int = 0
    acknowledged: int = 0
    lost: int = 0
    doubled: int = 0
    corrupt: int = 0
    mismatches: int = 0
    other: int = 0
    """Failures outside the four counts (a non-200 answer, a refused event applied...)."""
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str, *, other: bool = False) -> None:
        self.other += other
        if len(self.problems) < 50:
            self.problems.append(text)

    def failed(self) -> bool:
        return bool(self.lost or self.doubled or self.corrupt or self.mismatches
                    or self.other)

    def line(self) -> str:
        text = (f"crash campaign: {self.runs} runs, {self.acknowledged} acknowledged, "
                f"{self.lost} lost, {self.doubled} doubled, {self.corrupt} corrupt, "
                f"{self.mismatches} replay mismatches")
        if self.other:
            text += f", {self.other} other failures"
        return text


# -- load --------------------------------------------------------------------------------


def request(player: str, event_type: str, payload: dict[str, Any],
            event_id: str) -> dict[str, Any]:
    return {"player_id": player, "event_type": event_type, "payload": payload,
            "event_id": event_id}


class Client:
    """One player, one keep-alive connection, until the server dies (or ``stop``)."""

    def __init__(self, proc: Proc, player: str, events: list[tuple[str, dict[str, Any]]],
                 batch: bool, tally: Tally) -> None:
        self.proc, self.events, self.batch, self.tally = proc, events, batch, tally
        self.ledger = Ledger(player)
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        player = self.ledger.player
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while not stop.is_set():
                try:
                    async with session.post(self.proc.url(LOAD), headers=JSON,
                                            data=orjson.dumps({"player_id": player,
                                                               "level_id": LEVEL})) as r:
                        raw = await r.read()
                except (TimeoutError, aiohttp.ClientError, OSError):
                    return  # the server is gone; nothing journaled by event_id was sent
                if r.status != 200:
                    self.tally.problem(f"{player}: load answered {r.status}: {raw[:200]!r}",
                                       other=True)
                    return
                step = BATCH_SIZE if self.batch else 1
                for start in range(0, len(self.events), step):
                    chunk = self.events[start:start + step]
                    eids = [f"{player}-{self.sent + k}" for k in range(len(chunk))]
                    self.sent += len(chunk)
                    if not await self._send(session, chunk, eids):
                        return

    async def _send(self, session: aiohttp.ClientSession,
                    chunk: list[tuple[str, dict[str, Any]]], eids: list[str]) -> bool:
        ledger = self.ledger
        bodies = [request(ledger.player, et, p, e) for (et, p), e in zip(chunk, eids,
                                                                          strict=True)]
        url, data = ((self.proc.url(BATCH), {"events": bodies}) if self.batch
                     else (self.proc.url(EVENT), bodies[0]))
        try:
            async with session.post(url, headers=JSON, data=orjson.dumps(data)) as r:
                raw = await r.read()
        except (TimeoutError, aiohttp.ClientError, OSError):
            ledger.unknown.extend(eids)
            return False
        if r.status != 200:
            ledger.rejected.extend(eids)
            self.tally.problem(f"{ledger.player}: answered {r.status} before the kill: "
                               f"{raw[:200]!r}", other=True)
            return False
        if self.batch:
            results = orjson.loads(raw)["results"]
            for eid, result in zip(eids, results, strict=True):
                # what a single request for this event answers on replay
                ledger.acked[eid] = b'{"status":"ok","result":' + orjson.dumps(result) + b"}"
        else:
            ledger.acked[eids[0]] = raw
        return True


# -- checks ------------------------------------------------------------------------------


def integrity(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows)
    finally:
        conn.close()


def journaled(db: Path) -> dict[tuple[str, str], int]:
    """(player, event_id) -> how many journal rows carry it, read from the file."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT player_id, event_id, COUNT(*) FROM journal "
                            "WHERE event_id IS NOT NULL GROUP BY player_id, event_id")
        return {(p, e): n for p, e, n in rows}
    finally:
        conn.close()


def check_lost(db: Path, clients: list[Client], tally: Tally) -> None:
    """After the restart: every acknowledged event is in the file."""
    found = journaled(db)
    for c in clients:
        lg = c.ledger
        lost = [e for e in lg.acked if (lg.player, e) not in found]
        if lost:
            tally.lost += len(lost)
            tally.problem(f"{lg.player}: {len(lost)} acknowledged events lost, e.g. {lost[0]}")


def check_once(db: Path, clients: list[Client], tally: Tally) -> None:
    """After the resends: every event sent is journaled exactly once, nothing else is."""
    found = journaled(db)
    sent: set[tuple[str, str]] = set()
    for c in clients:
        lg = c.ledger
        sent |= {(lg.player, e) for e in [*lg.acked, *lg.unknown]}
        missing = [e for e in lg.unknown if (lg.player, e) not in found]
        if missing:
            tally.problem(f"{lg.player}: resent {missing[:3]} but not journaled", other=True)
        applied = [e for e in lg.rejected if (lg.player, e) in found]
        if applied:
            tally.problem(f"{lg.player}: refused but applied: {applied[:3]}", other=True)
    for (player, eid), n in found.items():
        if n > 1:
            tally.doubled += n - 1
            tally.problem(f"{player}: {eid} journaled {n} times")
        if (player, eid) not in sent and eid.split("-")[0] == player:
            tally.problem(f"{player}: {eid} journaled but never sent", other=True)


async def replay(proc: Proc, clients: list[Client], tally: Tally) -> None:
    """Resend every acknowledged event (byte-exact replay) and every unanswered one
    (applied now, or replayed when it made it before the kill)."""

    async def one(client: Client) -> None:
        lg = client.ledger
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as s:
            for eid, body in [*lg.acked.items(), *((e, None) for e in lg.unknown)]:
                # event number k of a player is the scenario's event k mod its length
                et, payload = client.events[int(eid.rsplit("-", 1)[1]) % len(client.events)]
                async with s.post(proc.url(EVENT), headers=JSON,
                                  data=orjson.dumps(request(lg.player, et, payload,
                                                            eid))) as r:
                    raw = await r.read()
                if r.status != 200:
                    tally.problem(f"{lg.player}: resending {eid} answered {r.status}",
                                  other=True)
                elif body is not None and raw != body:
                    tally.mismatches += 1
                    tally.problem(f"{lg.player}: replay of {eid} differs:\n  before "
                                  f"{body[:160]!r}\n  after  {raw[:160]!r}")

    await asyncio.gather(*(one(c) for c in clients))


# -- one run -----------------------------------------------------------------------------


async def one_run(n: int, args: argparse.Namespace, rng: random.Random, tally: Tally,
                  events: list[tuple[str, dict[str, Any]]], base: Path) -> bool:
    folder = base / f"run{n:03d}"
    levels = folder / "levels"
    shutil.copytree(DEMO_LEVELS, levels)
    db = folder / "state.db"
    sync = args.synchronous if args.synchronous != "both" else ("NORMAL", "FULL")[n % 2]
    proc = Proc(levels=levels, db=db, log=folder / "server.log",
                args=["--no-watch", "--synchronous", sync],
                env={"QUEST_RUNTIME_RATE_LIMIT_PER_SECOND": "0",
                     "QUEST_RUNTIME_JOURNAL_LIMIT": "100000000"})
    problems_before = len(tally.problems)
    try:
        await proc.restart()
        clients = [Client(proc, f"r{n}c{i}", events, batch=i % 4 == 3, tally=tally)
                   for i in range(args.clients)]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(c.run(stop)) for c in clients]
        await asyncio.sleep(rng.uniform(0.25, 1.0) * args.seconds)
        proc.kill()  # SIGKILL: no shutdown, no flush
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
        acked = sum(len(c.ledger.acked) for c in clients)
        tally.acknowledged += acked

        corrupt = False
        crashed = integrity(db)
        if crashed != "ok":
            corrupt = True
            tally.problem(f"run {n}: integrity_check after the kill: {crashed}")
        await proc.restart()
        check_lost(db, clients, tally)
        await replay(proc, clients, tally)
        check_once(db, clients, tally)
        proc.stop()
        if proc.popen is not None and proc.popen.returncode != 0:
            tally.problem(f"run {n}: the restarted server exited with "
                          f"{proc.popen.returncode} on SIGTERM", other=True)
        final = integrity(db)
        if final != "ok":
            corrupt = True
            tally.problem(f"run {n}: integrity_check at the end: {final}")
        tally.corrupt += corrupt
        tally.runs += 1
        unknown = sum(len(c.ledger.unknown) for c in clients)
        print(f"run {n + 1}/{args.runs} ({sync}): {acked} acknowledged, {unknown} in "
              f"flight at the kill", file=sys.stderr)
    finally:
        proc.kill()
    ok = len(tally.problems) == problems_before
    if ok or not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"run {n}: kept {folder}", file=sys.stderr)
    return ok


async def campaign(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    events = scenario_events()
    tally = Tally()
    base = Path(tempfile.mkdtemp(prefix="quest-crash-"))
    started = time.monotonic()
    try:
        for n in range(args.runs):
            try:
                await one_run(n, args, rng, tally, events, base)
            except AssertionError as exc:  # the server did not start
                print(f"run {n}: {exc}", file=sys.stderr)
                print(tally.line())
                return 2
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    for problem in tally.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    print(tally.line())
    if tally.acknowledged == 0:
        print("problem: no event was acknowledged at all", file=sys.stderr)
        return 1
    return 1 if tally.failed() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="SIGKILL runs (default 10)")
    parser.add_argument("--clients", type=int, default=16,
                        help="concurrent clients, one player each (default 16)")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="load per run; the kill comes within it (default 3)")
    parser.add_argument("--synchronous", choices=("NORMAL", "FULL", "both"), default="both",
                        help="SQLite synchronous setting; 'both' alternates (default)")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the kill times")
    parser.add_argument("--keep", action="store_true", help="keep the folders of failed runs")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.clients < 1 or args.seconds <= 0:
        parser.error("--runs and --clients must be at least 1, --seconds positive")
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(campaign(args))
    return 130


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
