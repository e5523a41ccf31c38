"""``quest-runtime preview``: play a scenario script and show what the player would see.

1. load the levels folder (a level with errors is reported on stderr and skipped; the
   preview then exits 1 at the end, SPEC §4.12.5). When a load step then names a level
   that is not there, the play stops at that step with one line saying why, instead of
   every later step failing for the same reason (a broken save under ``--watch``);
2. run the script's steps with ``scenario.ScenarioRunner`` (the service's engine, an
   in-memory store, a fake clock at 0);
3. print each step: readable cards (``cards.py``, rich), or with ``--json`` exactly one
   line ``{"step": N, "result": ...}`` per step; ``--explain`` adds, per rule event, its
   atoms and why each task and listener did not fire, and what a waiting dialogue did
   with it; per load, why a level is blocked (``explain.py``, a dry run before the
   step) — with ``--json`` as an ``"explain"`` key;
4. report failed expectations and ``ensures`` on stderr; exit 1 if any.

``--watch`` plays again whenever a level file or the script changes (watchfiles), and
``--interactive`` reads steps typed by the designer instead (``interactive.py``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from threading import Event

import orjson
from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from bridge_protocol.explain import Explanation
from quest_runtime.designer.console import (
    explain_step,
    report_failures,
    report_levels,
    show_step,
)
from quest_runtime.designer.explain import explanation_dict
from quest_runtime.designer.scenario import (
    ScenarioRunner,
    ScriptError,
    Step,
    StepOutcome,
    load_catalog,
    parse_script,
)


def preview(levels: Path, script: Path | None, *, as_json: bool = False,
            default_level: str | None = None, strict: bool = False, explain: bool = False,
            watch: bool = False, interactive: bool = False, player: str = "Steve",
            load: str | None = None) -> int:
    """The ``preview`` command (see the module docstring)."""
    if interactive:
        from quest_runtime.designer.interactive import interactive_preview

        return interactive_preview(levels, player=player, load=load, explain=explain,
                                   default_level=default_level, strict=strict)
    if script is None:
        print("error: give a scenario script, or --interactive", file=sys.stderr)
        return 2
    target = script

    def once() -> int:
        return run_preview(levels, target, as_json=as_json, default_level=default_level,
                           strict=strict, explain=explain)

    return watch_loop(once, levels, script) if watch else once()


def run_preview(levels: Path, script: Path, *, as_json: bool, default_level: str | None,
                strict: bool, explain: bool) -> int:
    catalog = load_catalog(levels, strict=strict)
    failed_levels = report_levels(catalog)
    try:
        steps = parse_script(script.read_text(encoding="utf-8"), str(script))
    except (OSError, ScriptError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    runner = ScenarioRunner(catalog, default_level=default_level)
    try:
        played = asyncio.run(play(runner, steps, explain=explain,
                                  stop_on_missing=failed_levels))
    except ScriptError as exc:
        print(f"{script}:{exc}", file=sys.stderr)
        return 1
    console = Console(highlight=False)
    failures = 0
    if len(played) < len(steps):
        last = played[-1][0]
        error = last.output["error"]
        print(f"{script}:{last.step.line}: step {last.step.number}: {error['message']}: a "
              f"level file above has errors, so the other {len(steps) - len(played)} steps "
              "are not played (fix the file and save it)", file=sys.stderr)
        if as_json:
            sys.stdout.write(orjson.dumps(last.output).decode() + "\n")
        else:
            show_step(console, last, None)
        return 1
    for outcome, found in played:
        if as_json:
            line = dict(outcome.output)
            if found is not None:
                line["explain"] = explanation_dict(found)
            sys.stdout.write(orjson.dumps(line).decode() + "\n")
        else:
            show_step(console, outcome, found)
        failures += report_failures(outcome, str(script))
    return 1 if failures or failed_levels else 0


async def play(runner: ScenarioRunner, steps: list[Step], *, explain: bool,
               stop_on_missing: bool = False) -> list[tuple[StepOutcome, Explanation | None]]:
    """Run every step; with ``explain``, each rule event is first explained (dry run).

    With ``stop_on_missing`` (a level file was skipped for its errors), a load refused
    as an unknown level ends the play there: that level is most likely the broken file,
    and every step after it would fail for the same reason."""
    await runner.runtime.open()
    try:
        played: list[tuple[StepOutcome, Explanation | None]] = []
        for step in steps:
            found = await explain_step(runner, step.data) if explain else None
            outcome = await runner.run_step(step)
            played.append((outcome, found))
            error = outcome.output.get("error")
            if (stop_on_missing and "load" in step.data and error is not None
                    and error["code"] == "unknown_level"):
                break
        return played
    finally:
        await runner.runtime.close()


def watch_loop(run: Callable[[], int], levels: Path, script: Path, *,
               stop: Event | None = None, max_runs: int | None = None) -> int:
    """Run, then run again after every change to a level or the script (Ctrl-C stops)."""
    import watchfiles

    console = Console(highlight=False, stderr=True)
    code = run()
    runs = 1
    script_file = script.resolve()

    def relevant(change: watchfiles.Change, path: str) -> bool:
        p = Path(path).resolve()
        return p == script_file or (p.suffix == ".json" and p.is_relative_to(levels.resolve()))

    console.print(Text("watching for changes (Ctrl-C stops)", style="bright_black"))
    try:
        for changes in watchfiles.watch(levels, script.parent, watch_filter=relevant,
                                        stop_event=stop, raise_interrupt=False,
                                        debounce=200, rust_timeout=500):
            names = ", ".join(sorted({Path(p).name for _, p in changes}))
            console.print(Rule(Text(f"changed: {names} — playing again"), style="cyan"))
            code = run()
            runs += 1
            if max_runs is not None and runs >= max_runs:
                break
    except KeyboardInterrupt:  # pragma: no cover - the designer stops watching
        pass
    return code
