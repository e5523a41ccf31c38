"""The service on a failing store, over real HTTP (issue 9; docs/operating.md "Store
faults"): a full disk (a real tmpfs), I/O errors on COMMIT for a while, an error after
the data was committed, failing reads, a commit still in flight.

What must hold: every failure is answered 503 ``unavailable`` with ``Retry-After`` and a
JSON error body, never 500; every event answered 200 is in the store, after recovery
and after a restart; the service takes events again by itself once the fault is gone;
a retried ``event_id`` is applied at most once; reads show committed state only.

Faults are injected into the real ``SQLiteStore`` of the in-process service: its
connection class is replaced for the test (``tests/store_faults.py``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from http_helpers import Running, Serve, counter_level, near_event, validate_error, write_level
from store_faults import Faults, SmallDisk, faulty_connection

from quest_runtime.server.app import RUNTIME
from quest_runtime.store.sqlite import WRITER_ENV, SQLiteStore

EVENT = "/world/story/rule-event"
PLAYERS = [f"p{i}" for i in range(6)]


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """Every SQLiteStore opened in this test runs its statements through ``faults``
    (armed by the test once the service is up)."""
    injected = Faults()
    monkeypatch.setattr(SQLiteStore, "connection_factory", faulty_connection(injected))
    yield injected
    if injected.hold is not None:
        injected.hold.set()


def counter_levels(tmp_path: Path) -> Path:
    folder = tmp_path / "counter_levels"
    write_level(folder, counter_level())
    return folder


async def start(serve: Serve, tmp_path: Path, **settings: object) -> Running:
    settings.setdefault("levels", counter_levels(tmp_path))
    srv = await serve(journal_limit=100_000, **settings)
    for player in PLAYERS:
        await srv.load(player, "counter")
    return srv


def check_unavailable(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 503, (status, body[:300])
    assert headers.get("Content-Type", "").startswith("application/json")
    assert validate_error(body).error.code == "unavailable"
    retry = headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, headers


class Client:
    """One player's events e0..e{n-1}, each resent (same event_id) until answered 200."""

    def __init__(self, srv: Running, player: str, n: int) -> None:
        self.srv, self.player, self.n = srv, player, n
        self.acked: dict[str, bytes] = {}
        self.refusals = 0

    async def send(self, eid: str, deadline: float) -> None:
        while True:
            body = orjson.dumps(near_event(self.player, event_id=eid))
            async with self.srv.session.post(self.srv.url(EVENT), data=body,
                                             headers={"Content-Type": "application/json"}
                                             ) as r:
                raw = await r.read()
                if r.status == 200:
                    self.acked[eid] = raw
                    return
                check_unavailable(r.status, dict(r.headers), raw)
            self.refusals += 1
            assert time.monotonic() < deadline, f"{self.player}: {eid} never succeeded"
            await asyncio.sleep(0.02)  # a real plugin waits Retry-After

    async def run(self, timeout: float = 60.0, pause: float = 0.0) -> None:
        deadline = time.monotonic() + timeout
        for n in range(self.n):
            await self.send(f"{self.player}-e{n}", deadline)
            if pause:
                await asyncio.sleep(pause)


async def check_store(srv: Running, clients: list[Client]) -> None:
    """Every acknowledged event is journaled once and counted once; a resend replays the
    acknowledged bytes."""
    for c in clients:
        assert await srv.progress(c.player) == len(c.acked) == c.n
        status, body = await srv.get(f"/world/story/{c.player}/journal?limit=1000")
        assert status == 200
        journaled = [e["event_id"] for e in orjson.loads(body)["entries"]
                     if e["event_type"] == "near"]
        assert sorted(journaled) == sorted(c.acked), c.player
        for eid in list(c.acked)[:: max(1, c.n // 5)]:
            status, replay = await srv.post(EVENT, near_event(c.player, event_id=eid))
            assert status == 200 and replay == c.acked[eid], eid


# -- injected I/O errors ----------------------------------------------------------------


async def test_commit_io_errors_for_a_while_answer_503_then_the_service_resumes(
    serve: Serve, tmp_path: Path, faults: Faults
) -> None:
    srv = await start(serve, tmp_path)
    faults.commit_errors = 8
    clients = [Client(srv, p, 25) for p in PLAYERS]
    await asyncio.gather(*(c.run() for c in clients))
    assert faults.fired == 8
    assert sum(c.refusals for c in clients) >= 8  # a failed group commit fails them all
    assert srv.app[RUNTIME].store_failures == sum(c.refusals for c in clients)
    await check_store(srv, clients)


async def test_an_ambiguous_commit_is_retried_without_applying_twice(
    serve: Serve, tmp_path: Path, faults: Faults
) -> None:
    """The COMMIT ran but reported an error: 503 for an event that IS stored. The
    cached state is dropped, so the retry with the same event_id replays the stored
    result, and the next event counts from the committed state."""
    srv = await start(serve, tmp_path)
    await srv.event(near_event("p0", event_id="a"))
    faults.commit_after_errors = 1
    status, body = await srv.post(EVENT, near_event("p0", event_id="b"))
    assert status == 503, body
    assert await srv.progress("p0") == 2  # it was committed after all
    status, body = await srv.post(EVENT, near_event("p0", event_id="b"))
    assert status == 200
    assert orjson.loads(body)["result"]["nodes"][0]["progress"] == 2
    await srv.event(near_event("p0", event_id="c"))
    await srv.event(near_event("p0"))  # no event_id: no replay, a fresh event
    assert await srv.progress("p0") == 4


async def test_read_errors_answer_503_on_every_read_path(
    serve: Serve, tmp_path: Path, faults: Faults
) -> None:
    srv = await start(serve, tmp_path)
    await srv.event(near_event("p0", event_id="a"))
    # "ghost" was never seen, so nothing is cached for it: its reads go to the store
    requests = [
        ("GET", "/world/story/ghost/state", None),
        ("GET", "/world/story/ghost/quest-log", None),
        ("GET", "/world/story/p0/journal", None),
        ("POST", "/world/story/explain", near_event("ghost")),
        ("POST", EVENT, near_event("ghost")),  # reads the player's document first
        ("POST", EVENT, near_event("p0", event_id="a")),  # looks the event_id up
        ("POST", "/world/story/rule-events", {"events": [near_event("p0", event_id="a")]}),
    ]
    for method, path, data in requests:
        faults.read_errors = 1
        if method == "GET":
            async with srv.session.get(srv.url(path)) as r:
                check_unavailable(r.status, dict(r.headers), await r.read())
        else:
            async with srv.session.post(srv.url(path), data=orjson.dumps(data),
                                        headers={"Content-Type": "application/json"}) as r:
                check_unavailable(r.status, dict(r.headers), await r.read())
        assert faults.read_errors == 0, f"{method} {path} did not read the store"
    assert await srv.progress("p0") == 1


async def test_state_reads_show_only_committed_state(
    serve: Serve, tmp_path: Path, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While an event's commit is in flight, ``/state`` and ``/quest-log`` show what is
    committed, not the engine's uncommitted change; after the commit fails, too. (The
    writer thread's store: holding a COMMIT on the loop writer would hold the loop.)"""
    monkeypatch.setenv(WRITER_ENV, "thread")
    srv = await start(serve, tmp_path)
    await srv.event(near_event("p0", event_id="a"))
    for outcome in ("fails", "succeeds"):
        faults.hold = hold = threading.Event()
        faults.commit_errors = 1 if outcome == "fails" else 0
        pending = asyncio.create_task(srv.post(EVENT, near_event("p0", event_id=outcome)))
        while not faults.holding.is_set():
            await asyncio.sleep(0.002)
        assert await srv.progress("p0") == 1, f"an uncommitted change is visible ({outcome})"
        status, body = await srv.get("/world/story/p0/quest-log")
        assert status == 200
        assert orjson.loads(body)["active_tasks"]["tasks"][0]["progress"] == 1
        faults.hold = None
        hold.set()
        status, _ = await pending
        assert status == (503 if outcome == "fails" else 200)
        assert await srv.progress("p0") == (1 if outcome == "fails" else 2)


# -- a full disk --------------------------------------------------------------------------


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


async def test_full_disk_answers_503_and_loses_nothing(serve: Serve, tmp_path: Path,
                                                       small_disk: SmallDisk) -> None:
    db = small_disk.path / "state.db"
    levels = counter_levels(tmp_path)
    srv = await start(serve, tmp_path, db=db, levels=levels)
    clients = [Client(srv, p, 400) for p in PLAYERS]
    load = [asyncio.create_task(c.run(timeout=90, pause=0.002)) for c in clients]
    while sum(len(c.acked) for c in clients) < 100:
        await asyncio.sleep(0.01)
    small_disk.fill()
    deadline = time.monotonic() + 30
    while sum(c.refusals for c in clients) < 50:
        assert time.monotonic() < deadline, "the full disk never refused an event"
        assert not any(t.done() for t in load), [t.exception() for t in load if t.done()]
        await asyncio.sleep(0.01)
    acked_while_full = sum(len(c.acked) for c in clients)
    await asyncio.sleep(0.3)
    assert sum(len(c.acked) for c in clients) - acked_while_full < 20, "the disk is not full"
    for c in clients:  # reads still answer, from what is committed
        assert await srv.progress(c.player) == len(c.acked)
    small_disk.free()  # the service resumes by itself
    await asyncio.gather(*load)
    await check_store(srv, clients)

    await srv.session.close()
    await srv.server.close()  # flushes and closes the store
    assert integrity(db) == "ok"
    again = await serve(db=db, levels=levels, journal_limit=100_000)
    await check_store(again, clients)


async def test_ready_answers_503_while_the_store_fails_then_200(
    serve: Serve, tmp_path: Path, faults: Faults
) -> None:
    srv = await start(serve, tmp_path)
    status, body = await srv.get("/ready")
    assert status == 200 and orjson.loads(body)["store_failing"] is False
    faults.commit_errors = 1
    status, _ = await srv.post(EVENT, near_event("p0", event_id="x"))
    assert status == 503
    status, body = await srv.get("/ready")  # a failure since the last probe
    assert status == 503
    assert orjson.loads(body) == {"status": "unavailable", "levels": 1, "store_open": True,
                                  "store_failing": True}
    await srv.event(near_event("p0", event_id="x"))  # recovered
    status, body = await srv.get("/ready")
    assert status == 200 and orjson.loads(body)["store_failing"] is False


async def test_timer_failures_log_one_line_per_episode(
    serve: Serve, tmp_path: Path, faults: Faults, caplog: pytest.LogCaptureFixture
) -> None:
    """While the store fails, the scheduler retries every second: one warning when the
    episode starts (no traceback per player per retry), one when timers fire again."""
    from quest_runtime.server.keys import SCHEDULER

    folder = tmp_path / "timer_levels"
    write_level(folder, counter_level(
        timers={"tick": {"delay_seconds": 0, "effects": [{"type": "say", "text": "tick"}]}},
        rule_listeners=[{"id": "arm", "type": "near", "targets": ["bell"],
                         "effects": [{"type": "schedule_timer", "timer": "tick",
                                      "delay_seconds": 0.3}]}]))
    srv = await start(serve, tmp_path, levels=folder)
    caplog.set_level("WARNING", logger="quest_runtime.scheduler")
    for player in PLAYERS:
        await srv.event(near_event(player, target="bell"))
    faults.commit_errors = 10_000
    await asyncio.sleep(2.6)  # the first firing and two retries, for six players
    scheduler = srv.app[SCHEDULER]
    failing, failures = scheduler.store_failing, scheduler.store_failures  # read again below
    assert failing and failures >= 12
    status, body = await srv.get("/ready")
    assert status == 503 and orjson.loads(body)["store_failing"] is True
    faults.commit_errors = 0
    for _ in range(60):
        if not scheduler.store_failing:
            break
        await asyncio.sleep(0.1)
    assert not scheduler.store_failing
    lines = [r for r in caplog.records if r.name == "quest_runtime.scheduler"]
    assert [r.exc_info for r in lines] == [None, None]
    assert "until it recovers" in lines[0].getMessage()
    assert "fire again" in lines[1].getMessage()
