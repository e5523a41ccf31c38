"""The QuestError family: every failure a client or a designer can cause.

Each carries a stable ``code``, an HTTP ``status`` and structured ``details``; the
server turns them into error bodies in one place (``server/errors.py``), the preview
prints them. Programming errors are not QuestErrors.
"""

from __future__ import annotations

from typing import Any


class QuestError(Exception):
    code = "quest_error"
    status = 400

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        #: Extra response headers (``Retry-After`` on 429).
        self.headers: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ProtocolError(QuestError):
    """A request that is valid JSON but has a missing or mistyped field (422)."""

    code = "invalid_request"
    status = 422


class UnknownLevel(QuestError):
    code = "unknown_level"
    status = 404


class LevelBlocked(QuestError):
    code = "level_blocked"
    status = 409


class NotFound(QuestError):
    code = "not_found"
    status = 404


class OutsideQuestRuntime(QuestError):
    """A DriftSystem call of a feature quest-runtime does not provide (AI, tutorial, ...)."""

    code = "outside_quest_runtime"
    status = 404


class Unauthorized(QuestError):
    code = "unauthorized"
    status = 401


class PayloadTooLarge(QuestError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(QuestError):
    code = "unsupported_media_type"
    status = 415


class RateLimited(QuestError):
    code = "rate_limited"
    status = 429


class Unavailable(QuestError):
    """The service cannot take the request right now (the store failed, shutting down):
    503 with ``Retry-After``, safe to retry with the same ``event_id``."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None,
                 retry_after: int = 1) -> None:
        super().__init__(message, details=details)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class LevelUnavailable(QuestError):
    """The level serving the player's session is not loaded right now (its file is
    missing or being replaced): the event is not applied and not journaled, so a retry
    with the same ``event_id`` is applied once the level is back."""

    code = "level_unavailable"
    status = 503

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, details=details)
        self.headers = {"Retry-After": "2"}
