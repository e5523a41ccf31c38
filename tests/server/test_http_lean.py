"""The lean HTTP path (issue 12): lean responses, batch metrics counted once per batch,
one front middleware, and /metrics unchanged by counting in plain ints."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from http_helpers import Running, Serve, counter_level, near_event, write_level

from bridge_protocol import RuleEventResult
from bridge_protocol.results import RESULT_DEFAULTS, full_result, lean_result
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.server.metrics import Metrics
from quest_runtime.store.memory import MemoryStore

EVENT = "/world/story/rule-event"
BATCH = "/world/story/rule-events"


def level_with_listener() -> dict[str, object]:
    return counter_level(rule_listeners=[{"id": "hello", "type": "near",
                                          "targets": ["beacon"],
                                          "metadata": {"world_patch": {"mc": {"tell": "hi"}}}}])


async def metrics_text(srv: Running) -> str:
    status, body = await srv.get("/metrics")
    assert status == 200
    return body.decode()


def sample(text: str, name: str) -> float:
    """The value of the sample line ``name`` (with its labels) in the scrape."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} not in /metrics"
    return float(found.group(1))


# -- lean responses ----------------------------------------------------------------------

async def test_a_progress_step_carries_only_what_changed(serve: Serve) -> None:
    srv = await serve(level_with_listener())
    await srv.load("Steve", "counter")
    status, body = await srv.post(EVENT, {**near_event("Steve"), "event_id": "e1"})
    assert status == 200
    result = orjson.loads(body)["result"]
    assert set(result) == {"world_patch", "nodes"}, result  # no [] / null / false keys
    assert result["nodes"][0]["type"] == "task_progress"
    assert b"null" not in body and b"[]" not in body and b"false" not in body
    # the protocol model reads the lean result whole: a left-out key has its default
    model = RuleEventResult.model_validate(result)
    assert model.completed_tasks == [] and model.commands == [] and model.exit_ready is False
    assert model.summary is None and model.active_tasks is None
    # a replay answers the same bytes
    status, again = await srv.post(EVENT, {**near_event("Steve"), "event_id": "e1"})
    assert status == 200 and again == body


async def test_a_batch_answers_lean_results_and_replays_them_byte_exact(serve: Serve) -> None:
    srv = await serve(level_with_listener())
    await srv.load("Steve", "counter")
    events = [{**near_event("Steve"), "event_id": f"b{n}"} for n in range(3)]
    status, body = await srv.post(BATCH, {"events": events})
    assert status == 200
    results = orjson.loads(body)["results"]
    assert [set(r) for r in results] == [{"world_patch", "nodes"}] * 3
    status, again = await srv.post(BATCH, {"events": events})
    assert status == 200 and again == body
    assert await srv.progress("Steve") == 3  # the replay changed nothing


def test_lean_and_full_results_round_trip() -> None:
    whole = {**RESULT_DEFAULTS, "nodes": [{"type": "task", "title": "T", "hint": None}],
             "exit_ready": True}
    lean = lean_result(whole)
    assert lean == {"nodes": [{"type": "task", "title": "T", "hint": None}],
                    "exit_ready": True}  # only the top level is trimmed
    assert full_result(lean) == whole


# -- metrics -----------------------------------------------------------------------------

async def test_a_batch_is_counted_per_event_type_and_outcome(serve: Serve) -> None:
    srv = await serve(level_with_listener())
    await srv.load("Steve", "counter")
    events = [{**near_event("Steve"), "event_id": f"m{n}"} for n in range(4)]
    events.append({"player_id": "Steve", "event_type": "chat", "payload": {"text": "hm"}})
    events.append({"player_id": "Steve", "event_type": "my_own", "payload": {}})
    assert (await srv.post(BATCH, {"events": events}))[0] == 200
    text = await metrics_text(srv)
    assert sample(text, 'quest_runtime_events_total{outcome="matched",type="near"}') == 4
    assert sample(text, 'quest_runtime_events_total{outcome="ignored",type="chat"}') == 1
    assert sample(text, 'quest_runtime_events_total{outcome="ignored",type="other"}') == 1
    assert sample(text, "quest_runtime_event_seconds_count") == 1  # one batch request
    assert sample(text, "quest_runtime_idempotent_replays_total") == 0
    assert (await srv.post(BATCH, {"events": events[:4]}))[0] == 200  # replayed
    text = await metrics_text(srv)
    assert sample(text, 'quest_runtime_events_total{outcome="replayed",type="near"}') == 4
    assert sample(text, "quest_runtime_idempotent_replays_total") == 4
    assert sample(text, "quest_runtime_event_seconds_count") == 2
    assert sample(text, "quest_runtime_store_commit_seconds_count") >= 2  # load + batch
    # the store's writes (the serve fixture's SQLite file): the load, then the first
    # batch's 6 events in one transaction (the replayed batch writes nothing)
    assert sample(text, "quest_runtime_store_transactions_total") == 2
    assert sample(text, "quest_runtime_store_commits_total") == 7


def test_metrics_render_the_prometheus_text_of_before() -> None:
    """The families, names, label order and bucket bounds of the prometheus_client
    counters the plain counts replaced; a value on a bound is in that bound's bucket."""
    m = Metrics()
    m.event("near", "matched")
    m.event("unheard_of", "ignored", 3)
    m.latency.observe(0.0005)
    m.latency.observe(0.3)
    m.reloads.inc()
    m.level_errors.set(2)
    m.active_sessions.set_function(lambda: 5)
    plain = m.render().decode()  # no store counts: no store families
    m.store_writes = lambda: (3, 12)
    text = m.render().decode()
    assert plain == text.split("# HELP quest_runtime_store_transactions_total")[0]
    assert "quest_runtime_store_transactions_total 3.0" in text
    assert "quest_runtime_store_commits_total 12.0" in text
    names = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE)
    assert names == [("quest_runtime_events_total", "counter"),
                     ("quest_runtime_event_seconds", "histogram"),
                     ("quest_runtime_level_reloads_total", "counter"),
                     ("quest_runtime_level_reload_failures_total", "counter"),
                     ("quest_runtime_level_errors", "gauge"),
                     ("quest_runtime_store_commit_seconds", "histogram"),
                     ("quest_runtime_active_sessions", "gauge"),
                     ("quest_runtime_ensures_violations_total", "counter"),
                     ("quest_runtime_idempotent_replays_total", "counter"),
                     ("quest_runtime_store_transactions_total", "counter"),
                     ("quest_runtime_store_commits_total", "counter")]
    assert 'quest_runtime_events_total{outcome="matched",type="near"} 1.0' in text
    assert 'quest_runtime_events_total{outcome="ignored",type="other"} 3.0' in text
    assert 'quest_runtime_event_seconds_bucket{le="0.0005"} 1.0' in text
    assert 'quest_runtime_event_seconds_bucket{le="0.25"} 1.0' in text
    assert 'quest_runtime_event_seconds_bucket{le="1.0"} 2.0' in text
    assert 'quest_runtime_event_seconds_bucket{le="+Inf"} 2.0' in text
    assert "quest_runtime_event_seconds_count 2.0" in text
    assert "quest_runtime_level_reloads_total 1.0" in text
    assert "quest_runtime_level_errors 2.0" in text
    assert "quest_runtime_active_sessions 5.0" in text
    assert "_created" not in text


# -- one middleware --------------------------------------------------------------------

async def test_one_middleware_gates_and_answers_errors_as_json(serve: Serve) -> None:
    srv = await serve(counter_level(), token="s3cret")
    assert len(srv.app.middlewares) == 1
    status, body = await srv.post(EVENT, near_event("Steve"))
    assert status == 401 and orjson.loads(body)["error"]["code"] == "unauthorized"
    auth = {"Authorization": "Bearer s3cret"}
    status, body = await srv.post(EVENT, b"{not json", headers=auth)
    assert status == 400 and orjson.loads(body)["error"]["code"] == "malformed_json"
    status, body = await srv.get("/no/such/path", headers=auth)
    assert status == 404 and orjson.loads(body)["error"]["code"] == "not_found"
    status, body = await srv.get("/health")
    assert status == 200


def test_serve_runs_on_uvloop() -> None:
    """``quest-runtime serve`` builds its loop with uvloop (a dependency on Linux)."""
    import uvloop

    from quest_runtime.server.main import _loop_factory

    factory = _loop_factory()
    assert factory is uvloop.new_event_loop
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


class _CountingStore(MemoryStore):
    """A memory store that counts document reads per player."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: dict[str, int] = {}

    async def read_player(self, player_id: str) -> tuple[bytes, int] | None:
        self.reads[player_id] = self.reads.get(player_id, 0) + 1
        return await super().read_player(player_id)


async def test_a_batch_reads_each_player_to_apply_once_and_a_replay_only_one_never(
        tmp_path: Path) -> None:
    write_level(tmp_path / "levels", counter_level())
    catalog = LevelCatalog(tmp_path / "levels")
    catalog.load_all()
    store = _CountingStore()
    first = Runtime(catalog, store)
    await first.open()
    for player in ("A", "B"):
        await first.load(player, "counter")
    await first.handle("B", "near", near_event("B")["payload"], "b1")
    fresh = Runtime(catalog, store)  # a restart: nothing cached
    store.reads.clear()
    events: list[tuple[str, str | None, Mapping[str, Any], str | None]] = [
        ("A", "near", near_event("A")["payload"], None) for _ in range(5)]
    events.append(("B", "near", near_event("B")["payload"], "b1"))  # a replay only
    replies = await fresh.handle_batch(events)
    assert store.reads == {"A": 1}
    assert [r.replayed for r in replies] == [False] * 5 + [True]
    assert replies[-1].result is not None and replies[-1].result["commands"] == []  # whole
