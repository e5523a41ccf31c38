"""The studio's simulator: play a level in the page, as a scenario being written.

One ``Simulator`` is the preview's ``ScenarioRunner`` (the service's ``Runtime``, an
in-memory store, a fake clock at 0) plus the plugin model (``plugin_view``): each action
of the page becomes one scenario step, runs, and comes back as what the plugin shows,
the player's state (``views.state_view``) and, for rule events, the explanation of
what did not fire (``designer/explain.py``, a dry run before the step, as ``preview
--explain`` does). Every step played is kept; ``scenario_text`` writes them as a
``*.scenario.jsonl`` file whose ``expect`` pins what the step did (completed tasks,
milestones, commands, ``exit_ready``), so ``quest-runtime test`` replays the session.

Events are shaped as the plugin sends them (``plugin_view``'s ``near_event``,
``chat_event``, ``block_event``, ``entity_event``); a chat line the open choice panel
takes becomes the option's ``rule_event``, as in the game.
"""

from __future__ import annotations

from typing import Any

import orjson

from quest_runtime import views
from quest_runtime.designer.console import describe, explain_step
from quest_runtime.designer.explain import explanation_dict
from quest_runtime.designer.scenario import ScenarioRunner, Step
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.studio import plugin_view
from quest_runtime.studio.levelmap import as_dict, as_list
from quest_runtime.studio.plugin_view import PluginModel

#: The keys of a result a saved step's ``expect`` pins (when the result has them).
PINNED = ("completed_tasks", "milestones", "commands", "exit_ready")


class SimulatorError(Exception):
    """A request the simulator cannot play (unknown action, missing field)."""


def _expect(result: Any) -> dict[str, Any] | None:
    if not isinstance(result, dict):
        return None
    pinned = {k: result[k] for k in PINNED if result.get(k)}
    return pinned or None


class Simulator:
    """One play session: its steps, the plugin's view of each player, the clock."""

    def __init__(self, catalog: LevelCatalog) -> None:
        self.catalog = catalog
        self.opened = False
        self._fresh()

    def _fresh(self) -> None:
        self.runner = ScenarioRunner(self.catalog)
        self.plugin = PluginModel()
        self.steps: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []

    async def open(self) -> None:
        await self.runner.runtime.open()
        self.opened = True

    async def close(self) -> None:
        if self.opened:
            await self.runner.runtime.close()
            self.opened = False

    @property
    def now(self) -> float:
        return self.runner.clock.now()

    async def reset(self) -> None:
        """A fresh session (new store, clock at 0, no steps)."""
        await self.close()
        self._fresh()
        await self.open()

    # -- actions ------------------------------------------------------------------------

    async def act(self, action: dict[str, Any]) -> dict[str, Any]:
        """Play one page action; the entry added to ``log``."""
        kind = action.get("action")
        player = action.get("player")
        if kind == "advance":
            seconds = action.get("seconds")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) \
                    or seconds < 0:
                raise SimulatorError("'seconds' must be a number >= 0")
            return await self._play({"advance_seconds": seconds}, None)
        if not isinstance(player, str) or not player.strip():
            raise SimulatorError("name a player first")
        player = player.strip()
        if kind == "load":
            level = action.get("level")
            if not isinstance(level, str) or not level:
                raise SimulatorError("'level' must name a level")
            return await self._play({"player": player, "load": level}, player)
        if kind == "end":
            return await self._play({"player": player, "end": True}, player)
        event = self._event(kind, player, action)
        if event is None:  # an option without a rule_event: the panel took the text
            return self._record({"player": player}, player, None, None)
        event_type, payload = event
        return await self._play({"player": player, "event_type": event_type,
                                 "payload": payload}, player)

    def _event(self, kind: Any, player: str,
               action: dict[str, Any]) -> plugin_view.Event | None:
        def text(key: str) -> str:
            value = action.get(key)
            if not isinstance(value, str) or not value.strip():
                raise SimulatorError(f"'{key}' must be a non-empty string")
            return value

        location = action.get("location") if isinstance(action.get("location"), dict) \
            else None
        if kind == "near":
            return plugin_view.near_event(text("npc"), location)
        if kind == "block":
            block_action = action.get("block_action", "right_click_block")
            return plugin_view.block_event(text("block"), str(block_action), location)
        if kind == "entity":
            name = action.get("name") if isinstance(action.get("name"), str) else None
            return plugin_view.entity_event(text("entity_type"), name or None, location)
        if kind in ("chat", "choose"):
            line = str(action["index"]) if kind == "choose" and isinstance(
                action.get("index"), int) else text("text")
            answer = self.plugin.answer_choice(player, line)
            if answer is None:
                if kind == "choose":
                    raise SimulatorError("no open choice panel takes that answer")
                return plugin_view.chat_event(line)
            return None if not answer[0] else answer
        if kind == "quest_event":
            name = text("event")
            return name.strip().lower(), {"quest_event": name.strip().lower()}
        raise SimulatorError(f"unknown action {kind!r}")

    async def _play(self, data: dict[str, Any], player: str | None) -> dict[str, Any]:
        found = (await explain_step(self.runner, data)
                 if "event_type" in data or "load" in data else None)
        outcome = await self.runner.run_step(Step(len(self.steps) + 1, 0, data))
        result = outcome.output.get("result")
        step = dict(data)
        expect = _expect(result) if "advance_seconds" not in data else None
        if "advance_seconds" in data and isinstance(result, list):
            from quest_runtime.engine.merger import merge_results

            expect = _expect(merge_results(r["result"] for r in result))
        if expect is not None:
            step["expect"] = expect
        if "error" not in outcome.output:  # a refused step changed nothing: not recorded
            self.steps.append(step)
        entry = self._record(data, player, result,
                             explanation_dict(found) if found is not None else None)
        if "error" in outcome.output:
            entry["error"] = outcome.output["error"]
        entry["ensures_failures"] = outcome.ensures_failures
        return entry

    def _record(self, data: dict[str, Any], player: str | None, result: Any,
                explanation: dict[str, Any] | None) -> dict[str, Any]:
        shown: list[dict[str, Any]] = []
        if "advance_seconds" in data and isinstance(result, list):
            for pushed in result:
                view = self.plugin.apply_rule_event_response(pushed["player_id"],
                                                             {"result": pushed["result"]})
                shown.append({"player": pushed["player_id"], **view.to_dict()})
        elif player is not None and ("event_type" in data or "load" in data):
            view = self.plugin.apply_rule_event_response(player, {"result": result})
            shown.append({"player": player, **view.to_dict()})
        played = bool(data.get("event_type") or data.get("end") or "load" in data
                      or "advance_seconds" in data)
        what = describe(data) if played else f"{player} answered the choice panel"
        entry = {"n": len(self.log) + 1, "step": data, "what": what, "result": result,
                 "shown": shown, "explain": explanation, "clock": self.now}
        self.log.append(entry)
        return entry

    async def player_view(self, player: str) -> dict[str, Any]:
        """The player's state and the choice panel the plugin shows them."""
        state = await views.state_view(self.runner.runtime, player)
        panel = self.plugin.state(player).choice
        return {"player": player, "state": state, "clock": self.now,
                "choice": None if panel is None else {
                    "prompt": panel.prompt,
                    "options": [{"index": o.index, "id": o.id, "label": o.label}
                                for o in panel.options]}}

    def scenario_text(self, title: str = "a studio session") -> str:
        """The steps played, as a scenario file ``quest-runtime test`` replays."""
        lines = [f"# {title}: recorded by quest-runtime studio.",
                 "# Each step's expect pins what it did when it was played."]
        lines += [orjson.dumps(step).decode() for step in self.steps]
        return "\n".join(lines) + "\n"


def palette(doc: dict[str, Any] | None) -> dict[str, Any]:
    """What the page offers to click for a level: the scene's NPCs (walk near, right-click
    as an entity), the blocks and quest events its tasks, milestones and listeners wait
    for, and the chat keywords of its chat tasks and listeners."""
    out: dict[str, Any] = {"npcs": [], "blocks": [], "quest_events": [], "chat": []}
    if not isinstance(doc, dict):
        return out
    out["npcs"] = _scene_npcs(as_dict(doc.get("scene")))
    for task in as_list(doc.get("tasks")):
        if isinstance(task, dict):
            _task_wants(out, task)
    for li in as_list(doc.get("rule_listeners")):
        if isinstance(li, dict) and isinstance(li.get("targets"), list):
            for target in li["targets"]:
                _want(out, str(li.get("type", "")), target)
    return out


def _scene_npcs(scene: dict[str, Any]) -> list[dict[str, Any]]:
    """The scene's NPCs that have a name or an id, with their locations."""
    npcs: list[dict[str, Any]] = []
    for npc in as_list(scene.get("npcs")):
        if isinstance(npc, dict) and (npc.get("name") or npc.get("id")):
            location = {"world": str(scene.get("world", "world")),
                        **{k: float(npc[k]) for k in ("x", "y", "z")
                           if isinstance(npc.get(k), int | float)}}
            npcs.append({"id": str(npc.get("id", "")),
                         "name": str(npc.get("name") or npc.get("id")),
                         "entity_type": str(npc.get("entity_type", "villager")),
                         "location": location})
    return npcs


def _task_wants(out: dict[str, Any], task: dict[str, Any]) -> None:
    """What one task and its milestones wait for, into the palette ``out``."""
    kind = str(task.get("type", ""))
    _want(out, kind, task.get("target"))
    for milestone in as_list(task.get("milestones")):
        if isinstance(milestone, str):
            _want(out, kind, milestone)
        elif isinstance(milestone, dict):
            _want(out, kind, milestone.get("target"))
            for alternate in as_list(milestone.get("alternates")):
                _want(out, "quest_event", alternate)


def _want(out: dict[str, Any], kind: str, token: Any) -> None:
    """A target a ``kind`` element waits for, under the palette key it is clicked by."""
    if not isinstance(token, str):
        return
    if token.startswith("interact_block_"):
        _add(out, "blocks", token.removeprefix("interact_block_"))
    elif kind == "interact_block":
        _add(out, "blocks", token)
    elif kind == "chat":
        _add(out, "chat", token)
    elif kind == "quest_event" and not token.startswith(("near_", "interact_entity_")):
        _add(out, "quest_events", token)


def _add(out: dict[str, Any], key: str, value: str) -> None:
    if value and value not in out[key]:
        out[key].append(value)
