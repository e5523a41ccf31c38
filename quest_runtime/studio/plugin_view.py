"""What the DriftSystem plugin shows for an answer: the studio's one source for it.

Give it the JSON body the service answered and it says what the player sees (chat lines
in order, action bar, titles), what the plugin ran (console commands, world-patch
operations), what it dropped without a word, and what it would send back next (choice
answers, the events of PLUGIN.md §6 with the bridge's de-duplication). The simulator
(``studio/simulator.py``) renders results through it; the page only draws
``Shown.to_dict()``. It was derived from PLUGIN.md; it is also the plugin model the
compatibility tests play every level through (``tests/compat/``), pinned on hand-written
answers in ``tests/compat/test_plugin_model.py``.

The behaviour follows the plugin's own classes (``system/mc_plugin`` of the public
DriftSystem project), re-expressed in Python:

- ``RuleEventBridge``: ``result`` if it is an object, else ``{}``; each field from
  ``result`` first, then the root; the order of application (tutorial marker, quest log,
  world patch, summary, nodes, task and milestone toasts, commands, exit notice);
  ``deliverNode`` for task-style (【任务】 …) and story-style (【剧情】) nodes; the request
  shapes and slugs of ``emitNearNpc``/``emitChat``/``emitInteractBlock``/
  ``emitInteractEntity``; ``normalize`` (event types are trimmed and lower-cased) and the
  1.5 s de-duplication of identical events (type + whole payload).
- ``QuestEventCanonicalizer``: every ``quest_event`` is trimmed, lower-cased and mapped
  through a small alias table before it is sent.
- ``QuestLogHud`` (``handleSnapshot``/``renderSnapshot``/``renderTaskEntry``/
  ``handleQuestNode``): the whole log is printed again whenever a rule-event snapshot
  differs from the last one; ``status`` of a task is ignored; ``task_milestone`` and
  ``task_complete`` nodes flash on the action bar.
- ``DialoguePanel``: title header (printed even when null or empty), ``script`` entries
  (``npc_say``/``narrate``; any other op throws) or ``text`` lines, one every 12 ticks, a
  node's own ``choices`` presented on the ``ChoicePanel`` after its last line; each
  ``npc_dialogue`` cancels what the previous one still had pending and closes an open
  choice panel.
- ``ChoicePanel``: options renumbered from 1; an answer by number, id, rule_event or label
  (exact, then lower-cased); the payload it sends.
- ``WorldPatchExecutor`` / ``SceneAwareWorldPatchExecutor``: operations at the top level,
  then under ``mc`` (an object, or a list of objects applied in order); ``effect``,
  ``particle``, ``sound`` and ``title`` only from an object, ``actionbar`` only from a
  string; the chat lines the executor itself prints (weather, time, build, spawn, …).
- ``LevelCommand``: a load answer's ``bootstrap_patch`` (else ``world_patch``) and
  ``msg``, nothing else.

Conventions of the model:

- A chat line is the text the player reads: legacy colour codes (``§x``) are removed, and
  a message containing newlines becomes one line per row.
- Bukkit runs a response in one main-thread task; dialogue lines and the teleport notice
  are scheduled for later ticks, so they come after every immediate line of the response.
  The model assumes each response is fully shown before the next one arrives (a dialogue
  prints one line every 0.6 s; an answer arriving sooner would cut it short).
- When the plugin would throw (an unsupported script op, an object where it reads a
  string), the rest of the response is not applied: the model records the reason in
  ``Shown.errors`` and stops there, like the Bukkit scheduler logging the exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# -- constants the plugin prints or uses ----------------------------------------------

BRIDGE_COOLDOWN_SECONDS = 1.5
"""``RuleEventBridge``: an event identical to one sent less than this ago is dropped."""

NEAR_COOLDOWN_SECONDS = 3.0
"""``NearbyNPCListener``: at most one ``near`` per player and NPC in this time."""

NPC_INTERACT_COOLDOWN_SECONDS = 0.75
"""``NearbyNPCListener``: NPC right-clicks of one player closer than this are ignored."""

DEFAULT_LOCATION: dict[str, Any] = {"world": "world", "x": 0.0, "y": 64.0, "z": 0.0}
"""Used when a helper gets no location (the plugin falls back to the player's own)."""

BACKEND_DOWN = "【规则事件】后端暂时没有响应，请稍后再试。"
EXIT_READY_NOTICE = "★ 当前关卡任务全部完成，可以前往下一阶段或输入 /advance。"
TASK_TOAST = "✔ 任务完成："
MILESTONE_TOAST = "★ 阶段完成："
LOAD_DEFAULT_MSG = "关卡已加载，欢迎来到心悦宇宙的这一章。"
TELL_PREFIX = "【心悦宇宙】 "
DETAIL_PREFIX = "› "
DIALOGUE_MARK = "❝ "
CHOICE_HEADER = "━ 剧情分支 ━"
CHOICE_FOOTER = "输入序号或选项 ID 以继续。"
CHOICE_DEFAULT_PROMPT = "请选择剧情分支"
CHOSEN_PREFIX = "你选择了: "
UNNAMED_TASK = "未命名任务"

QUEST_STYLES = {"task": "【任务】", "task_progress": "【进度】", "task_complete": "【完成】",
                "task_milestone": "【阶段】", "task_summary": "【总结】"}
STORY_STYLE = "【剧情】"

OBJECT_ONLY_OPS = ("effect", "particle", "sound", "title")

_WEATHER_LINES = {
    "clear": "✧ 天空放晴，心绪也变得清透。",
    "rain": "✧ 细雨落下，像是心里的某种投影。",
    "storm": "✧ 雷声滚滚，世界在为你的故事鼓点。",
    "thunder": "✧ 雷声滚滚，世界在为你的故事鼓点。",
    "dream_sky": "✧ 天空像被染成柔软的梦色。",
    "dark_sky": "✧ 乌云压顶，像是剧情即将转折。",
}
_TIME_LINE = "✧ 时间被轻轻拨动，场景也随之改变。"
_TELEPORT_LINE = "✧ 你被世界轻轻挪到了一个安全的位置。"
_PARTICLE_LINE = "✧ 粒子在你周围旋转，像飘移的思绪。"
_MUSIC_DISCS = frozenset({
    "13", "CAT", "BLOCKS", "CHIRP", "FAR", "MALL", "MELLOHI", "STAL", "STRAD", "WARD", "11",
    "WAIT", "OTHERSIDE", "5", "PIGSTEP", "RELIC", "CREATOR", "CREATOR_MUSIC_BOX", "PRECIPICE",
})

_COLOUR_CODE = re.compile(r"§[0-9a-fk-orx]", re.IGNORECASE)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_JAVA_INT = re.compile(r"[+-]?[0-9]+")


def _quest_event_aliases() -> dict[str, str]:
    """``QuestEventCanonicalizer``'s table: lower-cased alias → canonical quest event."""
    table: dict[str, str] = {}
    groups = {
        "tutorial_intro_started": ("tutorial_begin", "tutorial_intro", "tutorial_start",
                                   "tutorial_open"),
        "tutorial_meet_guide": ("tutorial_question", "tutorial_greet", "tutorial_guide",
                                "tutorial_talk_guide"),
        "tutorial_reach_checkpoint": ("tutorial_progress", "tutorial_checkpoint",
                                      "tutorial_checkpoint_reach"),
        "tutorial_task_complete": ("tutorial_complete", "tutorial_finish", "tutorial_end"),
    }
    for canonical, aliases in groups.items():
        table[canonical] = canonical
        for alias in aliases:
            table[alias] = canonical
    # DriftSystem's own story events are also accepted with "-" or "." for "_".
    for canonical in ("intro_calm", "fear_pulse", "summit_view", "flagship_08_intro",
                      "approach_grandma", "approach_heart_demon", "comfort_path", "deny_path",
                      "fight_path", "escape_path", "flagship_08_reconcile",
                      "flagship_08_linger", "flagship_08_ending", "night12_crossroad_choice",
                      "night12_pharmacy_counsel", "night12_shadow_whisper", "night12_take_now",
                      "night12_pocket_pills", "night12_listen_shadow", "night12_run_shadow",
                      "night12_branch_dialogue", "night12_branch_choice", "finale_arrival",
                      "final_face_branch", "final_escape_branch", "final_face_step",
                      "final_face_listen", "final_escape_loop", "final_escape_pause",
                      "final_face_resolution", "final_escape_resolution",
                      "finale_resolution", "final_closure", "flagship_12_face_recap",
                      "flagship_12_escape_recap", "flagship_12_ending"):
        table[canonical] = canonical
        table[canonical.replace("_", "-")] = canonical
        table[canonical.replace("_", ".")] = canonical
    return table


QUEST_EVENT_ALIASES = _quest_event_aliases()


class PluginCrash(Exception):
    """Where the plugin's Java code would throw: the rest of the response is not applied."""


# -- value conversions as the plugin's JSON library does them ---------------------------


def _java_trim(text: str) -> str:
    """``String.trim()``: strips every character up to U+0020 at both ends."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def _is_blank(text: str | None) -> bool:
    return text is None or not _java_trim(text)


def _number_text(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(value)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def gson_as_string(value: Any, where: str) -> str:
    """``JsonElement.getAsString()`` as the panels call it (null reads as ``""``).

    Objects, and arrays of other than one element, throw in the plugin."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1:
        return gson_as_string(value[0], where)
    raise PluginCrash(f"{where}: a {type(value).__name__} where a string is read")


def bridge_string(value: Any) -> str | None:
    """``RuleEventBridge.safeString``: primitives as text, an object's ``id``, else JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "id" in value:
        return bridge_string(value["id"])
    return _json_text(value)


def gson_int(value: Any, default: int = -1) -> int:
    """``safeInt``/``getInt``: numbers truncated, strings only when they parse as ints."""
    if value is None or isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and _JAVA_INT.fullmatch(value):
        return int(value)
    return default


def _primitive_string(obj: Mapping[str, Any], key: str) -> str | None:
    """``QuestLogHud.getString``: a primitive as text, anything else ``None``."""
    value = obj.get(key)
    if value is None or isinstance(value, dict | list):
        return None
    return gson_as_string(value, key)


def java_str(value: Any) -> str:
    """``Object.toString()`` of a value the executor got from a ``Map<String, Object>``
    (the plugin's JSON library turns every number into a double there)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        if number.is_integer() and abs(number) < 1e7:
            return f"{number:.1f}"
        return repr(number)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_str(v) for v in value) + "]"
    return str(value)


def json_equal(a: Any, b: Any) -> bool:
    """``JsonElement.equals``: key order ignored, numbers by value, booleans apart."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def visible(text: str) -> list[str]:
    """What one ``sendMessage`` shows: colour codes removed, one line per row."""
    return _COLOUR_CODE.sub("", text).split("\n")


def _split_lines(text: str) -> list[str]:
    """Java's ``text.split("\\r?\\n")``: trailing empty pieces are dropped."""
    parts = re.split(r"\r?\n", text)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


# -- slugs and request shapes (PLUGIN.md §6) ------------------------------------------


def canonical_quest_event(event: str | None) -> str:
    """``QuestEventCanonicalizer.canonicalize``: trimmed, lower-cased, aliases mapped."""
    if event is None:
        return ""
    token = _java_trim(event).lower()
    return QUEST_EVENT_ALIASES.get(token, token)


def slug(prefix: str, value: str | None) -> str:
    """``RuleEventBridge.canonicalize`` then the canonicaliser: ``prefix_value`` lower-cased,
    every run of characters other than ``a-z0-9`` one ``_``, one ``_`` trimmed at each
    end, ``prefix`` alone when nothing is left. Colour codes leak (``§dMia`` → ``dmia``);
    a name without ASCII letters or digits collapses to the bare prefix."""
    combined = f"{prefix}_{(value or '').lower()}"
    normalized = re.sub("_+", "_", _NOT_SLUG.sub("_", combined))
    normalized = normalized.removeprefix("_").removesuffix("_")
    return canonical_quest_event(normalized or prefix)


def _location(location: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(location if location is not None else DEFAULT_LOCATION)


Event = tuple[str, dict[str, Any]]


def near_event(npc_visible_name: str | None,
               location: Mapping[str, Any] | None = None) -> Event:
    """A player walks within 3 blocks of an NPC: its visible custom name, never its id."""
    return "near", {"target": npc_visible_name if npc_visible_name is not None else "unknown_npc",
                    "quest_event": slug("near", npc_visible_name),
                    "location": _location(location)}


def chat_event(text: str) -> Event:
    """A chat line not taken by an open choice panel."""
    return "chat", {"text": text, "quest_event": slug("chat", text)}


def block_event(block_type: str, action: str = "right_click_block",
                location: Mapping[str, Any] | None = None) -> Event:
    """``interact_block``: ``block_type`` is the material name lower-cased (``oak_log``);
    ``action`` is ``right_click_block``, ``left_click_block`` or ``physical``."""
    material = block_type.lower()
    return "interact_block", {"action": action, "block_type": material,
                              "quest_event": slug("interact_block", material),
                              "location": _location(location)}


def entity_event(entity_type: str, entity_name: str | None = None,
                 location: Mapping[str, Any] | None = None,
                 interaction: str = "right_click") -> Event:
    """``interact_entity``: ``right_click`` for an NPC (``NearbyNPCListener``);
    ``interact`` for any other entity (``RuleEventListener``). ``entity_name`` is the
    visible custom name, sent only when set; the quest event is built from the type."""
    kind = entity_type.lower()
    payload: dict[str, Any] = {"interaction": interaction, "entity_type": kind}
    if entity_name is not None:
        payload["entity_name"] = entity_name
    payload["quest_event"] = slug("interact_entity", kind)
    payload["location"] = _location(location)
    return "interact_entity", payload


def npc_trigger_event(quest_event: str, npc: str, level_id: str = "",
                      location: Mapping[str, Any] | None = None) -> Event:
    """A right-click on an NPC mapped by ``npc_trigger_events`` / ``_scene.npc_triggers``:
    the event type is the (canonicalised) quest-event name itself. ``npc`` is the NPC's
    ``npc_id`` metadata when it has one, else its visible name. The plugin sends the
    ``interact_entity`` event of the same click first."""
    event_type = canonical_quest_event(quest_event) or quest_event
    payload: dict[str, Any] = {"source": "npc_interact", "npc": npc}
    if not _is_blank(level_id):
        payload["level_id"] = level_id
    payload["location"] = _location(location)
    return event_type, payload


# -- what the player sees -------------------------------------------------------------


@dataclass
class ChoiceOption:
    """One option of an open choice panel (``ChoicePanel.ChoiceOption``)."""

    index: int
    id: str
    label: str
    rule_event: str
    next_level: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class ChoicePanelState:
    """An open choice panel: options renumbered 1..n, and the node's beat and level."""

    options: list[ChoiceOption]
    beat_id: str = ""
    level_id: str = ""
    prompt: str = ""

    def lookup(self, text: str) -> ChoiceOption | None:
        """The option ``text`` picks: the number, an id, a rule_event or a label, exactly
        or lower-cased; on a clash the later option wins (the plugin's token map)."""
        tokens: dict[str, ChoiceOption] = {}
        for option in self.options:
            tokens[str(option.index)] = option
            for token in (option.id, option.rule_event, option.label):
                if not _is_blank(token):
                    tokens[token] = option
                    tokens[token.lower()] = option
        token = _java_trim(text)
        return tokens.get(token) or tokens.get(_java_trim(token.lower()))


@dataclass
class Shown:
    """What one response did for the player.

    - ``chat``: every chat line in the order the player sees it (quest-log reprints,
      nodes, toasts, tell and executor lines, the choice panel, then the dialogue), as
      plain text (colour codes removed);
    - ``dialogue_lines``: the dialogue panel's lines actually shown, header first (``""``
      for a missing title), without the ``❝`` mark they carry in ``chat``;
    - ``lost_lines``: dialogue lines (same form) cancelled by a later ``npc_dialogue``;
    - ``dropped``: what the plugin skips without a word, e.g.
      ``"world_patch.mc.sound is a list"``;
    - ``applied``: world-patch operations applied, in order, as ``(key, value)``;
    - ``commands``: console commands dispatched, placeholders replaced;
    - ``choice``: the choice panel open after the response (``None`` when closed);
    - ``exit_ready``: the "all tasks done, type /advance" notice was shown;
    - ``errors``: where the plugin throws (the rest of the response is then not applied);
    - ``actionbar``: action-bar texts, in order; ``titles``: ``(main, sub)`` screen titles;
    - ``tutorial_complete``: a tutorial marker ended the tutorial (nothing else applied).
    """

    chat: list[str] = field(default_factory=list)
    dialogue_lines: list[str] = field(default_factory=list)
    lost_lines: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    applied: list[tuple[str, Any]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    choice: ChoicePanelState | None = None
    exit_ready: bool = False
    errors: list[str] = field(default_factory=list)
    actionbar: list[str] = field(default_factory=list)
    titles: list[tuple[str, str]] = field(default_factory=list)
    tutorial_complete: bool = False

    def say(self, message: str) -> None:
        """One ``sendMessage``."""
        self.chat.extend(visible(message))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the studio page."""
        return {
            "chat": list(self.chat), "dialogue_lines": list(self.dialogue_lines),
            "lost_lines": list(self.lost_lines), "dropped": list(self.dropped),
            "applied": [{"op": key, "value": value} for key, value in self.applied],
            "commands": list(self.commands), "exit_ready": self.exit_ready,
            "errors": list(self.errors), "actionbar": list(self.actionbar),
            "titles": [{"main": main, "sub": sub} for main, sub in self.titles],
            "choice": None if self.choice is None else {
                "prompt": self.choice.prompt,
                "options": [{"index": o.index, "id": o.id, "label": o.label,
                             "rule_event": o.rule_event} for o in self.choice.options]},
        }


@dataclass
class _Scheduled:
    """A task the plugin scheduled for a later tick."""

    owner: str  # "dialogue" (cancelled by the next npc_dialogue) or "world"
    kind: str  # "header", "line", "chat" or "choice"
    text: str = ""
    node: dict[str, Any] | None = None


@dataclass
class ClientState:
    """What the plugin remembers about one player between responses."""

    quest_log: dict[str, Any] | None = None
    toasted_tasks: set[str] = field(default_factory=set)
    toasted_milestones: set[str] = field(default_factory=set)
    choice: ChoicePanelState | None = None
    pending: list[_Scheduled] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)
    tutorial_complete: bool = False


class PluginModel:
    """The plugin's per-player client state and its handling of the service's answers."""

    def __init__(self) -> None:
        self.players: dict[str, ClientState] = {}

    def state(self, player: str) -> ClientState:
        return self.players.setdefault(player, ClientState())

    # -- rule-event responses (PLUGIN.md §3, §4) ------------------------------------------

    def apply_rule_event_response(self, player: str, body: Any, *, status: int = 200) -> Shown:
        """What the player sees from the answer to ``POST /world/story/rule-event``.

        A non-2xx answer shows nothing (its body is never read); a body that is not a JSON
        object is ignored."""
        shown = Shown()
        state = self.state(player)
        if 200 <= status < 300 and isinstance(body, dict):
            try:
                self._apply_rule_event(player, state, body, shown)
            except PluginCrash as crash:
                shown.errors.append(f"{crash} (the rest of the response is not applied)")
            self._run_scheduled(state, shown)
        shown.choice = state.choice
        state.transcript.extend(shown.chat)
        return shown

    def transport_failure(self, player: str) -> Shown:
        """The service did not answer at all: one red line."""
        shown = Shown()
        shown.say(BACKEND_DOWN)
        self.state(player).transcript.extend(shown.chat)
        return shown

    def _apply_rule_event(self, player: str, state: ClientState, body: dict[str, Any],
                          shown: Shown) -> None:
        result = body["result"] if isinstance(body.get("result"), dict) else {}

        def first(key: str, kind: type) -> Any:
            for source in (result, body):
                if isinstance(source.get(key), kind):
                    return source[key]
            return None

        world_patch = first("world_patch", dict)
        nodes = first("nodes", list)
        commands = first("commands", list)
        completed = first("completed_tasks", list)
        milestones = first("milestones", list)
        summary = first("summary", dict)
        active_tasks = first("active_tasks", dict)
        exit_ready = _truthy(result["exit_ready"] if "exit_ready" in result
                             else body.get("exit_ready"))

        # 1. tutorial marker: finalises the tutorial and stops there.
        if _tutorial_marker(milestones, nodes):
            state.tutorial_complete = shown.tutorial_complete = True
            return
        # 2. quest log
        if active_tasks:
            self._quest_log_snapshot(state, active_tasks, shown)
        # 3. world patch
        if world_patch:
            self._execute_patch(state, world_patch, shown, "world_patch")
        # 4. summary, 5. nodes
        if summary:
            self._deliver_node(state, summary, shown)
        for node in nodes or ():
            if isinstance(node, dict):
                self._deliver_node(state, node, shown)
        # 6., 7. toasts, once per id per player for ever
        _toasts(state, completed, milestones, shown)
        # 8. console commands
        _console_commands(player, commands, shown)
        # 9. exit notice
        if exit_ready:
            shown.exit_ready = True
            shown.say(EXIT_READY_NOTICE)

    # -- nodes ----------------------------------------------------------------------------

    def _deliver_node(self, state: ClientState, node: dict[str, Any], shown: Shown) -> None:
        """``RuleEventBridge.deliverNode`` then ``QuestLogHud.handleQuestNode``."""
        if not node:
            return
        node_type = bridge_string(node.get("type"))
        lowered = (node_type or "").lower()
        if lowered == "npc_dialogue":
            self._show_dialogue(state, node, shown)
        elif lowered == "story_choice":
            self._present_choice(state, node, shown, where="story_choice")
        else:
            self._draw_message_node(node_type, node, shown)
        self._quest_node_actionbar(node, lowered, shown)

    def _draw_message_node(self, node_type: str | None, node: dict[str, Any],
                           shown: Shown) -> None:
        title = bridge_string(node.get("title"))
        text = bridge_string(node.get("text"))
        hint = bridge_string(node.get("hint"))
        details: list[str] = []

        def detail(value: str | None) -> None:
            if value is not None and _java_trim(value) and _java_trim(value) not in details:
                details.append(_java_trim(value))

        quest_prefix = QUEST_STYLES.get(node_type or "")  # the style switch is case-sensitive
        if quest_prefix is not None:
            headline = (title if not _is_blank(title)
                        else text if not _is_blank(text) else "任务更新")
            shown.say(f"{quest_prefix} {headline}")
            detail(hint)
            remaining = gson_int(node.get("remaining"))
            progress = gson_int(node.get("progress"))
            count = gson_int(node.get("count"))
            if remaining >= 0:
                line = f"剩余 {remaining} 项"
                if progress >= 0 and count > 0:
                    line += f" ({min(progress, count)}/{count})"
                detail(line)
        else:
            headline = title if not _is_blank(title) else text
            if not _is_blank(headline):
                shown.say(f"{STORY_STYLE} {headline}")
            detail(hint)
        if text is not None and not _is_blank(text) and text != headline:
            for fragment in _split_lines(text):
                detail(fragment)
        for line in details:
            shown.say(DETAIL_PREFIX + line)

    def _quest_node_actionbar(self, node: dict[str, Any], lowered: str, shown: Shown) -> None:
        """``QuestLogHud.handleQuestNode``: milestone and completion flashes."""
        if lowered == "task_milestone":
            names = (_primitive_string(node, "title"), _primitive_string(node, "task_title"))
            name = next((v for v in names if v is not None and not _is_blank(v)), "任务进度")
            progress, count = gson_int(node.get("progress")), gson_int(node.get("count"))
            text = MILESTONE_TOAST + name
            if count > 0 and progress >= 0:
                text += f" ({min(progress, count)}/{count})"
            shown.actionbar.append(text)
        elif lowered == "task_complete":
            shown.actionbar.append(TASK_TOAST + _label(_primitive_string(node, "title")))

    # -- dialogue panel -------------------------------------------------------------------

    def _show_dialogue(self, state: ClientState, node: dict[str, Any], shown: Shown) -> None:
        """``DialoguePanel.showDialogue``: cancel, close, then schedule header and lines."""
        for task in state.pending:
            if task.owner != "dialogue":
                continue
            if task.kind in ("header", "line"):
                shown.lost_lines.append(task.text)
            else:
                shown.dropped.append("the choice panel of an npc_dialogue cancelled by a "
                                     "later npc_dialogue never opened")
        state.pending = [task for task in state.pending if task.owner != "dialogue"]
        if state.choice is not None:
            shown.dropped.append("an open choice panel was closed by a later npc_dialogue")
            state.choice = None

        title = gson_as_string(node.get("title"), "npc_dialogue.title")
        lines: list[str] = []
        script = node.get("script")
        if isinstance(script, list):
            for index, entry in enumerate(script):
                rendered = _script_line(entry, f"npc_dialogue.script[{index}]")
                if _java_trim(rendered):
                    lines.append(_COLOUR_CODE.sub("", rendered))
        else:
            text = gson_as_string(node.get("text"), "npc_dialogue.text")
            for raw in _split_lines(text) if _java_trim(text) else ():
                if _java_trim(raw):
                    lines.append(_COLOUR_CODE.sub("", _java_trim(raw)))
        choices = node.get("choices")
        labelled = [c for c in choices if isinstance(c, dict)
                    and not _is_blank(gson_as_string(c.get("label"), "choices[].label"))
                    ] if isinstance(choices, list) else []
        if not lines and not labelled:
            return
        state.pending.append(_Scheduled("dialogue", "header", text=_COLOUR_CODE.sub("", title)))
        state.pending.extend(_Scheduled("dialogue", "line", text=line) for line in lines)
        if isinstance(choices, list) and choices:
            state.pending.append(_Scheduled("dialogue", "choice", node=node))

    def _run_scheduled(self, state: ClientState, shown: Shown) -> None:
        """The later ticks: every scheduled task in the order it was scheduled."""
        pending, state.pending = state.pending, []
        for task in pending:
            if task.kind == "chat":
                shown.say(task.text)
            elif task.kind in ("header", "line"):
                shown.dialogue_lines.append(task.text)
                shown.say(task.text if task.kind == "header" else DIALOGUE_MARK + task.text)
            elif task.node is not None:
                try:
                    self._present_choice(state, task.node, shown, where="npc_dialogue.choices")
                except PluginCrash as crash:
                    shown.errors.append(str(crash))

    # -- choice panel ---------------------------------------------------------------------

    def _present_choice(self, state: ClientState, node: dict[str, Any], shown: Shown,
                        where: str) -> None:
        """``ChoicePanel.presentChoiceNode``: an empty option list leaves things as they are."""
        raw = node.get("choices")
        if not isinstance(raw, list) or not raw:
            shown.dropped.append(f"{where} without choices")
            return
        options: list[ChoiceOption] = []
        index = 0
        for entry in raw:
            if not isinstance(entry, dict):
                continue
            index += 1
            ident = (gson_as_string(entry.get("id"), f"{where}[].id")
                     or gson_as_string(entry.get("choice_id"), f"{where}[].choice_id")
                     or f"choice_{index}")
            label = (gson_as_string(entry.get("label"), f"{where}[].label")
                     or gson_as_string(entry.get("text"), f"{where}[].text")
                     or f"选项 {index}")
            rule_event = (gson_as_string(entry.get("rule_event"), f"{where}[].rule_event")
                          or gson_as_string(entry.get("event"), f"{where}[].event"))
            next_level = (gson_as_string(entry.get("next_level"), f"{where}[].next_level")
                          or gson_as_string(entry.get("next"), f"{where}[].next"))
            tags_raw = entry.get("tags")
            tag_values = tags_raw if isinstance(tags_raw, list) else [tags_raw]
            tags = [t for t in (gson_as_string(v, f"{where}[].tags") for v in tag_values
                                if v is not None) if t]
            options.append(ChoiceOption(index, ident, label, rule_event, next_level, tags))
        if not options:
            shown.dropped.append(f"{where} without an option object")
            return
        title = gson_as_string(node.get("title"), f"{where}.title")
        prompt = (gson_as_string(node.get("prompt"), f"{where}.prompt") or title
                  or CHOICE_DEFAULT_PROMPT)
        state.choice = ChoicePanelState(
            options, beat_id=gson_as_string(node.get("beat_id"), f"{where}.beat_id"),
            level_id=gson_as_string(node.get("level_id"), f"{where}.level_id"), prompt=prompt)
        shown.say(CHOICE_HEADER)
        shown.say(prompt)
        for option in options:
            arrow = "" if _is_blank(option.next_level) else f"  → {option.next_level}"
            shown.say(f"[{option.index}] {option.label}{arrow}")
        shown.say(CHOICE_FOOTER)

    def answer_choice(self, player: str, text: str) -> Event | None:
        """What the plugin sends when the player types ``text`` with a choice panel open.

        ``None`` when the text is not taken (no panel, or no option matches): the plugin
        then sends it as an ordinary ``chat`` event. Otherwise the panel closes, "你选择了:
        label" is shown (see ``ClientState.transcript``) and the answer is
        ``(rule_event trimmed and lower-cased, payload)``. The payload always carries
        ``choice_id``, ``choice_label``, ``beat_id``, ``level_id`` and ``next_level``
        (``""`` when absent), and ``tags`` only when the option has some. An option without
        a ``rule_event`` takes the text but sends nothing: returned with an empty type.
        """
        state = self.state(player)
        if state.choice is None or not _java_trim(text):
            return None
        option = state.choice.lookup(text)
        if option is None:
            return None
        panel, state.choice = state.choice, None
        state.transcript.append(CHOSEN_PREFIX + _COLOUR_CODE.sub("", option.label))
        payload: dict[str, Any] = {"choice_id": option.id, "choice_label": option.label,
                                   "beat_id": panel.beat_id, "level_id": panel.level_id,
                                   "next_level": option.next_level}
        if option.tags:
            payload["tags"] = list(option.tags)
        if _is_blank(option.rule_event):
            return "", payload
        return _java_trim(option.rule_event).lower(), payload

    def type_in_chat(self, player: str, text: str, *, now: float) -> list[Event]:
        """A chat line, end to end: a choice answer if the open panel takes it, else a
        ``chat`` event; each through the bridge's de-duplication. The events sent."""
        answer = self.answer_choice(player, text)
        if answer is None:
            state = self.state(player)
            state.transcript.append("你：" + text)
            answer = chat_event(text)
        if not answer[0]:
            return []
        sent = self.emit(player, answer, now=now)
        return [] if sent is None else [sent]

    # -- the bridge's de-duplication ------------------------------------------------------

    def emit(self, player: str, event: Event, *, now: float) -> Event | None:
        """``RuleEventBridge.emit``: the event as sent, or ``None`` when it is dropped.

        The type is trimmed and lower-cased (an empty type is never sent), the payload's
        ``quest_event`` canonicalised; an event identical (type + whole payload) to one
        this player sent less than 1.5 s before (``now`` in seconds) is dropped."""
        event_type = _java_trim(event[0]).lower()
        if not event_type:
            return None
        payload = dict(event[1])
        if payload.get("quest_event") is not None:
            canonical = canonical_quest_event(str(payload["quest_event"]))
            if canonical:
                payload["quest_event"] = canonical
        key = event_type + ":" + json.dumps(payload, sort_keys=True, ensure_ascii=False)
        state = self.state(player)
        last = state.sent_at.get(key)
        if last is not None and now - last < BRIDGE_COOLDOWN_SECONDS:
            return None
        state.sent_at[key] = now
        return event_type, payload

    # -- quest log ------------------------------------------------------------------------

    def _quest_log_snapshot(self, state: ClientState, snapshot: dict[str, Any],
                            shown: Shown) -> None:
        """``QuestLogHud.handleSnapshot`` for a rule event: print only when it changed."""
        changed = state.quest_log is None or not json_equal(state.quest_log, snapshot)
        state.quest_log = json.loads(json.dumps(snapshot))
        if changed:
            render_quest_log(snapshot, shown, header="📘 任务更新", when_empty=None)

    def apply_quest_log_response(self, player: str, body: Any, *, status: int = 200) -> Shown:
        """``/questlog``: ``GET /world/story/{player}/quest-log`` is printed whatever the
        last snapshot was; its root ``active_tasks`` becomes the remembered snapshot."""
        shown = Shown()
        state = self.state(player)
        if not 200 <= status < 300:
            shown.say("任务日志暂时不可用，请稍后再试。")
        else:
            snapshot = body.get("active_tasks") if isinstance(body, dict) else None
            if not isinstance(snapshot, dict) or not snapshot:
                state.quest_log = None
                shown.say("当前没有活跃任务。")
            else:
                state.quest_log = json.loads(json.dumps(snapshot))
                render_quest_log(snapshot, shown, header="📘 任务日志",
                                 when_empty="当前没有活跃任务。")
        state.transcript.extend(shown.chat)
        return shown

    # -- /level (PLUGIN.md §2) ------------------------------------------------------------

    def apply_load_response(self, player: str, body: Any, *, status: int = 200,
                            level: str | None = None) -> Shown:
        """What ``/level <id>`` shows from ``POST /story/load/{player}/{level}``: root
        ``bootstrap_patch`` (an object; else root ``world_patch``) run by the executor and
        root ``msg`` as "✔ msg" (a default text when absent); nothing else. With ``level``,
        the "loading" line printed before the request is included.

        When the patch has ``mc`` as an object, ``LevelCommand`` runs only that object:
        the patch's own top-level operations are skipped (recorded in ``dropped``)."""
        shown = Shown()
        state = self.state(player)
        if level is not None:
            shown.say(f"📘 正在为 {player} 加载关卡: {level}")
        if not 200 <= status < 300:
            shown.say(f"❌ 加载关卡失败: POST /story/load/{player}/{level or ''} failed: {status}")
            state.transcript.extend(shown.chat)
            return shown
        if isinstance(body, dict):
            name = "bootstrap_patch" if isinstance(body.get("bootstrap_patch"), dict) \
                else "world_patch"
            patch = body.get(name)
            if isinstance(patch, dict) and patch:
                try:
                    if isinstance(patch.get("mc"), dict):
                        shown.dropped.extend(f"{name}.{key} skipped: {name}.mc is an object"
                                             for key in patch if key != "mc")
                        self._execute_patch(state, patch["mc"], shown, f"{name}.mc")
                    else:
                        self._execute_patch(state, patch, shown, name)
                except PluginCrash as crash:
                    shown.errors.append(str(crash))
        msg = body.get("msg") if isinstance(body, dict) else None
        text = "" if msg is None or isinstance(msg, dict | list) else gson_as_string(msg, "msg")
        shown.say("✔ " + (text or LOAD_DEFAULT_MSG))
        self._run_scheduled(state, shown)
        shown.choice = state.choice
        state.transcript.extend(shown.chat)
        return shown

    # -- world patch (PLUGIN.md §5) -------------------------------------------------------

    def _execute_patch(self, state: ClientState, patch: dict[str, Any], shown: Shown,
                       path: str) -> None:
        """``SceneAwareWorldPatchExecutor.execute``: scene keys first (top level, then
        ``mc``), then ``WorldPatchExecutor``: the top level, then ``mc``."""
        mc = patch.get("mc")
        maps: list[tuple[str, dict[str, Any]]] = [(path, patch)]
        if isinstance(mc, dict):
            maps.append((f"{path}.mc", mc))
        elif isinstance(mc, list):
            for index, entry in enumerate(mc):
                if isinstance(entry, dict):
                    maps.append((f"{path}.mc[{index}]", entry))
                else:
                    shown.dropped.append(f"{path}.mc[{index}] is not an object")
        elif mc is not None:
            shown.dropped.append(f"{path}.mc is neither an object nor a list")
        for _, ops in maps:
            self._scene_layer(ops, shown)
        for where, ops in maps:
            self._operations(state, ops, shown, where)

    @staticmethod
    def _scene_layer(ops: dict[str, Any], shown: Shown) -> None:
        if isinstance(ops.get("_scene_cleanup"), dict):
            shown.applied.append(("_scene_cleanup", ops["_scene_cleanup"]))
        if isinstance(ops.get("_scene"), dict):
            shown.applied.append(("_scene", ops["_scene"]))
        elif isinstance(ops.get("_cinematic"), dict):
            shown.applied.append(("_cinematic", ops["_cinematic"]))
        emotion = ops.get("npc_emotion")
        if isinstance(emotion, dict):
            shown.applied.append(("npc_emotion", emotion))
        elif isinstance(emotion, list):
            shown.applied.extend(("npc_emotion", e) for e in emotion if isinstance(e, dict))
        if "npc_trigger_events" in ops:
            shown.applied.append(("npc_trigger_events", ops["npc_trigger_events"]))

    def _operations(self, state: ClientState, ops: dict[str, Any], shown: Shown,
                    where: str) -> None:
        """``WorldPatchExecutor.processOperationMap``, in its order."""
        _tell_op(ops, shown, where)
        for key, lines in _AMBIENCE_OPS:
            if key in ops:
                _apply_op(shown, key, ops[key], *lines(ops[key]))
        teleport = ops.get("teleport")
        if "teleport" in ops and not isinstance(teleport, dict):
            shown.dropped.append(f"{where}.teleport is not an object")
        if "trigger_zones" in ops:
            _apply_op(shown, "trigger_zones", ops["trigger_zones"])
        for key in ("build", "spawn"):
            if key in ops:
                for spec in _op_objects(ops, key, shown, where):
                    _apply_op(shown, key, spec,
                              _build_line(spec) if key == "build" else _spawn_line(spec))
            if f"{key}_multi" in ops:
                _apply_op(shown, f"{key}_multi", ops[f"{key}_multi"])
        if isinstance(teleport, dict):
            shown.applied.append(("teleport", teleport))
            state.pending.append(_Scheduled("world", "chat", text=_TELEPORT_LINE))
        for key in OBJECT_ONLY_OPS:
            if key in ops:
                _object_only_op(key, ops[key], shown, where)
        if "actionbar" in ops:
            if isinstance(ops["actionbar"], str):
                _apply_op(shown, "actionbar", ops["actionbar"])
                shown.actionbar.append(_COLOUR_CODE.sub("", ops["actionbar"]))
            else:
                shown.dropped.append(f"{where}.actionbar is not a string")


def _toasts(state: ClientState, completed: list[Any] | None, milestones: list[Any] | None,
            shown: Shown) -> None:
    """Steps 6 and 7 of a rule event: a toast per completed task and milestone, once per
    id per player for ever."""
    for seen, prefix, values in ((state.toasted_tasks, TASK_TOAST, completed),
                                 (state.toasted_milestones, MILESTONE_TOAST, milestones)):
        for value in values or ():
            ident = bridge_string(value)
            if ident is not None and ident not in seen:
                seen.add(ident)
                shown.say(prefix + ident)


def _console_commands(player: str, commands: list[Any] | None, shown: Shown) -> None:
    """Step 8 of a rule event: the console commands, the player's name filled in."""
    for value in commands or ():
        command = bridge_string(value)
        if command is None or _is_blank(command):
            continue
        for placeholder in ("{player}", "%player%", "@player"):
            command = command.replace(placeholder, player)
        shown.commands.append(command)


def _apply_op(shown: Shown, key: str, value: Any, *lines: str) -> None:
    """One world-patch operation applied, with the chat lines it shows."""
    shown.applied.append((key, value))
    for line in lines:
        shown.say(line)


def _op_objects(ops: dict[str, Any], key: str, shown: Shown, where: str) -> list[dict[str, Any]]:
    """An operation given as one object or a list of them (other list items skipped)."""
    value = ops[key]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    shown.dropped.append(f"{where}.{key} is neither an object nor a list")
    return []


def _tell_op(ops: dict[str, Any], shown: Shown, where: str) -> None:
    tell = ops.get("tell")
    if isinstance(tell, str):
        _apply_op(shown, "tell", tell, TELL_PREFIX + tell)
    elif isinstance(tell, list):
        _apply_op(shown, "tell", tell, *(TELL_PREFIX + java_str(t) for t in tell if t is not None))
    elif tell is not None:
        shown.dropped.append(f"{where}.tell is neither a string nor a list")


def _object_only_op(key: str, value: Any, shown: Shown, where: str) -> None:
    """One of ``OBJECT_ONLY_OPS``: applied when it is an object, dropped otherwise."""
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else "not an object"
        shown.dropped.append(f"{where}.{key} is {kind}")
    elif key == "effect":
        effect = _java_string(value.get("type"), "SPEED")
        _apply_op(shown, key, value, f"✧ 你的状态被「{effect}」轻轻改变。")
    elif key == "particle":
        _apply_op(shown, key, value, _PARTICLE_LINE)
    elif key == "title":
        _apply_op(shown, key, value)
        shown.titles.append((_java_string(value.get("main"), ""),
                             _java_string(value.get("sub"), "")))
    else:
        _apply_op(shown, key, value)


# -- quest log rendering ----------------------------------------------------------------


def render_quest_log(snapshot: Mapping[str, Any], shown: Shown, *, header: str,
                     when_empty: str | None) -> None:
    """``QuestLogHud.renderSnapshot``: header, chapter line, then each task entry."""
    tasks = snapshot.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        if when_empty is not None:
            shown.say(when_empty)
        return
    remaining = gson_int(snapshot.get("remaining_total"))
    shown.say(header + (f" · 剩余 {remaining} 项" if remaining >= 0 else ""))
    level_title = _primitive_string(snapshot, "level_title")
    if not _is_blank(level_title):
        shown.say(f"当前章节：{level_title}")
    for task in tasks:
        if isinstance(task, dict):
            _render_task(task, shown)


def _label(value: str | None) -> str:
    return UNNAMED_TASK if value is None or _is_blank(value) else value


def _progress_text(progress: int, count: int, remaining: int) -> str:
    parts = []
    if count > 0 and progress >= 0:
        parts.append(f"({min(progress, count)}/{count})")
    if remaining > 0:
        parts.append(f"剩余 {remaining}")
    return " • ".join(parts)


def _render_task(task: Mapping[str, Any], shown: Shown) -> None:
    """``QuestLogHud.renderTaskEntry``: title, objective, hint, reward, open stages."""
    shown.say("📘 任务：" + _label(_primitive_string(task, "title")))
    milestones = task.get("milestones")
    milestone_list = [m for m in milestones if isinstance(m, dict)] \
        if isinstance(milestones, list) else []
    primary = next((m for m in milestone_list
                    if (_primitive_string(m, "status") or "").lower() != "completed"), None)
    source = primary if primary is not None else task
    progress = _progress_text(gson_int(source.get("progress")), gson_int(source.get("count")),
                              gson_int(source.get("remaining")))
    objective = _objective(primary, task)
    shown.say("- 目标：" + " ".join(p for p in (objective, progress) if not _is_blank(p)))
    hint = _primitive_string(task, "hint")
    if not _is_blank(hint):
        shown.say(f"- 提示：{hint}")
    reward = _reward_text(task.get("reward"))
    if reward is not None and not _is_blank(reward):
        shown.say(f"- 奖励：{reward}")
    for milestone in milestone_list:
        if milestone is primary or (_primitive_string(milestone, "status") or "").lower() \
                == "completed":
            continue
        segments = [_label(_primitive_string(milestone, "title"))]
        count, done = gson_int(milestone.get("count")), gson_int(milestone.get("progress"))
        if count > 0 and done >= 0:
            segments.append(f"({min(done, count)}/{count})")
        if gson_int(milestone.get("remaining")) > 0:
            segments.append(f"剩余 {gson_int(milestone.get('remaining'))}")
        shown.say("- 阶段：" + " ".join(segments))


def _objective(primary: Mapping[str, Any] | None, task: Mapping[str, Any]) -> str:
    if primary is not None and not _is_blank(_primitive_string(primary, "title")):
        return str(_primitive_string(primary, "title"))
    target = task.get("target")
    name: str | None = None
    if target is not None and not isinstance(target, dict | list):
        name = gson_as_string(target, "task.target")
    elif isinstance(target, dict):
        name = _primitive_string(target, "name")
        if _is_blank(name) and target.get("type") is not None \
                and not isinstance(target["type"], dict | list):
            name = gson_as_string(target["type"], "task.target.type")
    if name is not None and not _is_blank(name):
        return name
    hint = _primitive_string(task, "hint")
    if hint is not None and not _is_blank(hint):
        return hint
    return _label(_primitive_string(task, "title"))


def _reward_text(reward: Any) -> str | None:
    if not isinstance(reward, dict) or not reward:
        return None
    for key in ("title", "name"):
        if reward.get(key) is not None and not isinstance(reward[key], dict | list):
            return gson_as_string(reward[key], f"reward.{key}")
    items = reward.get("items")
    if isinstance(items, list):
        names = [n for n in ((_primitive_string(i, "name") if isinstance(i, dict) else
                              None if i is None or isinstance(i, list) else
                              gson_as_string(i, "reward.items")) for i in items)
                 if n is not None and not _is_blank(n)]
        if names:
            return ", ".join(names)
    fragments = sorted(f"{k}: {gson_as_string(v, 'reward')}" for k, v in reward.items()
                       if v is not None and not isinstance(v, dict | list)
                       and not _is_blank(gson_as_string(v, "reward")))
    return " · ".join(fragments) if fragments else None


# -- small pieces of the executor and the bridge ----------------------------------------


def _truthy(value: Any) -> bool:
    """``firstBoolean``: true, a non-zero number (truncated), or "true"/"1"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return int(value) != 0
    if isinstance(value, str):
        return value.lower() == "true" or value == "1"
    return False


def _tutorial_marker(milestones: list[Any] | None, nodes: list[Any] | None) -> bool:
    marks = [bridge_string(m) for m in milestones or ()]
    marks += [bridge_string(n.get("id")) for n in nodes or () if isinstance(n, dict)]
    return any(m is not None and m.lower() == "tutorial_complete" for m in marks)


def _script_line(entry: Any, where: str) -> str:
    """``DialoguePayload.renderScriptLine``; throws where the plugin does."""
    if entry is None:
        return ""
    if isinstance(entry, dict):
        op = gson_as_string(entry.get("op"), f"{where}.op").lower()
        text = gson_as_string(entry.get("text"), f"{where}.text")
        if op == "npc_say" and _java_trim(text):
            speaker = gson_as_string(entry.get("npc"), f"{where}.npc")
            return f"[{speaker}] {text}" if _java_trim(speaker) else text
        if op == "narrate" and _java_trim(text):
            return text
        if op in ("npc_say", "narrate"):
            raise PluginCrash(f"{where}: {op} without text")
        raise PluginCrash(f"{where}: unsupported script op {entry.get('op')!r}")
    return gson_as_string(entry, where)


def _java_string(value: Any, default: str) -> str:
    return default if value is None else java_str(value)


def _humanize(token: str) -> str:
    if _is_blank(token):
        return "平缓"
    cleaned = token.replace("minecraft:", "").replace("_", " ").strip()
    return cleaned[:1].upper() + cleaned[1:] if cleaned else token


def _weather_lines(value: Any) -> list[str]:
    line = _WEATHER_LINES.get(_java_string(value, "clear").lower())
    return [line] if line else []


def _weather_transition_lines(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return _weather_lines(value)
    if not value:
        return []
    source = _java_string(value.get("from"), "")
    target = _java_string(value.get("to"), _java_string(value.get("state"), ""))
    message = _java_string(value.get("message"), "")
    lines = _weather_lines(target) if not _is_blank(target) else []
    if not _is_blank(message):
        lines.append(f"✧ {message}")
    elif not _is_blank(source) or not _is_blank(target):
        lines.append(f"✧ 天气转场：{_humanize(source)} → {_humanize(target)}")
    return lines


def _lighting_lines(value: Any) -> list[str]:
    name, time = "", ""
    if isinstance(value, str):
        name = value
    elif isinstance(value, dict):
        name = _java_string(value.get("label"), _java_string(
            value.get("id"), _java_string(value.get("name"), "")))
        time = _java_string(value.get("time"), "")
    lines = [f"✧ 光线变化：{_humanize(name)}"] if not _is_blank(name) else []
    lowered = name.lower()
    if not _is_blank(time) or any(w in lowered for w in ("sunrise", "dawn", "dusk", "sunset",
                                                         "night", "neon")):
        lines.append(_TIME_LINE)
    return lines


def _music_lines(value: Any) -> list[str]:
    record = ""
    if isinstance(value, str):
        record = value
    elif isinstance(value, dict):
        record = _java_string(value.get("record"), _java_string(value.get("id"), ""))
    token = record.strip().replace("minecraft:", "").replace("record_", "").replace("-", "_")
    name = token.upper().removeprefix("MUSIC_DISC_")
    return [f"♪ 音轨切换：{_humanize(record)}"] if token and name in _MUSIC_DISCS else []


def _build_line(spec: Mapping[str, Any]) -> str:
    return f"✧ 世界根据你的心念，构筑了「{_java_string(spec.get('shape'), 'platform').lower()}」。"


def _spawn_line(spec: Mapping[str, Any]) -> str:
    name = _java_string(spec.get("name"), "")
    kind = _java_string(spec.get("type"), "ARMOR_STAND").upper()
    return "✧ 世界召唤了一个存在：" + (name or kind)


def _time_lines(value: Any) -> list[str]:
    return [_TIME_LINE]


#: The ambience operations, in the executor's order, with the chat lines each shows.
_AMBIENCE_OPS: tuple[tuple[str, Callable[[Any], list[str]]], ...] = (
    ("weather", _weather_lines),
    ("weather_transition", _weather_transition_lines),
    ("time", _time_lines),
    ("lighting_shift", _lighting_lines),
    ("music", _music_lines),
)
