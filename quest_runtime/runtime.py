"""The runtime: the one in-process API that the service, the preview and tests call.

It wraps the synchronous ``Engine`` with what a service needs:
1. a per-player lock, so one player's rule events run strictly one after another in
   arrival order (asyncio locks are FIFO) while different players proceed in parallel;
2. idempotency: an ``event_id`` already in the player's journal returns the stored result
   and changes nothing (SPEC §5.3);
3. the player's state from a cache, or from the store on a miss;
4. the engine call (``load``/``end``/``handle``);
5. one store commit of the new state document plus the journal entry, awaited before the
   caller answers (durability, SPEC §5.2). If the engine or the commit fails, the cached
   state is dropped so the next event starts again from what was committed.

A shared store (``store.shared``: ``PostgresStore``, several instances on one database)
holds the only truth: the cached state is a guess that the store's conditional write
checks. A commit that loses a race (``VersionConflict``) or repeats an event another
instance did (``DuplicateEvent``) is re-run inside the transaction primitive (``_run``,
``_batch_round``, ``fire_timers``): forget the cache, look the event up in the journal
(a replay), read the state, run the engine, commit, at most ``CONFLICT_TRIES`` times,
then ``Unavailable``. Reads (``peek``) and timer firings read the store.

A store failure (``StoreError``: disk full, I/O error) becomes ``Unavailable`` (503 with
``Retry-After``, docs/operating.md "Store faults"): nothing is acknowledged, the event
may be retried with the same ``event_id``. Reads (``peek``, ``journal``) show committed
state only: a player whose event is in flight is read from the store, not the cache.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import orjson

from bridge_protocol.results import full_result, lean_result
from quest_runtime.atoms import event_kind
from quest_runtime.clock import Clock, SystemClock
from quest_runtime.engine.core import Engine, Outcome
from quest_runtime.engine.outbox import keep as keep_results
from quest_runtime.engine.questlog import snapshot
from quest_runtime.engine.shapes import EnsuresFailure, OutboxEntry, Result
from quest_runtime.engine.state import PlayerState, load_state
from quest_runtime.engine.timers import next_due
from quest_runtime.errors import LevelBlocked, Unavailable, UnknownLevel
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.levels.compiled import CompiledLevel
from quest_runtime.plugin import next_level_of, plugin_rest, what_is_left
from quest_runtime.record import record
from quest_runtime.store.base import (
    Commit,
    DuplicateEvent,
    JournalEntry,
    StateStore,
    StoreError,
    VersionConflict,
    Wakeup,
    join_parts,
)
from quest_runtime.timer_index import TimerIndex

log = logging.getLogger(__name__)

#: Store failures are logged at most once per this many seconds (with a count).
STORE_LOG_INTERVAL = 5.0

#: A shared store (several instances): how many times a transaction that lost a race
#: (``VersionConflict``/``DuplicateEvent``) is re-read and re-run before answering 503.
CONFLICT_TRIES = 5


@record
class Reply:
    """A processed rule event: the result object and its exact JSON bytes."""

    result: Result | None
    raw: bytes
    replayed: bool = False
    ensures_failures: tuple[EnsuresFailure, ...] = ()


@record
class Step:
    """One applied change of one player, encoded: what to store and what to answer."""

    state: PlayerState
    commit: Commit
    reply: Reply


T = TypeVar("T")

Push = Callable[[str, list[Result]], Awaitable[int]]
"""Sends a player's pushed results, in order, on the stream; returns how many (from the
first) were delivered."""


@dataclass(frozen=True, slots=True)
class TimerReply:
    """What ``fire_timers`` did: the outbox entries delivered by the push, and the
    contract failures of the firings."""

    delivered: list[OutboxEntry]
    ensures_failures: tuple[EnsuresFailure, ...] = ()


def journal_entry(player_id: str, event_id: str | None, event_type: str, now: float,
                  outcome: Outcome, raw: bytes) -> JournalEntry:
    """The journal entry of one processed rule event (SPEC §5.3): the result bytes are
    kept only when an ``event_id`` makes the event replayable; the digest always."""
    return JournalEntry(player_id, event_id, event_type, now, outcome.journal,
                        raw if event_id else b"", hashlib.sha256(raw).hexdigest()[:16])


class _Lost(Exception):
    """(Shared stores.) Some steps of a commit lost a race with another instance: ``ok``
    tells which steps were stored; the others' players were forgotten, to re-run."""

    def __init__(self, ok: list[bool]) -> None:
        super().__init__("lost a race with another instance")
        self.ok = ok


def _replayed(stored: bytes) -> Reply:
    """The reply of a journaled result: the stored bytes as they were sent, and the
    result object with the keys the wire left out back (as a fresh reply has them)."""
    result = orjson.loads(stored)
    return Reply(cast(Result, full_result(result)) if isinstance(result, dict) else None,
                 stored, replayed=True)


class _NoAdvance(Exception):
    """``advance`` found nothing to load: the text says why (nothing changed)."""


class _PlayerLock:
    """A player's turn (``Runtime._locked``): held while it is the player's entry in
    ``Runtime._locks``; ``waiters`` are the callers waiting for it, first come first
    served. An ``asyncio.Lock`` per entry did the same with three more Python calls and
    an object per event (``_locked`` and ``_release`` take no lock when nobody waits)."""

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: collections.deque[asyncio.Future[None]] | None = None


class Runtime:
    """Levels + engine + store, with per-player ordering and idempotency."""

    def __init__(self, catalog: LevelCatalog, store: StateStore, *, clock: Clock | None = None,
                 default_level: str | None = None, max_cached_players: int = 100_000,
                 on_commit: Callable[[float], None] | None = None) -> None:
        self.catalog = catalog
        self.store = store
        self.clock = clock or SystemClock()
        self.engine = Engine(catalog.get, default_level=default_level)
        #: Live player states, oldest first; bounded (a miss re-reads the store).
        self._states: dict[str, tuple[PlayerState, int]] = {}
        self.max_cached_players = max_cached_players
        #: Called with each commit's duration in seconds (the metrics histogram).
        self.on_commit = on_commit
        self._locks: dict[str, _PlayerLock] = {}
        self.ensures_violations = 0
        #: (next timer due, player) across players, and players with undelivered
        #: results; updated on every commit (the scheduler sleeps on it).
        self.timers = TimerIndex()
        #: Store failures answered 503 since start (observability, tests).
        self.store_failures = 0
        self._store_logged_at = float("-inf")
        self._store_unlogged = 0
        #: Other processes write the same store (``PostgresStore``): the cache is only a
        #: guess that the conditional write validates; reads go to the store.
        self.shared = bool(getattr(store, "shared", False))
        #: Commits that lost a race and were re-run (shared stores; observability).
        self.conflicts = 0
        #: The stored parts per player, kept only to check every commit (tests).
        self._verify_parts: dict[str, dict[str, bytes]] | None = (
            {} if os.environ.get("QUEST_RUNTIME_VERIFY_STORAGE") == "1" else None)

    async def open(self) -> None:
        await self.store.open()

    async def close(self) -> None:
        await self.store.close()

    def active_sessions(self) -> int:
        """Cached players with a level session (the metrics gauge)."""
        return sum(1 for state, _ in self._states.values() if state.session is not None)

    def unavailable(self, what: str, exc: BaseException) -> Unavailable:
        """The 503 for a store failure. The client gets ``what`` (the store's message
        names the database file, which is not the client's business); the log gets the
        whole error, at most once per ``STORE_LOG_INTERVAL`` under a failing disk."""
        self.store_failures += 1
        now = time.monotonic()
        if now - self._store_logged_at >= STORE_LOG_INTERVAL:
            log.warning("state store failure (%d more since the last message): %s",
                        self._store_unlogged, exc)
            self._store_logged_at, self._store_unlogged = now, 0
        else:
            self._store_unlogged += 1
        return Unavailable(f"the state store is unavailable: {what}; retry in a moment "
                           "(a rule event with the same event_id)")

    # -- ordering ----------------------------------------------------------------------

    async def _locked(self, player_id: str) -> _PlayerLock:
        """Wait for the player's turn (events of one player run one at a time, in the
        order they came); ``_release`` ends it. Nobody holding it (most events): taken
        at once, without suspending."""
        entry = self._locks.get(player_id)
        if entry is None:
            entry = self._locks[player_id] = _PlayerLock()
            return entry
        if entry.waiters is None:
            entry.waiters = collections.deque()
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry.waiters.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the turn, then cancelled
                self._release(player_id, entry)
            raise  # (a cancelled turn stays queued: ``_release`` passes over it)
        return entry

    def _release(self, player_id: str, entry: _PlayerLock) -> None:
        """End the turn: hand it to the first caller still waiting, else drop the
        entry (the player has no event in flight)."""
        waiters = entry.waiters
        while waiters:
            turn = waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        del self._locks[player_id]

    # -- state -------------------------------------------------------------------------

    async def _state(self, player_id: str) -> tuple[PlayerState, int]:
        cached = self._states.get(player_id)
        if cached is not None:
            return cached
        try:
            stored = await self.store.read_player(player_id)
        except StoreError as exc:
            raise self.unavailable("the player's state cannot be read", exc) from exc
        if stored is None:
            entry = (PlayerState(player_id), 0)
        else:
            doc, version = stored
            entry = (load_state(doc), version)
        if self._verify_parts is not None:
            self._verify_parts[player_id] = {k: v for k, v in entry[0].all_parts().items()
                                              if v is not None}
        if len(self._states) >= self.max_cached_players:
            self._evict()
        self._states[player_id] = entry
        return entry

    def _evict(self) -> None:
        """Forget the oldest cached states of players with no event in flight (their
        committed documents stay in the store)."""
        drop = max(1, self.max_cached_players // 10)
        for player_id in list(self._states):
            if drop == 0:
                break
            if player_id not in self._locks:
                del self._states[player_id]
                drop -= 1

    async def peek(self, player_id: str) -> PlayerState | None:
        """The player's committed state (read-only use), or None for an unknown player.

        While an event of the player is in flight (its lock is held or awaited), the
        cached state may hold a change whose commit has not returned, and which a crash
        would roll back: then the store is read, which holds only committed state."""
        cached = self._states.get(player_id)
        if cached is not None and player_id not in self._locks and not self.shared:
            return cached[0]
        try:
            stored = await self.store.read_player(player_id)
        except StoreError as exc:
            raise self.unavailable("the player's state cannot be read", exc) from exc
        if stored is None:
            return None
        return load_state(stored[0])

    # -- the transaction: apply, then commit -------------------------------------------

    def _forget(self, players: list[str]) -> None:
        """Drop cached states that may hold uncommitted changes: the store has the truth."""
        for player_id in players:
            self._states.pop(player_id, None)

    def _apply(self, players: list[str], call: Callable[[], T]) -> T:
        """Run an engine call on cached state. If it raises, the states of ``players``
        (all locked by the caller) may be half-changed: they are forgotten."""
        try:
            return call()
        except BaseException:
            self._forget(players)
            raise

    def _step(self, state: PlayerState, version: int, kind: str | None, event_id: str | None,
              now: float, outcome: Outcome, raw: bytes | None = None) -> Step:
        """One applied change, encoded for the store: the state document, and (unless
        ``kind`` is None) the journal entry of ``outcome`` whose bytes are ``raw``
        (default: the result's)."""
        if raw is not None:
            wire = raw
        elif outcome.result is None:
            wire = b"null"
        else:  # the result as sent: its empty keys left out (bridge_protocol.lean_result)
            wire = orjson.dumps(lean_result(outcome.result))
        journal = (None if kind is None
                   else journal_entry(state.player_id, event_id, kind, now, outcome, wire))
        reply = Reply(outcome.result, wire, False, tuple(outcome.ensures_failures))
        core, parts, whole = state.storage()
        if self._verify_parts is not None:
            self._verify_storage(state, core, parts, whole)
        commit = Commit(state.player_id, core, version, journal, next_due(state.session),
                        bool(state.outbox), parts, whole)
        state.changed = set()
        return Step(state, commit, reply)

    def _verify_storage(self, state: PlayerState, core: bytes,
                        parts: Mapping[str, bytes | None], whole: bool) -> None:
        """(Tests: ``QUEST_RUNTIME_VERIFY_STORAGE=1``.) The stored parts after this commit,
        joined, must be the whole document: a change the engine did not mark would
        otherwise be lost when the player's state is next read from the store."""
        assert self._verify_parts is not None
        known = {} if whole else dict(self._verify_parts.get(state.player_id, {}))
        for name, value in parts.items():
            if value is None:
                known.pop(name, None)
            else:
                known[name] = value
        self._verify_parts[state.player_id] = known
        stored = orjson.loads(join_parts(core, known))
        expected = state.to_doc()
        if stored != expected:
            raise AssertionError(f"the storage parts of {state.player_id!r} miss a change:\n"
                                 f"stored   {stored}\nexpected {expected}")

    async def _commit(self, steps: list[Step], players: list[str]) -> None:
        """The one commit step: every step's document and journal entry stored (one group
        commit), then the cache and the timer index follow. On a store failure the cached
        states of ``players`` are forgotten and the caller gets ``Unavailable``: nothing
        was acknowledged."""
        if not steps:
            return
        started = time.perf_counter()
        try:
            if len(steps) == 1:
                versions: list[int | StoreError] = [await self.store.commit(steps[0].commit)]
            else:  # one request, one future for the whole batch
                versions = await self.store.commit_many([s.commit for s in steps])
        except StoreError as exc:
            versions = [exc]
        if self.shared and any(isinstance(v, StoreError) for v in versions):
            self._lost(steps, versions, players)
        for failed in versions:
            if isinstance(failed, BaseException):
                self._forget(players)
                if isinstance(failed, StoreError):
                    raise self.unavailable("the state change could not be stored",
                                            failed) from failed
                raise failed
        if self.on_commit is not None:
            self.on_commit(time.perf_counter() - started)
        states, committed = self._states, self.timers.committed
        for step, version in zip(steps, versions, strict=True):
            assert isinstance(version, int)
            commit = step.commit
            states[commit.player_id] = (step.state, version)
            committed(commit.player_id, commit.due, commit.outbox)
            if step.reply.ensures_failures:
                self.ensures_violations += len(step.reply.ensures_failures)

    def _lost(self, steps: list[Step], versions: list[int | StoreError],
              players: list[str]) -> None:
        """(Shared stores.) If every failed step lost a race, keep the stored steps in
        the cache, forget the players that lost and raise ``_Lost`` for the caller to
        re-read and re-run them; any other failure is left to ``_commit`` (503)."""
        if len(versions) != len(steps) or not all(
                isinstance(v, int | VersionConflict | DuplicateEvent) for v in versions):
            return
        ok = [isinstance(v, int) for v in versions]
        lost = {s.state.player_id for s, good in zip(steps, ok, strict=True) if not good}
        self.conflicts += len(lost)
        self._forget([p for p in players if p in lost])
        for step, version in zip(steps, versions, strict=True):
            if isinstance(version, int):
                self._states[step.state.player_id] = (step.state, version)
                self.timers.update(step.state)
                self.ensures_violations += len(step.reply.ensures_failures)
        raise _Lost(ok)

    def _raced(self) -> Unavailable:
        """The 503 when a player's state kept changing under other instances."""
        return self.unavailable("the player's state kept changing on other instances",
                                VersionConflict(f"{CONFLICT_TRIES} tries lost a race"))

    async def _replay(self, player_id: str, event_id: str | None) -> Reply | None:
        """The stored answer of an event already processed (SPEC §5.3), else None."""
        if event_id is None:
            return None
        try:
            stored = await self.store.find_result(player_id, event_id)
        except StoreError as exc:
            raise self.unavailable("the journal cannot be read", exc) from exc
        return None if stored is None else _replayed(stored)

    async def _replays(self, events: list[tuple[str, str | None, Mapping[str, Any], str | None]]
                       ) -> dict[tuple[str, str], Reply]:
        """The stored answers of a batch's events already processed: one look-up."""
        keys = [(e[0], e[3]) for e in events if e[3] is not None]
        if not keys:
            return {}
        try:
            found = await self.store.find_results(keys)
        except StoreError as exc:
            raise self.unavailable("the journal cannot be read", exc) from exc
        return {k: _replayed(raw) for k, raw in found.items()}

    async def _run(self, player_id: str, kind: str, event_id: str | None,
                   call: Callable[[PlayerState, float], Outcome]) -> Reply:
        """One engine call for one player as one transaction, under the player's lock."""
        entry = await self._locked(player_id)
        try:
            for _ in range(CONFLICT_TRIES):  # once, unless a shared store's race is lost
                if event_id is not None:
                    replayed = await self._replay(player_id, event_id)
                    if replayed is not None:
                        return replayed
                # a cached player needs no await (most events)
                state, version = self._states.get(player_id) or await self._state(player_id)
                now = self.clock.now()
                outcome = self._apply([player_id], lambda: call(state, now))  # noqa: B023
                step = self._step(state, version, kind, event_id, now, outcome)
                try:
                    await self._commit([step], [player_id])
                except _Lost:
                    continue
                return step.reply
            raise self._raced()
        finally:
            self._release(player_id, entry)

    # -- the API ---------------------------------------------------------------------

    async def handle(self, player_id: str, event_type: str | None,
                     payload: Mapping[str, Any], event_id: str | None = None) -> Reply:
        """Process one rule event for one player."""
        kind = event_kind(event_type)
        return await self._run(player_id, kind, event_id,
                               lambda state, now: self.engine.handle(state, kind, payload, now))

    async def handle_batch(
        self, events: list[tuple[str, str | None, Mapping[str, Any], str | None]]
    ) -> list[Reply]:
        """Process a batch in order: the engine runs event after event, then every
        state change is committed at once (one group commit) before any reply is given.

        All players of the batch are locked (in sorted order, so two batches cannot
        deadlock) for the whole batch; an ``event_id`` seen earlier in the journal or in
        the same batch replays that result.
        """
        players = sorted({e[0] for e in events})
        held: list[tuple[str, _PlayerLock]] = []
        try:
            for p in players:  # (in the try: a batch cancelled while it waits for one
                held.append((p, await self._locked(p)))  # player frees the ones it holds)
            replies: list[Reply | None] = [None] * len(events)
            for _ in range(CONFLICT_TRIES):  # once, unless a shared store's race is lost
                if await self._batch_round(events, replies, players):
                    return [r for r in replies if r is not None]
            raise self._raced()
        finally:
            for p, entry in reversed(held):
                self._release(p, entry)

    async def _batch_round(self, events: list[tuple[str, str | None, Mapping[str, Any],
                                                    str | None]],
                           replies: list[Reply | None], players: list[str]) -> bool:
        """Answer the events of ``events`` whose reply is still None, all committed at
        once. True when all are answered; False when some lost a race (shared stores):
        those stay None, their players' states forgotten, for another round."""
        steps: list[Step] = []
        owners: list[list[int]] = []  # the events each step answers
        seen: dict[tuple[str, str], int] = {}
        versions: dict[str, int] = {}
        todo = [i for i, reply in enumerate(replies) if reply is None]
        stored = await self._replays([events[i] for i in todo])
        # the state of every player with an event to apply, once, up front (a store read
        # for the uncached ones only): the loop below awaits nothing
        applied = {events[i][0] for i in todo
                   if events[i][3] is None or (events[i][0], events[i][3]) not in stored}
        states = {p: self._states.get(p) or await self._state(p)
                  for p in players if p in applied}
        handle, clock, step_of = self.engine.handle, self.clock, self._step
        try:  # as ``_apply``, for the whole batch: one try, no closure per event
            for i in todo:
                player_id, event_type, payload, event_id = events[i]
                key = (player_id, event_id) if event_id is not None else None
                if key is not None and key in seen:
                    owners[seen[key]].append(i)
                    continue
                if key is not None and key in stored:
                    replies[i] = stored[key]
                    continue
                state, version = states[player_id]
                version = versions.get(player_id, version)
                now, kind = clock.now(), event_kind(event_type)
                outcome = handle(state, kind, payload, now)
                steps.append(step_of(state, version, kind, event_id, now, outcome))
                owners.append([i])
                versions[player_id] = version + 1
                if key is not None:
                    seen[key] = len(steps) - 1
        except BaseException:
            self._forget(players)
            raise
        try:
            await self._commit(steps, players)
            ok = [True] * len(steps)
        except _Lost as lost:
            ok = lost.ok
        for step, good, answered in zip(steps, ok, owners, strict=True):
            if good:
                for i in answered:
                    replies[i] = step.reply
        return all(ok)

    async def load(self, player_id: str, level_id: str) -> Reply:
        """Start (or restart) a level session; UnknownLevel/LevelBlocked change nothing."""
        return await self._run(player_id, "load", None,
                               lambda state, now: self.engine.load(state, level_id, now))

    async def end(self, player_id: str) -> Reply:
        """End the player's session. For a player never seen (nothing stored) there is
        nothing to end: the answer is a null result, and no state or journal entry is
        created (before, ``/end`` created state for any name it was sent)."""
        entry = await self._locked(player_id)
        try:
            state, version = await self._state(player_id)
            if version == 0 and state.session is None:
                self._states.pop(player_id, None)
                return Reply(None, b"null")
        finally:
            self._release(player_id, entry)
        return await self._run(player_id, "end", None,
                               lambda state, now: self.engine.end(state, now))

    # -- the DriftSystem plugin's calls (``plugin.py``) ----------------------------------

    async def load_for_plugin(self, player_id: str, level_id: str) -> Reply:
        """A load whose answer the plugin reads only in part: what it drops (nodes other
        than the issue cards, commands, the quest log) waits in the outbox and comes with
        the player's next rule-event response. Same errors as ``load``."""
        return await self._run(player_id, "load", None,
                               lambda state, now: self._load_kept(state, level_id, now))

    def _load_kept(self, state: PlayerState, level_id: str, now: float) -> Outcome:
        outcome = self.engine.load(state, level_id, now)
        rest = plugin_rest(outcome.result) if outcome.result is not None else None
        if rest is not None:
            keep_results(state, [(now, rest)])
        return outcome

    async def advance(self, player_id: str) -> tuple[Reply | None, str]:
        """``/advance``: a player whose level is complete starts its next level. Returns
        the load reply (None when nothing was loaded) and the text to show. The check
        and the load run under the player's lock, so two quick /advance never load the
        next level twice."""
        chosen: list[str] = []

        def call(state: PlayerState, now: float) -> Outcome:
            session = state.session
            if session is None:
                raise _NoAdvance("You are not in a level: start one with /level <id>.")
            level = self.catalog.get(session.level_id)
            if level is None:
                raise _NoAdvance(f"Level '{session.level_id}' is not available right now.")
            if not session.exit_ready:
                raise _NoAdvance(what_is_left(level, snapshot(player_id, level, session)))
            target = next_level_of(level)
            if target is None:
                raise _NoAdvance(f"{level.title} is complete. There is no next level after it.")
            chosen.extend((level.title, target))
            return self._load_kept(state, target, now)

        try:
            reply = await self._run(player_id, "advance", None, call)
        except _NoAdvance as exc:
            return None, str(exc)
        except (UnknownLevel, LevelBlocked) as exc:
            return None, f"The next level cannot start yet: {exc.message}"
        done, target = chosen
        nxt = self.catalog.get(target)
        return reply, f"{done} is complete. Next: {nxt.title if nxt else target}."

    async def current_level(self, player_id: str) -> tuple[PlayerState | None,
                                                           CompiledLevel | None]:
        """The player's committed state and the level serving its session."""
        state = await self.peek(player_id)
        if state is None or state.session is None:
            return state, None
        return state, self.catalog.get(state.session.level_id)

    async def fire_timers(self, player_id: str, push: Push | None = None) -> TimerReply:
        """Fire the player's due timers (SPEC §4.7) and commit; then ``push`` the
        player's undelivered results (oldest first) and commit what was delivered.

        ``delivered`` holds the outbox entries ``{"at", "result"}`` pushed. Runs
        under the player's lock, so a rule event never takes a result from the outbox
        while it is on its way out on the stream."""
        entry = await self._locked(player_id)
        try:
            if self.shared:  # another instance may have fired or changed it: read it
                self._forget([player_id])
            for _ in range(CONFLICT_TRIES):  # once, unless a shared store's race is lost
                state, version = await self._state(player_id)
                now = self.clock.now()
                fired = self._apply([player_id], lambda: self.engine.fire_due(
                    state, now))  # noqa: B023 (called at once)
                if fired.count or fired.journal:
                    outcome = Outcome(None, fired.journal, fired.ensures_failures)
                    raw = orjson.dumps([result for _, result in fired.results])
                    try:
                        await self._commit([self._step(state, version, "timer", None, now,
                                                       outcome, raw)], [player_id])
                    except _Lost:
                        continue  # another instance changed the player: read it again
                    state, version = self._states[player_id]
                break
            else:
                raise self._raced()
            delivered: list[OutboxEntry] = []
            if push is not None and state.outbox:
                try:
                    sent = await push(player_id, [e["result"] for e in state.outbox])
                except Exception:  # a broken stream must not lose the results
                    log.exception("pushing results failed; they stay in the outbox",
                                  extra={"player_id": player_id})
                    sent = 0
                if sent:
                    delivered = state.outbox[:sent]
                    state.outbox = state.outbox[sent:]
                    # (shared stores: if this loses a race, the results stay in the
                    # stored outbox and are pushed again: at least once, never lost)
                    with contextlib.suppress(_Lost):
                        await self._commit([self._step(state, version, None, None, now,
                                                       Outcome(None))], [player_id])
            self.timers.update(state)
            return TimerReply(delivered, tuple(fired.ensures_failures))
        finally:
            self._release(player_id, entry)

    async def index_timers(self) -> int:
        """Rebuild the timer index from the store (at start-up): every player with a
        scheduled timer or an undelivered result, read from the store's wakeup index
        (documents are read only for rows written before the store kept it). Returns how
        many were found."""
        found = 0
        try:
            wakeups = await self.store.wakeups()
        except StoreError as exc:
            raise self.unavailable("the timer index cannot be read", exc) from exc
        for wake in wakeups:
            cached = self._states.get(wake.player_id)
            if cached is not None:
                self.timers.update(cached[0])
                continue
            if not wake.known:
                stored = await self.store.read_player(wake.player_id)
                if stored is None or (b'"timers"' not in stored[0]
                                      and b'"outbox"' not in stored[0]):
                    continue
                state = load_state(stored[0])
                wake = Wakeup(wake.player_id, next_due(state.session), bool(state.outbox))
                if wake.due is None and not wake.outbox:
                    continue
            self.timers.set(wake.player_id, wake.due)
            if wake.outbox:
                self.timers.outbox.add(wake.player_id)
            found += 1
        return found
