"""The studio's pieces without a browser: the plugin view agrees with the test suite's
plugin model on the demo, findings land on the element they point at, the funnel counts
failures and new tries, and the studio API answers bad input with JSON 400s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp.test_utils import TestServer
from studio_helpers import ROOT, copy_levels

from quest_runtime.levels.findings import Finding
from quest_runtime.levels.loader import load_level
from quest_runtime.store.base import Commit, JournalEntry
from quest_runtime.store.memory import MemoryStore
from quest_runtime.studio.app import create_studio_app
from quest_runtime.studio.funnel import Funnel, ObservedStore
from quest_runtime.studio.levelmap import build_map


def _findings(path: Path) -> tuple[Finding, ...]:
    return load_level(path, str(path)).findings


def test_a_finding_is_drawn_on_the_option_it_points_at(tmp_path):
    doc = json.loads((ROOT / "levels" / "lakeside.json").read_text(encoding="utf-8"))
    option = doc["dialogues"]["tomas_fog"]["nodes"]["ask"]["options"][1]
    option["next"] = "brave_replyy"
    path = tmp_path / "lakeside.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    found = build_map(str(path), doc, _findings(path))
    carriers = {n["data"]["id"]: n["data"]["findings"] for n in found["elements"]["nodes"]
                if n["data"]["findings"]}
    carriers.update({e["data"]["id"]: e["data"]["findings"]
                     for e in found["elements"]["edges"] if e["data"]["findings"]})
    assert list(carriers) == ["dopt:tomas_fog:ask:brave"]
    (finding,) = carriers["dopt:tomas_fog:ask:brave"]
    assert "brave_replyy" in finding["message"] and finding["severity"] == "error"
    assert finding["where"].startswith(f"{path}:")


def test_a_file_that_is_not_json_keeps_its_findings_on_the_level(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"id": "broken", "tasks": [', encoding="utf-8")
    found = build_map(str(path), None, _findings(path))
    assert found["elements"]["nodes"] == []
    assert found["level_findings"] and found["level_findings"][0]["severity"] == "error"


def test_the_funnel_counts_failures_and_a_new_try_forgets_the_old_one():
    f = Funnel()
    f.observe("p", {"levels_loaded": ["lv"], "tasks_issued": ["a", "b"]}, 0.0)
    f.observe("p", {"tasks_failed": ["a"]}, 5.0)
    (level,) = f.report()["levels"]
    tasks = {t["task_id"]: t for t in level["tasks"]}
    assert (tasks["a"]["failed"], tasks["a"]["stopped_here"], tasks["b"]["stopped_here"]) \
        == (1, 0, 1)
    f.observe("p", {"levels_loaded": ["lv"], "tasks_issued": ["a", "b"]}, 10.0)  # again
    f.observe("p", {"tasks_completed": ["a", "b"], "levels_completed": ["lv"]}, 25.0)
    (level,) = f.report()["levels"]
    tasks = {t["task_id"]: t for t in level["tasks"]}
    assert (level["started"], level["completed"], level["in_progress"]) == (1, 1, 0)
    assert tasks["a"]["stopped_here"] == tasks["b"]["stopped_here"] == 0
    # timed within the try (level session) that completed it: issued at 10 s, done at 25 s
    assert tasks["a"]["median_seconds"] == tasks["b"]["median_seconds"] == 15.0
    assert f.report()["entries"] == 4


async def test_the_studio_api_answers_bad_input_with_json_errors(tmp_path):
    app = create_studio_app(copy_levels(tmp_path / "levels"), watch=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            for method, path, body in (
                    ("POST", "/api/sim/act", b"not json"),
                    ("POST", "/api/sim/act", b"[1]"),
                    ("POST", "/api/sim/act", orjson.dumps({"action": "fly", "player": "S"})),
                    ("POST", "/api/sim/act", orjson.dumps({"action": "near", "player": ""})),
                    ("POST", "/api/sim/act", orjson.dumps({"action": "advance",
                                                           "seconds": -1})),
                    ("POST", "/api/sim/save", orjson.dumps({"name": "../evil"})),
                    ("GET", "/api/map?file=nope.json", None),
                    ("GET", "/api/changes?since=x", None)):
                async with session.request(method, server.make_url(path),
                                           data=body) as response:
                    assert response.status == 400, (path, body)
                    assert (await response.json())["error"]["code"] == "bad_request"
            async with session.post(server.make_url("/api/sim/act"), data=orjson.dumps(
                    {"action": "load", "player": "S", "level": "nowhere"})) as response:
                assert response.status == 200  # shown as refused, not recorded
                assert (await response.json())["error"]["code"] == "unknown_level"
            async with session.get(server.make_url("/api/sim/scenario")) as response:
                assert "nowhere" not in await response.text()
            # a played step is recorded; a new session forgets it
            async with session.post(server.make_url("/api/sim/act"), data=orjson.dumps(
                    {"action": "load", "player": "S", "level": "lakeside"})) as response:
                assert (await response.json())["shown"][0]["titles"][0]["main"] \
                    == "§6Lakeside Lantern"
            async with session.get(server.make_url("/api/sim/scenario")) as response:
                assert '"load":"lakeside"' in await response.text()
            async with session.post(server.make_url("/api/sim/reset"), data=b"{}") as response:
                assert response.status == 200
            async with session.get(server.make_url("/api/sim/scenario")) as response:
                assert '"load"' not in await response.text()
            async with session.get(server.make_url("/api/sim/player?player=S")) as response:
                assert (await response.json())["state"] is None
    finally:
        await server.close()


class GatedStore(MemoryStore):
    """A memory store whose journal reads wait for a gate (to interleave commits)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.reading = asyncio.Event()

    async def journal(self, player_id, limit):
        self.reading.set()
        await self.gate.wait()
        return await super().journal(player_id, limit)


def entry(player: str, effects: dict[str, Any], at: float, n: int) -> Commit:
    return Commit(player, b"{}", n, JournalEntry(player, None, "chat", at, effects, b"",
                                                 f"d{player}{n}"))


async def test_entries_committed_while_the_funnel_reads_the_journal_count_once_in_order():
    inner = GatedStore()
    await inner.open()
    # history: Ann loaded the level and was issued a, then completed it
    await inner.commit(entry("Ann", {"levels_loaded": ["lv"], "tasks_issued": ["a"]}, 0.0, 0))
    await inner.commit(entry("Ann", {"tasks_completed": ["a"], "tasks_issued": ["b"]}, 4.0, 1))
    funnel = Funnel()
    store = ObservedStore(inner, funnel, 200)
    inner._open = False  # ObservedStore.open opens it again
    await store.open()
    await inner.reading.wait()  # the rebuild waits inside Ann's journal read
    # meanwhile Ann completes b, and Bob (not stored when the rebuild listed players) plays
    await store.commit(entry("Ann", {"tasks_completed": ["b"],
                                     "levels_completed": ["lv"]}, 10.0, 2))
    await store.commit(entry("Bob", {"levels_loaded": ["lv"], "tasks_issued": ["a"]}, 11.0, 0))
    assert funnel.report()["rebuilding"] is True
    inner.gate.set()
    assert store.rebuilt is not None
    await store.rebuilt
    (level,) = funnel.report()["levels"]
    tasks = {t["task_id"]: t for t in level["tasks"]}
    assert (level["started"], level["completed"], level["in_progress"]) == (2, 1, 1)
    assert (tasks["a"]["issued"], tasks["a"]["completed"], tasks["a"]["stopped_here"]) \
        == (2, 1, 1)
    assert (tasks["b"]["issued"], tasks["b"]["completed"], tasks["b"]["median_seconds"]) \
        == (1, 1, 6.0)
    assert funnel.entries == 4  # each entry once
    await store.close()
