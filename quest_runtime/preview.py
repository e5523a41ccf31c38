"""``quest-runtime preview``: play a scenario script and print each step's result."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from quest_runtime.levels.findings import Severity
from quest_runtime.scenario import (
    ScenarioRunner,
    ScriptError,
    StepOutcome,
    load_catalog,
    parse_script,
)


def preview(levels: Path, script: Path, *, as_json: bool, default_level: str | None = None,
            strict: bool = False) -> int:
    catalog = load_catalog(levels, strict=strict)
    failed_levels = False
    for status in catalog.files.values():
        for f in status.findings:
            if f.severity is Severity.ERROR:
                print(f.format(), file=sys.stderr)
        if not status.ok:
            failed_levels = True
            print(f"{status.path}: level skipped (it has errors)", file=sys.stderr)
    try:
        steps = parse_script(script.read_text(encoding="utf-8"), str(script))
    except (OSError, ScriptError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    runner = ScenarioRunner(catalog, default_level=default_level)
    try:
        outcomes = asyncio.run(runner.run(steps))
    except ScriptError as exc:
        print(f"{script}:{exc}", file=sys.stderr)
        return 1
    failures = 0
    for outcome in outcomes:
        if as_json:
            sys.stdout.write(orjson.dumps(outcome.output).decode() + "\n")
        else:
            print(render(outcome))
        for m in outcome.mismatches:
            failures += 1
            print(f"{script}:{outcome.step.line}: step {outcome.step.number}: expectation "
                  f"failed: {m}", file=sys.stderr)
        for e in outcome.ensures_failures:
            failures += 1
            print(f"{e['file']}: {e['what']}: ensures failed: {e['condition']} "
                  f"[{e['pointer']}]", file=sys.stderr)
    return 1 if failures or failed_levels else 0


def render(outcome: StepOutcome) -> str:
    """A readable rendering of one step (the rich view comes with the designer tools)."""
    step = outcome.step
    lines = [f"── step {step.number} (line {step.line}): {_describe(step.data)}"]
    out = outcome.output
    if "error" in out:
        lines.append(f"   refused: {out['error']['code']} — {out['error']['message']}")
        return "\n".join(lines)
    result: Any = out.get("result")
    if not result:
        lines.append("   (nothing happened)")
        return "\n".join(lines)
    for node in result.get("nodes", []):
        title = f"{node.get('title')}: " if node.get("title") else ""
        lines.append(f"   [{node.get('type')}] {title}{node.get('text', '')}")
    for cmd in result.get("commands", []):
        lines.append(f"   $ {cmd}")
    if result.get("world_patch"):
        lines.append(f"   patch {orjson.dumps(result['world_patch']).decode()}")
    for key in ("completed_tasks", "milestones"):
        if result.get(key):
            lines.append(f"   {key}: {', '.join(result[key])}")
    if result.get("exit_ready"):
        summary = result.get("summary") or {}
        lines.append(f"   ★ exit ready — {summary.get('title', '')}: {summary.get('text', '')}")
    return "\n".join(lines)


def _describe(step: dict[str, Any]) -> str:
    if "advance_seconds" in step:
        return f"advance {step['advance_seconds']} s"
    player = step.get("player", step.get("player_id"))
    if "load" in step:
        return f"{player} loads {step['load']}"
    if step.get("end"):
        return f"{player} ends the level"
    payload = step.get("payload", {})
    what = payload.get("target") or payload.get("text") or payload.get("quest_event") or ""
    return f"{player} {step.get('event_type', '')} {what}".rstrip()
