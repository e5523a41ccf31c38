"""Prometheus metrics (SPEC §8): events by type and outcome, latency, reloads, store
commit latency, active sessions, contract violations. One registry per application, so
tests can build many apps in one process."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from quest_runtime.atoms import BUILTIN_EVENT_TYPES

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created: scrape noise
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter("quest_runtime_events", "Rule events processed",
                              ["type", "outcome"], registry=r)
        self.latency = Histogram("quest_runtime_event_seconds",
                                 "Rule-event handling time, commit included",
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.reloads = Counter("quest_runtime_level_reloads", "Level reloads", registry=r)
        self.reload_failures = Counter("quest_runtime_level_reload_failures",
                                       "Level files rejected on reload", registry=r)
        self.level_errors = Gauge("quest_runtime_level_errors",
                                  "Error findings in the level files right now", registry=r)
        self.commit_latency = Histogram("quest_runtime_store_commit_seconds",
                                        "Store commit latency", buckets=_LATENCY_BUCKETS,
                                        registry=r)
        self.active_sessions = Gauge("quest_runtime_active_sessions",
                                     "Players with a cached level session", registry=r)
        self.ensures_violations = Counter("quest_runtime_ensures_violations",
                                          "Postcondition (ensures) failures", registry=r)
        self.replays = Counter("quest_runtime_idempotent_replays",
                               "Events answered from the journal (repeated event_id)",
                               registry=r)

    def event(self, event_type: str, outcome: str) -> None:
        label = event_type if event_type in BUILTIN_EVENT_TYPES else "other"
        self.events.labels(label, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
