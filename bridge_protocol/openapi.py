"""The OpenAPI 3.1 document of the service (served at ``GET /openapi.json``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bridge_protocol.errors import ErrorResponse
from bridge_protocol.explain import ExplainResponse
from bridge_protocol.plugin import (
    AdvanceResponse,
    DebugTasksResponse,
    EndResponse,
    PluginLoadResponse,
    RecommendationsResponse,
    WorldStateResponse,
)
from bridge_protocol.requests import BatchRequest, EndRequest, LoadRequest, RuleEventRequest
from bridge_protocol.results import BatchResponse, QuestLog, RuleEventResponse, StreamMessage

_REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(model)}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", **_json(ErrorResponse)} for c in codes}


def openapi(version: str) -> dict[str, Any]:
    models: list[type[BaseModel]] = [RuleEventRequest, RuleEventResponse, BatchRequest,
                                     BatchResponse, LoadRequest, EndRequest, ErrorResponse,
                                     QuestLog, ExplainResponse, StreamMessage, PluginLoadResponse,
                                     WorldStateResponse, EndResponse, AdvanceResponse,
                                     DebugTasksResponse, RecommendationsResponse]
    _, defs = models_json_schema([(m, "validation") for m in models],
                                 ref_template=_REF)
    post_errors = _errors(400, 401, 413, 415, 422, 429, 503)
    player = [{"name": "player_id", "in": "path", "required": True,
               "schema": {"type": "string"}}]
    obj = {"content": {"application/json": {"schema": {"type": "object"}}}}

    def get(summary: str, params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"get": {"summary": summary, "parameters": params or [],
                        "responses": {"200": {"description": "ok", **obj},
                                      **_errors(401)}}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "quest-runtime", "version": version,
                 "description": "Quest rule engine for Minecraft servers (bridge protocol 1)."},
        "paths": {
            "/world/story/rule-event": {"post": {
                "summary": "Process one rule event",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string"}}],
                "requestBody": {"required": True, **_json(RuleEventRequest)},
                "responses": {"200": {"description": "ok", **_json(RuleEventResponse)},
                              **post_errors}}},
            "/world/story/rule-events": {"post": {
                "summary": "Process a batch of rule events in order",
                "requestBody": {"required": True, **_json(BatchRequest)},
                "responses": {"200": {"description": "ok", **_json(BatchResponse)},
                              **post_errors}}},
            "/world/story/load": {"post": {
                "summary": "Start a level session",
                "requestBody": {"required": True, **_json(LoadRequest)},
                "responses": {"200": {"description": "ok", **_json(RuleEventResponse)},
                              **post_errors, **_errors(404, 409)}}},
            "/world/story/end": {"post": {
                "summary": "End the player's level session",
                "requestBody": {"required": True, **_json(EndRequest)},
                "responses": {"200": {"description": "ok", **_json(EndResponse)},
                              **post_errors}}},
            "/story/load/{player_id}/{level_id}": {"post": {
                "summary": "The DriftSystem plugin's level start (body {} or empty): root "
                           "msg and bootstrap_patch",
                "parameters": [*player, {"name": "level_id", "in": "path", "required": True,
                                         "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", **_json(PluginLoadResponse)},
                              **post_errors, **_errors(404)}}},
            "/story/advance/{player_id}": {"post": {
                "summary": "The plugin's /advance: start the next level once this one is "
                           "complete; node.text says what happened",
                "parameters": player,
                "responses": {"200": {"description": "ok", **_json(AdvanceResponse)},
                              **post_errors}}},
            "/world/state/{player_id}": {"get": {
                "summary": "The exit phrases of the player's level (the plugin's exit "
                           "detector)", "parameters": player,
                "responses": {"200": {"description": "ok", **_json(WorldStateResponse)},
                              **_errors(401)}}},
            "/world/story/{player_id}/debug/tasks": {"get": {
                "summary": "Every task with status, progress and why it has not fired",
                "parameters": player,
                "responses": {"200": {"description": "ok", **_json(DebugTasksResponse)},
                              **_errors(401)}}},
            "/world/story/{player_id}/recommendations": {"get": {
                "summary": "Levels the player may start now", "parameters": player,
                "responses": {"200": {"description": "ok",
                                      **_json(RecommendationsResponse)},
                              **_errors(401)}}},
            "/world/story/explain": {"post": {
                "summary": "Dry-run a rule event: why each task and listener fires or not "
                           "(changes nothing)",
                "requestBody": {"required": True, **_json(RuleEventRequest)},
                "responses": {"200": {"description": "ok", **_json(ExplainResponse)},
                              **post_errors}}},
            "/world/story/stream": {"get": {
                "summary": "WebSocket: results produced without a request (timers), as "
                           "StreamMessage text frames; optional player_id filters",
                "parameters": [{"name": "player_id", "in": "query", "required": False,
                                "schema": {"type": "string"}}],
                "responses": {"101": {"description": "switching to WebSocket; each "
                                                     "message is a StreamMessage",
                                      **_json(StreamMessage)},
                              **_errors(401, 422)}}},
            "/world/story/{player_id}/state": get("The player's state", player),
            "/world/story/{player_id}/quest-log": get("The active_tasks snapshot", player),
            "/world/story/{player_id}/journal": get("The last processed events", player),
            "/admin/levels": get("Loaded levels, versions and findings"),
            "/admin/reload": {"post": {"summary": "Reload every level file",
                                       "responses": {"200": {"description": "ok", **obj},
                                                     **_errors(401)}}},
            "/health": get("Liveness"),
            "/ready": get("Readiness: levels loaded and store open"),
            "/metrics": {"get": {"summary": "Prometheus metrics",
                                 "responses": {"200": {"description": "text"}}}},
        },
        "components": {"schemas": defs.get("$defs", {})},
    }
