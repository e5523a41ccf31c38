"""Answers to the DriftSystem plugin's own calls (PLUGIN.md §2): root fields it reads.

``POST /story/load/{player}/{level}`` → ``PluginLoadResponse`` (``msg``,
``bootstrap_patch``); ``GET /world/state/{player}`` → ``WorldStateResponse``
(``exit_profile``); ``POST /world/story/end`` → ``EndResponse`` (``world_patch`` with
``exit_summary``); ``POST /story/advance/{player}`` → ``AdvanceResponse`` (``node``,
``world_patch``); ``GET /world/story/{player}/debug/tasks`` → ``DebugTasksResponse``;
``GET /world/story/{player}/recommendations`` → ``RecommendationsResponse``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bridge_protocol.errors import ErrorBody
from bridge_protocol.results import RuleEventResult


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PluginLoadResponse(_Strict):
    """``status`` ``ok`` (or ``blocked``: the level's ``requires`` fails and ``msg`` is its
    blocked text, so the player reads why). ``bootstrap_patch`` is the entry world patch
    with the issue cards as ``tell`` lines; the rest of ``result`` the plugin does not read
    comes with the player's next rule-event response."""

    status: str
    msg: str
    level_id: str | None = None
    bootstrap_patch: dict[str, Any]
    result: RuleEventResult | None = None
    error: ErrorBody | None = None


class ExitProfile(_Strict):
    level_id: str | None
    aliases: list[str] = Field(description="Chat phrases that make the plugin end the level.")
    farewell: str | None = None
    hub: dict[str, Any] | None = None


class WorldStateResponse(_Strict):
    status: str
    player_id: str
    level_id: str | None
    exit_ready: bool
    exit_profile: ExitProfile
    world_state: dict[str, ExitProfile]


class EndResponse(_Strict):
    """``world_patch.exit_summary {farewell, hub {world,x,y,z}, aliases, level_id}`` when
    the level defines any of them, plus the level's ``exit.world_patch``."""

    status: str
    result: None = None
    world_patch: dict[str, Any]


class AdvanceNode(_Strict):
    type: str
    title: str
    text: str


class AdvanceResponse(_Strict):
    """``status`` ``ok`` when the next level started (``world_patch`` is its bootstrap
    patch), ``unchanged`` when not (``node.text`` says what is left)."""

    status: str
    node: AdvanceNode
    world_patch: dict[str, Any]
    result: RuleEventResult | None = None


class DebugTask(BaseModel):
    model_config = ConfigDict(extra="allow")

    task_id: str
    title: str
    type: str
    status: str
    progress: int
    count: int
    pointer: str
    why: str | None = None


class DebugTasksResponse(_Strict):
    status: str
    player_id: str
    level_id: str | None
    level_title: str | None = None
    exit_ready: bool | None = None
    tasks: list[DebugTask]


class Recommendation(_Strict):
    level_id: str
    title: str
    completed: bool
    tasks: int


class RecommendationsResponse(_Strict):
    status: str
    player_id: str
    recommendations: list[Recommendation]
