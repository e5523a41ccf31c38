"""The studio in a real browser (Chromium through Playwright) on the demo level.

- the map shows the demo's seven tasks, its listeners by NPC and every dialogue program
  with its gated option;
- the demo is played to ``exit_ready`` by clicking the page alone, the session is saved
  as a scenario and ``quest-runtime test`` replays it green;
- a saved edit shows in the open page within a second, keeping the selection; a broken
  edit shows its finding on the element it names.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from studio_helpers import QUEST_RUNTIME, Studio, shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

DEMO = Path(__file__).resolve().parents[2] / "levels" / "lakeside.json"


def open_map(page: Page, studio: Studio) -> None:
    page.goto(studio.url + "#map")
    page.wait_for_function("window.studio && window.studio.mapReady")


def node_ids(page: Page, kind: str) -> list[str]:
    ids: list[str] = page.evaluate(
        f"window.studio.cy.nodes('[kind=\"{kind}\"]').map(n => n.id())")
    return ids


def test_the_map_shows_the_demo_tasks_listeners_and_dialogue_graphs(
        page: Page, studio: Studio) -> None:
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    open_map(page, studio)
    tasks = node_ids(page, "task")
    assert len(tasks) == 7
    assert sorted(tasks) == sorted(f"task:{t['id']}" for t in demo["tasks"])
    # the outline (DOM) lists the same seven tasks, by title
    titles = page.locator('#outline [data-group="task"] > li[data-kind="task"]').all_inner_texts()
    assert [t.splitlines()[0] for t in titles] == [t["title"] for t in demo["tasks"]]
    # after links: say_ready waits for greet_mia
    after = page.evaluate("window.studio.cy.edges('[kind=\"after\"]').map(e => "
                          "e.source().id() + '>' + e.target().id())")
    assert "task:greet_mia>task:say_ready" in after
    # listeners grouped by NPC: Mia's three near listeners are inside her group
    assert page.evaluate("window.studio.cy.getElementById('listener:mia_greeting')"
                         ".parent().id()") == "npc:mia_npc"
    assert page.evaluate("window.studio.cy.getElementById('listener:tomas_talk')"
                         ".parent().id()") == "npc:tomas_npc"
    # every dialogue program is drawn as its graph, the gated option with its condition
    programs = node_ids(page, "dialogue")
    assert sorted(programs) == sorted(f"dialogue:{d}" for d in demo["dialogues"])
    for did, program in demo["dialogues"].items():
        inside = page.evaluate(f"window.studio.cy.getElementById('dialogue:{did}')"
                               ".children().map(n => n.id())")
        for nid in program["nodes"]:
            assert f"dnode:{did}:{nid}" in inside
    brave = page.evaluate("window.studio.cy.getElementById('dopt:tomas_fog:ask:brave').data()")
    assert brave["gated"] is True and "var_at_least" in brave["requires"]
    # the timer and what schedules it; the listener that starts the program
    kinds = page.evaluate("window.studio.cy.edges().map(e => e.data('kind') + ':' + "
                          "e.source().id() + '>' + e.target().id())")
    assert "schedules:task:reach_boathouse>timer:storm" in kinds
    assert "starts:listener:tomas_talk>dialogue:tomas_fog" in kinds
    shot(page, "map")


def acted(page: Page, do: Callable[[], None]) -> None:
    """Run ``do`` (a click) and wait until the page has shown the action whole."""
    before = page.evaluate("window.studio.acts || 0")
    do()
    page.wait_for_function(f"(window.studio.acts || 0) > {before}")
    assert page.locator('[data-testid="refused"]').count() == 0


def click(page: Page, testid: str) -> None:
    acted(page, page.get_by_test_id(testid).click)


def latest(page: Page) -> str:
    return page.locator('[data-testid="entry"]').first.inner_text()


def test_play_the_demo_to_exit_ready_by_clicking_and_replay_the_saved_scenario(
        page: Page, studio: Studio) -> None:
    page.goto(studio.url + "#play")
    page.wait_for_function("window.studio && window.studio.mapReady")
    page.wait_for_selector('[data-testid="near-mia_npc"]')
    page.get_by_test_id("player").fill("Alex")
    click(page, "load")
    assert "Lakeside Lantern" in latest(page)  # the entry title, as the plugin shows it
    click(page, "near-mia_npc")
    assert "[Mia] Oh, you came!" in latest(page)
    assert "give Alex bread 1" in latest(page)
    page.get_by_test_id("chat").fill("I am ready to find the lantern")
    click(page, "chat-send")
    assert "任务完成：say_ready" in latest(page)
    click(page, "near-mia_npc")  # the tinderbox gift
    click(page, "block-barrel")  # the daily task: courage 1
    click(page, "click-tomas_npc")
    # the choice panel shows the gated "brave" option (courage 1)
    page.wait_for_selector('[data-testid="option"][data-option="brave"]')
    assert page.locator('[data-testid="option"]').count() == 3
    assert "tomas_fog" in page.get_by_test_id("state-dialogue stack").inner_text()
    shot(page, "simulator-choice")
    acted(page, page.locator('[data-testid="option"][data-option="brave"]').click)
    assert "give Alex honey_bottle 1" in latest(page)
    assert "brave_heart" in page.get_by_test_id("state-flags").inner_text()
    click(page, "block-bell")
    click(page, "block-spruce_door")  # reach_boathouse done: it schedules the storm (90 s)
    assert "storm" in page.get_by_test_id("state-timers").inner_text()
    page.get_by_test_id("advance-seconds").fill("90")
    click(page, "advance")
    assert "Thunder rolls over the lake" in latest(page)
    assert page.get_by_test_id("clock").inner_text() == "90 s"
    for block in ("chest", "lantern"):
        click(page, f"block-{block}")
    assert "light_lantern" in latest(page)
    click(page, "near-mia_npc")
    assert page.locator('[data-testid="entry"]').first.locator(
        '[data-testid="exit-ready"]').count() == 1
    assert "当前关卡任务全部完成" in latest(page)
    statuses = page.locator('[data-testid="task-status"]').all_inner_texts()
    assert statuses == ["completed"] * 7
    # what did not fire is explained beside the state
    assert page.locator('[data-testid="not-fired"]').count() > 0
    shot(page, "simulator")
    page.get_by_test_id("scenario-name").fill("alex_session")
    page.get_by_test_id("save").click()
    page.wait_for_function("document.getElementById('saved').textContent.includes('saved')")
    saved = studio.levels / "alex_session.scenario.jsonl"
    steps = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    assert steps[-1]["expect"]["exit_ready"] is True
    replay = subprocess.run([QUEST_RUNTIME, "test", str(saved)], capture_output=True,
                            text=True, cwd=studio.levels.parent)
    assert replay.returncode == 0, replay.stdout
    assert f"{len(steps)} steps: {len(steps)} passed, 0 failed" in replay.stdout


def wait_generation(page: Page, past: int, limit: float) -> float:
    started = time.monotonic()
    page.wait_for_function(f"Number(document.body.dataset.generation) > {past}",
                           timeout=limit * 1000)
    return time.monotonic() - started


def test_a_saved_edit_shows_within_a_second_and_a_broken_one_on_its_element(
        page: Page, studio: Studio) -> None:
    open_map(page, studio)
    page.locator('#outline li[data-id="task:say_ready"]').first.click()
    generation = page.evaluate("window.studio.generation")
    positions = page.evaluate("Object.fromEntries(window.studio.cy.nodes().map(n => "
                              "[n.id(), n.position()]))")
    level = studio.levels / "lakeside.json"
    doc = json.loads(level.read_text(encoding="utf-8"))
    doc["tasks"][1]["title"] = "Tell Mia you are ready (edited)"
    level.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    took = wait_generation(page, generation, 1.0)
    assert took < 1.0
    assert page.evaluate("window.studio.cy.getElementById('task:say_ready').data('label')") \
        == "Tell Mia you are ready (edited)"
    # the map is patched in place: every task still drawn where it was
    assert page.evaluate("window.studio.cy.nodes('[kind=\"task\"]').every(n => n.visible())")
    assert page.evaluate("window.studio.cy.getElementById('task:greet_mia').position()") \
        == positions["task:greet_mia"]
    # the view is kept: the same element is still selected
    assert page.evaluate("window.studio.cy.$(':selected').map(n => n.id())") == ["task:say_ready"]
    # break it: ask_tomas waits for a task that does not exist
    generation = page.evaluate("window.studio.generation")
    doc["tasks"][2]["after"] = ["say_redy"]
    level.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    wait_generation(page, generation, 1.0)
    findings = page.evaluate("window.studio.cy.getElementById('task:ask_tomas').data('findings')")
    assert findings and findings[0]["severity"] == "error"
    assert "say_redy" in findings[0]["message"]
    assert findings[0]["where"].startswith("levels/lakeside.json:")
    assert page.evaluate("window.studio.cy.getElementById('task:ask_tomas').data('worst')") \
        == "error"
    item = page.locator('#outline li[data-id="task:ask_tomas"]')
    assert "has-error" in (item.get_attribute("class") or "")
    assert "say_redy" in item.inner_text()
    # no other element carries it
    others = page.evaluate("window.studio.cy.elements().filter(e => e.id() !== 'task:ask_tomas'"
                           " && e.data('findings').length).map(e => e.id())")
    assert others == []
    page.locator('#outline li[data-id="task:ask_tomas"]').first.click()
    shot(page, "map-finding")
