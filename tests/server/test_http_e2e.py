"""The service end to end, on a real socket (SPEC §2, §8): the demo level played through
HTTP with the plugin's exact payloads, the batch and read endpoints, operations
endpoints, auth, limits and every error status a client can provoke.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from http_helpers import DEMO_LEVELS, Serve, near_event, validate_error, validate_ok

from bridge_protocol import BatchResponse, QuestLog
from bridge_protocol.results import full_result
from quest_runtime.designer.scenario import subset_mismatches

SCRIPT = DEMO_LEVELS / "lakeside.scenario.jsonl"
EVENT = "/world/story/rule-event"
BATCH = "/world/story/rule-events"


def scenario_steps(path: Path = SCRIPT) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def as_request(step: dict[str, Any], player: str | None = None) -> dict[str, Any]:
    """The wire request of a scenario rule-event step (``player`` → ``player_id``)."""
    return {"player_id": player or step["player"], "event_type": step["event_type"],
            "payload": step["payload"]}


def renamed(expect: Any, player: str) -> Any:
    """A step's ``expect`` for another player (commands carry the player's name)."""
    return json.loads(json.dumps(expect).replace("Steve", player))


def check(expect: dict[str, Any] | None, result: Any, where: str) -> None:
    """``result`` (as sent: empty keys left out) holds what the scenario expects of the
    engine's whole result, where an absent key has its default."""
    if expect:
        whole = full_result(result) if isinstance(result, dict) else result
        problems = subset_mismatches(expect, whole, where)
        assert not problems, "\n".join(problems)


# -- the demo level, step by step --------------------------------------------------------


def timeless(results: list[Any]) -> list[Any]:
    """The results with each quest-log cooldown's ``seconds_left`` (wall-clock) left out."""
    for result in results:
        for cooling in ((result or {}).get("active_tasks") or {}).get("cooldowns", []):
            cooling.pop("seconds_left")
    return results


async def test_demo_level_plays_to_exit_ready(serve: Serve) -> None:
    srv = await serve()
    steps = scenario_steps()
    kinds = {s.get("event_type") for s in steps}
    assert {"near", "chat", "interact_block", "interact_entity"} <= kinds
    assert "quest_event" not in kinds  # plugin-shaped: trigger zones never fire (PLUGIN.md §6)

    results = []
    for n, step in enumerate(steps, start=1):
        if "load" in step:
            status, body = await srv.post("/world/story/load",
                                          {"player_id": step["player"],
                                           "level_id": step["load"]})
        else:
            req = {**as_request(step), "event_id": f"steve-{n}"}
            status, body = await srv.post(EVENT, req)
        assert status == 200, body
        assert body.startswith(b'{"status":"ok"')
        validate_ok(body)
        result = orjson.loads(body)["result"]
        # lean responses: the wire leaves the empty keys out
        assert result is None or all(result.values()), result
        check(step.get("expect"), result, f"step {n}")
        results.append(result)

    last = results[-1]
    assert last["exit_ready"] is True
    assert last["summary"] == {"type": "task_summary", "title": "Lakeside Lantern — complete",
                               "text": last["summary"]["text"]}
    assert last["summary"]["text"]
    assert not any(n["type"] == "task_summary" for n in last["nodes"])
    assert all(not (r or {}).get("exit_ready") for r in results[:-1])

    # state: every task completed, the flags of on_complete set, exit_ready
    state = await srv.state("Steve")
    assert state["exit_ready"] is True
    assert {t["status"] for t in state["session"]["tasks"].values()} == {"completed"}
    assert {"met_mia", "said_ready", "talked_to_tomas", "reached_boathouse", "lantern_lit",
            "lakeside_complete"} <= set(state["flags"])

    # quest-log: nothing left open
    status, body = await srv.get("/world/story/Steve/quest-log")
    assert status == 200
    log = orjson.loads(body)
    assert log["status"] == "ok"
    if log["active_tasks"] is not None:
        snapshot = QuestLog.model_validate(log["active_tasks"])
        assert snapshot.tasks == [] and snapshot.active_count == 0

    # journal: the load and the rule events, in order, with their event ids
    status, body = await srv.get("/world/story/Steve/journal?limit=100")
    assert status == 200
    entries = orjson.loads(body)["entries"]
    assert [e["event_type"] for e in entries] == ["load"] + [s["event_type"]
                                                            for s in steps[1:]]
    assert [e["event_id"] for e in entries[1:]] == [f"steve-{n}"
                                                    for n in range(2, len(steps) + 1)]
    # events with an event_id keep their result for replays; every entry has a digest
    assert [e["result"] for e in entries[1:]] == results[1:]  # byte-exact: the same lean
    assert all(e["digest"] for e in entries)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)


async def test_quest_log_mid_level_and_unknown_players(serve: Serve) -> None:
    srv = await serve()
    await srv.load("Alex", "lakeside")
    await srv.event(as_request(scenario_steps()[1], "Alex"))
    status, body = await srv.get("/world/story/Alex/quest-log")
    assert status == 200
    snapshot = QuestLog.model_validate(orjson.loads(body)["active_tasks"])
    assert snapshot.player_id == "Alex" and snapshot.level_id == "lakeside"
    statuses = {t.task_id: t.status for t in snapshot.tasks}
    assert "greet_mia" not in statuses
    # only the open tasks; the ones still waiting are listed apart
    assert statuses == {"say_ready": "issued", "check_traps": "issued"}
    assert [u.task_id for u in snapshot.upcoming] == [
        "ask_tomas", "reach_boathouse", "light_lantern", "return_to_mia"]

    # a player nobody has seen: 404 for the state, an empty quest log and journal
    status, body = await srv.get("/world/story/Nobody/state")
    assert status == 404
    assert validate_error(body).error.code == "not_found"
    status, body = await srv.get("/world/story/Nobody/quest-log")
    assert status == 200 and orjson.loads(body)["active_tasks"] is None
    status, body = await srv.get("/world/story/Nobody/journal")
    assert status == 200 and orjson.loads(body)["entries"] == []

    for bad in ("0", "-1", "abc", "1001"):
        status, body = await srv.get(f"/world/story/Alex/journal?limit={bad}")
        assert status == 422, bad
        assert validate_error(body).error.details[0].loc == "query.limit"


async def test_event_without_session_is_null_and_end_keeps_state(serve: Serve) -> None:
    srv = await serve()
    assert await srv.event(near_event("Drifter", "mia_npc")) is None
    await srv.load("Drifter", "lakeside")
    await srv.event(as_request(scenario_steps()[1], "Drifter"))
    status, body = await srv.post("/world/story/end", {"player_id": "Drifter"})
    assert status == 200
    answer = orjson.loads(body)
    assert answer["status"] == "ok" and answer["result"] is None
    assert answer["world_patch"]["exit_summary"]["aliases"] == ["leave the lake", "go home"]
    state = await srv.state("Drifter")
    assert state["session"] is None
    assert "met_mia" in state["flags"]  # player state outlives the level session


# -- batch ---------------------------------------------------------------------------


async def test_batch_gives_per_event_results_in_order(serve: Serve) -> None:
    srv = await serve()
    steps = scenario_steps()[1:]
    await srv.load("Alex", "lakeside")
    # Alex plays the whole level in one batch; Bea (no level session) is interleaved.
    events: list[dict[str, Any]] = []
    for n, step in enumerate(steps):
        events.append({**as_request(step, "Alex"), "event_id": f"alex-{n}"})
        if n % 3 == 0:
            events.append(near_event("Bea", "mia_npc", event_id=f"bea-{n}"))
    status, body = await srv.post(BATCH, {"events": events})
    assert status == 200, body
    batch = BatchResponse.model_validate_json(body)
    results = orjson.loads(body)["results"]
    assert len(batch.results) == len(results) == len(events)

    alex = [r for e, r in zip(events, results, strict=True) if e["player_id"] == "Alex"]
    bea = [r for e, r in zip(events, results, strict=True) if e["player_id"] == "Bea"]
    assert bea == [None] * len(bea)
    for n, (step, result) in enumerate(zip(steps, alex, strict=True)):
        check(renamed(step.get("expect"), "Alex"), result, f"batch event {n}")
    assert alex[-1]["exit_ready"] is True and alex[-1]["summary"]["type"] == "task_summary"

    # the same play one event at a time gives the same results (but for the cooldown time
    # left of the daily task: a real clock runs between the events)
    await srv.load("Cleo", "lakeside")
    single = [await srv.event(as_request(step, "Cleo")) for step in steps]
    assert orjson.dumps(timeless(single)).replace(b"Cleo", b"Alex") == \
        orjson.dumps(timeless(alex))

    # and the journal has Alex's events in batch order
    status, body = await srv.get("/world/story/Alex/journal")
    ids = [e["event_id"] for e in orjson.loads(body)["entries"]]
    assert ids == [None] + [f"alex-{n}" for n in range(len(steps))]


async def test_batch_limits_and_validation(serve: Serve) -> None:
    srv = await serve(max_batch_events=5)
    status, body = await srv.post(BATCH, {"events": [near_event("A")] * 6})
    assert status == 413
    assert validate_error(body).error.code == "payload_too_large"
    status, body = await srv.post(BATCH, {"events": []})
    assert status == 422
    status, body = await srv.post(BATCH, {"events": [near_event("A"), {"event_type": "near"}]})
    assert status == 422
    err = validate_error(body).error
    assert err.details[0].loc == "events.1.player_id"
    assert "player_id" in err.message
    # nothing of a rejected batch was applied
    status, _ = await srv.get("/world/story/A/state")
    assert status == 404


# -- operations ------------------------------------------------------------------------


async def test_health_ready_metrics_openapi(serve: Serve) -> None:
    srv = await serve()
    status, body = await srv.get("/health")
    assert status == 200 and orjson.loads(body)["status"] == "ok"
    status, body = await srv.get("/ready")
    assert status == 200
    ready = orjson.loads(body)
    assert ready["status"] == "ok" and ready["levels"] >= 1 and ready["store_open"] is True

    await srv.load("Steve", "lakeside")
    await srv.event(as_request(scenario_steps()[1]))
    await srv.event(near_event("Steve", "nobody_here"))
    async with srv.session.get(srv.url("/metrics")) as r:
        assert r.status == 200
        assert r.content_type == "text/plain"
        text = await r.text()
    assert "quest_runtime_events_total" in text
    assert 'quest_runtime_events_total{outcome="matched",type="near"} 1.0' in text
    assert "quest_runtime_event_seconds_bucket" in text
    assert "quest_runtime_level_reloads_total" in text

    status, body = await srv.get("/openapi.json")
    assert status == 200
    doc = orjson.loads(body)
    assert doc["openapi"].startswith("3.")
    for path in ("/world/story/rule-event", "/world/story/rule-events", "/world/story/load"):
        assert path in doc["paths"], path


async def test_admin_levels_lists_the_demo(serve: Serve) -> None:
    srv = await serve()
    status, body = await srv.get("/admin/levels")
    assert status == 200
    levels = orjson.loads(body)["levels"]
    [lakeside] = [lv for lv in levels if lv["level_id"] == "lakeside"]
    assert lakeside["serving"] and lakeside["ok"] and lakeside["version"]
    assert lakeside["tasks"] == 7 and lakeside["errors"] == 0


async def test_ready_without_levels_is_503(serve: Serve, tmp_path: Path) -> None:
    empty = tmp_path / "empty_levels"
    empty.mkdir()
    srv = await serve(levels=empty)
    status, body = await srv.get("/ready")
    assert status == 503 and orjson.loads(body)["levels"] == 0
    status, _ = await srv.get("/health")
    assert status == 200


# -- auth ------------------------------------------------------------------------------


async def test_token_auth(serve: Serve) -> None:
    srv = await serve(token="s3cret", admin_token="adm1n")
    good = {"Authorization": "Bearer s3cret"}
    admin = {"Authorization": "Bearer adm1n"}
    load = {"player_id": "Steve", "level_id": "lakeside"}

    status, _ = await srv.get("/health")
    assert status == 200  # /health is always open

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"},
                    {"Authorization": "Basic czNjcmV0"}, {"Authorization": "Bearer "},
                    admin):
        for method, path in (("POST", EVENT), ("POST", BATCH), ("POST", "/world/story/load"),
                             ("GET", "/world/story/Steve/state"), ("GET", "/metrics"),
                             ("GET", "/ready"), ("GET", "/openapi.json")):
            if method == "POST":
                status, body = await srv.post(path, load, headers=headers)
            else:
                status, body = await srv.get(path, headers=headers)
            assert status == 401, (headers, path, status)
            err = validate_error(body).error
            assert err.code == "unauthorized"
    # nothing was applied by the refused load
    status, _ = await srv.get("/world/story/Steve/state", headers=good)
    assert status == 404

    assert (await srv.load("Steve", "lakeside", headers=good)) is not None
    status, _ = await srv.get("/metrics", headers=good)
    assert status == 200

    # admin endpoints take the admin token only
    for headers in ({}, good, {"Authorization": "Bearer nope"}):
        status, body = await srv.get("/admin/levels", headers=headers)
        assert status == 401
        validate_error(body)
        status, body = await srv.post("/admin/reload", b"", headers=headers)
        assert status == 401
    status, _ = await srv.get("/admin/levels", headers=admin)
    assert status == 200
    status, _ = await srv.post("/admin/reload", b"", headers=admin)
    assert status == 200


# -- client errors ---------------------------------------------------------------------


async def test_body_over_the_limit_is_413(serve: Serve) -> None:
    srv = await serve()
    big = near_event("Steve")
    big["payload"]["filler"] = "x" * (64 * 1024)
    status, body = await srv.post(EVENT, big)
    assert status == 413
    assert validate_error(body).error.code == "payload_too_large"

    # chunked (no Content-Length): the limit holds while reading
    async def chunks() -> AsyncIterator[bytes]:
        data = orjson.dumps(big)
        for i in range(0, len(data), 8192):
            yield data[i:i + 8192]

    async with srv.session.post(srv.url(EVENT), data=chunks(),
                                headers={"Content-Type": "application/json"}) as r:
        assert r.status == 413
        validate_error(await r.read())

    # just under the limit is fine
    ok = near_event("Steve")
    ok["payload"]["filler"] = "x" * (60 * 1024)
    assert await srv.event(ok) is None

    status, body = await srv.get("/world/story/Steve/state")
    assert status == 200


async def test_configured_body_limit(serve: Serve) -> None:
    srv = await serve(max_body_bytes=300)
    event = near_event("Steve")
    event["payload"]["filler"] = "y" * 300
    status, body = await srv.post(EVENT, event)
    assert status == 413
    validate_error(body)
    status, body = await srv.post("/world/story/load",
                                  {"player_id": "Steve", "level_id": "l" * 128, "x": "y" * 300})
    assert status == 413


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "multipart/form-data",
                                   "application/octet-stream", "image/png; charset=utf-8"])
async def test_wrong_content_type_is_415(serve: Serve, ctype: str) -> None:
    srv = await serve()
    for path in (EVENT, BATCH, "/world/story/load", "/world/story/end"):
        status, body = await srv.post(path, orjson.dumps(near_event("Steve")),
                                      headers={"Content-Type": ctype})
        assert status == 415, (path, status)
        assert validate_error(body).error.code == "unsupported_media_type"


async def test_json_media_types_are_accepted(serve: Serve) -> None:
    srv = await serve()
    for ctype in ("application/json", "application/json; charset=utf-8",
                  "Application/JSON", "application/vnd.plugin+json"):
        status, body = await srv.post(EVENT, near_event("Steve"), headers={"Content-Type": ctype})
        assert status == 200, ctype
        validate_ok(body)


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"player_id": "Steve",}',
                                 b"\xff\xfe\x00garbage", b'{"player_id": "St'])
async def test_malformed_json_is_400(serve: Serve, raw: bytes) -> None:
    srv = await serve()
    for path in (EVENT, BATCH, "/world/story/load", "/world/story/end"):
        status, body = await srv.post(path, raw)
        assert status == 400, (path, raw, status, body)
        assert validate_error(body).error.code == "malformed_json"


@pytest.mark.parametrize(("event", "loc"), [
    ({"event_type": "near", "payload": {}}, "player_id"),
    ({"player_id": 42, "event_type": "near"}, "player_id"),
    ({"player_id": "", "event_type": "near"}, "player_id"),
    ({"player_id": "x" * 65, "event_type": "near"}, "player_id"),
    ({"player_id": "Steve", "event_type": 7}, "event_type"),
    ({"player_id": "Steve", "payload": []}, "payload"),
    ({"player_id": "Steve", "event_id": ""}, "event_id"),
    ([1, 2, 3], "body"),
    ("Steve", "body"),
    (None, "body"),
])
async def test_invalid_field_is_422_and_names_it(serve: Serve, event: Any, loc: str) -> None:
    srv = await serve()
    status, body = await srv.post(EVENT, event)
    assert status == 422, body
    err = validate_error(body).error
    assert err.code == "invalid_request"
    if loc != "body":
        assert loc in err.message
        assert err.details[0].loc == loc


async def test_load_errors(serve: Serve) -> None:
    srv = await serve()
    status, body = await srv.post("/world/story/load",
                                  {"player_id": "Steve", "level_id": "atlantis"})
    assert status == 404
    err = validate_error(body).error
    assert err.code == "unknown_level"
    assert "atlantis" in err.message
    status, _ = await srv.get("/world/story/Steve/state")
    assert status == 404  # the failed load stored nothing

    status, body = await srv.post("/world/story/load", {"player_id": "Steve"})
    assert status == 422
    assert "level_id" in validate_error(body).error.message

    # a failed load inside a session leaves the session alone
    await srv.load("Steve", "lakeside")
    status, _ = await srv.post("/world/story/load", {"player_id": "Steve", "level_id": "nope"})
    assert status == 404
    assert (await srv.state("Steve"))["session"]["level_id"] == "lakeside"


async def test_unknown_route_and_method(serve: Serve) -> None:
    srv = await serve()
    status, body = await srv.get("/world/story/nothing/here/at/all")
    assert status == 404
    validate_error(body)
    status, body = await srv.get(EVENT)
    assert status == 405
    assert validate_error(body).error.code == "method_not_allowed"


async def test_rate_limit_is_429(serve: Serve) -> None:
    srv = await serve(rate_limit_per_second=0.5, rate_limit_burst=3)
    await srv.load("Steve", "lakeside")
    for _ in range(3):
        await srv.event(near_event("Steve", "nobody"))
    async with srv.session.post(srv.url(EVENT), data=orjson.dumps(near_event("Steve")),
                                headers={"Content-Type": "application/json"}) as r:
        assert r.status == 429
        assert int(r.headers["Retry-After"]) >= 1
        err = validate_error(await r.read()).error
    assert err.code == "rate_limited"
    assert "Steve" in err.message

    # a batch counts every event; other players have their own bucket
    status, body = await srv.post(BATCH, {"events": [near_event("Steve")] * 2})
    assert status == 429
    validate_error(body)
    await srv.event(near_event("Alex"))
    # a batch charges every event: one that fits the bucket empties it (the next event
    # waits); one with more events for a player than the burst is always refused
    status, body = await srv.post(BATCH, {"events": [near_event("Bea")] * 3})
    assert status == 200
    async with srv.session.post(srv.url(EVENT), data=orjson.dumps(near_event("Bea")),
                                headers={"Content-Type": "application/json"}) as r:
        assert r.status == 429
    async with srv.session.post(srv.url(BATCH), headers={"Content-Type": "application/json"},
                                data=orjson.dumps({"events": [near_event("Di")] * 4})) as r:
        assert r.status == 429
        assert int(r.headers["Retry-After"]) >= 1
        err = validate_error(await r.read()).error
    assert err.code == "rate_limited" and "at most 3" in err.message
    await srv.event(near_event("Di"))  # the refused batch charged nothing
    # a refused batch charges nobody: Cy's tokens survive Steve's refusal
    status, body = await srv.post(BATCH, {"events": [near_event("Cy"), near_event("Steve")]})
    assert status == 429
    for _ in range(3):
        await srv.event(near_event("Cy"))

    # the refused events changed nothing: 3 accepted events, each a journal entry
    status, body = await srv.get("/world/story/Steve/journal")
    assert [e["event_type"] for e in orjson.loads(body)["entries"]] == ["load"] + ["near"] * 3


async def test_batches_cannot_exceed_a_players_rate(serve: Serve) -> None:
    """Issue 9: the limiter charged at most the burst per player per batch, so batches of
    the burst every second let one player sustain 400 events/s against a 50/s limit."""
    srv = await serve(rate_limit_per_second=5, rate_limit_burst=10)
    await srv.load("Steve", "lakeside")
    accepted = 0
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        for size in (40, 10, 3):
            status, _ = await srv.post(BATCH,
                                       {"events": [near_event("Steve", "nobody")] * size})
            accepted += size if status == 200 else 0
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    assert accepted <= 10 + 5 * elapsed + 1, accepted  # the burst, then the rate
    status, body = await srv.get("/world/story/Steve/journal?limit=1000")
    assert len(orjson.loads(body)["entries"]) == 1 + accepted


async def test_concurrent_players_on_keep_alive_connections(serve: Serve) -> None:
    srv = await serve()
    players = [f"P{i}" for i in range(20)]
    await asyncio.gather(*(srv.load(p, "lakeside") for p in players))
    steps = scenario_steps()[1:]

    async def play(player: str) -> list[Any]:
        async with aiohttp.ClientSession() as session:  # its own keep-alive connection
            out = []
            for step in steps:
                async with session.post(srv.url(EVENT),
                                        data=orjson.dumps(as_request(step, player)),
                                        headers={"Content-Type": "application/json"}) as r:
                    assert r.status == 200
                    body = await r.read()
                    validate_ok(body)
                    out.append(orjson.loads(body)["result"])
            return out

    played = await asyncio.gather(*(play(p) for p in players))
    for player, results in zip(players, played, strict=True):
        for n, (step, result) in enumerate(zip(steps, results, strict=True)):
            check(renamed(step.get("expect"), player), result, f"{player} step {n}")
        assert results[-1]["exit_ready"] is True
