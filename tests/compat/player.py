"""A player on the real plugin: sends what the plugin sends, sees what it shows.

``PluginPlayer`` posts with the plugin's paths and bodies (``POST /story/load/{p}/{l}``
with ``{}``, rule events without ``event_id``, ``application/json; charset=utf-8``) and
feeds every answer to the plugin model (``studio/plugin_view.py``). ``check`` asserts
the plugin rules of issue 8 on each answer: nothing dropped, no dialogue line lost, no script op the
plugin cannot draw, every dialogue line of the answer shown, no blank headline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from http_helpers import Running

from quest_runtime.studio.plugin_view import PluginModel, Shown, render_quest_log

HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def written_lines(result: dict[str, Any] | None) -> list[str]:
    """Every dialogue line an answer carries (script entries or text lines)."""
    lines: list[str] = []
    for node in (result or {}).get("nodes") or ():
        if node.get("type") != "npc_dialogue":
            continue
        script = node.get("script")
        if isinstance(script, list):
            lines.extend(str(e.get("text")) for e in script if isinstance(e, dict))
        else:
            lines.extend(x.strip() for x in str(node.get("text") or "").splitlines()
                         if x.strip())
    return lines


def list_valued(patch: Any) -> list[str]:
    """Object-only operations that are lists anywhere the plugin reads them."""
    found: list[str] = []
    if not isinstance(patch, dict):
        return found
    layers = [patch]
    mc = patch.get("mc")
    layers.extend(mc if isinstance(mc, list) else [mc] if isinstance(mc, dict) else [])
    for layer in layers:
        if isinstance(layer, dict):
            found.extend(k for k in ("effect", "particle", "sound", "title")
                         if isinstance(layer.get(k), list))
    return found


@dataclass
class PluginPlayer:
    svc: Running
    name: str
    model: PluginModel = field(init=False)
    chat_lines: int = 0
    quest_log_lines: int = 0
    results: list[dict[str, Any] | None] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model = PluginModel()

    @property
    def choice(self) -> Any:
        """The choice panel open on the player's screen, or None."""
        return self.model.state(self.name).choice

    async def load(self, level_id: str) -> tuple[dict[str, Any], Shown]:
        status, body = await self.svc.post(f"/story/load/{self.name}/{level_id}", b"{}",
                                           headers=HEADERS)
        assert status == 200, body[:300]
        answer = orjson.loads(body)
        assert isinstance(answer.get("msg"), str)
        assert isinstance(answer.get("bootstrap_patch"), dict)
        shown = self.model.apply_load_response(self.name, answer)
        assert not shown.dropped, shown.dropped
        self._count(shown)
        return answer, shown

    async def send(self, event: tuple[str, dict[str, Any]]) -> tuple[dict[str, Any] | None,
                                                                      Shown]:
        """One player action; chat taken by an open choice panel becomes its answer."""
        event_type, payload = event
        if event_type == "chat":
            answered = self.model.answer_choice(self.name, str(payload.get("text", "")))
            if answered is not None:
                event_type, payload = answered
        status, body = await self.svc.post(
            "/world/story/rule-event",
            {"player_id": self.name, "event_type": event_type, "payload": payload},
            headers=HEADERS)
        assert status == 200, body[:300]
        answer = orjson.loads(body)
        before = self.model.state(self.name).quest_log
        shown = self.model.apply_rule_event_response(self.name, answer)
        after = self.model.state(self.name).quest_log
        if after is not None and after != before:  # QuestLogHud printed it again
            reprint = Shown()
            render_quest_log(after, reprint, header="📘 任务更新", when_empty=None)
            self.quest_log_lines += len(reprint.chat)
        self.check(answer.get("result"), shown)
        self.results.append(answer.get("result"))
        self._count(shown)
        return answer.get("result"), shown

    def _count(self, shown: Shown) -> None:
        self.shown.append(shown)
        self.chat_lines += len(shown.chat)

    @staticmethod
    def check(result: dict[str, Any] | None, shown: Shown) -> None:
        if result is None:
            return
        assert not shown.dropped, f"the plugin drops {shown.dropped}"
        assert not shown.lost_lines, f"dialogue lines cancelled: {shown.lost_lines}"
        assert not shown.errors, shown.errors
        assert not list_valued(result.get("world_patch")), result.get("world_patch")
        kinds = [n.get("type") for n in result.get("nodes") or ()]
        assert kinds.count("npc_dialogue") <= 1, kinds
        if "story_choice" in kinds and "npc_dialogue" in kinds:
            assert kinds.index("npc_dialogue") < kinds.index("story_choice"), kinds
        for line in written_lines(result):  # the plugin shows them without colour codes
            plain = re.sub("\u00a7.?", "", line, flags=re.DOTALL).strip()
            assert any(plain in seen for seen in shown.dialogue_lines), (line, shown.chat)
        for node in result.get("nodes") or ():
            if node.get("type") == "npc_dialogue":
                assert str(node.get("title") or "").strip(), node
            else:
                assert str(node.get("title") or node.get("text") or "").strip(), node
            if (node.get("type") == "task_progress" and isinstance(node.get("remaining"), int)
                    and node["remaining"] > 0):
                assert node["progress"] < node["count"], node
