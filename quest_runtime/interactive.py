"""``quest-runtime preview --interactive``: type what the player does, see what happens.

Each line the designer types becomes one scenario step, shaped the way the DriftSystem
plugin would send it, and runs through the same ``ScenarioRunner`` as a script::

    near mia_npc          walk up to an NPC        (near, quest_event near_<name>)
    chat I am ready       say a chat line          (chat, quest_event chat_<slug>)
    block lantern         right-click a block      (interact_block)
    entity Tomas          right-click an entity    (interact_entity)
    zone enter_boathouse  enter a trigger zone     (quest_event)
    choose yes            answer a dialogue choice (choice, choice_id)
    event TYPE {json}     any rule event with its payload
    advance 30            move the clock 30 s (due timers fire)
    load lakeside · end · player Alex · explain on|off · state · help · quit

With ``--explain`` (or ``explain on``) every rule event also shows why each task and
listener did not fire. Reading stops at ``quit`` or at the end of the input, so the
mode can be driven by a pipe (``printf 'near mia_npc\\nquit\\n' | quest-runtime ...``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.text import Text

from quest_runtime.atoms import slug
from quest_runtime.cards import quest_log_table
from quest_runtime.engine.questlog import snapshot
from quest_runtime.preview import explain_step, report_failures, report_levels, show_step
from quest_runtime.scenario import ScenarioRunner, Step, load_catalog

HELP = __doc__.split("::", 1)[1].split("With ``--explain``")[0].rstrip() if __doc__ else ""


class CommandError(ValueError):
    """A line that is not a command; the message says what was expected."""


def step_for(line: str, player: str) -> dict[str, Any]:
    """The scenario step for one typed line (raises CommandError)."""
    word, _, rest = line.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("near", "block", "entity", "zone", "chat", "choose") and not rest:
        raise CommandError(f"'{word}' needs a name, e.g. '{word} {_EXAMPLES[word]}'")
    if word == "near":
        return _event(player, "near", target=rest, quest_event=f"near_{slug(rest.lower())}")
    if word == "chat":
        return _event(player, "chat", text=rest, quest_event=f"chat_{slug(rest.lower())}")
    if word == "block":
        return _event(player, "interact_block", action="right_click_block", block_type=rest,
                      quest_event=f"interact_block_{slug(rest.lower())}")
    if word == "entity":
        return _event(player, "interact_entity", interaction="right_click", entity_name=rest,
                      quest_event=f"interact_entity_{slug(rest.lower())}")
    if word == "zone":
        return _event(player, "quest_event", quest_event=rest, source="trigger_zone")
    if word == "choose":
        return _event(player, "choice", choice_id=rest)
    if word == "event":
        etype, _, raw = rest.partition(" ")
        try:
            payload = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            raise CommandError(f"the payload is not JSON: {exc.msg}") from None
        if not etype or not isinstance(payload, dict):
            raise CommandError("usage: event TYPE {\"key\": \"value\"}")
        return {"player": player, "event_type": etype, "payload": payload}
    if word == "advance":
        try:
            return {"advance_seconds": float(rest)}
        except ValueError:
            raise CommandError("usage: advance SECONDS, e.g. 'advance 30'") from None
    if word == "load" and rest:
        return {"player": player, "load": rest}
    if word == "end":
        return {"player": player, "end": True}
    raise CommandError(f"unknown command '{word}': type 'help'")


_EXAMPLES = {"near": "mia_npc", "block": "lantern", "entity": "Tomas", "zone": "enter_pier",
             "chat": "hello", "choose": "yes"}


def _event(player: str, event_type: str, **payload: Any) -> dict[str, Any]:
    return {"player": player, "event_type": event_type, "payload": payload}


def interactive_preview(levels: Path, *, player: str, load: str | None, explain: bool,
                        default_level: str | None = None, strict: bool = False,
                        lines: Iterable[str] | None = None) -> int:
    """Run the prompt until ``quit`` or the end of input; 1 if a level was skipped or an
    ``ensures`` failed, else 0."""
    catalog = load_catalog(levels, strict=strict)
    failed = report_levels(catalog)
    runner = ScenarioRunner(catalog, default_level=default_level)
    console = Console(highlight=False)
    session = _Session(runner, console, player, explain)
    source = lines if lines is not None else _stdin(console)
    problems = asyncio.run(session.run(source, load))
    return 1 if failed or problems else 0


def _stdin(console: Console) -> Iterable[str]:
    prompt = sys.stdin.isatty()
    while True:
        if prompt:
            console.print(Text("> ", style="bold cyan"), end="")
        line = sys.stdin.readline()
        if not line:
            return
        yield line


class _Session:
    """The prompt's state: the runner, the current player and the explain switch."""

    def __init__(self, runner: ScenarioRunner, console: Console, player: str,
                 explain: bool) -> None:
        self.runner = runner
        self.console = console
        self.player = player
        self.explain = explain
        self.number = 0
        self.problems = 0

    async def run(self, lines: Iterable[str], load: str | None) -> int:
        await self.runner.runtime.open()
        try:
            self.console.print(Text(f"playing as {self.player}; type 'help' for commands",
                                    style="bright_black"))
            if load:
                await self.step({"player": self.player, "load": load})
            for line in lines:
                if not await self.command(line.strip()):
                    break
        finally:
            await self.runner.runtime.close()
        return self.problems

    async def command(self, line: str) -> bool:
        """Run one typed line; False to stop."""
        word, _, rest = line.partition(" ")
        word = word.lower()
        if not line or line.startswith("#"):
            return True
        if word in ("quit", "exit", "q"):
            return False
        if word == "help":
            self.console.print(Text(HELP.strip("\n")))
        elif word == "player" and rest.strip():
            self.player = rest.strip()
            self.console.print(Text(f"now playing as {self.player}", style="bright_black"))
        elif word == "explain":
            self.explain = rest.strip().lower() not in ("off", "no", "false")
            self.console.print(Text(f"explain {'on' if self.explain else 'off'}",
                                    style="bright_black"))
        elif word == "state":
            await self.show_state()
        else:
            try:
                data = step_for(line, self.player)
            except CommandError as exc:
                self.console.print(Text(str(exc), style="red"))
                return True
            await self.step(data)
        return True

    async def step(self, data: dict[str, Any]) -> None:
        self.number += 1
        found = await explain_step(self.runner, data) if self.explain else None
        outcome = await self.runner.run_step(Step(self.number, self.number, data))
        show_step(self.console, outcome, found)
        self.problems += report_failures(outcome, "<interactive>")

    async def show_state(self) -> None:
        state = await self.runner.runtime.peek(self.player)
        if state is None or state.session is None:
            self.console.print(Text(f"{self.player} has no level session", style="yellow"))
            return
        level = self.runner.runtime.catalog.get(state.session.level_id)
        if level is not None:
            self.console.print(quest_log_table(snapshot(self.player, level, state.session)
                                               or {"tasks": []}))
        facts = {"flags": sorted(state.flags), "items": state.items, "vars": state.vars,
                 "refs": sorted(state.session.refs)}
        self.console.print(Text(orjson.dumps(facts).decode(), style="bright_black"))
