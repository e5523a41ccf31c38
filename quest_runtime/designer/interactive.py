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
    load lakeside · end · player Alex · explain on|off · help · quit
    state                 quest log, timers, waiting dialogue, flags, items
    save bug.scenario.jsonl   the session as a scenario script, with expects

With ``--explain`` (or ``explain on``) every rule event also shows why each task and
listener did not fire. A mistyped command gets a did-you-mean (``nera`` → ``near``).
``save`` writes every step played so far, each with an ``expect`` of what it did (the
completed tasks and milestones, the commands, the node types and ids, ``exit_ready``;
``null`` when nothing happened; the error code of a refused step), so the session replays
as a golden test with ``quest-runtime test``. Reading stops at ``quit`` or at the end of
the input, so the mode can be driven by a pipe
(``printf 'near mia_npc\\nquit\\n' | quest-runtime ...``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.text import Text

from quest_runtime.atoms import slug
from quest_runtime.conditions import EvalContext
from quest_runtime.designer.cards import quest_log_table, time_left
from quest_runtime.designer.console import (
    describe,
    explain_step,
    report_failures,
    report_levels,
    show_step,
)
from quest_runtime.designer.scenario import ScenarioRunner, Step, StepOutcome, load_catalog
from quest_runtime.engine.dialogue import waiting
from quest_runtime.engine.merger import merge_results
from quest_runtime.engine.questlog import snapshot
from quest_runtime.engine.state import PlayerState
from quest_runtime.suggest import did_you_mean

HELP = __doc__.split("::", 1)[1].split("With ``--explain``")[0].rstrip() if __doc__ else ""


class CommandError(ValueError):
    """A line that is not a command; the message says what was expected."""


def step_for(line: str, player: str) -> dict[str, Any]:
    """The scenario step for one typed line (raises CommandError)."""
    word, _, rest = line.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("near", "block", "entity", "zone", "chat", "choose") and not rest:
        raise CommandError(f"'{word}' needs a name, e.g. '{word} {_EXAMPLES[word]}'")
    event = _EVENTS.get(word)
    if event is not None:
        return event(player, rest)
    if word == "event":
        return _raw_event(player, rest)
    if word == "advance":
        try:
            return {"advance_seconds": float(rest)}
        except ValueError:
            raise CommandError("usage: advance SECONDS, e.g. 'advance 30'") from None
    if word == "load" and rest:
        return {"player": player, "load": rest}
    if word == "end":
        return {"player": player, "end": True}
    if word in ("load", "player", "save") and not rest:
        raise CommandError(f"'{word}' needs a name, e.g. '{word} {_EXAMPLES[word]}'")
    match = did_you_mean(word, COMMANDS)
    hint = f" (did you mean '{match}'?)" if match is not None else ""
    raise CommandError(f"unknown command '{word}'{hint}: type 'help'")


def _raw_event(player: str, rest: str) -> dict[str, Any]:
    """``event TYPE {json payload}``."""
    etype, _, raw = rest.partition(" ")
    try:
        payload = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise CommandError(f"the payload is not JSON: {exc.msg}") from None
    if not etype or not isinstance(payload, dict):
        raise CommandError("usage: event TYPE {\"key\": \"value\"}")
    return {"player": player, "event_type": etype, "payload": payload}


#: The commands that send one rule event shaped like the plugin's: word -> builder.
_EVENTS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "near": lambda player, rest: _event(player, "near", target=rest,
                                        quest_event=f"near_{slug(rest.lower())}"),
    "chat": lambda player, rest: _event(player, "chat", text=rest,
                                        quest_event=f"chat_{slug(rest.lower())}"),
    "block": lambda player, rest: _event(player, "interact_block",
                                         action="right_click_block", block_type=rest,
                                         quest_event=f"interact_block_{slug(rest.lower())}"),
    "entity": lambda player, rest: _event(player, "interact_entity",
                                          interaction="right_click", entity_name=rest,
                                          quest_event=f"interact_entity_{slug(rest.lower())}"),
    "zone": lambda player, rest: _event(player, "quest_event", quest_event=rest,
                                        source="trigger_zone"),
    "choose": lambda player, rest: _event(player, "choice", choice_id=rest),
}


#: Every command the prompt knows, for the did-you-mean of a mistyped one.
COMMANDS = ("near", "chat", "block", "entity", "zone", "choose", "event", "advance", "load",
            "end", "player", "explain", "state", "save", "help", "quit")


_EXAMPLES = {"near": "mia_npc", "block": "lantern", "entity": "Tomas", "zone": "enter_pier",
             "chat": "hello", "choose": "yes", "load": "lakeside", "player": "Alex",
             "save": "levels/my.scenario.jsonl"}


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
        #: Every step played, for ``save``.
        self.played: list[StepOutcome] = []

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
        elif word == "save" and rest.strip():
            self.save(Path(rest.strip()))
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
        self.played.append(outcome)
        show_step(self.console, outcome, found)
        self.problems += report_failures(outcome, "<interactive>")

    def save(self, path: Path) -> None:
        """Write the steps played so far as a scenario script, each with its ``expect``."""
        lines = ["# recorded with quest-runtime preview --interactive; replay with",
                 f"# quest-runtime test {path}"]
        for outcome in self.played:
            lines.append(f"# {describe(outcome.step.data)}")
            step = {**outcome.step.data, "expect": recorded_expect(outcome)}
            lines.append(orjson.dumps(step).decode())
        try:
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError as exc:
            self.console.print(Text(f"cannot save {path}: {exc.strerror}", style="red"))
            return
        self.console.print(Text(f"saved {len(self.played)} steps to {path}",
                                style="bright_black"), soft_wrap=True)

    async def show_state(self) -> None:
        state = await self.runner.runtime.peek(self.player)
        if state is None or state.session is None:
            self.console.print(Text(f"{self.player} has no level session", style="yellow"))
            return
        now = self.runner.clock.now()
        level = self.runner.runtime.catalog.get(state.session.level_id)
        if level is not None:
            self.console.print(quest_log_table(snapshot(self.player, level, state.session, now)
                                               or {"tasks": []}))
        for line in timer_lines(state, now) + dialogue_lines(state, level, now):
            self.console.print(line)
        facts = {"flags": sorted(state.flags), "items": state.items, "vars": state.vars,
                 "refs": sorted(state.session.refs)}
        self.console.print(Text(orjson.dumps(facts).decode(), style="bright_black"))


def timer_lines(state: PlayerState, now: float) -> list[Text]:
    """The level's timers: each pending one with its time left, and those fired."""
    assert state.session is not None
    timers = state.session.timers
    pending = timers.pending
    out = [Text.assemble(("timer ", "bold"), name, (f"  fires in {time_left(due - now)}",
                                                    "yellow"))
           for name, due in sorted(pending.items(), key=lambda kv: kv[1])]
    fired = timers.fired
    if fired:
        out.append(Text(f"timers fired: {', '.join(map(str, fired))}", style="bright_black"))
    return out or [Text("no timer pending", style="bright_black")]


def dialogue_lines(state: PlayerState, level: Any, now: float) -> list[Text]:
    """The dialogue program waiting for an answer: its node, the options shown (with the
    numbers to type) and the hidden ones with the condition that hides them."""
    session = state.session
    assert session is not None
    top = waiting(session)
    if top is None or level is None:
        return [Text("no dialogue waiting", style="bright_black")]
    program = level.dialogues.get(top[0])
    node = program.nodes.get(top[1]) if program is not None else None
    if node is None:
        return [Text(f"dialogue {top[0]} at node {top[1]}", style="bold")]
    ctx = EvalContext(state, session, level, {}, now)
    out = [Text.assemble(("dialogue ", "bold"), f"{top[0]} waits at '{top[1]}'",
                         (f"  {node.prompt}" if node.prompt else "", "bright_black"))]
    number = 0
    for option in node.options:
        failing = option.requires.failing(ctx) if option.requires is not None else None
        if failing is None:
            number += 1
            out.append(Text(f"  [{number}] {option.id}: {option.label}"))
        else:
            out.append(Text(f"  hidden {option.id}: {option.label} — requires fails at "
                            f"{failing.describe()}", style="bright_black"))
    return out


def recorded_expect(outcome: StepOutcome) -> Any:
    """What a step did, as an ``expect`` that holds when it is played again."""
    error = outcome.output.get("error")
    if error is not None:
        return {"error": {"code": error["code"]}}
    result = outcome.output.get("result")
    if isinstance(result, list):  # an advance_seconds step: its pushed results, merged
        result = merge_results(p["result"] for p in result if isinstance(p, dict)) \
            if result else None
    if not isinstance(result, dict):
        return None
    expect: dict[str, Any] = {}
    for key in ("completed_tasks", "milestones", "commands"):
        if result.get(key):
            expect[key] = result[key]
    nodes = [{k: n[k] for k in ("type", "task_id", "milestone_id", "dialogue_id", "node_id")
              if k in n} for n in result.get("nodes", []) if isinstance(n, dict)]
    if nodes:
        expect["nodes"] = nodes
    if result.get("exit_ready"):
        expect["exit_ready"] = True
    return expect
