"""Cards: a rule-event result drawn the way the player would meet it, with ``rich``.

The preview (``preview.py``, through ``console.show_step``) prints each step's result
with :func:`result_view`. Nodes become
chat cards styled by their ``type`` like the plugin's (issue, progress with a bar,
milestone, completion, failure, NPC dialogue with its script, choices with their numbers),
with exactly the lines the plugin shows (:func:`card_lines`: a speaker is its own field,
drawn ``[Mia] text`` as the plugin does, and a narrated line has none),
followed by the console commands (``{player}`` is already substituted by the engine),
the world-patch operations (Minecraft ``§`` colour codes rendered as colours), the quest
log, and the level summary when ``exit_ready`` arrives. :func:`explanation_view` draws an
``Explanation`` (``explain.py``): the event's atoms and, for each task and
listener that did not fire, the reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bridge_protocol.explain import Explanation

#: Node type → (border style, label), after the plugin's chat styling.
NODE_STYLES: dict[str, tuple[str, str]] = {
    "task": ("cyan", "new task"),
    "task_progress": ("blue", "progress"),
    "task_milestone": ("magenta", "milestone"),
    "task_complete": ("green", "task complete"),
    "task_failed": ("red", "task failed"),
    "npc_dialogue": ("yellow", "dialogue"),
    "story_choice": ("bright_magenta", "choice"),
}
#: Minecraft colour codes (``§x``) → rich styles.
MC_COLOURS = {
    "0": "black", "1": "blue", "2": "green", "3": "cyan", "4": "red", "5": "magenta",
    "6": "yellow", "7": "white", "8": "bright_black", "9": "bright_blue", "a": "bright_green",
    "b": "bright_cyan", "c": "bright_red", "d": "bright_magenta", "e": "bright_yellow",
    "f": "bright_white", "l": "bold", "o": "italic", "n": "underline", "m": "strike",
}


def mc_text(raw: Any) -> Text:
    """Text with ``§`` colour codes turned into styles (``§r`` resets)."""
    text = Text()
    style = ""
    parts = str(raw).split("§")
    text.append(parts[0])
    for part in parts[1:]:
        if not part:
            continue
        code, rest = part[0].lower(), part[1:]
        if code == "r":
            style = ""
        elif code in MC_COLOURS:
            style = f"{style} {MC_COLOURS[code]}".strip() if code in "lonm" else MC_COLOURS[code]
        text.append(rest, style=style or None)
    return text


def progress_bar(progress: int, count: int, width: int = 12) -> Text:
    filled = 0 if count <= 0 else min(width, round(width * progress / count))
    return Text.assemble(("▰" * filled, "green"), ("▱" * (width - filled), "bright_black"),
                         f" {progress}/{count}")


@dataclass(frozen=True, slots=True)
class CardLine:
    """One line of a node as the plugin shows it: ``speaker`` (an ``npc_say`` entry's
    NPC, drawn as ``[speaker]``) is its own field, never glued into ``text``; ``kind`` is
    ``say``, ``narrate`` (grey), ``hint``, ``text`` or ``choice``."""

    text: str
    speaker: str | None = None
    kind: str = "text"


#: Node types the plugin draws with the task layout (headline, hint, remaining, text).
TASK_LAYOUT = frozenset({"task", "task_progress", "task_complete", "task_milestone",
                         "task_summary"})


def card_lines(node: dict[str, Any]) -> list[CardLine]:
    """The lines of one node, exactly as the plugin shows them (PLUGIN.md §4):

    ``npc_dialogue``: each ``script`` entry (``npc_say`` → ``[npc] text``, ``narrate``
    → grey text), or else ``text`` split on newlines; ``story_choice``: its ``prompt``;
    the task types: ``hint``, then the lines of ``text`` (their headline is ``title``,
    else the first line of ``text``, drawn as the card's title). Choices follow
    (``choice_lines``)."""
    ntype = str(node.get("type", ""))
    lines: list[CardLine] = []
    if ntype == "npc_dialogue":
        script = node.get("script")
        if isinstance(script, list) and script:
            for entry in script:
                if not isinstance(entry, dict):
                    continue
                text = _str(entry.get("text"))
                if entry.get("op") == "npc_say":
                    lines.append(CardLine(text, _str(entry.get("npc")), "say"))
                else:
                    lines.append(CardLine(text, None, "narrate"))
        else:
            lines += [CardLine(t) for t in _str(node.get("text")).split("\n")]
        if node.get("prompt"):
            lines.append(CardLine(_str(node["prompt"])))
        return lines
    if ntype == "story_choice":
        prompt = node.get("prompt")
        if prompt and prompt != node.get("title"):
            lines.append(CardLine(_str(prompt)))
        return lines
    text = _str(node.get("text"))
    headline_is_text = not node.get("title")
    if ntype in TASK_LAYOUT and node.get("hint"):
        lines.append(CardLine(_str(node["hint"]), None, "hint"))
    body = text.split("\n") if text else []
    if headline_is_text and body:
        body = body[1:]  # the first line is the headline
    lines += [CardLine(t) for t in body]
    return lines


def headline(node: dict[str, Any]) -> str:
    """The card's title line: ``title``, else (task layout) the first line of ``text``."""
    if node.get("title"):
        return _str(node["title"])
    if str(node.get("type", "")) in TASK_LAYOUT:
        return _str(node.get("text")).split("\n")[0]
    return ""


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _line_view(line: CardLine) -> Text:
    if line.kind == "say":
        return Text.assemble((f"[{line.speaker}] ", "bold"), mc_text(line.text))
    if line.kind == "narrate":
        return Text.assemble(mc_text(line.text), style="bright_black")
    if line.kind == "hint":
        return Text.assemble(("hint: ", "italic bright_black"), mc_text(line.text))
    return mc_text(line.text)


def node_card(node: dict[str, Any]) -> Panel:
    """One node as a chat card: its title, then :func:`card_lines`, the progress (the
    plugin's "remaining N (p/c)" line) and the choices."""
    ntype = str(node.get("type", "node"))
    style, label = NODE_STYLES.get(ntype, ("white", ntype))
    body: list[RenderableType] = [_line_view(line) for line in card_lines(node)]
    if isinstance(node.get("progress"), int) and isinstance(node.get("count"), int):
        bar = progress_bar(node["progress"], node["count"])
        if node.get("remaining") is not None:
            bar.append(f"  ({node['remaining']} to go)", style="bright_black")
        body.insert(1 if body and card_lines(node)[0].kind == "hint" else 0, bar)
    choices = node.get("choices")
    if isinstance(choices, list):
        for n, choice in enumerate(choices, start=1):
            if isinstance(choice, dict):
                body.append(Text.assemble(
                    (f" [{choice.get('index', n)}] ", "bold bright_magenta"),
                    mc_text(choice.get("label", choice.get("id", ""))),
                    (f"  → {choice.get('rule_event', '')}", "bright_black")))
    title = Text.assemble((f"{label}", f"bold {style}"))
    head = headline(node)
    if head:
        title.append(" · ")
        title.append_text(mc_text(head))
    ids = [str(node[k]) for k in ("task_id", "milestone_id", "listener_id") if node.get(k)]
    return Panel(Group(*body) if body else Text(""), title=title, title_align="left",
                 subtitle=" / ".join(ids) or None, subtitle_align="right",
                 border_style=style, expand=False)


def patch_lines(patch: Any, prefix: str = "") -> Iterator[Text]:
    """World-patch operations, one line each (``mc.tell: ...``); lists one line per item."""
    if isinstance(patch, dict):
        for key, value in patch.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict) and (key == "mc" or not prefix):
                yield from patch_lines(value, name)
            else:
                for item in value if isinstance(value, list) else [value]:
                    yield Text.assemble((f"{name}: ", "bold"), _operation(str(key), item))


def _operation(op: str, value: Any) -> Text:
    """One operation, readably: a title's lines, a sound's name, a particle's count."""
    if isinstance(value, str):
        return mc_text(value)
    if isinstance(value, dict):
        if op == "title" and ("main" in value or "sub" in value):
            text = mc_text(value.get("main", ""))
            if value.get("sub"):
                text.append(" / ")
                text.append_text(mc_text(value["sub"]))
            return text
        if op in ("sound", "particle") and isinstance(value.get("type"), str):
            more = {k: v for k, v in value.items() if k != "type"}
            return Text.assemble(value["type"], (f" {orjson.dumps(more).decode()}"
                                                 if more else "", "bright_black"))
    return mc_text(orjson.dumps(value).decode())


def quest_log_table(active: Mapping[str, Any]) -> Table:
    """A quest log (``QuestLog``, or one read back from JSON) as a table."""
    table = Table(title=f"quest log · {active.get('level_title', '')}", title_justify="left",
                  show_edge=False, pad_edge=False, expand=False)
    for column in ("task", "status", "progress"):
        table.add_column(column)
    for task in active.get("tasks", []):
        status = str(task.get("status"))
        colour = {"issued": "cyan", "pending": "bright_black", "failed": "red"}.get(status, "")
        table.add_row(str(task.get("title") or task.get("task_id")), Text(status, style=colour),
                      progress_bar(int(task.get("progress", 0)), int(task.get("count", 1)), 8))
    for task in active.get("upcoming", []):
        table.add_row(str(task.get("title") or task.get("task_id")),
                      Text("upcoming", style="bright_black"), "")
    for task in active.get("cooldowns", []):
        table.add_row(str(task.get("title") or task.get("task_id")),
                      Text("cooldown", style="yellow"),
                      Text(f"again in {time_left(float(task.get('seconds_left', 0)))}",
                           style="yellow"))
    return table


def time_left(seconds: float) -> str:
    """``1 h 05 min``, ``4 min 10 s``, ``12 s``: a cooldown's time left, readably."""
    whole = max(0, int(-(-seconds // 1)))  # rounded up: "0 s" only when it is over
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def result_view(result: Any) -> list[RenderableType]:
    """Everything the player would see from one result (an empty list for none)."""
    if not result:
        return [Text("   (nothing happened)", style="bright_black")]
    if isinstance(result, list):  # pushed results of an advance_seconds step
        out: list[RenderableType] = []
        for pushed in result:
            if isinstance(pushed, dict):
                out.append(Text(f"pushed to {pushed.get('player_id')}:", style="bold"))
                out.extend(result_view(pushed.get("result")))
        return out or [Text("   (no timer fired)", style="bright_black")]
    parts: list[RenderableType] = [node_card(n) for n in result.get("nodes", [])
                                   if isinstance(n, dict)]
    for cmd in result.get("commands", []):
        parts.append(Text.assemble(("$ ", "bold green"), (str(cmd), "green")))
    lines = list(patch_lines(result.get("world_patch") or {}))
    if lines:
        parts.append(Panel(Group(*lines), title="world patch", title_align="left",
                           border_style="bright_black", expand=False))
    done = [("completed", result.get("completed_tasks")), ("milestones", result.get("milestones"))]
    for label, ids in done:
        if ids:
            parts.append(Text(f"✔ {label}: {', '.join(map(str, ids))}", style="green"))
    if result.get("exit_ready"):
        summary = result.get("summary") or {}
        parts.append(Panel(mc_text(summary.get("text", "")), title=Text.assemble(
            ("★ exit ready · ", "bold yellow"), mc_text(summary.get("title", ""))),
            border_style="yellow", expand=False))
    if isinstance(result.get("active_tasks"), dict):
        parts.append(quest_log_table(result["active_tasks"]))
    return parts


def explanation_view(found: Explanation) -> RenderableType:
    """The atoms of the event and why each task and listener did not fire; the waiting
    dialogue (its hidden options, what it did with the event); a blocked load."""
    atoms = ", ".join(f"{k}:{t}" for k, t in found.atoms) or "none"
    head = Text.assemble(("why · ", "bold"), ("atoms ", "bright_black"), atoms)
    if found.event_type == "load":
        head = Text.assemble(("why · ", "bold"), f"load {found.level_id}")
    if found.chat_text:
        head.append(f"  chat “{found.chat_text}”", style="bright_black")
    rows: list[RenderableType] = [head]
    fired = [f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in found.fired.items() if v]
    if fired:
        rows.append(Text("fired · " + "; ".join(fired), style="green"))
    if found.note:
        rows.append(Text(found.note, style="yellow"))
    talk = found.dialogue
    if talk is not None:
        colour = {"taken": "green", "accepted": "green", "refused": "red"}.get(talk.answer,
                                                                              "white")
        rows.append(Text.assemble(("dialogue · ", "bold"), (talk.message, colour)))
        for hidden in talk.hidden:
            rows.append(Text(f"  hidden option '{hidden.option}' ({hidden.label}): "
                             f"its requires fails at {hidden.condition}",
                             style="bright_black"))
    if found.not_fired:
        table = Table(show_edge=False, pad_edge=False, expand=False, show_header=False)
        for column in ("what", "reason", "why"):
            table.add_column(column)
        for n in found.not_fired:
            table.add_row(f"{n.kind} {n.id}", Text(n.reason, style="yellow"), n.message)
        rows.append(table)
    return Panel(Group(*rows), border_style="bright_black", expand=False)
