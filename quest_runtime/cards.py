"""Cards: a rule-event result drawn the way the player would meet it, with ``rich``.

The preview (``preview.py``) prints each step through :func:`step_view`. Nodes become
chat cards styled by their ``type`` like the plugin's (issue, progress with a bar,
milestone, completion, failure, NPC dialogue with its script, choices with their numbers),
followed by the console commands (``{player}`` is already substituted by the engine),
the world-patch operations (Minecraft ``§`` colour codes rendered as colours), the quest
log, and the level summary when ``exit_ready`` arrives. :func:`explanation_view` draws an
``Explanation`` (``engine/explain.py``): the event's atoms and, for each task and
listener that did not fire, the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from quest_runtime.engine.explain import Explanation

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


def node_card(node: dict[str, Any]) -> Panel:
    """One node as a chat card."""
    ntype = str(node.get("type", "node"))
    style, label = NODE_STYLES.get(ntype, ("white", ntype))
    body: list[RenderableType] = []
    script = node.get("script")
    if isinstance(script, list) and script:
        for entry in script:
            if isinstance(entry, dict):
                who = entry.get("npc") or entry.get("speaker") or node.get("title") or ""
                body.append(Text.assemble((f"{who}: ", "bold"), mc_text(entry.get("text", ""))))
    elif node.get("text") is not None:
        body.append(mc_text(node["text"]))
    if isinstance(node.get("progress"), int) and isinstance(node.get("count"), int):
        line = progress_bar(node["progress"], node["count"])
        if node.get("remaining") is not None:
            line.append(f"  ({node['remaining']} to go)", style="bright_black")
        body.append(line)
    choices = node.get("choices")
    if isinstance(choices, list):
        for n, choice in enumerate(choices, start=1):
            if isinstance(choice, dict):
                body.append(Text.assemble(
                    (f" [{choice.get('index', n)}] ", "bold bright_magenta"),
                    mc_text(choice.get("label", choice.get("id", ""))),
                    (f"  → {choice.get('rule_event', '')}", "bright_black")))
    if node.get("hint") and node.get("hint") != node.get("text"):
        body.append(Text(f"hint: {node['hint']}", style="italic bright_black"))
    title = Text.assemble((f"{label}", f"bold {style}"))
    if node.get("title"):
        title.append(" · ")
        title.append_text(mc_text(node["title"]))
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


def quest_log_table(active: dict[str, Any]) -> Table:
    table = Table(title=f"quest log · {active.get('level_title', '')}", title_justify="left",
                  show_edge=False, pad_edge=False, expand=False)
    for column in ("task", "status", "progress"):
        table.add_column(column)
    for task in active.get("tasks", []):
        status = str(task.get("status"))
        colour = {"issued": "cyan", "pending": "bright_black", "failed": "red"}.get(status, "")
        table.add_row(str(task.get("title") or task.get("task_id")), Text(status, style=colour),
                      progress_bar(int(task.get("progress", 0)), int(task.get("count", 1)), 8))
    return table


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
    """The atoms of the event and why each task and listener did not fire."""
    atoms = ", ".join(f"{k}:{t}" for k, t in found.atoms) or "none"
    head = Text.assemble(("why · ", "bold"), ("atoms ", "bright_black"), atoms)
    if found.chat_text:
        head.append(f"  chat “{found.chat_text}”", style="bright_black")
    rows: list[RenderableType] = [head]
    fired = [f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in found.fired.items() if v]
    if fired:
        rows.append(Text("fired · " + "; ".join(fired), style="green"))
    if found.note:
        rows.append(Text(found.note, style="yellow"))
    if found.not_fired:
        table = Table(show_edge=False, pad_edge=False, expand=False, show_header=False)
        for column in ("what", "reason", "why"):
            table.add_column(column)
        for n in found.not_fired:
            table.add_row(f"{n.kind} {n.id}", Text(n.reason, style="yellow"), n.message)
        rows.append(table)
    return Panel(Group(*rows), border_style="bright_black", expand=False)
