"""``quest-runtime test [PATH]``: golden scenario tests for designers.

Every ``*.scenario.jsonl`` under PATH (default ``levels/``; nested folders too) is played
against the levels of that folder, each script with a fresh runner (in-memory store, fake
clock at 0: the preview's ``ScenarioRunner``). Every step is reported::

    levels/lakeside.scenario.jsonl
      ✓ step 1 (line 7)  Steve loads lakeside
      ✗ step 2 (line 10) Steve near mia_npc
          result.commands[1]: expected "xp add Steve 11" (in order) in [...]
          --- expected
          +++ actual
          @@ ...

A failed step shows what did not match and a unified diff of the expected JSON against
the actual result, cut down to the keys the expectation names. Refused loads print their
error and fail unless ``expect`` asserts the refusal (``{"error": {"code": ...}}``: then
the step passes, printed "refused as expected"); ``ensures`` failures fail the step
(SPEC §4.12.11). The exit status is 1 when any
step failed, a script could not be read, or a level has errors; 0 otherwise.
"""

from __future__ import annotations

import asyncio
import difflib
import json
from pathlib import Path
from typing import Any

from quest_runtime.designer.console import describe, report_levels
from quest_runtime.designer.scenario import (
    ScenarioRunner,
    ScriptError,
    StepOutcome,
    closest_item,
    load_catalog,
    pair_items,
    parse_script,
    refusal,
)
from quest_runtime.levels.catalog import LevelCatalog

SUFFIX = ".scenario.jsonl"


def scenario_files(path: Path) -> tuple[Path, list[Path]]:
    """(levels folder, scripts): a folder's scripts, or one script and its folder."""
    if path.is_file():
        return path.parent, [path]
    return path, sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())


def project(expected: Any, actual: Any) -> Any:
    """``actual`` cut down to the keys ``expected`` names (objects, recursively; the
    objects of a list to the keys its expected objects name), so the diff shows only
    what the expectation is about. An actual item that matched no expected item keeps
    the keys of the unmatched expected item closest to it (or of every expected item),
    so each unmatched item shows its actual value."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: project(v, actual[k]) for k, v in expected.items() if k in actual}
    if isinstance(expected, list) and isinstance(actual, list):
        shapes = [e for e in expected if isinstance(e, dict)]
        if not shapes:
            return actual
        pairs = pair_items(expected, actual)
        shape_of: dict[int, Any] = {j: expected[n] for n, j in pairs.items()}
        for n, item in enumerate(expected):  # each unmatched expected item: its closest
            if n in pairs or not isinstance(item, dict):
                continue
            free = [j for j in range(len(actual)) if j not in shape_of]
            if free:
                j = closest_item(item, actual, set(range(len(actual))) - set(free))
                shape_of[j] = item
        every: dict[str, Any] = {}
        for shape in shapes:
            every.update(dict.fromkeys(shape))
        return [project(shape_of.get(n, every), a) if isinstance(a, dict) else a
                for n, a in enumerate(actual)]
    return actual


def expectation_diff(expected: Any, actual: Any) -> list[str]:
    """A unified diff of the expected JSON against the (projected) actual result."""
    want = json.dumps(expected, indent=2, ensure_ascii=False, sort_keys=True).splitlines()
    got = json.dumps(project(expected, actual), indent=2, ensure_ascii=False,
                     sort_keys=True).splitlines()
    return list(difflib.unified_diff(want, got, "expected", "actual", lineterm="", n=2))


def run_tests(path: Path, *, strict: bool = False, default_level: str | None = None) -> int:
    """The ``test`` command; prints the report, returns the exit status."""
    if not path.exists():
        print(f"error: {path}: no such file or folder")
        return 1
    folder, scripts = scenario_files(path)
    if not scripts:
        print(f"error: no *{SUFFIX} files under {path}")
        return 1
    catalog = load_catalog(folder, strict=strict)
    broken = report_levels(catalog)
    passed = failed = 0
    for script in scripts:
        ok, bad = _run_script(catalog, script, default_level)
        passed, failed = passed + ok, failed + bad
    print(f"\n{len(scripts)} scenario{'s' if len(scripts) != 1 else ''}, {passed + failed} "
          f"steps: {passed} passed, {failed} failed")
    return 1 if failed or broken else 0


def _run_script(catalog: LevelCatalog, script: Path, default_level: str | None) -> tuple[int, int]:
    print(script)
    try:
        steps = parse_script(script.read_text(encoding="utf-8"), str(script))
        outcomes = asyncio.run(ScenarioRunner(catalog, default_level=default_level).run(steps))
    except (OSError, ScriptError) as exc:
        print(f"  ✗ {exc}")
        return 0, 1
    passed = 0
    for outcome in outcomes:
        lines = _problems(outcome)
        step = outcome.step
        error = outcome.output.get("error")
        mark = "✗" if lines else "✓"
        said = ""
        if error is not None and not lines:
            said = f"  — refused as expected: {error['code']}"
        print(f"  {mark} step {step.number} (line {step.line})  {describe(step.data)}{said}")
        for line in lines:
            print(f"      {line}")
        passed += not lines
    return passed, len(outcomes) - passed


def _problems(outcome: StepOutcome) -> list[str]:
    """What failed in one step. A refused step fails unless its ``expect`` asserts the
    refusal (``{"error": {...}}``): it is never shown as a plain pass."""
    lines = list(outcome.mismatches)
    data = outcome.step.data
    error = outcome.output.get("error")
    if outcome.mismatches:
        actual = outcome.output.get("result")
        if error is not None:
            actual = refusal(error)
        elif "advance_seconds" in data and isinstance(actual, list):
            from quest_runtime.engine.merger import merge_results

            actual = merge_results(p["result"] for p in actual if isinstance(p, dict))
        lines += expectation_diff(data["expect"], actual)
    if error is not None and (lines or "expect" not in data):
        lines.insert(0, f"refused: {error['code']} — {error['message']}")
    lines += [f"ensures failed: {e['what']}: {e['condition']} [{e['pointer']}] ({e['file']})"
              for e in outcome.ensures_failures]
    return lines
