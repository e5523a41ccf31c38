"""A small model of how the DriftSystem plugin reads and shows a response (PLUGIN.md §3–§6).

It mirrors what the plugin's own classes do with an answer, so tests can assert what a
player would see, not what the JSON looks like:

- ``RuleEventBridge``: fields from ``result`` first, then the root; the order of
  application (quest log, world patch, summary, nodes, toasts, commands, exit notice);
- ``QuestLogHud``: the whole log printed again whenever the snapshot differs from the
  last one (header, chapter line, per task a title, objective, hint and open-milestone
  lines); ``status`` ignored;
- ``WorldPatchExecutor``: operations at the root, then under ``mc`` (an object, or a list
  of objects applied in order); ``effect``/``particle``/``sound``/``title`` applied only
  from an object, a list skipped without a word (recorded in ``Shown.dropped``);
- ``DialoguePanel``: the title header (printed even when empty), then ``script`` entries
  (``npc_say``/``narrate``; any other op throws) or ``text`` lines; a node's own
  ``choices`` presented after its last line; each ``npc_dialogue`` cancels the pending
  lines of the previous one and closes an open choice panel; dialogue lines arrive after
  everything else of the response;
- ``ChoicePanel``: a ``story_choice`` shown at once; an answer by number, id, rule_event
  or label sends the option's ``rule_event`` with ``{choice_id, choice_label, beat_id,
  level_id}``;
- ``LevelCommand``: a load answer's root ``bootstrap_patch`` (else ``world_patch``) and
  ``msg``, nothing else.

Chat lines are plain strings (colour codes kept), one per ``sendMessage``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

OBJECT_ONLY = ("effect", "particle", "sound", "title")
TASK_STYLES = {"task": "【任务】", "task_progress": "【进度】", "task_complete": "【完成】",
               "task_milestone": "【阶段】", "task_summary": "【总结】"}


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


@dataclass
class Choice:
    """An open choice panel: options renumbered from 1."""

    options: list[dict[str, Any]]
    beat_id: str
    level_id: str


@dataclass
class Shown:
    """What one response did for the player, in order."""

    chat: list[str] = field(default_factory=list)
    dialogue_lines: list[str] = field(default_factory=list)
    lost_lines: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    applied: list[tuple[str, Any]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    actionbar: list[str] = field(default_factory=list)
    quest_log_lines: int = 0
    exit_ready: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class PluginModel:
    """One player's client state, as the plugin keeps it."""

    player: str
    quest_log: dict[str, Any] | None = None
    toasted_tasks: set[str] = field(default_factory=set)
    toasted_milestones: set[str] = field(default_factory=set)
    choice: Choice | None = None
    sent: dict[str, float] = field(default_factory=dict)

    # -- what the plugin sends -----------------------------------------------------------

    def dedupe(self, event_type: str, payload: dict[str, Any], now: float) -> bool:
        """The bridge drops an event identical to one sent under 1.5 s before."""
        key = repr((event_type, sorted(payload.items(), key=lambda kv: kv[0])))
        last = self.sent.get(key)
        self.sent[key] = now
        return last is not None and now - last < 1.5

    def answer_choice(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """Chat typed while a panel is open: the option's rule event, or None (the line
        then goes out as an ordinary chat event)."""
        panel = self.choice
        if panel is None or not text.strip():
            return None
        token = text.strip()
        for lookup in (token, token.lower()):
            for i, option in enumerate(panel.options, start=1):
                keys = {str(i), option["id"], option["id"].lower(), option["rule_event"],
                        option["rule_event"].lower(), option["label"], option["label"].lower()}
                if lookup in keys - {""}:
                    self.choice = None
                    payload: dict[str, Any] = {"choice_id": option["id"],
                                               "choice_label": option["label"],
                                               "beat_id": panel.beat_id,
                                               "level_id": panel.level_id}
                    if option["next_level"]:
                        payload["next_level"] = option["next_level"]
                    if option["tags"]:
                        payload["tags"] = option["tags"]
                    return option["rule_event"], payload
        return None

    # -- what it reads ---------------------------------------------------------------------

    def apply_load(self, body: dict[str, Any]) -> Shown:
        shown = Shown()
        patch = body.get("bootstrap_patch")
        if not isinstance(patch, dict):
            patch = body.get("world_patch")
        if isinstance(patch, dict):
            self._world_patch(patch, shown)
        msg = body.get("msg")
        shown.chat.append("✔ " + (msg if isinstance(msg, str) else "level loaded"))
        return shown

    def apply_rule_event(self, body: dict[str, Any]) -> Shown:
        shown = Shown()
        result = body.get("result") if isinstance(body.get("result"), dict) else {}
        if "result" in body and body["result"] is None:
            return shown

        def read(key: str) -> Any:
            return result[key] if key in result else body.get(key)

        active = read("active_tasks")
        if isinstance(active, dict) and active != self.quest_log:
            before = len(shown.chat)
            self._quest_log(active, shown)
            shown.quest_log_lines = len(shown.chat) - before
        if isinstance(active, dict):
            self.quest_log = active
        patch = read("world_patch")
        if isinstance(patch, dict):
            self._world_patch(patch, shown)
        pending: list[str] = []  # the dialogue panel's scheduled lines
        summary = read("summary")
        nodes = read("nodes")
        queue = ([summary] if isinstance(summary, dict) else []) + (
            [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else [])
        panel_after: dict[str, Any] | None = None
        for node in queue:
            kind = _text(node.get("type"))
            if kind == "npc_dialogue":
                shown.lost_lines.extend(pending)  # cancelled by the next dialogue node
                pending = []
                self.choice = None
                panel_after = None
                pending.append(_text(node.get("title")))  # the header, even when empty
                pending.extend(self._dialogue_lines(node, shown))
                if isinstance(node.get("choices"), list) and node["choices"]:
                    panel_after = node
            elif kind == "story_choice":
                self._present(node, shown)
            else:
                self._card(node, kind, shown)
        completed = read("completed_tasks")
        for tid in completed if isinstance(completed, list) else ():
            if tid not in self.toasted_tasks:
                self.toasted_tasks.add(tid)
                shown.chat.append(f"✔ 任务完成：{tid}")
        milestones = read("milestones")
        for mid in milestones if isinstance(milestones, list) else ():
            if mid not in self.toasted_milestones:
                self.toasted_milestones.add(mid)
                shown.chat.append(f"★ 阶段完成：{mid}")
        commands = read("commands")
        for cmd in commands if isinstance(commands, list) else ():
            text = _text(cmd)
            for placeholder in ("{player}", "%player%", "@player"):
                text = text.replace(placeholder, self.player)
            shown.commands.append(text)
        ready = read("exit_ready")
        if ready is True or ready == 1 or ready in ("true", "1"):
            shown.exit_ready = True
            shown.chat.append("★ 本关任务已全部完成，继续探索或输入 /advance")
        for line in pending:  # dialogue lines come after everything else
            shown.chat.append(line)
            shown.dialogue_lines.append(line)
        if panel_after is not None:
            self._present(panel_after, shown)
        return shown

    # -- parts -------------------------------------------------------------------------------

    def _dialogue_lines(self, node: dict[str, Any], shown: Shown) -> list[str]:
        lines: list[str] = []
        script = node.get("script")
        if isinstance(script, list):
            for entry in script:
                if isinstance(entry, dict):
                    op = _text(entry.get("op")).lower()
                    text = _text(entry.get("text"))
                    if op == "npc_say" and text.strip():
                        npc = _text(entry.get("npc"))
                        lines.append(f"§d[{npc}]§r {text}" if npc.strip() else text)
                    elif op == "narrate" and text.strip():
                        lines.append("§7" + text)
                    else:
                        shown.errors.append(f"unsupported script entry {entry!r}")
                elif isinstance(entry, str) and entry.strip():
                    lines.append(entry)
            return lines
        for raw in re.split(r"\r?\n", _text(node.get("text"))):
            if raw.strip():
                lines.append(raw.strip())
        return lines

    def _present(self, node: dict[str, Any], shown: Shown) -> None:
        options: list[dict[str, Any]] = []
        for i, raw in enumerate(node.get("choices") or (), start=1):
            if not isinstance(raw, dict):
                continue
            options.append({
                "id": _text(raw.get("id") or raw.get("choice_id")) or f"choice_{i}",
                "label": _text(raw.get("label") or raw.get("text")) or f"选项 {i}",
                "rule_event": _text(raw.get("rule_event") or raw.get("event")),
                "next_level": _text(raw.get("next_level") or raw.get("next")),
                "tags": list(raw.get("tags") or ()),
            })
        if not options:
            return
        self.choice = Choice(options, _text(node.get("beat_id")), _text(node.get("level_id")))
        prompt = _text(node.get("prompt")) or _text(node.get("title")) or "请选择剧情分支"
        shown.chat.append("━ 剧情分支 ━")
        shown.chat.append(prompt)
        for i, option in enumerate(options, start=1):
            shown.chat.append(f"[{i}] {option['label']}")
        shown.chat.append("输入序号或选项 ID 以继续。")

    def _card(self, node: dict[str, Any], kind: str, shown: Shown) -> None:
        style = TASK_STYLES.get(kind, "【剧情】")
        title, text = _text(node.get("title")), _text(node.get("text"))
        headline = title or text
        shown.chat.append(f"{style} {headline}")
        if node.get("hint"):
            shown.chat.append(_text(node["hint"]))
        remaining, progress, count = (node.get("remaining"), node.get("progress"),
                                      node.get("count"))
        if isinstance(remaining, int):
            extra = f" ({progress}/{count})" if isinstance(progress, int) and count else ""
            shown.chat.append(f"剩余 {remaining} 项{extra}")
        if title and text and text != title:
            shown.chat.extend(line for line in text.splitlines() if line.strip())
        if kind in ("task_milestone", "task_complete"):
            shown.actionbar.append(headline)

    def _quest_log(self, snapshot: dict[str, Any], shown: Shown) -> None:
        tasks = [t for t in snapshot.get("tasks") or () if isinstance(t, dict)]
        if not tasks:
            return
        total = snapshot.get("remaining_total")
        shown.chat.append("📘 任务更新" + (f" · 剩余 {total} 项" if isinstance(total, int)
                                          and total >= 0 else ""))
        if snapshot.get("level_title"):
            shown.chat.append(f"当前章节：{snapshot['level_title']}")
        for task in tasks:
            shown.chat.append(f"📘 任务：{_text(task.get('title'))}")
            milestones = [m for m in task.get("milestones") or () if isinstance(m, dict)]
            open_ms = [m for m in milestones if _text(m.get("status")) != "completed"]
            primary = open_ms[0] if open_ms else None
            objective = _text(primary.get("title")) if primary else _text(
                task.get("hint") or task.get("title"))
            shown.chat.append(f"- 目标：{objective}")
            if task.get("hint"):
                shown.chat.append(f"- 提示：{task['hint']}")
            for m in open_ms[1:]:
                shown.chat.append(f"- 阶段：{_text(m.get('title'))}")

    def _world_patch(self, patch: dict[str, Any], shown: Shown) -> None:
        self._operations(patch, "world_patch", shown)
        mc = patch.get("mc")
        if isinstance(mc, dict):
            self._operations(mc, "world_patch.mc", shown)
        elif isinstance(mc, list):
            for i, layer in enumerate(mc):
                if isinstance(layer, dict):
                    self._operations(layer, f"world_patch.mc[{i}]", shown)

    def _operations(self, ops: dict[str, Any], where: str, shown: Shown) -> None:
        tell = ops.get("tell")
        if isinstance(tell, str):
            shown.chat.append("【心悦宇宙】 " + tell)
        elif isinstance(tell, list):
            shown.chat.extend("【心悦宇宙】 " + _text(t) for t in tell if t is not None)
        for key in ("weather", "weather_transition", "time", "lighting_shift", "music",
                    "teleport", "trigger_zones", "build", "build_multi", "spawn",
                    "spawn_multi"):
            if key in ops:
                shown.applied.append((key, ops[key]))
        for key in OBJECT_ONLY:
            if key not in ops:
                continue
            if isinstance(ops[key], dict):
                shown.applied.append((key, ops[key]))
            else:
                shown.dropped.append(f"{where}.{key} is a {type(ops[key]).__name__}")
        if isinstance(ops.get("actionbar"), str):
            shown.actionbar.append(ops["actionbar"])


def slug(text: str) -> str:
    """The plugin's quest-event slug: lower case, runs outside ``[a-z0-9]`` become ``_``
    (a ``§`` colour code's letter leaks in: ``near_§dMia`` → ``near_dmia``)."""
    return re.sub(r"[^a-z0-9]+", "_", text.replace("§", "").lower()).strip("_")


def near(name: str, location: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    return "near", {"target": name, "quest_event": slug("near_" + name) or "near",
                    "location": location or {"world": "world", "x": 12.4, "y": 64.0, "z": -28.7}}


def chat(text: str) -> tuple[str, dict[str, Any]]:
    return "chat", {"text": text, "quest_event": slug("chat_" + text) or "chat"}


def block(block_type: str, action: str = "right_click_block") -> tuple[str, dict[str, Any]]:
    return "interact_block", {"action": action, "block_type": block_type,
                              "quest_event": slug("interact_block_" + block_type),
                              "location": {"world": "world", "x": 20.0, "y": 64.0, "z": -40.0}}


def entity(entity_type: str, name: str | None = None) -> tuple[str, dict[str, Any]]:
    payload: dict[str, Any] = {"interaction": "right_click", "entity_type": entity_type,
                               "quest_event": slug("interact_entity_" + entity_type),
                               "location": {"world": "world", "x": 17.6, "y": 64.0, "z": -37.2}}
    if name is not None:
        payload["entity_name"] = name
    return "interact_entity", payload


def npc_click(quest_event: str, npc: str, level_id: str) -> tuple[str, dict[str, Any]]:
    return quest_event, {"source": "npc_interact", "npc": npc, "level_id": level_id,
                         "location": {"world": "world", "x": 0.5, "y": 70.0, "z": 0.5}}
