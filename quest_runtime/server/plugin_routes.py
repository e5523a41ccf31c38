"""HTTP handlers for the DriftSystem plugin's own calls (PLUGIN.md §2, ``plugin.py``).

Thin like ``routes.py``: path → runtime → the shape the plugin reads. The plugin reads
root fields (``msg``, ``bootstrap_patch``, ``exit_profile``, ``world_patch``, ``node``),
so these answers carry them at the root, plus ``result`` for other clients. Calls of
DriftSystem features quest-runtime does not provide get a JSON 404 naming them.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from bridge_protocol import (
    AdvanceResponse,
    DebugTasksResponse,
    PluginLoadResponse,
    RecommendationsResponse,
    WorldStateResponse,
)
from bridge_protocol.openapi import LEVEL_PARAM, PLAYER_PARAM, Operation, describe
from quest_runtime import views
from quest_runtime.errors import LevelBlocked, OutsideQuestRuntime, ProtocolError
from quest_runtime.plugin import bootstrap_patch, exit_profile
from quest_runtime.server.keys import CATALOG, RUNTIME
from quest_runtime.server.routes import BODY_ERRORS, _body, _json, _player

routes = web.RouteTableDef()
"""The plugin's own calls; DriftSystem features quest-runtime does not provide answer a
JSON 404 (undocumented: they are not part of this service's API)."""


def _level_id(request: web.Request) -> str:
    level_id = request.match_info["level_id"]
    if not 1 <= len(level_id) <= 128:
        raise ProtocolError("level_id must be 1 to 128 characters",
                            details=[{"loc": "level_id", "message": "1 to 128 characters"}])
    return level_id


async def _empty_or_object(request: web.Request) -> None:
    """The plugin posts ``{}``; an empty body is fine too, anything else is refused."""
    raw = await _body(request)
    if raw.strip():
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ProtocolError("the body must be a JSON object (the plugin sends {})",
                                details=[{"loc": "body", "message": "not JSON"}]) from None
        if not isinstance(value, dict):
            raise ProtocolError("the body must be a JSON object (the plugin sends {})",
                                details=[{"loc": "body", "message": "not an object"}])


@routes.post("/story/load/{player_id}/{level_id}")
@describe(Operation("The DriftSystem plugin's level start (body {} or empty): root msg "
                    "and bootstrap_patch", optional_object_body=True,
                    response=PluginLoadResponse, errors=(*BODY_ERRORS, 404),
                    params=(PLAYER_PARAM, LEVEL_PARAM)))
async def story_load(request: web.Request) -> web.Response:
    """``/level <id>``: start the level; answer ``msg`` + ``bootstrap_patch`` (+ ``result``)."""
    player, level_id = _player(request), _level_id(request)
    await _empty_or_object(request)
    runtime = request.app[RUNTIME]
    try:
        reply = await runtime.load_for_plugin(player, level_id)
    except LevelBlocked as exc:  # a 409 would be logged and never shown: tell the player
        return _json({"status": "blocked", "msg": exc.message, "bootstrap_patch": {},
                      "error": exc.to_dict(), "result": None})
    level = request.app[CATALOG].get(level_id)
    title = level.title if level is not None else level_id
    return _json({"status": "ok", "msg": f"{title} loaded", "level_id": level_id,
                  "bootstrap_patch": bootstrap_patch(reply.result),
                  "result": orjson.Fragment(reply.raw)})  # the lean bytes, as encoded


@routes.get("/world/state/{player_id}")
@describe(Operation("The exit phrases of the player's level (the plugin's exit detector)",
                    response=WorldStateResponse, errors=(422,), params=(PLAYER_PARAM,)))
async def world_state(request: web.Request) -> web.Response:
    """``ExitIntentDetector``: the exit phrases of the player's level."""
    player = _player(request)
    state, level = await request.app[RUNTIME].current_level(player)
    profile = exit_profile(level)
    return _json({"status": "ok", "player_id": player,
                  "level_id": level.id if level is not None else None,
                  "exit_ready": bool(state and state.session and state.session.exit_ready),
                  "exit_profile": profile, "world_state": {"exit_profile": profile}})


@routes.post("/story/advance/{player_id}")
@describe(Operation("The plugin's /advance: start the next level once this one is "
                    "complete; node.text says what happened", optional_object_body=True,
                    response=AdvanceResponse, errors=BODY_ERRORS, params=(PLAYER_PARAM,)))
async def story_advance(request: web.Request) -> web.Response:
    """``/advance``: the next level once this one is complete; a node saying why not."""
    player = _player(request)
    await _empty_or_object(request)
    reply, text = await request.app[RUNTIME].advance(player)
    result = reply.result if reply is not None else None
    patch = bootstrap_patch(result) if result else {}
    return _json({"status": "ok" if reply is not None else "unchanged",
                  "node": {"type": "story", "title": "", "text": text},
                  "world_patch": patch,
                  "result": None if reply is None else orjson.Fragment(reply.raw)})


@routes.get("/world/story/{player_id}/debug/tasks")
@describe(Operation("Every task with status, progress and why it has not fired",
                    response=DebugTasksResponse, errors=(422,), params=(PLAYER_PARAM,)))
async def debug_tasks(request: web.Request) -> web.Response:
    """``/taskdebug``: every task with status, progress and why it has not fired."""
    player = _player(request)
    listing = await views.debug_tasks(request.app[RUNTIME], player)
    return _json({"status": "ok", **listing})


@routes.get("/world/story/{player_id}/recommendations")
@describe(Operation("Levels the player may start now", response=RecommendationsResponse,
                    errors=(422,), params=(PLAYER_PARAM,)))
async def recommendations(request: web.Request) -> web.Response:
    player = _player(request)
    found = await views.recommendations(request.app[RUNTIME], player)
    return _json({"status": "ok", "player_id": player, "recommendations": found})


async def outside(request: web.Request) -> web.Response:
    raise OutsideQuestRuntime(f"'{request.path}' is a call of DriftSystem's AI story, tutorial or "
                   "minimap features, which quest-runtime does not provide",
                   details=[{"loc": "path", "message": "outside quest-runtime"}])


for _path in ("/story/inject", "/story/state/{tail:.*}", "/ai/{tail:.*}", "/world/apply",
              "/world/apply/{tail:.*}", "/tutorial/{tail:.*}", "/minimap/{tail:.*}"):
    routes.route("*", _path)(outside)
