"""Shared test helpers: transcripts of play (level + rule events in, results out).

A test writes a level as a dict and a list of steps, exactly as a scenario script
(SPEC §7) would, and gets back what each step produced::

    t = play(LEVEL, [
        {"load": "meadow"},
        {"event_type": "near", "payload": {"target": "mia_npc"},
         "expect": {"completed_tasks": ["greet_mia"]}},
    ])
    assert t.last["exit_ready"] is True

``play`` writes the level to a temporary levels folder, builds a ``LevelCatalog`` and
runs the steps through ``quest_runtime.designer.scenario.ScenarioRunner`` (the preview's runner:
same engine, in-memory store, fake clock at 0). Steps without a ``player`` are played
by ``Steve``. An ``expect`` on a step is a subset match (``subset_mismatches``); when it
fails, the test fails with the expected and actual results side by side.

``compile_level`` runs one level dict (or raw JSON text) through the loader and returns
its ``LoadResult`` (level or findings) for loader tests.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from store_faults import SmallDisk
from store_faults import small_disk as mount_small_disk

from quest_runtime import views
from quest_runtime.designer.replay import expectation_diff
from quest_runtime.designer.scenario import ScenarioRunner, Step, subset_mismatches
from quest_runtime.engine.shapes import EnsuresFailure
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.levels.findings import Severity
from quest_runtime.levels.loader import LoadResult, load_level_bytes

PLAYER = "Steve"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Every commit in the suite checks that the stored parts, joined, are the whole document
# (``Runtime._verify_storage``); services the tests start inherit it.
os.environ["QUEST_RUNTIME_VERIFY_STORAGE"] = "1"


# -- showing expected vs actual ------------------------------------------------------


def side_by_side(expected: Any, actual: Any) -> str:
    """What the test wanted against what the engine returned, rendered exactly as
    ``quest-runtime test`` renders a failed step (one renderer for both)."""
    return "\n".join(expectation_diff(expected, actual))


def assert_subset(expected: Any, actual: Any, what: str = "result") -> None:
    """Fail (without a traceback into this helper) unless ``actual`` contains
    ``expected`` as the preview's ``expect`` defines it."""
    mismatches = subset_mismatches(expected, actual, what)
    if mismatches:
        pytest.fail("\n".join(["expectation failed:", *(f"  - {m}" for m in mismatches), "",
                               side_by_side(expected, actual)]), pytrace=False)


# -- transcripts ---------------------------------------------------------------------


@dataclass
class Transcript:
    """What a sequence of steps produced."""

    steps: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    """One ``{"step": N, "result": ..., "error"?: ...}`` per step, as the preview prints."""
    states: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """Each player's state (as ``GET /state`` shows it) after the last step."""
    ensures_failures: list[EnsuresFailure] = field(default_factory=list)

    @property
    def results(self) -> list[Any]:
        """The ``result`` of every step, in step order (index 0 = step 1)."""
        return [o.get("result") for o in self.outputs]

    @property
    def last(self) -> Any:
        return self.outputs[-1].get("result")

    def error(self, index: int) -> dict[str, Any] | None:
        return self.outputs[index].get("error")

    def state(self, player: str = PLAYER) -> dict[str, Any]:
        state = self.states.get(player)
        assert state is not None, f"no state for player {player!r}"
        return state

    def nodes(self, index: int, node_type: str | None = None) -> list[dict[str, Any]]:
        result = self.results[index] or {}
        return [n for n in result.get("nodes", []) if node_type in (None, n.get("type"))]


def _level_items(levels: dict[str, Any] | Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [levels] if isinstance(levels, dict) else list(levels)


def write_levels(folder: Path, levels: dict[str, Any] | Iterable[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, level in enumerate(_level_items(levels), start=1):
        name = level.get("id") if isinstance(level.get("id"), str) else f"level_{n}"
        (folder / f"{name}.json").write_bytes(orjson.dumps(level, option=orjson.OPT_INDENT_2))


def run_transcript(folder: Path, levels: dict[str, Any] | Iterable[dict[str, Any]],
                   steps: list[dict[str, Any]], *, default_level: str | None = None,
                   check: bool = True) -> Transcript:
    """Write ``levels`` into ``folder``, play ``steps`` and return the transcript.

    A level with errors fails the test at once (its findings are shown). With ``check``,
    every step's ``expect`` must hold (all failures are shown side by side).
    """
    write_levels(folder, levels)
    catalog = LevelCatalog(folder)
    catalog.load_all()
    broken = [f.format() for s in catalog.files.values() if not s.ok for f in s.findings
              if f.severity is Severity.ERROR]
    if broken:
        pytest.fail("the test level does not load:\n" + "\n".join(broken), pytrace=False)
    prepared = []
    for n, step in enumerate(steps, start=1):
        data = dict(step)
        if "advance_seconds" not in data and "player" not in data and "player_id" not in data:
            data["player"] = PLAYER
        prepared.append(Step(n, n, data))
    runner = ScenarioRunner(catalog, default_level=default_level)
    players = list(dict.fromkeys(
        s.data["player"] if "player" in s.data else s.data["player_id"] for s in prepared
        if "advance_seconds" not in s.data))

    async def go() -> Transcript:
        await runner.runtime.open()
        try:
            outcomes = [await runner.run_step(s) for s in prepared]
            states = {p: await views.state_view(runner.runtime, p) for p in players}
        finally:
            await runner.runtime.close()
        transcript = Transcript([s.data for s in prepared], [o.output for o in outcomes],
                                states)
        for o in outcomes:
            transcript.ensures_failures.extend(o.ensures_failures)
        if check:
            failed = [o for o in outcomes if o.mismatches]
            if failed:
                report = []
                for o in failed:
                    shown = {k: v for k, v in o.step.data.items() if k != "expect"}
                    report.append(f"step {o.step.number}: {json.dumps(shown)[:200]}")
                    report.extend(f"  - {m}" for m in o.mismatches)
                    report.append(side_by_side(o.step.data["expect"], o.output.get("result")))
                    report.append("")
                pytest.fail("\n".join(report), pytrace=False)
        return transcript

    return asyncio.run(go())


Play = Callable[..., Transcript]


@pytest.fixture
def play(tmp_path: Path) -> Play:
    """``play(level_or_levels, steps, default_level=None, check=True) -> Transcript``."""
    counter = iter(range(1_000_000))

    def _play(levels: dict[str, Any] | Iterable[dict[str, Any]],
              steps: list[dict[str, Any]], **kwargs: Any) -> Transcript:
        return run_transcript(tmp_path / f"levels_{next(counter)}", levels, steps, **kwargs)

    return _play


# -- loader ------------------------------------------------------------------------


def compile_level(level: dict[str, Any] | str, *, name: str = "levels/quest.json",
                  level_id: str = "quest", strict: bool = False) -> LoadResult:
    """Load one level (a dict, or raw JSON text for position tests) from memory."""
    raw = level if isinstance(level, str) else json.dumps(level, indent=2, ensure_ascii=False)
    return load_level_bytes(raw.encode("utf-8"), name, level_id, strict=strict)


@pytest.fixture(name="compile_level")
def compile_level_fixture() -> Callable[..., LoadResult]:
    return compile_level


@pytest.fixture(name="assert_subset")
def assert_subset_fixture() -> Callable[..., None]:
    return assert_subset


# -- level-building shorthands ---------------------------------------------------------


def near(target: str, quest_event: str | None = None, **extra: Any) -> dict[str, Any]:
    """A ``near`` rule event shaped like the DriftSystem plugin's (SPEC §2.1)."""
    payload: dict[str, Any] = {
        "target": target,
        "quest_event": quest_event if quest_event is not None else f"near_{target}",
        "location": {"world": "world", "x": 12.5, "y": 64.0, "z": -28.5},
    }
    return {"event_type": "near", "payload": payload, **extra}


def chat(text: str, **extra: Any) -> dict[str, Any]:
    """A ``chat`` rule event as the plugin sends it (``quest_event`` = chat_ + slug)."""
    slugged = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    return {"event_type": "chat", "payload": {"text": text, "quest_event": f"chat_{slugged}"},
            **extra}


def quest_event(name: str, **extra: Any) -> dict[str, Any]:
    """A trigger-zone ``quest_event`` rule event."""
    return {"event_type": "quest_event",
            "payload": {"quest_event": name, "source": "trigger_zone",
                        "location": {"world": "world", "x": 1.0, "y": 64.0, "z": 1.0}},
            **extra}


@pytest.fixture(name="ev")
def events_fixture() -> SimpleNamespace:
    """Rule-event builders shaped like the plugin's: ``ev.near``, ``ev.chat``,
    ``ev.quest_event``."""
    return SimpleNamespace(near=near, chat=chat, quest_event=quest_event)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A tmpfs of 16 MiB mounted at ``tmp_path/disk`` for the test (``tests/store_faults.py``):
    ``fill()`` it with a ballast file, ``free()`` it again. Skipped where mounting is not
    permitted. Close stores on it before the test ends (it is unmounted in teardown)."""
    with mount_small_disk(tmp_path / "disk", 16 << 20) as disk:  # room for a 4 MB WAL and more
        yield disk
