"""Per-player rate limiting (SPEC §8): a token bucket per player id.

``rate`` tokens per second refill up to ``burst``; each rule event takes one. The table
is pruned when it grows large (idle players whose bucket is full are forgotten), so its
size stays bounded by the number of recently active players.
"""

from __future__ import annotations

import time

from quest_runtime.errors import RateLimited

MAX_TRACKED = 100_000


class RateLimiter:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take_many(self, counts: dict[str, int], now: float | None = None) -> None:
        """A batch: every event is charged to its player. Every player is checked first,
        then charged; a refused batch charges nobody. A batch holding more events for one
        player than ``burst`` can never pass: it is refused with a message saying so."""
        if self.rate <= 0:
            return
        t = time.monotonic() if now is None else now
        for player_id, n in counts.items():
            self._check(player_id, n, t)
        for player_id, n in counts.items():
            self.take(player_id, n, t)

    def _check(self, player_id: str, n: int, t: float) -> None:
        tokens, last = self._buckets.get(player_id, (self.burst, t))
        tokens = min(self.burst, tokens + (t - last) * self.rate)
        if n > self.burst:
            raise self._refusal(player_id, (self.burst - tokens) / self.rate,
                                f"the batch holds {n} rule events for player '{player_id}'; "
                                f"at most {self.burst:g} (the rate limit's burst) fit in one "
                                "batch: split it")
        if tokens < n:
            raise self._refusal(player_id, (n - tokens) / self.rate)

    def _refusal(self, player_id: str, wait: float, message: str | None = None) -> RateLimited:
        exc = RateLimited(message or f"player '{player_id}' sends rule events faster than "
                          f"{self.rate:g}/s (burst {self.burst:g}); retry in {wait:.2f} s",
                          details=[{"loc": "player_id", "message": "rate limit"}])
        exc.headers = {"Retry-After": str(max(1, round(wait + 0.49)))}
        return exc

    def take(self, player_id: str, n: int = 1, now: float | None = None) -> None:
        """Take ``n`` tokens or raise RateLimited (with a Retry-After hint)."""
        if self.rate <= 0:
            return
        t = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(player_id, (self.burst, t))
        tokens = min(self.burst, tokens + (t - last) * self.rate)
        if tokens < n:
            self._buckets[player_id] = (tokens, t)
            raise self._refusal(player_id, (n - tokens) / self.rate)
        self._buckets[player_id] = (tokens - n, t)
        if len(self._buckets) > MAX_TRACKED:
            self._prune(t)

    def _prune(self, now: float) -> None:
        full = [p for p, (tok, last) in self._buckets.items()
                if tok + (now - last) * self.rate >= self.burst]
        for p in full:
            del self._buckets[p]
