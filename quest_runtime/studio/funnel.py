"""Where players drop off: per level and per task counts, kept up to date from the journal.

The funnel is an aggregate, never a scan of the players on a page view:

1. ``ObservedStore`` wraps the service's store. ``Funnel.rebuild`` reads each stored
   player's journal once, oldest entry first, in the background (the service does not
   wait for it; the page says how far it got). A player's entries committed meanwhile
   are held back until their older ones are folded in. The service's funnel
   (``lazy=True``) starts that rebuild when the funnel is first asked for (the page or
   its JSON), not at start-up: reading a million journals cost every rule event of the
   first minutes 2.6x its price (bench/million_players.py), for a page few open.
   Until then a committed entry is not folded in (the rebuild reads it from the journal);
2. after that, ``ObservedStore.commit`` hands each committed journal entry to
   ``Funnel.observe`` right after the commit succeeded, so the counts follow every rule
   event, load and timer firing;
3. ``Funnel.report`` answers a page view from the aggregate (medians from sorted lists).

What a journal entry's ``effects`` say (``engine/merger.ResultBuilder.note``) drives it:
``levels_loaded`` starts a session of a level (its open tasks forgotten: a new try),
``tasks_issued``/``tasks_completed``/``tasks_failed`` count players per task (each player
once per task, the first time; a repeatable task's later rounds are not counted again),
``levels_completed`` closes the session. Per task:

- ``issued``, ``completed``, ``failed``: players;
- ``median_seconds``: over the players who completed it, the median time from the task's
  issue to its first completion, timed within the try (level session) that completed it
  (journal ``received_at``: the engine's clock);
- ``stopped_here``: players whose latest session of the level is not complete and who
  hold this task open (issued, neither completed nor failed) — where they stopped.

Per level: ``started`` (players who loaded it), ``completed`` (players who completed it),
``in_progress`` (started, latest session not complete).

The journal keeps each player's last ``journal_limit`` entries, so a rebuild sees no
further back than that at the time it runs (after a restart, or the service's first view
of the funnel); from then on the live aggregate misses nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from quest_runtime.store.base import Commit, StateStore, StoreError, Wakeup

log = logging.getLogger(__name__)


#: Players read between two yields to the event loop while the funnel is rebuilt.
REBUILD_YIELD_EVERY = 100


@dataclass(slots=True)
class TaskStats:
    issued: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    durations: list[float] = field(default_factory=list)  # kept sorted
    stopped: int = 0


@dataclass(slots=True)
class LevelStats:
    started: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    tasks: dict[str, TaskStats] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # tasks in the order first seen

    def task(self, task_id: str) -> TaskStats:
        found = self.tasks.get(task_id)
        if found is None:
            found = self.tasks[task_id] = TaskStats()
            self.order.append(task_id)
        return found


@dataclass(slots=True)
class _Session:
    """A player's latest session of one level: its open tasks, first issue times."""

    level_id: str
    open: set[str] = field(default_factory=set)
    issued_at: dict[str, float] = field(default_factory=dict)
    complete: bool = False


def _ids(values: Any) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


class Funnel:
    """The aggregate (see the module docstring)."""

    def __init__(self) -> None:
        self.levels: dict[str, LevelStats] = {}
        self._sessions: dict[str, _Session] = {}  # player -> current session
        self._latest: dict[tuple[str, str], _Session] = {}  # (player, level) -> latest
        self.entries = 0
        #: the rebuild: started? (before, committed entries are left to it), running?,
        #: players read / to read, entries held back
        self.started = False
        self.rebuilding = False
        self.players_read = 0
        self.players_to_read = 0
        self._rebuilt: set[str] = set()
        self._pending: dict[str, list[tuple[dict[str, Any], float, str]]] = {}
        #: (digest, time) of the commits handed to the store and not returned yet
        self.in_flight: dict[str, list[tuple[str, float]]] = {}

    def level(self, level_id: str) -> LevelStats:
        found = self.levels.get(level_id)
        if found is None:
            found = self.levels[level_id] = LevelStats()
        return found

    # -- folding entries -----------------------------------------------------------------

    def observe(self, player_id: str, effects: dict[str, Any], at: float) -> None:
        """Fold one journal entry (its ``effects`` and ``received_at``) in."""
        self.entries += 1
        loaded = _ids(effects.get("levels_loaded"))
        closes = bool(effects.get("levels_completed") or effects.get("levels_ended"))
        if loaded and not closes:  # a load (or a default-level load) and what it issued
            self._load(player_id, loaded[-1])
            self._tasks(player_id, effects, at)
        else:  # the old session's tasks, then its end, then a next level
            self._tasks(player_id, effects, at)
            for level_id in _ids(effects.get("levels_completed")):
                self._complete(player_id, level_id)
            for level_id in loaded[-1:]:
                self._load(player_id, level_id)

    def _load(self, player_id: str, level_id: str) -> None:
        stats = self.level(level_id)
        stats.started.add(player_id)
        previous = self._latest.get((player_id, level_id))
        if previous is not None and not previous.complete:
            for task_id in previous.open:  # a new try: the old one no longer counts
                stats.task(task_id).stopped -= 1
        session = _Session(level_id)
        self._sessions[player_id] = session
        self._latest[(player_id, level_id)] = session

    def _tasks(self, player_id: str, effects: dict[str, Any], at: float) -> None:
        session = self._sessions.get(player_id)
        if session is None:
            return
        stats = self.level(session.level_id)
        for task_id in _ids(effects.get("tasks_issued")):
            task = stats.task(task_id)
            task.issued.add(player_id)
            session.issued_at.setdefault(task_id, at)
            if task_id not in session.open and not session.complete:
                session.open.add(task_id)
                task.stopped += 1
        for key in ("tasks_completed", "tasks_failed"):
            for task_id in _ids(effects.get(key)):
                task = stats.task(task_id)
                done = task.completed if key == "tasks_completed" else task.failed
                if key == "tasks_completed" and player_id not in task.completed \
                        and task_id in session.issued_at:
                    bisect.insort(task.durations, at - session.issued_at[task_id])
                done.add(player_id)
                if task_id in session.open:
                    session.open.discard(task_id)
                    task.stopped -= 1

    def _complete(self, player_id: str, level_id: str) -> None:
        stats = self.level(level_id)
        stats.completed.add(player_id)
        session = self._latest.get((player_id, level_id))
        if session is not None and not session.complete:
            for task_id in session.open:
                stats.task(task_id).stopped -= 1
            session.open.clear()
            session.complete = True

    # -- the start-up rebuild, beside live commits ------------------------------------------

    def live(self, player_id: str, effects: dict[str, Any], at: float, digest: str) -> None:
        """A committed entry. While the rebuild has not read this player's journal yet, it
        waits (the player's older entries must be folded in first); before the rebuild
        started, the rebuild will read it from the journal."""
        if not self.started:
            return
        if self.rebuilding and player_id not in self._rebuilt:
            self._pending.setdefault(player_id, []).append((effects, at, digest))
        else:
            self.observe(player_id, effects, at)

    async def rebuild(self, store: StateStore, limit: int) -> int:
        """Fold in every stored player's journal (oldest first), while the service runs;
        how many entries. A player's entries committed meanwhile (reported to ``live``, or
        still committing: ``in_flight``) are told apart from the journal's by digest and
        time: left out of what is read, and folded in after it, in order."""
        before = self.entries
        self.started = self.rebuilding = True
        try:
            players = await store.players()
            self.players_to_read = len(players)
            for n, player_id in enumerate(players):
                if n % REBUILD_YIELD_EVERY == 0:
                    # the store's reads run on the loop and never suspend: without this the
                    # rebuild held the loop for its whole length (8 s at 1,000,000
                    # players: no /ready, no rule event until it finished)
                    await asyncio.sleep(0)
                entries = await store.journal(player_id, limit)
                pending = self._pending.pop(player_id, [])
                held = Counter((digest, at) for _, at, digest in pending)
                held.update(self.in_flight.get(player_id, ()))
                for entry in entries:
                    mark = (str(entry.get("digest")), entry.get("received_at") or 0.0)
                    if held[mark] > 0:
                        held[mark] -= 1
                        continue
                    effects = entry.get("effects")
                    if isinstance(effects, dict):
                        self.observe(player_id, effects,
                                     float(entry.get("received_at") or 0.0))
                for effects, at, _ in pending:
                    self.observe(player_id, effects, at)
                self._rebuilt.add(player_id)
                self.players_read += 1
        finally:
            self.rebuilding = False
            for player_id, pending in self._pending.items():  # players new since start
                for effects, at, _ in pending:
                    self.observe(player_id, effects, at)
            self._pending.clear()
            self._rebuilt.clear()
        return self.entries - before

    # -- the page --------------------------------------------------------------------------

    def report(self, task_order: Callable[[str], Iterable[str]] | None = None,
               titles: Callable[[str, str], str | None] | None = None) -> dict[str, Any]:
        """Counts per level and task, JSON-ready. ``task_order(level)`` lists a level's
        tasks in file order (tasks never issued are listed with zeros)."""
        out: list[dict[str, Any]] = []
        for level_id in sorted(self.levels):
            stats = self.levels[level_id]
            order = list(task_order(level_id)) if task_order is not None else []
            order += [t for t in stats.order if t not in order]
            tasks = []
            for task_id in order:
                t = stats.tasks.get(task_id) or TaskStats()
                tasks.append({
                    "task_id": task_id,
                    "title": titles(level_id, task_id) if titles is not None else None,
                    "issued": len(t.issued), "completed": len(t.completed),
                    "failed": len(t.failed),
                    "median_seconds": statistics.median(t.durations) if t.durations else None,
                    "stopped_here": t.stopped})
            out.append({"level_id": level_id, "started": len(stats.started),
                        "completed": len(stats.completed),
                        "in_progress": len(stats.started - stats.completed),
                        "tasks": tasks})
        return {"levels": out, "entries": self.entries,
                "rebuilding": self.rebuilding, "players_read": self.players_read,
                "players_to_read": self.players_to_read}


class ObservedStore:
    """A ``StateStore`` that tells the funnel about each journal entry it committed, and
    runs the funnel's rebuild in the background: once the store is open, or with
    ``lazy=True`` at the first ``start_rebuild()`` (the service starts without waiting
    for it either way)."""

    def __init__(self, inner: StateStore, funnel: Funnel, journal_limit: int, *,
                 lazy: bool = False) -> None:
        self.inner = inner
        self.funnel = funnel
        self.journal_limit = journal_limit
        self.lazy = lazy
        self.rebuilt: asyncio.Task[int] | None = None
        self._is_open = False

    def __getattr__(self, name: str) -> Any:  # anything else of the inner store
        return getattr(self.inner, name)

    async def open(self) -> None:
        await self.inner.open()
        self._is_open = True
        if not self.lazy:
            self.start_rebuild()

    def start_rebuild(self) -> None:
        """Start reading the journals in the background (once; only on an open store)."""
        if self.rebuilt is not None or not self._is_open:
            return
        # from now: entries wait for their player's history
        self.funnel.started = self.funnel.rebuilding = True
        self.rebuilt = asyncio.create_task(self._rebuild(), name="studio-funnel-rebuild")

    async def _rebuild(self) -> int:
        try:
            return await self.funnel.rebuild(self.inner, self.journal_limit)
        except Exception:  # the service runs on; the funnel counts what it sees
            log.exception("the studio funnel could not read the journal")
            return 0

    async def close(self) -> None:
        self._is_open = False
        if self.rebuilt is not None and not self.rebuilt.done():
            self.rebuilt.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.rebuilt
        await self.inner.close()

    async def read_player(self, player_id: str) -> tuple[bytes, int] | None:
        return await self.inner.read_player(player_id)

    async def commit(self, commit: Commit) -> int:
        entry = commit.journal
        if entry is None:
            return await self.inner.commit(commit)
        mark = (entry.digest, entry.received_at)
        flight = self.funnel.in_flight.setdefault(entry.player_id, [])
        flight.append(mark)
        try:
            version = await self.inner.commit(commit)
        finally:
            flight.remove(mark)
            if not flight:
                self.funnel.in_flight.pop(entry.player_id, None)
        self.funnel.live(entry.player_id, entry.effects, entry.received_at, entry.digest)
        return version

    async def commit_many(self, commits: list[Commit]) -> list[int | StoreError]:
        """A batch's commits: told to the funnel like single ones, each that succeeded."""
        marks = [(c.journal.player_id, (c.journal.digest, c.journal.received_at))
                 for c in commits if c.journal is not None]
        for player_id, mark in marks:
            self.funnel.in_flight.setdefault(player_id, []).append(mark)
        try:
            outcomes = await self.inner.commit_many(commits)
        finally:
            for player_id, mark in marks:
                flight = self.funnel.in_flight.get(player_id, [])
                if mark in flight:
                    flight.remove(mark)
                if not flight:
                    self.funnel.in_flight.pop(player_id, None)
        for commit, outcome in zip(commits, outcomes, strict=True):
            entry = commit.journal
            if entry is not None and not isinstance(outcome, StoreError):
                self.funnel.live(entry.player_id, entry.effects, entry.received_at,
                                 entry.digest)
        return outcomes

    async def find_result(self, player_id: str, event_id: str) -> bytes | None:
        return await self.inner.find_result(player_id, event_id)

    async def find_results(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        return await self.inner.find_results(keys)

    async def journal(self, player_id: str, limit: int) -> list[dict[str, Any]]:
        return await self.inner.journal(player_id, limit)

    async def players(self) -> list[str]:
        return await self.inner.players()

    async def wakeups(self) -> list[Wakeup]:
        return await self.inner.wakeups()
