"""Durability over HTTP (SPEC §5.2, §5.3): a ``quest-runtime serve`` subprocess on a SQLite
file takes rule events from concurrent keep-alive clients, is SIGKILLed mid-load and
restarted on the same file; every event that was answered 200 is in the state.

The level has one ``near`` task of count 10**6, so a player's progress is exactly the
number of their events that were applied. Each event carries an ``event_id``, so the
journal says which ones, and resending them after the restart must replay (the same
bytes as before the crash for answered ones) and apply the unanswered ones exactly once.
"""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import aiohttp
import orjson
import pytest
from http_helpers import (
    Ledger,
    Proc,
    Spawn,
    counter_level,
    near_event,
    validate_ok,
    write_level,
)

from bridge_protocol import BatchResponse

EVENT = "/world/story/rule-event"
BATCH = "/world/story/rule-events"
MAX_PER_PLAYER = 900  # the journal endpoint shows at most 1000 entries
JSON = {"Content-Type": "application/json"}


async def single_client(proc: Proc, ledger: Ledger) -> None:
    """One event per request, one after another, on one keep-alive connection."""
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        for n in range(MAX_PER_PLAYER):
            eid = f"{ledger.player}-{n}"
            try:
                async with session.post(proc.url(EVENT), headers=JSON,
                                        data=orjson.dumps(near_event(ledger.player,
                                                                     event_id=eid))) as r:
                    body = await r.read()
            except (TimeoutError, aiohttp.ClientError, OSError):
                ledger.unknown.append(eid)
                return
            if r.status == 503:
                ledger.rejected.append(eid)
                return
            assert r.status == 200, body
            ledger.acked[eid] = body


async def batch_client(proc: Proc, ledger: Ledger, size: int = 5) -> None:
    """Batches of ``size`` events of one player on one keep-alive connection."""
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        for start in range(0, MAX_PER_PLAYER, size):
            eids = [f"{ledger.player}-{n}" for n in range(start, start + size)]
            events = [near_event(ledger.player, event_id=e) for e in eids]
            try:
                async with session.post(proc.url(BATCH), headers=JSON,
                                        data=orjson.dumps({"events": events})) as r:
                    body = await r.read()
            except (TimeoutError, aiohttp.ClientError, OSError):
                ledger.unknown.extend(eids)
                return
            if r.status == 503:
                ledger.rejected.extend(eids)
                return
            assert r.status == 200, body
            results = orjson.loads(body)["results"]
            for eid, result in zip(eids, results, strict=True):
                # what a single request for this event answers on replay
                ledger.acked[eid] = b'{"status":"ok","result":' + orjson.dumps(result) + b"}"


async def post_json(session: aiohttp.ClientSession, url: str, data: object) -> bytes:
    async with session.post(url, data=orjson.dumps(data), headers=JSON) as r:
        body = await r.read()
        assert r.status == 200, body
        return body


async def loaded_server(spawn: Spawn, tmp_path: Path) -> tuple[Proc, list[Ledger]]:
    levels = tmp_path / "levels"
    write_level(levels, counter_level())
    proc = spawn(levels=levels, db=tmp_path / "state.db", args=["--no-watch"],
                 env={"QUEST_RUNTIME_RATE_LIMIT_PER_SECOND": "0",
                      "QUEST_RUNTIME_JOURNAL_LIMIT": "100000"})
    await proc.restart()
    ledgers = [Ledger(f"single{i}") for i in range(6)] + [Ledger(f"batch{i}")
                                                          for i in range(2)]
    async with aiohttp.ClientSession() as session:
        for ledger in ledgers:
            await post_json(session, proc.url("/world/story/load"),
                            {"player_id": ledger.player, "level_id": "counter"})
    return proc, ledgers


def start_clients(proc: Proc, ledgers: list[Ledger]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(batch_client(proc, lg) if lg.player.startswith("batch")
                                else single_client(proc, lg)) for lg in ledgers]


async def check_after_restart(proc: Proc, ledgers: list[Ledger], graceful: bool) -> None:
    """Every acknowledged event is in the state and the journal; nothing else is but
    unanswered ones (none at all after a graceful stop); resending replays byte for byte
    and applies the rest exactly once."""
    assert sum(len(lg.acked) for lg in ledgers) > 50, "too little load before the stop"
    async with aiohttp.ClientSession() as session:
        for ledger in ledgers:
            acked, unknown = set(ledger.acked), set(ledger.unknown)
            status_url = proc.url(f"/world/story/{ledger.player}/state")
            async with session.get(status_url) as r:
                assert r.status == 200
                state = orjson.loads(await r.read())["state"]
            progress = state["session"]["tasks"]["tally"]["progress"]
            assert len(acked) <= progress <= len(acked) + len(unknown), ledger.player

            async with session.get(proc.url(f"/world/story/{ledger.player}/journal"
                                            "?limit=1000")) as r:
                entries = orjson.loads(await r.read())["entries"]
            journaled = [e["event_id"] for e in entries if e["event_type"] == "near"]
            assert len(journaled) == len(set(journaled)) == progress
            assert acked <= set(journaled), f"{ledger.player}: acknowledged events are lost"
            assert set(journaled) <= acked | unknown, f"{ledger.player}: refused but applied"
            if graceful:  # in-flight events finish: an applied event was also answered
                assert not set(journaled) & unknown, f"{ledger.player}: applied, unanswered"

            # Resend everything: acknowledged events replay byte for byte, the unanswered
            # ones are applied exactly once (or replayed when they made it before the stop).
            for eid, body in ledger.acked.items():
                replay = await post_json(session, proc.url(EVENT),
                                         near_event(ledger.player, event_id=eid))
                assert replay == body, eid
            for eid in ledger.unknown:
                validate_ok(await post_json(session, proc.url(EVENT),
                                            near_event(ledger.player, event_id=eid)))
            if ledger.unknown:  # and once more inside a batch: all replays now
                body = await post_json(session, proc.url(BATCH), {"events": [
                    near_event(ledger.player, event_id=e) for e in ledger.unknown]})
                BatchResponse.model_validate_json(body)
            async with session.get(status_url) as r:
                state = orjson.loads(await r.read())["state"]
            assert state["session"]["tasks"]["tally"]["progress"] == len(acked | unknown)


@pytest.mark.parametrize("run", range(5))
async def test_sigkill_mid_load_loses_no_acknowledged_event(spawn: Spawn, tmp_path: Path,
                                                            run: int) -> None:
    proc, ledgers = await loaded_server(spawn, tmp_path)
    clients = start_clients(proc, ledgers)
    await asyncio.sleep(random.Random(run).uniform(0.3, 0.9))
    proc.kill()  # SIGKILL: no shutdown, no flush
    await asyncio.wait_for(asyncio.gather(*clients), timeout=30)
    assert any(lg.unknown for lg in ledgers), "the kill came after every client finished"
    assert not any(lg.rejected for lg in ledgers)

    await proc.restart()
    await check_after_restart(proc, ledgers, graceful=False)
    proc.stop()


async def test_sigterm_mid_load_finishes_in_flight_events(spawn: Spawn,
                                                          tmp_path: Path) -> None:
    """Graceful shutdown (SPEC §8): in-flight events finish and are stored, later ones
    are refused (503 or a closed connection) and not applied; the exit status is 0."""
    proc, ledgers = await loaded_server(spawn, tmp_path)
    clients = start_clients(proc, ledgers)
    await asyncio.sleep(0.5)
    proc.signal(signal.SIGTERM)
    await asyncio.wait_for(asyncio.gather(*clients), timeout=30)
    assert proc.popen is not None
    assert await asyncio.to_thread(proc.popen.wait, 15) == 0

    await proc.restart()
    await check_after_restart(proc, ledgers, graceful=True)
    proc.stop()
