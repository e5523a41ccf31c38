"""HTTP handlers: thin — bytes → protocol model → runtime → orjson bytes (SPEC §2).

Every handler validates once with ``bridge_protocol`` models; errors are raised and
turned into JSON bodies by ``server/errors.py``. The rule-event response is assembled
from the result bytes the runtime already encoded for the journal, so the hot path
encodes the result once.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel

from bridge_protocol import (
    BatchRequest,
    BatchResponse,
    EndRequest,
    EndResponse,
    ExplainResponse,
    LoadRequest,
    RuleEventRequest,
    RuleEventResponse,
)
from bridge_protocol.openapi import PLAYER_PARAM, Operation, Param, describe
from bridge_protocol.requests import parse, player_id_problem
from bridge_protocol.service import (
    HealthResponse,
    JournalResponse,
    LevelsResponse,
    QuestLogResponse,
    ReadyResponse,
    ReloadResponse,
    StateResponse,
)
from quest_runtime import views
from quest_runtime.designer.explain import explain, explanation_dict
from quest_runtime.engine.state import PlayerState
from quest_runtime.errors import NotFound, PayloadTooLarge, ProtocolError, UnsupportedMediaType
from quest_runtime.plugin import exit_patch
from quest_runtime.runtime import Reply
from quest_runtime.server.keys import (
    CATALOG,
    LIMITER,
    METRICS,
    RELOADER,
    RUNTIME,
    SCHEDULER,
    SETTINGS,
    STATUS,
)
from quest_runtime.server.metrics import Metrics

log = logging.getLogger(__name__)

_JSON = "application/json"
_Model = TypeVar("_Model", bound=BaseModel)
_OK_PREFIX = b'{"status":"ok","result":'
#: JSON, plus the default of Java's HttpURLConnection, which plugins often leave as is:
#: the body is still parsed as JSON (malformed → 400). Anything else is 415.
_ACCEPTED_MEDIA = frozenset({"", _JSON, "application/x-www-form-urlencoded"})
#: Statuses every JSON-body operation can answer: not JSON or unreadable (400), too
#: large (413), not JSON media (415), a field out of bounds (422).
BODY_ERRORS = (400, 413, 415, 422)
#: Links from a reply naming a player (in the request body) to that player's reads.
_PLAYER_LINKS = {"state": ("player_state", {"player_id": "$request.body#/player_id"}),
                 "quest_log": ("quest_log", {"player_id": "$request.body#/player_id"})}

routes = web.RouteTableDef()
"""The bridge protocol's routes (SPEC §2)."""
admin_routes = web.RouteTableDef()
"""The operations routes, served by the ``/admin`` sub-application (its own token)."""


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=_JSON)


async def _body(request: web.Request) -> bytes:
    """The request body, after the media type and size checks (415, 413)."""
    ctype = request.headers.get("Content-Type")
    if ctype is not None and ctype != _JSON:  # (the plugin's own: no parsing)
        media = ctype.split(";", 1)[0].strip().lower()
        if media not in _ACCEPTED_MEDIA and not media.endswith("+json"):
            raise UnsupportedMediaType(f"expected Content-Type application/json, got {media}")
    limit = request.app[SETTINGS].max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"the body is {length} bytes; the limit is {limit}")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(f"the body is larger than the limit of {limit} bytes") from None
    except web.RequestPayloadError as exc:  # e.g. Content-Encoding: gzip on a plain body
        detail = " ".join(str(exc).split())
        raise web.HTTPBadRequest(reason=f"the body cannot be read: {detail}") from None


async def _parse(request: web.Request, model: type[_Model]) -> _Model:
    """The body validated as ``model`` (``bridge_protocol.requests.parse``); a
    ValidationError becomes 400/422 in ``server/errors.py``."""
    return parse(model, await _body(request))


def _outcome(reply: Reply) -> str:
    return "replayed" if reply.replayed else "matched" if reply.result is not None \
        else "ignored"


def record(metrics: Metrics, event_type: str | None, reply: Reply, seconds: float) -> None:
    """The metrics of one rule event's reply, handled in ``seconds``."""
    metrics.latency.observe(seconds)
    metrics.event((event_type or "").strip().lower(), _outcome(reply))
    if reply.replayed:
        metrics.replays.inc()
    if reply.ensures_failures:
        metrics.ensures_violations.inc(len(reply.ensures_failures))


def record_batch(metrics: Metrics, event_types: list[str | None], replies: list[Reply],
                 seconds: float) -> None:
    """The metrics of a batch, counted once per batch: one add per (type, outcome) met,
    and the handling time of the batch request once (as before: one request)."""
    counts: dict[tuple[str, str], int] = {}
    replays = violations = 0
    for event_type, reply in zip(event_types, replies, strict=True):
        key = ((event_type or "").strip().lower(), _outcome(reply))
        counts[key] = counts.get(key, 0) + 1
        replays += reply.replayed
        violations += len(reply.ensures_failures)
    for (etype, outcome), n in counts.items():
        metrics.event(etype, outcome, n)
    if replays:
        metrics.replays.inc(replays)
    if violations:
        metrics.ensures_violations.inc(violations)
    metrics.latency.observe(seconds)


def _player(request: web.Request) -> str:
    player = request.match_info["player_id"]
    problem = player_id_problem(player)
    if problem is not None:
        raise ProtocolError(problem, details=[{"loc": "player_id", "message": problem}])
    return player


# -- rule events -----------------------------------------------------------------------

@routes.post("/world/story/rule-event")
@describe(Operation(
    "Process one rule event", request=RuleEventRequest, response=RuleEventResponse,
    errors=(*BODY_ERRORS, 429),
    params=(Param("Idempotency-Key", "header", {"type": "string", "maxLength": 128},
                  "The event's idempotency key when the body has no event_id (an empty "
                  "value is no key)"),),
    links=_PLAYER_LINKS))
async def rule_event(request: web.Request) -> web.Response:
    req = await _parse(request, RuleEventRequest)
    app = request.app
    header = request.headers.get("Idempotency-Key") or None
    if header is not None and len(header) > 128:  # refused even when the body has event_id
        raise ProtocolError("the Idempotency-Key header is longer than 128 characters",
                            details=[{"loc": "header.Idempotency-Key",
                                      "message": "at most 128 characters"}])
    event_id = req.event_id or header
    app[LIMITER].take(req.player_id)
    metrics = app[METRICS]
    started = time.perf_counter()
    reply = await app[RUNTIME].handle(req.player_id, req.event_type, req.payload, event_id)
    record(metrics, req.event_type, reply, time.perf_counter() - started)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("rule event", extra={"player_id": req.player_id,
                                       "event_type": (req.event_type or "").strip().lower(),
                                       "event_id": event_id, "replayed": reply.replayed,
                                       "result": reply.result})
    return web.Response(body=_OK_PREFIX + reply.raw + b"}", content_type=_JSON)


@routes.post("/world/story/rule-events")
@describe(Operation("Process a batch of rule events in order", request=BatchRequest,
                    response=BatchResponse, errors=(*BODY_ERRORS, 429)))
async def rule_events(request: web.Request) -> web.Response:
    req = await _parse(request, BatchRequest)
    app = request.app
    limit = app[SETTINGS].max_batch_events
    if len(req.events) > limit:
        raise PayloadTooLarge(f"the batch has {len(req.events)} events; the limit is {limit}",
                              details=[{"loc": "events", "message": f"at most {limit}"}])
    limiter = app[LIMITER]
    if limiter.enabled:
        counts: dict[str, int] = {}
        for e in req.events:
            counts[e.player_id] = counts.get(e.player_id, 0) + 1
        limiter.take_many(counts)
    started = time.perf_counter()
    events = req.events
    replies = await app[RUNTIME].handle_batch(
        [(e.player_id, e.event_type, e.payload, e.event_id) for e in events])
    record_batch(app[METRICS], [e.event_type for e in events], replies,
                 time.perf_counter() - started)
    body_out = b'{"status":"ok","results":[' + b",".join(r.raw for r in replies) + b"]}"
    return web.Response(body=body_out, content_type=_JSON)


@routes.post("/world/story/explain")
@describe(Operation("Dry-run a rule event: why each task and listener fires or not "
                    "(changes nothing)", request=RuleEventRequest, response=ExplainResponse,
                    errors=BODY_ERRORS))
async def explain_event(request: web.Request) -> web.Response:
    """A dry run of a rule event against the player's live state: what would fire and why
    the rest would not (``designer/explain.py``). Nothing is stored or journaled."""
    req = await _parse(request, RuleEventRequest)
    runtime = request.app[RUNTIME]
    state = await runtime.peek(req.player_id) or PlayerState(req.player_id)
    found = explain(runtime.engine, state, req.event_type, req.payload, runtime.clock.now())
    return _json({"status": "ok", "explanation": explanation_dict(found)})


# -- sessions --------------------------------------------------------------------------

@routes.post("/world/story/load")
@describe(Operation("Start a level session (ending the current one first)",
                    request=LoadRequest, response=RuleEventResponse,
                    errors=(*BODY_ERRORS, 404, 409), links=_PLAYER_LINKS))
async def load(request: web.Request) -> web.Response:
    req = await _parse(request, LoadRequest)
    reply = await request.app[RUNTIME].load(req.player_id, req.level_id)
    return web.Response(body=_OK_PREFIX + reply.raw + b"}", content_type=_JSON)


@routes.post("/world/story/end")
@describe(Operation("End the player's level session", request=EndRequest,
                    response=EndResponse, errors=BODY_ERRORS))
async def end(request: web.Request) -> web.Response:
    """End the session; the root ``world_patch`` carries the level's exit (its
    ``exit_summary`` is what the plugin's exit detector shows, PLUGIN.md §2)."""
    req = await _parse(request, EndRequest)
    runtime = request.app[RUNTIME]
    _, level = await runtime.current_level(req.player_id)
    await runtime.end(req.player_id)
    return _json({"status": "ok", "result": None, "world_patch": exit_patch(level)})


@routes.get("/world/story/{player_id}/state")
@describe(Operation("The player's committed state", response=StateResponse,
                    errors=(404, 422), params=(PLAYER_PARAM,)))
async def player_state(request: web.Request) -> web.Response:
    player = _player(request)
    view = await views.state_view(request.app[RUNTIME], player)
    if view is None:
        raise NotFound(f"no state for player '{player}'",
                       details=[{"loc": "player_id", "message": "unknown player"}])
    return _json({"status": "ok", "state": view})


@routes.get("/world/story/{player_id}/quest-log")
@describe(Operation("The active_tasks snapshot (null without a level session)",
                    response=QuestLogResponse, errors=(422,), params=(PLAYER_PARAM,)))
async def quest_log(request: web.Request) -> web.Response:
    player = _player(request)
    return _json({"status": "ok",
                  "active_tasks": await views.quest_log(request.app[RUNTIME], player)})


@routes.get("/world/story/{player_id}/journal")
@describe(Operation("The player's last processed events", response=JournalResponse,
                    errors=(422,),
                    params=(PLAYER_PARAM,
                            Param("limit", "query", {"type": "integer", "minimum": 1,
                                                     "maximum": 1000, "default": 50},
                                  "How many entries, newest last"))))
async def journal(request: web.Request) -> web.Response:
    player = _player(request)
    raw = request.query.get("limit", "50")
    # ASCII digits only: "²".isdigit() is true, but int("²") raises (a 500 before)
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 1000:
        raise ProtocolError("limit must be an integer from 1 to 1000",
                            details=[{"loc": "query.limit", "message": "1 to 1000"}])
    entries = await views.journal(request.app[RUNTIME], player, int(raw))
    return _json({"status": "ok", "player_id": player, "entries": entries})


# -- operations ------------------------------------------------------------------------

@admin_routes.get("/levels")
@describe(Operation("Level files: ids, versions, findings", response=LevelsResponse,
                    auth="admin"))
async def admin_levels(request: web.Request) -> web.Response:
    catalog = request.config_dict[CATALOG]
    return _json({"status": "ok", "generation": catalog.generation,
                  "levels": catalog.describe()})


@admin_routes.post("/reload")
@describe(Operation("Reload every level file", response=ReloadResponse, auth="admin"))
async def admin_reload(request: web.Request) -> web.Response:
    report = await request.config_dict[RELOADER].reload_all()
    return _json({"status": "ok", "loaded": list(report.loaded), "failed": list(report.failed),
                  "removed": list(report.removed),
                  "findings": [f.to_dict() for f in report.findings]})


@routes.get("/health")
@describe(Operation("Liveness (never needs a token)", response=HealthResponse, auth="none"))
async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


@routes.get("/ready")
@describe(Operation("Readiness: levels loaded and the store open (503 otherwise)",
                    response=ReadyResponse, also=((503, ReadyResponse),)))
async def ready(request: web.Request) -> web.Response:
    app = request.app
    status = app[STATUS]
    levels = len(app[CATALOG].levels)
    started = status.started and not status.shutting_down
    failures = app[RUNTIME].store_failures
    failing = failures > status.store_failures_seen or app[SCHEDULER].store_failing
    status.store_failures_seen = failures
    ping = getattr(app[RUNTIME].store, "ping", None)
    if ping is not None and started:  # a database server (postgres): ask it now
        failing = not await ping()
    ok = started and levels > 0 and not failing
    return _json({"status": "ok" if ok else "unavailable", "levels": levels,
                  "store_open": started, "store_failing": failing}, 200 if ok else 503)


@routes.get("/metrics")
@describe(Operation("Prometheus metrics", media="text/plain"))
async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[METRICS].render(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
