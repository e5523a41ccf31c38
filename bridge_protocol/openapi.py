"""The OpenAPI 3.1 document of the service (served at ``GET /openapi.json``).

The paths are not listed here: the service's route table gives them (each handler
carries an :class:`Operation`), and :func:`openapi` renders what it is given. So the
document cannot name a route the service does not have, or miss one it has. Which
operations require the bearer token (and so may answer 401) depends on whether a token
is configured: the document says what the running service does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

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
from bridge_protocol.requests import (
    PLAYER_ID_PATTERN,
    BatchRequest,
    EndRequest,
    LoadRequest,
    RuleEventRequest,
)
from bridge_protocol.results import BatchResponse, QuestLog, RuleEventResponse, StreamMessage
from bridge_protocol.service import (
    HealthResponse,
    JournalResponse,
    LevelsResponse,
    QuestLogResponse,
    ReadyResponse,
    ReloadResponse,
    StateResponse,
)

_REF = "#/components/schemas/{model}"
MODELS: tuple[type[BaseModel], ...] = (
    RuleEventRequest, RuleEventResponse, BatchRequest, BatchResponse, LoadRequest, EndRequest,
    ErrorResponse, QuestLog, ExplainResponse, StreamMessage, PluginLoadResponse,
    WorldStateResponse, EndResponse, AdvanceResponse, DebugTasksResponse,
    RecommendationsResponse, StateResponse, QuestLogResponse, JournalResponse,
    LevelsResponse, ReloadResponse, HealthResponse, ReadyResponse)

#: What each error status means, for the document's response descriptions.
ERROR_MEANINGS: dict[int, str] = {
    400: "malformed_json: the body is not JSON (or cannot be read)",
    401: "unauthorized: missing or wrong bearer token",
    404: "not_found / unknown_level",
    409: "level_blocked: the level's requirements are not met",
    413: "payload_too_large: the body or the batch is over the limit",
    415: "unsupported_media_type: a Content-Type other than JSON",
    422: "invalid_request: a field is missing, mistyped or out of bounds (details name it)",
    429: "rate_limited: retry after Retry-After seconds",
    503: "unavailable / level_unavailable: shutting down, the store is failing or the "
         "level is being replaced; retry after Retry-After seconds with the same event_id",
}
#: Statuses that come with a ``Retry-After`` header.
RETRY_AFTER = frozenset({429, 503})

Auth = Literal["service", "admin", "none"]


@dataclass(frozen=True, slots=True)
class Param:
    """A path, query or header parameter."""

    name: str
    location: Literal["path", "query", "header"]
    schema: dict[str, Any]
    description: str = ""
    required: bool = False
    explode: bool | None = None

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "in": self.location,
                               "required": self.required or self.location == "path",
                               "schema": self.schema}
        if self.description:
            out["description"] = self.description
        if self.explode is not None:
            out["style"], out["explode"] = "form", self.explode
        return out


#: The ``{player_id}`` path segment: the same bounds as a body's ``player_id``.
PLAYER_PARAM = Param("player_id", "path",
                     {"type": "string", "minLength": 1, "maxLength": 64,
                      "pattern": PLAYER_ID_PATTERN},
                     "The player's name: 1 to 64 characters, no control characters, no braces.")
LEVEL_PARAM = Param("level_id", "path", {"type": "string", "minLength": 1, "maxLength": 128})


@dataclass(frozen=True, slots=True)
class Operation:
    """What one route handler accepts and answers (attached to the handler)."""

    summary: str
    operation_id: str = ""
    request: type[BaseModel] | None = None
    #: The body may be empty or any JSON object (the plugin's calls post ``{}``).
    optional_object_body: bool = False
    response: type[BaseModel] | None = None
    #: The 200 body when it is not JSON (``/metrics``).
    media: str = "application/json"
    status: int = 200
    #: Error statuses the handler itself can answer (401 and the gate's 503 are added
    #: from ``auth``).
    errors: tuple[int, ...] = ()
    params: tuple[Param, ...] = ()
    auth: Auth = "service"
    #: OpenAPI links of the success response, by name: ``(operationId, parameters)``.
    links: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    #: A status the handler answers with its own body (not ``ErrorResponse``), e.g. the
    #: 503 of ``/ready``: documented as either body, ``Retry-After`` optional.
    also: tuple[tuple[int, type[BaseModel]], ...] = ()
    #: A WebSocket's text frames (``x-websocket-message`` of the 101 response).
    frames: type[BaseModel] | None = None
    description: str = ""

    def with_id(self, operation_id: str) -> Operation:
        return replace(self, operation_id=operation_id)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(model)}}}


def _error(status: int) -> dict[str, Any]:
    out: dict[str, Any] = {"description": ERROR_MEANINGS.get(status, "error"),
                           **_json(ErrorResponse)}
    if status in RETRY_AFTER:
        out["headers"] = {"Retry-After": {
            "description": "Seconds to wait before retrying", "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
    return out


def _success(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"description": "ok"}
    if op.response is not None:
        out.update(_json(op.response))
    elif op.media != "application/json":
        out["content"] = {op.media: {"schema": {"type": "string"}}}
    if op.frames is not None:
        out["x-websocket-message"] = _ref(op.frames)
    if op.links:
        out["links"] = {name: {"operationId": target, "parameters": params}
                        for name, (target, params) in op.links.items()}
    return out


def render_operation(op: Operation, *, token: bool, admin_token: bool) -> dict[str, Any]:
    """One operation object. ``token``/``admin_token``: whether the service and admin
    endpoints require a bearer token in this configuration."""
    needs = {"service": token, "admin": admin_token, "none": False}[op.auth]
    errors = set(op.errors)
    if needs:
        errors.add(401)
    if op.auth != "none":
        errors.add(503)  # shutting down: every gated path
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.description:
        out["description"] = op.description
    if op.params:
        out["parameters"] = [p.render() for p in op.params]
    if op.request is not None:
        out["requestBody"] = {"required": True, **_json(op.request)}
    elif op.optional_object_body:
        out["requestBody"] = {"required": False, "content": {"application/json": {
            "schema": {"type": "object"}}}}
    responses = {str(op.status): _success(op)}
    responses.update({str(s): _error(s) for s in sorted(errors)})
    for status, model in op.also:
        responses[str(status)] = {
            "description": responses.get(str(status), {}).get("description", "see body"),
            "content": {"application/json": {"schema": {
                "anyOf": [_ref(model), _ref(ErrorResponse)]}}}}
    out["responses"] = responses
    out["security"] = [{"admin_bearer" if op.auth == "admin" else "bearer": []}] if needs else []
    return out


def openapi(version: str, operations: Iterable[tuple[str, str, Operation]], *,
            token: bool = False, admin_token: bool = False) -> dict[str, Any]:
    """The document for ``operations`` (``(method, path, Operation)``, in route-table
    order)."""
    _, defs = models_json_schema([(m, "validation") for m in MODELS], ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for method, path, op in operations:
        paths.setdefault(path, {})[method.lower()] = render_operation(
            op, token=token, admin_token=admin_token)
    return {
        "openapi": "3.1.0",
        "info": {"title": "quest-runtime", "version": version,
                 "description": "Quest rule engine for Minecraft servers (bridge protocol 1)."},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "The service token (settings: token)"},
                "admin_bearer": {"type": "http", "scheme": "bearer",
                                 "description": "The admin token (settings: admin_token; "
                                                "the service token when it is not set)"},
            },
        },
    }


_ATTRIBUTE = "__openapi__"
_F = TypeVar("_F", bound=Callable[..., Any])


def describe(op: Operation) -> Callable[[_F], _F]:
    """Decorator: attach ``op`` to a route handler (its operationId is the handler's
    name unless ``op`` sets one)."""

    def attach(handler: _F) -> _F:
        setattr(handler, _ATTRIBUTE, op if op.operation_id else op.with_id(handler.__name__))
        return handler

    return attach


def described(handler: Any) -> Operation | None:
    """The :class:`Operation` attached to ``handler`` by :func:`describe`, if any."""
    op = getattr(handler, _ATTRIBUTE, None)
    return op if isinstance(op, Operation) else None
