"""JSON Schema export for plugin authors (generated, never hand-edited)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bridge_protocol.errors import ErrorResponse
from bridge_protocol.explain import ExplainResponse
from bridge_protocol.requests import BatchRequest, EndRequest, LoadRequest, RuleEventRequest
from bridge_protocol.results import BatchResponse, RuleEventResponse, StreamMessage

MODELS: dict[str, type[BaseModel]] = {
    "rule-event.request": RuleEventRequest,
    "rule-event.response": RuleEventResponse,
    "rule-events.request": BatchRequest,
    "rule-events.response": BatchResponse,
    "load.request": LoadRequest,
    "end.request": EndRequest,
    "error.response": ErrorResponse,
    "stream.message": StreamMessage,
    "explain.response": ExplainResponse,
}


def schemas() -> dict[str, dict[str, Any]]:
    """Every protocol model's JSON Schema, by file stem."""
    return {name: model.model_json_schema() for name, model in MODELS.items()}
