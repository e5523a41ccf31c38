"""Contracts (SPEC §4.11, §4.12.11): ``ensures`` on tasks and levels is checked when they
complete. A violation never blocks the player; it is logged with the level file, the
task (or level) and the smallest failing sub-condition, counted in metrics, and makes
``quest-runtime preview`` and ``quest-runtime test`` exit 1 (every step still runs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from quest_runtime.server.app import create_app
from quest_runtime.settings import Settings

FORGE = {
    "id": "forge",
    "ensures": {"type": "flag_set", "flag": "forge_cold"},
    "tasks": [
        {"id": "light_forge", "type": "near", "target": "anvil",
         "reward": {"commands": ["give {player} iron_ingot 1"]},
         "on_complete": [{"type": "set_flag", "flag": "forge_lit"}],
         "ensures": {"type": "all_of", "conditions": [
             {"type": "flag_set", "flag": "forge_lit"},
             {"type": "has_item", "item": "hammer"}]}},
    ],
}
STEPS: list[dict[str, Any]] = [
    {"player": "Steve", "load": "forge"},
    {"player": "Steve", "event_type": "near", "payload": {"target": "anvil"},
     "expect": {"completed_tasks": ["light_forge"], "exit_ready": True}},
    {"player": "Steve", "event_type": "near", "payload": {"target": "anvil"}},
]
TASK_CONDITION = "has_item(item='hammer')"


def write(folder: Path, level: dict[str, Any], steps: list[dict[str, Any]]) -> Path:
    levels = folder / "levels"
    levels.mkdir(parents=True)
    (levels / f"{level['id']}.json").write_text(json.dumps(level, indent=2), encoding="utf-8")
    script = levels / "forge.scenario.jsonl"
    script.write_text("\n".join(json.dumps(s) for s in steps) + "\n", encoding="utf-8")
    return script


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quest_runtime", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def test_an_ensures_violation_fails_the_preview_naming_file_task_and_condition(
        tmp_path: Path) -> None:
    write(tmp_path, FORGE, STEPS)
    run = cli("preview", "--levels", "levels", "levels/forge.scenario.jsonl", "--json",
              cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    outputs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["step"] for o in outputs] == [1, 2, 3]  # every step still ran
    assert outputs[1]["result"]["completed_tasks"] == ["light_forge"]  # never blocks
    assert outputs[1]["result"]["commands"] == ["give Steve iron_ingot 1"]
    lines = run.stderr.splitlines()
    task_line = next(line for line in lines if "task 'light_forge'" in line)
    assert "levels/forge.json" in task_line
    assert TASK_CONDITION in task_line  # the smallest failing part, not the all_of
    assert "flag_set" not in task_line
    assert "/tasks/0/ensures/conditions/1" in task_line
    level_line = next(line for line in lines if "level 'forge'" in line)
    assert "levels/forge.json" in level_line and "flag_set(flag='forge_cold')" in level_line
    assert "expectation failed" not in run.stderr


def test_an_ensures_violation_fails_quest_runtime_test(tmp_path: Path) -> None:
    write(tmp_path, FORGE, STEPS)
    run = cli("test", "levels", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout + run.stderr
    assert "levels/forge.json" in out
    assert "light_forge" in out
    assert TASK_CONDITION in out


def test_ensures_that_hold_pass(tmp_path: Path) -> None:
    level = json.loads(json.dumps(FORGE))
    level["ensures"] = {"type": "flag_set", "flag": "forge_lit"}
    level["tasks"][0]["on_complete"].append({"type": "gain_item", "item": "hammer"})
    write(tmp_path, level, STEPS)
    run = cli("preview", "--levels", "levels", "levels/forge.scenario.jsonl", "--json",
              cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert cli("test", "levels", cwd=tmp_path).returncode == 0


def test_the_violation_is_logged_with_file_task_and_condition(
        play: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        t = play(FORGE, [{"load": "forge"}, {"event_type": "near",
                                             "payload": {"target": "anvil"}}])
    records = [r for r in caplog.records if r.getMessage().startswith("ensures violated")]
    assert [(r.__dict__["what"], r.__dict__["condition"]) for r in records] == [
        ("task 'light_forge'", TASK_CONDITION), ("level 'forge'", "flag_set(flag='forge_cold')")]
    assert all(r.__dict__["file"].endswith("forge.json") for r in records)
    assert "forge.json: task 'light_forge': has_item(item='hammer') [/tasks/0/ensures/" \
        "conditions/1]" in records[0].getMessage()
    assert [f["what"] for f in t.ensures_failures] == ["task 'light_forge'", "level 'forge'"]


def test_ensures_is_checked_on_every_completion_of_a_repeatable_task(play: Any) -> None:
    level = {"id": "forge", "tasks": [
        {"id": "strike", "type": "near", "target": "anvil", "repeatable": True,
         "on_complete": [{"type": "modify_var", "var": "strikes", "delta": 1}],
         "ensures": {"type": "var_at_most", "var": "strikes", "value": 1}}]}
    near = {"event_type": "near", "payload": {"target": "anvil"}}
    t = play(level, [{"load": "forge"}, near, near])
    assert t.results[1]["completed_tasks"] == t.results[2]["completed_tasks"] == ["strike"]
    assert [f["condition"] for f in t.ensures_failures] == [
        "var_at_most(var='strikes', value=1)"]


def test_violations_are_counted_in_metrics(tmp_path: Path) -> None:
    levels = tmp_path / "levels"
    levels.mkdir()
    (levels / "forge.json").write_bytes(orjson.dumps(FORGE))
    settings = Settings(levels=levels, db=tmp_path / "state.db", watch=False,
                        rate_limit_per_second=0, log_level="warning")

    async def go() -> str:
        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        base = f"http://127.0.0.1:{server.port}"
        try:
            async with aiohttp.ClientSession() as http:
                await (await http.post(f"{base}/world/story/load",
                                       json={"player_id": "Steve", "level_id": "forge"})).read()
                async with http.post(f"{base}/world/story/rule-event",
                                     json={"player_id": "Steve", "event_type": "near",
                                           "payload": {"target": "anvil"}}) as r:
                    assert r.status == 200
                    assert (await r.json())["result"]["completed_tasks"] == ["light_forge"]
                async with http.get(f"{base}/metrics") as r:
                    return await r.text()
        finally:
            await server.close()

    metrics = asyncio.run(go())
    [line] = [m for m in metrics.splitlines()
              if m.startswith("quest_runtime_ensures_violations_total")]
    assert float(line.split()[-1]) == 2.0  # the task's and the level's
