"""Scenario scripts: run a JSON Lines sequence of steps against levels (SPEC §7).

One runner serves the preview tool, ``quest-runtime test`` and the tests (STYLE 18). It
drives the same ``Runtime`` as the service, with an in-memory store and a fake clock
starting at 0. A step is ``{"player", "load"}``, ``{"player", "end": true}``,
``{"advance_seconds": N}`` or a rule event (wire fields; ``player`` = ``player_id``);
any step may carry ``expect``, a subset match on its result: ``"expect": null`` says
nothing happens (the result is ``null``), and a refused step (a blocked or unknown level,
a bad event) is matched as ``{"error": {"code", "status", "message"}}``, so
``"expect": {"error": {"code": "level_blocked"}}`` asserts the refusal.

``advance_seconds`` moves the fake clock and fires every timer due by then, across
players, in due order (SPEC §4.12.1): the step's ``result`` is the list of pushed
results ``[{"player_id", "result"}, ...]``, which count as delivered, and its ``expect``
applies to those results merged into one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from quest_runtime.clock import FakeClock
from quest_runtime.engine.merger import merge_results
from quest_runtime.engine.shapes import EnsuresFailure, Result
from quest_runtime.errors import QuestError
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.runtime import Runtime
from quest_runtime.scheduler import Scheduler
from quest_runtime.store.memory import MemoryStore


class ScriptError(Exception):
    """A script line that is not a valid step; names the file and line."""


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    line: int
    data: dict[str, Any]


@dataclass(slots=True)
class StepOutcome:
    step: Step
    output: dict[str, Any]
    mismatches: list[str] = field(default_factory=list)
    ensures_failures: list[EnsuresFailure] = field(default_factory=list)


def parse_script(text: str, name: str) -> list[Step]:
    steps: list[Step] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            data = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise ScriptError(f"{name}:{lineno}: not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise ScriptError(f"{name}:{lineno}: a step must be a JSON object")
        steps.append(Step(len(steps) + 1, lineno, data))
    return steps


def subset_mismatches(expected: Any, actual: Any, where: str = "result") -> list[str]:
    """Where ``actual`` fails to contain ``expected`` (dicts: keys subset, recursively;
    lists: the expected items in order, each a subset match; scalars: equal).

    In a list every expected item that has no match is named, each with the actual
    item closest to it (the fewest mismatching keys), so a designer sees what came
    instead of each one."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {_show(actual)}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing (expected {_show(value)})")
            else:
                out.extend(subset_mismatches(value, actual[key], f"{where}.{key}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {_show(actual)}"]
        pairs = pair_items(expected, actual)
        out = []
        for n, item in enumerate(expected):
            if n in pairs:
                continue
            if not isinstance(item, dict) or not actual:
                out.append(f"{where}[{n}]: expected {_show(item)} (in order) in "
                           f"{_show(actual)}")
                continue
            j = closest_item(item, actual, set(pairs.values()))
            shown = {k: actual[j][k] for k in item if k in actual[j]} if isinstance(
                actual[j], dict) else actual[j]
            out.append(f"{where}[{n}]: expected {_show(item)} (in order); closest is "
                       f"{where}[{j}]: {_show(shown)}")
        return out
    if expected != actual:
        return [f"{where}: expected {_show(expected)}, got {_show(actual)}"]
    return []


def pair_items(expected: list[Any], actual: list[Any]) -> dict[int, int]:
    """Expected index → actual index of each expected item that matches, in order (an
    item with no match is skipped and the next one is looked for after the last match)."""
    pairs: dict[int, int] = {}
    i = 0
    for n, item in enumerate(expected):
        j = i
        while j < len(actual) and subset_mismatches(item, actual[j]):
            j += 1
        if j < len(actual):
            pairs[n], i = j, j + 1
    return pairs


def closest_item(item: Any, actual: list[Any], taken: set[int]) -> int:
    """The index of the actual item (not already matched, if any is left) that differs
    least from ``item``; the first of equals."""
    free = [j for j in range(len(actual)) if j not in taken] or list(range(len(actual)))
    return min(free, key=lambda j: len(subset_mismatches(item, actual[j])))


def refusal(error: dict[str, Any]) -> dict[str, Any]:
    """What an ``expect`` of a refused step is matched against: ``{"error": {"code",
    "status", "message"}}`` (so ``"expect": {"error": {"code": "level_blocked"}}``
    asserts the refusal)."""
    return {"error": error}


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 200 else text[:197] + "..."


class ScenarioRunner:
    """Runs steps against a level catalog with a fresh in-memory store and fake clock."""

    def __init__(self, catalog: LevelCatalog, *, default_level: str | None = None) -> None:
        self.clock = FakeClock(0.0)
        self.runtime = Runtime(catalog, MemoryStore(), clock=self.clock,
                               default_level=default_level)
        #: Timer firings of an ``advance_seconds`` step: every pushed result is
        #: delivered (printed), no background task.
        self._timer_failures: list[EnsuresFailure] = []
        self.scheduler = Scheduler(self.runtime, _deliver_all,
                                   on_ensures=self._timer_failures.extend)

    async def run(self, steps: list[Step]) -> list[StepOutcome]:
        await self.runtime.open()
        try:
            return [await self.run_step(step) for step in steps]
        finally:
            await self.runtime.close()

    async def run_step(self, step: Step) -> StepOutcome:
        data = step.data
        output: dict[str, Any] = {"step": step.number}
        outcome = StepOutcome(step, output)
        player = data.get("player", data.get("player_id"))
        expect_on: Any = None
        try:
            if "advance_seconds" in data:
                seconds = data["advance_seconds"]
                if (not isinstance(seconds, (int, float)) or isinstance(seconds, bool)
                        or seconds < 0):
                    raise ScriptError(f"line {step.line}: advance_seconds must be a number "
                                      ">= 0")
                self.clock.advance(float(seconds))
                pushed = await self.scheduler.run_due()
                output["result"] = [{"player_id": p, "result": r} for _, p, r in pushed]
                expect_on = merge_results(r for _, _, r in pushed)
                outcome.ensures_failures.extend(self._timer_failures)
                self._timer_failures.clear()
            elif not isinstance(player, str) or not player:
                raise ScriptError(f"line {step.line}: a step needs a 'player' (or "
                                  "'advance_seconds')")
            elif "load" in data:
                reply = await self.runtime.load(player, str(data["load"]))
                output["result"] = reply.result
                outcome.ensures_failures.extend(reply.ensures_failures)
            elif data.get("end"):
                await self.runtime.end(player)
                output["result"] = None
            else:
                payload = data.get("payload", {})
                if not isinstance(payload, dict):
                    raise ScriptError(f"line {step.line}: 'payload' must be an object")
                event_type = data.get("event_type")
                reply = await self.runtime.handle(
                    player, event_type if isinstance(event_type, str) else None, payload,
                    data.get("event_id") if isinstance(data.get("event_id"), str) else None)
                output["result"] = reply.result
                outcome.ensures_failures.extend(reply.ensures_failures)
        except QuestError as exc:
            output["result"] = None
            output["error"] = {"code": exc.code, "status": exc.status, "message": exc.message}
        if "expect" in data:
            if "error" in output:
                actual: Any = refusal(output["error"])
            else:
                actual = expect_on if "advance_seconds" in data else output.get("result")
            outcome.mismatches = subset_mismatches(data["expect"], actual)
        return outcome


async def _deliver_all(player_id: str, results: list[Result]) -> int:
    return len(results)  # the preview prints them: delivered


def load_catalog(levels: Path, strict: bool = False) -> LevelCatalog:
    catalog = LevelCatalog(levels, strict=strict)
    catalog.load_all()
    return catalog
