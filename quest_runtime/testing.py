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
error, ``ensures`` failures fail the step (SPEC §4.12.11). The exit status is 1 when any
step failed, a script could not be read, or a level has errors; 0 otherwise.
"""

from __future__ import annotations

import asyncio
import difflib
import json
from pathlib import Path
from typing import Any

from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.preview import describe, report_levels
from quest_runtime.scenario import (
    ScenarioRunner,
    ScriptError,
    StepOutcome,
    load_catalog,
    parse_script,
    subset_mismatches,
)

SUFFIX = ".scenario.jsonl"


def scenario_files(path: Path) -> tuple[Path, list[Path]]:
    """(levels folder, scripts): a folder's scripts, or one script and its folder."""
    if path.is_file():
        return path.parent, [path]
    return path, sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())


def project(expected: Any, actual: Any) -> Any:
    """``actual`` cut down to the keys ``expected`` names (objects, recursively; the
    objects of a list to the keys its expected objects name), so the diff shows only
    what the expectation is about."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: project(v, actual[k]) for k, v in expected.items() if k in actual}
    if isinstance(expected, list) and isinstance(actual, list):
        shapes = [e for e in expected if isinstance(e, dict)]
        if not shapes:
            return actual
        # pair items as ``expect`` does (in order); others keep the keys all shapes share
        common = set(shapes[0]).intersection(*shapes[1:])
        pairs: dict[int, Any] = {}
        i = 0
        for item in expected:
            j = i
            while j < len(actual) and subset_mismatches(item, actual[j]):
                j += 1
            if j < len(actual):
                pairs[j], i = item, j + 1
        return [project(pairs.get(n, {k: None for k in common}), a) if isinstance(a, dict)
                else a for n, a in enumerate(actual)]
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
        mark = "✗" if lines else "✓"
        step = outcome.step
        print(f"  {mark} step {step.number} (line {step.line})  {describe(step.data)}")
        for line in lines:
            print(f"      {line}")
        passed += not lines
    return passed, len(outcomes) - passed


def _problems(outcome: StepOutcome) -> list[str]:
    lines = list(outcome.mismatches)
    if outcome.mismatches:
        data = outcome.step.data
        actual = outcome.output.get("result")
        if "advance_seconds" in data and isinstance(actual, list):
            from quest_runtime.engine.merger import merge_results

            actual = merge_results(p["result"] for p in actual if isinstance(p, dict))
        lines += expectation_diff(data["expect"], actual)
    if "error" in outcome.output and "expect" in outcome.step.data:
        error = outcome.output["error"]
        lines.insert(0, f"refused: {error['code']} — {error['message']}")
    lines += [f"ensures failed: {e['what']}: {e['condition']} [{e['pointer']}] ({e['file']})"
              for e in outcome.ensures_failures]
    return lines
