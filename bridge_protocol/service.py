"""Responses of the reads and operations endpoints (state, quest log, journal, admin,
health, readiness). Nested documents the engine owns (the state document, journal
entries, level descriptions, findings) are objects here; their fields are described in
docs/operating.md."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge_protocol.results import QuestLog


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateResponse(_Strict):
    """``GET /world/story/{player_id}/state``: the player's committed state document."""

    status: Literal["ok"]
    state: dict[str, Any]


class QuestLogResponse(_Strict):
    """``GET /world/story/{player_id}/quest-log``: null without a level session."""

    status: Literal["ok"]
    active_tasks: QuestLog | None


class JournalResponse(_Strict):
    """``GET /world/story/{player_id}/journal``: the last processed events, newest last."""

    status: Literal["ok"]
    player_id: str
    entries: list[dict[str, Any]]


class LevelsResponse(_Strict):
    """``GET /admin/levels``: one entry per level file, with its findings."""

    status: Literal["ok"]
    generation: int
    levels: list[dict[str, Any]]


class ReloadResponse(_Strict):
    """``POST /admin/reload``: what a full reload loaded, refused and removed."""

    status: Literal["ok"]
    loaded: list[str]
    failed: list[str]
    removed: list[str]
    findings: list[dict[str, Any]]


class HealthResponse(_Strict):
    """``GET /health``: the process answers."""

    status: Literal["ok"]


class ReadyResponse(_Strict):
    """``GET /ready``: 200 once levels are loaded and the store is open, else 503; 503
    also while the store fails (a store failure since the previous ``/ready``, or timers
    that cannot fire)."""

    status: Literal["ok", "unavailable"]
    levels: int = Field(ge=0)
    store_open: bool
    store_failing: bool = False
