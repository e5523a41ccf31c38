"""Console output shared by ``preview``, its ``--interactive`` prompt and the ``test``
command: a step in a few words, its cards, its explanation, failed expectations, level
errors. (Its own module so that the three import it, not each other.)"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from bridge_protocol.explain import Explanation
from quest_runtime.designer.cards import explanation_view, result_view
from quest_runtime.designer.explain import explain, explain_load
from quest_runtime.designer.scenario import ScenarioRunner, StepOutcome
from quest_runtime.engine.state import PlayerState
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.levels.findings import Severity


def report_levels(catalog: LevelCatalog) -> bool:
    """Print each level error on stderr; True when a level was skipped."""
    failed = False
    for status in catalog.files.values():
        for f in status.findings:
            if f.severity is Severity.ERROR:
                print(f.format(), file=sys.stderr)
        if not status.ok:
            failed = True
            print(f"{status.path}: level skipped (it has errors)", file=sys.stderr)
    return failed


async def explain_step(runner: ScenarioRunner, data: dict[str, Any]) -> Explanation | None:
    """The explanation of a rule-event or load step against the player's current state."""
    player = data.get("player", data.get("player_id"))
    if ("advance_seconds" in data or data.get("end")
            or not isinstance(player, str) or not isinstance(data.get("payload", {}), dict)):
        return None
    runtime = runner.runtime
    state = await runtime.peek(player) or PlayerState(player)
    if "load" in data:
        return explain_load(runtime.engine, state, str(data["load"]), runner.clock.now())
    event_type = data.get("event_type")
    return explain(runtime.engine, state, event_type if isinstance(event_type, str) else None,
                   data.get("payload", {}), runner.clock.now())


def report_failures(outcome: StepOutcome, script: str) -> int:
    """Failed expectations and ``ensures`` of one step, on stderr; how many."""
    for m in outcome.mismatches:
        print(f"{script}:{outcome.step.line}: step {outcome.step.number}: expectation "
              f"failed: {m}", file=sys.stderr)
    for e in outcome.ensures_failures:
        print(f"{e['file']}: {e['what']}: ensures failed: {e['condition']} "
              f"[{e['pointer']}]", file=sys.stderr)
    return len(outcome.mismatches) + len(outcome.ensures_failures)


def show_step(console: Console, outcome: StepOutcome, found: Explanation | None) -> None:
    step = outcome.step
    console.print(Rule(Text(f"step {step.number} · {describe(step.data)}"), align="left",
                       style="bright_black"))
    out = outcome.output
    if "error" in out:
        console.print(Text(f"refused: {out['error']['code']} — {out['error']['message']}",
                           style="red"))
    else:
        for part in result_view(out.get("result")):
            console.print(part)
    if found is not None:
        console.print(explanation_view(found))


def describe(step: dict[str, Any]) -> str:
    """A step in a few words: ``Steve near mia_npc``."""
    if "advance_seconds" in step:
        return f"advance {step['advance_seconds']} s"
    player = step.get("player", step.get("player_id"))
    if "load" in step:
        return f"{player} loads {step['load']}"
    if step.get("end"):
        return f"{player} ends the level"
    payload = step.get("payload", {})
    what = ""
    if isinstance(payload, dict):
        what = (payload.get("target") or payload.get("entity_name") or payload.get("block_type")
                or payload.get("text") or payload.get("quest_event") or "")
    return f"{player} {step.get('event_type', '')} {what}".rstrip()
