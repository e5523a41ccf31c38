"""Play the demo and DriftSystem corpus levels as the real plugin would (issue 8).

Over a real HTTP server, with the plugin's exact paths and request shapes, every answer
goes through the plugin model (``studio/plugin_view.py``) and ``PluginPlayer.check``: no
list where the plugin needs an object, no dialogue line cancelled, every dialogue line of
the answer shown, no blank headline, no progress that reads finished while a task is open.
A merger that breaks one of those rules fails these tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from player import PluginPlayer

from quest_runtime.clock import FakeClock
from quest_runtime.studio.plugin_view import block_event as block
from quest_runtime.studio.plugin_view import chat_event as chat
from quest_runtime.studio.plugin_view import entity_event as entity
from quest_runtime.studio.plugin_view import near_event as near
from quest_runtime.studio.plugin_view import npc_trigger_event as npc_click

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "levels"
CORPUS = REPO.parent / "shared" / "compat" / "driftsystem" / "levels"

#: The demo, start to finish, with only what the unchanged plugin sends: NPC visible names,
#: chat, block and entity clicks, and the choice answered on the choice panel ("2").
DEMO_PLAY: list[tuple[str, dict[str, Any]]] = [
    near("Mia"), chat("I am ready to find the lantern"), near("Mia"), block("barrel"),
    entity("villager", "§eTomas"), chat("2"), block("bell"), block("spruce_door"),
    block("chest"), block("lantern"), near("Mia"),
]


def demo_levels(tmp_path: Path) -> Path:
    dest = tmp_path / "levels"
    shutil.copytree(DEMO, dest)
    return dest


async def play_demo(service: Any, tmp_path: Path) -> PluginPlayer:
    svc = await service(demo_levels(tmp_path))
    player = PluginPlayer(svc, "Steve")
    _, shown = await player.load("lakeside")
    assert any("Greet Mia" in line for line in shown.chat), shown.chat  # the first card
    assert shown.chat[-1] == "✔ Lakeside Lantern loaded"
    for event in DEMO_PLAY:
        await player.send(event)
    return player


async def test_the_demo_plays_to_exit_ready_with_production_events(service: Any,
                                                                   tmp_path: Path) -> None:
    player = await play_demo(service, tmp_path)
    last = player.results[-1]
    assert last is not None and last["exit_ready"] is True
    assert last["summary"]["title"] == "Lakeside Lantern — complete"
    assert player.shown[-1].exit_ready
    seen = [line for s in player.shown for line in s.dialogue_lines]
    # the brave answer's payoff, Tomas's lines and the reward lines all reach the player
    for text in ("Tomas told me you walked into the fog like it was nothing.",
                 "Mind the fog out there, friend.", "Ha! You've been hauling my traps",
                 "Oh, you came!", "The lantern? Still hanging in the boathouse",
                 "Across the lake, Mia sees the light"):
        assert any(text in line for line in seen), text
    applied = [(op, v) for s in player.shown for op, v in s.applied]
    particles = [v["type"] for op, v in applied if op == "particle"]
    assert particles == ["flame", "heart"]  # the lantern's particles, both played
    sounds = [v["type"] for op, v in applied if op == "sound"]
    assert "AMBIENT_UNDERWATER_LOOP_ADDITIONS" in sounds  # the lake ambience on load
    commands = [c for s in player.shown for c in s.commands]
    assert "give Steve honey_bottle 1" in commands and "give Steve cooked_salmon 3" in commands
    # a quiet chat: the quest log is a small part of what the player reads
    assert player.quest_log_lines * 3 < player.chat_lines, (player.quest_log_lines,
                                                            player.chat_lines)
    print(f"demo play-through: {player.chat_lines} chat lines, "
          f"{player.quest_log_lines} of them the quest log")


@pytest.mark.parametrize("script", sorted(p.name for p in DEMO.glob("*.scenario.jsonl")))
async def test_every_bundled_scenario_plays_on_the_plugin(service: Any, tmp_path: Path,
                                                          script: str) -> None:
    clock = FakeClock(0.0)
    svc = await service(demo_levels(tmp_path), clock=clock)
    players: dict[str, PluginPlayer] = {}
    sent = 0
    for line in (DEMO / script).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        step = orjson.loads(line)
        if "advance_seconds" in step:
            clock.advance(float(step["advance_seconds"]))
            continue
        name = step.get("player") or step.get("player_id")
        player = players.setdefault(name, PluginPlayer(svc, name))
        if "load" in step:
            await player.load(step["load"])
        elif step.get("end"):
            status, _ = await svc.post("/world/story/end", {"player_id": name})
            assert status == 200
        else:
            event = plugin_form(player, step["event_type"], step.get("payload") or {})
            if event is not None:  # a step the plugin cannot produce is skipped
                await player.send(event)
                sent += 1
    assert sent > 0


def plugin_form(player: PluginPlayer, event_type: str,
                payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """A scenario step as the plugin would send it: choice answers go through the open
    choice panel (by the option's number), NPCs by the name players see."""
    panel = player.choice
    if event_type.startswith("choice"):
        if panel is None:
            return None
        wanted = payload.get("choice_id")
        for option in panel.options:
            if option.rule_event == event_type or option.id == wanted:
                return chat(str(option.index))
        return None  # a hidden option: not on the panel, the plugin cannot send it
    if event_type == "near" and payload.get("target") == "mia_npc":
        return near("Mia")
    if event_type == "quest_event":
        return None  # trigger zones never fire on the plugin
    return event_type, payload


def corpus_events(level: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """What a player on the plugin can do in a DriftSystem level: mapped NPC clicks, near
    the NPCs it spawns, the chat keywords and entity names its listeners wait for."""
    events: list[tuple[str, dict[str, Any]]] = []
    level_id = str(level.get("id"))
    stack: list[Any] = [level]
    names: list[str] = []
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            for mapped in item.get("npc_trigger_events") or ():
                if isinstance(mapped, dict) and mapped.get("quest_event"):
                    events.append(npc_click(mapped["quest_event"], str(mapped.get("npc")),
                                            level_id))
            spawn = item.get("spawn")
            for s in spawn if isinstance(spawn, list) else [spawn]:
                if isinstance(s, dict) and isinstance(s.get("name"), str):
                    names.append(s["name"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    events.extend(near(n) for n in dict.fromkeys(names))
    rules = level.get("rules") or {}
    for listener in rules.get("listeners") or () if isinstance(rules, dict) else ():
        for target in listener.get("targets") or ():
            if listener.get("type") == "chat_keyword":
                events.append(chat(f"{target}"))
            elif listener.get("type") == "interact_entity":
                events.append(entity("villager", str(target)))
            elif listener.get("type") == "npc_dialogue":
                events.append(near(str(target)))
    return events


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the DriftSystem corpus is not beside the repo")
@pytest.mark.parametrize("name", ["flagship_levels/flagship_12.json",
                                  "heart_levels/tutorial_level.json",
                                  "heart_levels_legacy/level_08.json"])
async def test_driftsystem_levels_play_on_the_plugin(service: Any, tmp_path: Path,
                                                     name: str) -> None:
    levels = tmp_path / "corpus"
    levels.mkdir()
    shutil.copy(CORPUS / name, levels / Path(name).name)
    level = orjson.loads((CORPUS / name).read_bytes())
    svc = await service(levels)
    player = PluginPlayer(svc, "Steve")
    await player.load(str(level["id"]))
    events = corpus_events(level)
    assert events, "the level gives the plugin nothing to send"
    for event in events:
        await player.send(event)
    answered = [r for r in player.results if r is not None]
    assert answered, "no production event did anything"
    lines = [line for s in player.shown for line in s.dialogue_lines]
    assert lines, "no dialogue line reached the player"


#: Every source at once: a task reward, two listeners and a dialogue program, each with a
#: sound, a particle, a title, an effect and lines, all in the answer to one click.
CHORUS = {
    "id": "chorus", "title": "Chorus",
    "scene": {"npcs": [{"id": "bard_npc", "name": "§6Bard"}]},
    "tasks": [{"id": "hear", "type": "interact_entity", "target": "bard_npc",
               "title": "Hear the bard",
               "reward": {"npc_dialogue": "Listen closely.",
                          "world_patch": {"mc": {"sound": {"type": "A"},
                                                 "particle": {"type": "note"},
                                                 "title": {"main": "Song"},
                                                 "effect": {"type": "SPEED"}}}}}],
    "rule_listeners": [
        {"id": "echo", "type": "interact_entity", "targets": ["Bard"],
         "metadata": {"dialogue": {"title": "Echo", "text": "la la\nla"},
                      "world_patch": {"mc": {"sound": {"type": "B"},
                                             "particle": [{"type": "heart"},
                                                          {"type": "flame"}],
                                             "title": {"main": "Echo"}}}},
         "effects": [{"type": "start_dialogue", "dialogue": "duet"}]},
        {"id": "crowd", "type": "interact_entity", "targets": ["bard_npc"],
         "metadata": {"dialogue": "The crowd hums along.",
                      "world_patch": {"sound": {"type": "C"}, "effect": {"type": "GLOW"}}}},
    ],
    "dialogues": {"duet": {"npc": "Bard", "entry": "a", "nodes": {
        "a": {"type": "line", "text": ["One more verse?"], "next": "q"},
        "q": {"type": "choice", "text": "Sing along?", "options": [
            {"id": "yes", "text": "Yes!", "next": "end"},
            {"id": "no", "text": "Not today.", "next": "end"}]},
        "end": {"type": "end"}}}},
}


async def test_every_source_of_one_answer_plays_on_the_plugin(service: Any,
                                                              tmp_path: Path) -> None:
    levels = tmp_path / "chorus"
    levels.mkdir()
    (levels / "chorus.json").write_bytes(orjson.dumps(CHORUS))
    player = PluginPlayer(await service(levels), "Steve")
    await player.load("chorus")
    result, shown = await player.send(entity("villager", "§6Bard"))
    assert result is not None and result["completed_tasks"] == ["hear"]
    applied = shown.applied
    assert sorted(v["type"] for op, v in applied if op == "sound") == ["A", "B", "C"]
    assert sorted(v["type"] for op, v in applied if op == "particle") == ["flame", "heart",
                                                                          "note"]
    assert [v["main"] for op, v in applied if op == "title"] == ["Song", "Echo"]
    assert sorted(v["type"] for op, v in applied if op == "effect") == ["GLOW", "SPEED"]
    lines = shown.dialogue_lines
    for text in ("Listen closely.", "la la", "The crowd hums along.", "One more verse?"):
        assert any(text in line for line in lines), (text, lines)
    assert player.choice is not None  # the choice comes after the lines
    assert [o.label for o in player.choice.options] == ["Yes!", "Not today."]
    assert shown.chat[-1] == "输入序号或选项 ID 以继续。"
    answer, _ = await player.send(chat("1"))
    assert answer is not None  # the panel's answer reached the dialogue program
