"""Prometheus metrics (SPEC §8): events by type and outcome, latency, reloads, store
commit latency, active sessions, contract violations. One registry per application, so
tests can build many apps in one process.

Counting is on the request path, so it is plain Python: ints in dicts and lists, a
histogram's bucket found with ``bisect``. Nothing is formatted, locked or labelled per
request; ``Metrics`` is one collector of the registry that turns the counts into metric
families only when ``/metrics`` is scraped (``render``). Names, help texts, label order
and buckets are those of the ``prometheus_client`` counters they replace, so the scraped
text is unchanged. Other parts (``server/stream.py``) register their own
``prometheus_client`` metrics on ``registry``; they render after these.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, disable_created_metrics, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from quest_runtime.atoms import BUILTIN_EVENT_TYPES

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Count:
    """A counter without labels: ``inc`` adds to an int."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount


class Level:
    """A gauge: the value set last, or what ``set_function``'s callable says at scrape."""

    __slots__ = ("read", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.read: Callable[[], float] | None = None

    def set(self, value: float) -> None:
        self.value = float(value)

    def set_function(self, read: Callable[[], float]) -> None:
        self.read = read

    def current(self) -> float:
        return float(self.read()) if self.read is not None else self.value


class Timing:
    """A histogram of seconds: one count per bucket (upper bounds ``_LATENCY_BUCKETS``,
    then +Inf) and the sum; cumulated only when scraped."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(_LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float, n: int = 1) -> None:
        """``n`` observations of ``seconds`` each (a batch's events share its time)."""
        self.counts[bisect_left(_LATENCY_BUCKETS, seconds)] += n
        self.total += seconds * n

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        buckets: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*_LATENCY_BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return HistogramMetricFamily(name, documentation, buckets=buckets,
                                     sum_value=self.total)


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created: scrape noise
        self.registry = CollectorRegistry(auto_describe=False)
        #: Rule events by (type label, outcome): the type is a built-in event type or
        #: "other" (a level's own event names would make the label set unbounded).
        self.events: dict[tuple[str, str], int] = {}
        self.latency = Timing()
        self.reloads = Count()
        self.reload_failures = Count()
        self.level_errors = Level()
        self.commit_latency = Timing()
        self.active_sessions = Level()
        self.ensures_violations = Count()
        self.replays = Count()
        #: The store's write transactions and the commits they wrote, read at scrape
        #: time (``create_app`` sets it for a store that counts them: SQLite, PostgreSQL).
        self.store_writes: Callable[[], tuple[int, int]] | None = None
        self.registry.register(self)  # a collector: it has collect()

    def event(self, event_type: str, outcome: str, n: int = 1) -> None:
        key = (event_type if event_type in BUILTIN_EVENT_TYPES else "other", outcome)
        self.events[key] = self.events.get(key, 0) + n

    def collect(self) -> Iterator[Metric]:
        """The metric families, in the order the registry has always rendered them."""
        events = CounterMetricFamily("quest_runtime_events", "Rule events processed",
                                     labels=["type", "outcome"])
        for (etype, outcome), n in self.events.items():
            events.add_metric([etype, outcome], n)
        yield events
        yield self.latency.family("quest_runtime_event_seconds",
                                  "Rule-event handling time, commit included")
        yield _counter("quest_runtime_level_reloads", "Level reloads", self.reloads)
        yield _counter("quest_runtime_level_reload_failures",
                       "Level files rejected on reload", self.reload_failures)
        yield GaugeMetricFamily("quest_runtime_level_errors",
                                "Error findings in the level files right now",
                                value=self.level_errors.current())
        yield self.commit_latency.family("quest_runtime_store_commit_seconds",
                                         "Store commit latency")
        yield GaugeMetricFamily("quest_runtime_active_sessions",
                                "Players with a cached level session",
                                value=self.active_sessions.current())
        yield _counter("quest_runtime_ensures_violations", "Postcondition (ensures) failures",
                       self.ensures_violations)
        yield _counter("quest_runtime_idempotent_replays",
                       "Events answered from the journal (repeated event_id)", self.replays)
        if self.store_writes is not None:
            transactions, commits = self.store_writes()
            yield CounterMetricFamily(
                "quest_runtime_store_transactions",
                "State-store write transactions (each a group commit)", value=transactions)
            yield CounterMetricFamily(
                "quest_runtime_store_commits",
                "Commits the state store wrote; per transaction: the mean group size",
                value=commits)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _counter(name: str, documentation: str, count: Count) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=count.value)
