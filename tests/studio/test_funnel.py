"""The funnel at ``/studio`` on the real service: a scripted population of players plays
the demo over HTTP (a fake clock moves between their steps), and the page, in Chromium,
shows exactly the counts the script implies. The aggregate is rebuilt from the journal
after a restart with the same numbers; the page and its API need the admin token."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestServer
from studio_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS, copy_levels

from quest_runtime.clock import FakeClock
from quest_runtime.designer.scenario import parse_script
from quest_runtime.server.app import create_app
from quest_runtime.settings import Settings

ADMIN = "admin-s3cret"
PLUGIN = "plugin-s3cret"
STEPS = [s.data for s in parse_script(
    (ROOT / "levels" / "lakeside.scenario.jsonl").read_text(encoding="utf-8"), "demo")]
# what each demo step does to the tasks (levels/README.md, "How the demo plays")
ISSUES = {0: ["greet_mia"], 1: ["say_ready", "check_traps"], 2: ["ask_tomas"],
          5: ["reach_boathouse"], 8: ["light_lantern"], 10: ["return_to_mia"]}
COMPLETES = {1: ["greet_mia"], 2: ["say_ready"], 4: ["check_traps"], 5: ["ask_tomas"],
             8: ["reach_boathouse"], 10: ["light_lantern"], 11: ["return_to_mia"]}
TASKS = ["greet_mia", "say_ready", "ask_tomas", "reach_boathouse", "light_lantern",
         "return_to_mia", "check_traps"]
# player -> (steps played, seconds the clock moves after each of their steps)
POPULATION = {"Ann": (12, 10), "Bob": (12, 20), "Cat": (12, 30), "Dan": (3, 40),
              "Eve": (3, 50), "Fay": (1, 70), "Gus": (6, 60)}


def expected() -> dict[str, dict[str, Any]]:
    """Per task: players issued/completed, the median issue → completion time, and the
    players who stopped with it open, from the script alone."""
    out: dict[str, dict[str, Any]] = {}
    for task in TASKS:
        issued_at = {p: i for p, (n, _) in POPULATION.items() for i in range(n)
                     if task in ISSUES.get(i, [])}
        done_at = {p: i for p, (n, _) in POPULATION.items() for i in range(n)
                   if task in COMPLETES.get(i, [])}
        durations = [(done_at[p] - issued_at[p]) * POPULATION[p][1] for p in done_at]
        finished = {p for p, (n, _) in POPULATION.items() if n == 12}
        out[task] = {"issued": len(issued_at), "completed": len(done_at), "failed": 0,
                     "median_seconds": statistics.median(durations) if durations else None,
                     "stopped_here": len([p for p in issued_at if p not in done_at
                                          and p not in finished])}
    return out


async def start(tmp_path: Path, levels: Path, clock: FakeClock) -> tuple[TestServer, Any]:
    settings = Settings(levels=levels, db=tmp_path / "state.db", watch=False,
                        rate_limit_per_second=0, log_level="warning", token=PLUGIN,
                        admin_token=ADMIN)
    app = create_app(settings, clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, app


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with session.post(url, data=orjson.dumps(body),
                            headers={"Authorization": f"Bearer {PLUGIN}",
                                     "Content-Type": "application/json"}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def play_population(base: str, clock: FakeClock) -> None:
    async with aiohttp.ClientSession() as session:
        for player, (count, gap) in POPULATION.items():
            for i, step in enumerate(STEPS[:count]):
                if "load" in step:
                    await post(session, base + "/world/story/load",
                               {"player_id": player, "level_id": step["load"]})
                else:
                    body = await post(session, base + "/world/story/rule-event",
                                      {"player_id": player, "event_type": step["event_type"],
                                       "payload": step["payload"]})
                    if i == 11:
                        assert body["result"]["exit_ready"] is True
                clock.advance(gap)


async def funnel_json(base: str, headers: dict[str, str]) -> tuple[int, Any, Any]:
    """The funnel report, once the start-up rebuild (in the background) is done."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            async with session.get(base + "/studio/api/funnel", headers=headers) as response:
                body = await response.json()
                if response.status != 200 or not body["rebuilding"]:
                    return response.status, body, response.headers
            await asyncio.sleep(0.05)
    raise AssertionError("the funnel never finished reading the journal")


def check(report: dict[str, Any]) -> None:
    (level,) = report["levels"]
    assert (level["level_id"], level["started"], level["completed"], level["in_progress"]) \
        == ("lakeside", 7, 3, 4)
    got = {t["task_id"]: {k: t[k] for k in ("issued", "completed", "failed",
                                           "median_seconds", "stopped_here")}
           for t in level["tasks"]}
    assert got == expected()
    assert [t["task_id"] for t in level["tasks"]] == TASKS  # file order


async def test_the_funnel_page_shows_the_scripted_population_exactly(tmp_path):
    from playwright.async_api import async_playwright

    levels = copy_levels(tmp_path / "levels")
    clock = FakeClock(1_000_000.0)
    server, _ = await start(tmp_path, levels, clock)
    base = str(server.make_url("")).rstrip("/")
    try:
        await play_population(base, clock)
        # the admin token is needed: none, the plugin's, then the admin's
        status, body, headers = await funnel_json(base, {})
        assert status == 401 and body["error"]["code"] == "unauthorized"
        assert headers["WWW-Authenticate"].startswith("Basic")
        status, _, _ = await funnel_json(base, {"Authorization": f"Bearer {PLUGIN}"})
        assert status == 401
        async with aiohttp.ClientSession() as session, session.get(
                base + "/studio", allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (302, "/studio/")
        status, live, _ = await funnel_json(base, {"Authorization": f"Bearer {ADMIN}"})
        assert status == 200
        check(live)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(
                    viewport={"width": 1400, "height": 800},
                    http_credentials={"username": "designer", "password": ADMIN})
                page = await context.new_page()
                await page.goto(base + "/studio/")
                await page.wait_for_selector("body[data-ready='1']")
                want = expected()
                for task in TASKS:
                    row = page.locator(f'tr[data-task="{task}"]')
                    for col, key in (("issued", "issued"), ("completed", "completed"),
                                     ("failed", "failed"), ("stopped", "stopped_here")):
                        text = await row.locator(f'td[data-col="{col}"]').inner_text()
                        assert int(text) == want[task][key], (task, col)
                counts = await page.get_by_test_id("level-counts").inner_text()
                assert counts == "started 7 · completed 3 · in progress 4"
                await page.screenshot(path=str(shot_path("funnel")))
            finally:
                await browser.close()
    finally:
        await server.close()
    # a restart rebuilds the same aggregate from the journal
    server, _ = await start(tmp_path, levels, clock)
    try:
        base = str(server.make_url("")).rstrip("/")
        status, rebuilt, _ = await funnel_json(base, {"Authorization": f"Bearer {ADMIN}"})
        assert status == 200
        check(rebuilt)
        assert rebuilt["levels"] == live["levels"]
    finally:
        await server.close()


def shot_path(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"



