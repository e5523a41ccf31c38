"""Error bodies: ``{"status": "error", "error": {code, message, details}}`` (SPEC §2.1)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loc: str = Field(description="Dotted path of the offending field, e.g. payload.location.x")
    message: str


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="malformed_json, invalid_request, unauthorized, "
                      "unknown_level, level_blocked, payload_too_large, "
                      "unsupported_media_type, rate_limited, unavailable, "
                      "level_unavailable, not_found, outside_quest_runtime; what aiohttp "
                      "answers itself: bad_request (not valid HTTP), method_not_allowed, "
                      "headers_too_large, uri_too_long, internal_error")
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["error"] = "error"
    error: ErrorBody
