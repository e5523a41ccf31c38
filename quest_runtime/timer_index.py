"""The timer index: next due time per player across players, which the scheduler
(``scheduler.py``, beside this module) sleeps on; the runtime updates it on every commit.

A heap with lazy deletion; and the players whose outbox is not empty (re-sent when a
stream client connects).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from quest_runtime.engine.state import PlayerState
from quest_runtime.engine.timers import next_due


class TimerIndex:
    """Next due time per player, and the players with undelivered results."""

    def __init__(self) -> None:
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self.outbox: set[str] = set()
        #: Called when the earliest due time moved earlier (the scheduler wakes up).
        self.on_earlier: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._due)

    def update(self, state: PlayerState) -> None:
        self.committed(state.player_id, next_due(state.session), bool(state.outbox))

    def committed(self, player_id: str, due: float | None, outbox: bool) -> None:
        """A commit stored the player's next due time and outbox mark (``Commit``)."""
        self.set(player_id, due)
        if outbox:
            self.outbox.add(player_id)
        else:
            self.outbox.discard(player_id)

    def set(self, player_id: str, due: float | None) -> None:
        old = self._due.get(player_id)
        if due == old:
            return
        if due is None:
            del self._due[player_id]
            return
        head = self.next_due()
        self._due[player_id] = due
        heapq.heappush(self._heap, (due, player_id))
        if len(self._heap) > 2 * len(self._due) + 64:
            self._heap = [(d, p) for p, d in self._due.items()]
            heapq.heapify(self._heap)
        if (head is None or due < head) and self.on_earlier is not None:
            self.on_earlier()

    def due_of(self, player_id: str) -> float | None:
        return self._due.get(player_id)

    def next_due(self) -> float | None:
        heap = self._heap
        while heap:
            due, player = heap[0]
            if self._due.get(player) == due:
                return due
            heapq.heappop(heap)
        return None

    def pop_due(self, now: float) -> list[tuple[float, str]]:
        """Players due by ``now``, earliest first; they leave the index (the firing puts
        them back with their next due time)."""
        out: list[tuple[float, str]] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, player = heapq.heappop(heap)
            if self._due.get(player) == due:
                del self._due[player]
                out.append((due, player))
        return out
