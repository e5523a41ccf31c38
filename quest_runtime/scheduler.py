"""The timer scheduler: timers fire at their due time even when nobody sends anything
(SPEC §4.7).

The runtime keeps a heap of (next due, player) across players (``Runtime.timers``, a
``TimerIndex``), updated on every commit. The scheduler is one asyncio task that sleeps
until the earliest due time (or until a commit moves it earlier: ``poke``), then for
each player due by now calls ``Runtime.fire_timers``: take the player's lock, fire the
due timers on the state, commit, push the results on the stream, commit what was
delivered. Players are fired in parallel (bounded); one player's timers in due order.

Start-up rebuilds the heap from the store, so after a restart (a crash included)
overdue timers fire once: the firing and the timer's removal from the pending list are
one commit, so a timer is either still pending (and fires now) or fired (and gone).

The preview uses the same ``run_due`` with a fake clock and no background task.

Several instances on one shared store (``PostgresStore``): each instance's heap knows
only the timers of its own commits, so a second task (``_sweep``) claims, every
``sweep_seconds``, the players due by now in the store (``claim_due``: ``FOR UPDATE
SKIP LOCKED`` and a short lease, so sweeping instances split the work) and fires them
here; the firing is the store's conditional write, so a timer fires exactly once
whichever instances try. Results a firing could not push here stay in the stored
outbox; the commit NOTIFYs, and the instance holding that player's stream (``wants``)
pushes them (``listen``); a sweep of the stored outboxes on every (re)connect of the
LISTEN connection and every ``sweep_seconds`` catches a missed notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from quest_runtime.engine.shapes import EnsuresFailure, OutboxEntry, Result
from quest_runtime.errors import Unavailable
from quest_runtime.runtime import Push, Runtime

log = logging.getLogger(__name__)

#: A firing that failed (store unavailable) is tried again this much later.
RETRY_SECONDS = 1.0

#: Shared stores: how often the store is swept for due timers and undelivered results.
SWEEP_SECONDS = 2.0

Pushed = tuple[float, str, Result]
"""(due time, player id, result) of one delivered pushed result."""


class Scheduler:
    """Fires due timers in the background; see the module docstring."""

    def __init__(self, runtime: Runtime, push: Push | None = None, *,
                 concurrency: int = 32, max_sleep: float = 5.0,
                 on_ensures: Callable[[tuple[EnsuresFailure, ...]], None] | None = None,
                 wants: Callable[[str], bool] | None = None,
                 sweep_seconds: float = SWEEP_SECONDS) -> None:
        self.runtime = runtime
        self.push = push
        #: Whether this instance holds a stream for the player (shared stores).
        self.wants = wants
        self.sweep_seconds = sweep_seconds
        self._sweep_wake = asyncio.Event()
        #: Called with the ``ensures`` failures of timer firings (metrics, the preview).
        self.on_ensures = on_ensures
        self.concurrency = concurrency
        #: Upper bound of one sleep, so a wall-clock jump is noticed soon enough.
        self.max_sleep = max_sleep
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._side: set[asyncio.Task[Any]] = set()
        self._stopping = False
        #: Players fired (observability and tests).
        self.fired_players = 0
        #: A failure episode of the store is in progress: firings failing with 503.
        #: Logged once when it starts and once when firings succeed again (not one
        #: traceback per player per retry).
        self.store_failing = False
        self.store_failures = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild the heap from the store and start the background task (which fires
        whatever is overdue at once)."""
        found = await self.runtime.index_timers()
        if found:
            log.info("timers found in the store", extra={"players": found})
        self.runtime.timers.on_earlier = self.poke
        self._task = asyncio.create_task(self._loop(), name="quest-runtime-timers")
        store: Any = self.runtime.store
        if self.runtime.shared and hasattr(store, "claim_due"):
            self._side.add(asyncio.create_task(self._sweep(store), name="quest-runtime-sweep"))
            store.listen(self._notified)

    async def stop(self, timeout: float = 5.0) -> None:
        """Let the pass under way finish (its commits are awaited), then stop."""
        self._stopping = True
        self.runtime.timers.on_earlier = None
        self._wake.set()
        self._sweep_wake.set()
        tasks = [t for t in (self._task, *self._side) if t is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = None

    def poke(self) -> None:
        """Something became due earlier than the scheduler sleeps for (or a test moved a
        fake clock): look again."""
        self._wake.set()

    # -- shared stores: sweeps and notifications ---------------------------------------

    def _notified(self, player_id: str | None) -> None:
        """A commit somewhere left ``player_id``'s results undelivered (None: the LISTEN
        connection (re)connected, so sweep now)."""
        if player_id is None:
            self._sweep_wake.set()
        elif self.wants is not None and self.wants(player_id):
            self.runtime.timers.outbox.add(player_id)
            self.flush_soon([player_id])

    async def _sweep(self, store: Any) -> None:
        while not self._stopping:
            self._sweep_wake.clear()
            try:
                await self.sweep(store)
            except Exception as exc:  # the store is down: the next sweep tries again
                log.debug("sweep failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sweep_wake.wait(), self.sweep_seconds)

    async def sweep(self, store: Any) -> None:
        """Claim the players due by now and fire them here; push the stored outboxes of
        the players whose stream is here."""
        runtime = self.runtime
        now = runtime.clock.now()
        claimed = await store.claim_due(now, lease=max(5.0, 3 * self.sweep_seconds))
        for player in claimed:
            due = runtime.timers.due_of(player)
            runtime.timers.set(player, now if due is None else min(due, now))
        if claimed:
            self.poke()
        if self.wants is not None and self.push is not None:
            waiting = [p for p in await store.outbox_players() if self.wants(p)]
            if waiting:
                runtime.timers.outbox.update(waiting)
                await self.flush(waiting)

    # -- firing ------------------------------------------------------------------------

    async def run_due(self) -> list[Pushed]:
        """Fire every player due by now; returns the delivered results, in due order."""
        runtime = self.runtime
        now = runtime.clock.now()
        due = runtime.timers.pop_due(now)
        if not due:
            return []
        return await self._fire([player for _, player in due], retry_at=now + RETRY_SECONDS)

    async def flush(self, players: Iterable[str] | None = None) -> list[Pushed]:
        """Push the undelivered results of ``players`` (default: all that have some),
        e.g. when a stream client connects; due timers fire on the way."""
        waiting = self.runtime.timers.outbox
        chosen = sorted(waiting if players is None else set(players) & waiting)
        if not chosen:
            return []
        return await self._fire(chosen, retry_at=None)

    def flush_soon(self, players: Iterable[str] | None = None) -> None:
        """``flush`` in the background (from a request handler)."""
        if self._stopping:
            return
        task = asyncio.create_task(self.flush(players), name="quest-runtime-flush")
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    async def _fire(self, players: list[str], retry_at: float | None) -> list[Pushed]:
        gate = asyncio.Semaphore(self.concurrency)
        runtime = self.runtime

        async def one(player: str) -> list[OutboxEntry]:
            async with gate:
                try:
                    reply = await runtime.fire_timers(player, self.push)
                except Unavailable as exc:  # the store: one line per failure episode
                    self._store_failed(exc)
                    if retry_at is not None and runtime.timers.due_of(player) is None:
                        runtime.timers.set(player, retry_at)
                    return []
                except Exception:
                    log.exception("firing timers failed; trying again shortly",
                                  extra={"player_id": player})
                    if retry_at is not None and runtime.timers.due_of(player) is None:
                        runtime.timers.set(player, retry_at)
                    return []
                if self.store_failing:
                    self.store_failing = False
                    log.warning("timers fire again: the state store recovered "
                                "(%d firings failed meanwhile)", self.store_failures)
                if reply.ensures_failures and self.on_ensures is not None:
                    self.on_ensures(reply.ensures_failures)
                return reply.delivered

        done = await asyncio.gather(*(one(p) for p in players))
        self.fired_players += len(players)
        pushed: list[tuple[float, int, str, Result]] = []
        for order, (player, entries) in enumerate(zip(players, done, strict=True)):
            pushed.extend((float(e["at"]), order, player, e["result"]) for e in entries)
        pushed.sort(key=lambda p: (p[0], p[1]))
        return [(at, player, result) for at, _, player, result in pushed]

    def _store_failed(self, exc: Unavailable) -> None:
        self.store_failures += 1
        if not self.store_failing:
            self.store_failing = True
            self.store_failures = 1
            log.warning("timers cannot fire while the state store fails (%s); retrying "
                        "every %g s until it recovers", exc.message, RETRY_SECONDS)

    async def _loop(self) -> None:
        runtime = self.runtime
        while not self._stopping:
            self._wake.clear()
            due = runtime.timers.next_due()
            now = runtime.clock.now()
            if due is not None and due <= now:
                try:
                    await self.run_due()
                except Exception:  # never let the scheduler die
                    log.exception("timer pass failed")
                    await asyncio.sleep(RETRY_SECONDS)
                continue
            timeout = self.max_sleep if due is None else min(self.max_sleep, due - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
