"""The engine and explain share one set of gate rules (``engine/gates.py``).

Changing a rule's outcome through the predicate changes both what the engine does and
what explain says: neither keeps a copy of the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from quest_runtime.designer.explain import explain, task_listing
from quest_runtime.engine import gates
from quest_runtime.engine.core import Engine
from quest_runtime.engine.state import PlayerState, TaskStatus
from quest_runtime.levels.catalog import LevelCatalog

LEVEL: dict[str, Any] = {
    "id": "shared",
    "tasks": [
        {"id": "greet", "type": "near", "target": "mia_npc"},
        {"id": "wave", "type": "near", "target": "mia_npc"},
    ],
    "rule_listeners": [
        {"id": "hello", "type": "near", "targets": ["mia_npc"],
         "metadata": {"dialogue": "Hello!"}},
    ],
}
NEAR_MIA = ("near", {"target": "mia_npc", "quest_event": "near_mia_npc"})


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    folder = tmp_path / "levels"
    folder.mkdir()
    (folder / "shared.json").write_bytes(orjson.dumps(LEVEL))
    catalog = LevelCatalog(folder)
    catalog.load_all()
    assert catalog.get("shared") is not None, catalog.files
    return Engine(catalog.get)


def test_both_follow_the_rules_as_written(engine: Engine) -> None:
    state = PlayerState("Steve")
    engine.load(state, "shared", 0.0)
    assert state.session is not None
    assert state.session.tasks["wave"].status is TaskStatus.ISSUED
    found = explain(engine, state, *NEAR_MIA, 1.0)
    assert "hello" in found.fired["listeners_fired"]


def test_a_changed_task_rule_changes_the_engine_and_explain(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real = gates.why_not_eligible

    def wave_waits(task: Any, ts: Any, session: Any, now: float, holds: Any) -> Any:
        if task.id == "wave":
            return gates.Blocked("after", task="the_harvest")
        return real(task, ts, session, now, holds)

    monkeypatch.setattr(gates, "why_not_eligible", wave_waits)
    state = PlayerState("Steve")
    engine.load(state, "shared", 0.0)
    assert state.session is not None
    assert state.session.tasks["wave"].status is TaskStatus.PENDING      # the engine
    assert state.session.tasks["greet"].status is TaskStatus.ISSUED
    found = explain(engine, state, *NEAR_MIA, 1.0)                        # explain
    [wave] = [n for n in found.not_fired if n.id == "wave"]
    assert wave.reason == "not_issued" and "after 'the_harvest'" in wave.message
    compiled = engine.levels("shared")
    assert compiled is not None
    listing = {t["task_id"]: t for t in task_listing(compiled, state, 1.0)}
    assert "after 'the_harvest'" in listing["wave"]["why"]               # /debug/tasks


def test_a_changed_listener_rule_changes_the_engine_and_explain(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gates, "why_not_fired",
                        lambda *args: gates.Blocked("once", scope="session"))
    state = PlayerState("Steve")
    engine.load(state, "shared", 0.0)
    outcome = engine.handle(state, *NEAR_MIA, 1.0)
    assert "hello" not in outcome.journal.get("listeners_fired", [])     # the engine
    found = explain(engine, state, *NEAR_MIA, 2.0)                        # explain
    [hello] = [n for n in found.not_fired if n.id == "hello"]
    assert hello.reason == "once" and "already fired in this level session" in hello.message


def test_a_repeatable_task_in_cooldown_is_one_rule_for_both(tmp_path: Path) -> None:
    level = {"id": "daily", "tasks": [{"id": "chore", "type": "near", "target": "well",
                                       "repeatable": {"cooldown_seconds": 60}}]}
    folder = tmp_path / "levels"
    folder.mkdir()
    (folder / "daily.json").write_bytes(orjson.dumps(level))
    catalog = LevelCatalog(folder)
    catalog.load_all()
    engine = Engine(catalog.get)
    state = PlayerState("Steve")
    engine.load(state, "daily", 0.0)
    engine.handle(state, "near", {"target": "well"}, 10.0)
    assert state.session is not None
    status = state.session.tasks["chore"].status  # a name: the check below reads it anew
    assert status is TaskStatus.COMPLETED
    found = explain(engine, state, "near", {"target": "well"}, 40.0)
    [chore] = [n for n in found.not_fired if n.id == "chore"]
    assert chore.reason == "closed" and "re-issued in 30 s" in chore.message
    engine.handle(state, "near", {"target": "nothing"}, 70.0)             # cooldown over
    assert state.session.tasks["chore"].status is TaskStatus.ISSUED
