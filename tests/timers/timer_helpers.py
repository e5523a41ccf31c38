"""Levels and helpers shared by the timer tests."""

from __future__ import annotations

from typing import Any

TOKEN = "s3cret-token"


def storm_level(delay: float = 0.3, repeat: float | None = None, **extra: Any) -> dict[str, Any]:
    """A level whose ``sky`` listener schedules the ``storm`` timer; firing it says
    "Thunder!" and counts ``storms``. One task (``bell``) keeps the session open."""
    timer: dict[str, Any] = {"delay_seconds": delay,
                             "effects": [{"type": "say", "title": "Sky", "text": "Thunder!"},
                                         {"type": "modify_var", "var": "storms", "delta": 1},
                                         {"type": "command", "command": "weather {player} rain"}]}
    if repeat is not None:
        timer["repeat_seconds"] = repeat
    return {
        "id": "storm", "title": "Storm", "format": 1,
        "timers": {"storm": timer},
        "tasks": [{"id": "bell", "type": "near", "target": "bell", "title": "Ring the bell"}],
        "rule_listeners": [
            {"id": "sky", "type": "near", "targets": ["sky"],
             "metadata": {"dialogue": "The sky darkens."},
             "effects": [{"type": "schedule_timer", "timer": "storm"}]},
            {"id": "hush", "type": "near", "targets": ["hush"],
             "effects": [{"type": "cancel_timer", "timer": "storm"}]},
        ],
        **extra,
    }


def texts(result: Any) -> list[str]:
    """The lines of a result's nodes, or of a list of pushed results, in order (the lines
    of several sources are one ``npc_dialogue`` node's ``script``)."""
    if result is None:
        return []
    if isinstance(result, list):
        return [t for pushed in result for t in texts(pushed["result"])]
    lines: list[str] = []
    for n in result.get("nodes", []):
        if n.get("script"):
            lines.extend(e["text"] for e in n["script"])
        else:
            lines.extend(n.get("text", "").splitlines() or [""])
    return lines
