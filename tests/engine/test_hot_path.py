"""The engine's per-event shortcuts (issue 12, Deliver 5) change no answer.

Each shortcut is checked against the slow way it replaces: memoised matches against the
dispatch indexes, placeholder splitting against the regular expression, shared gate
objects against fresh ones, and a task waiting for its ``after`` task against the
engine looking at it on every event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from quest_runtime.atoms import normalise
from quest_runtime.engine import gates
from quest_runtime.engine.commands import _PLACEHOLDER, substitute
from quest_runtime.engine.core import Engine
from quest_runtime.engine.state import PlayerState, TaskStatus
from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.levels.compiled import CompiledLevel

LEVEL: dict[str, Any] = {
    "id": "chain",
    "tasks": [
        {"id": "first", "type": "near", "target": "mia_npc", "count": 3},
        {"id": "second", "type": "near", "target": "tomas_npc", "after": ["first"]},
        {"id": "third", "type": "chat", "target": "lantern", "after": ["second"]},
    ],
    "rule_listeners": [
        {"id": "hello", "type": "near", "targets": ["mia_npc"],
         "metadata": {"dialogue": "Hello!", "commands": ["say {player} met Mia"]}},
        {"id": "story", "type": "chat", "targets": ["lantern"],
         "metadata": {"dialogue": "The lantern..."}},
    ],
}
NEAR_MIA = {"target": "mia_npc", "quest_event": "near_mia_npc"}


@pytest.fixture
def catalog(tmp_path: Path) -> LevelCatalog:
    folder = tmp_path / "levels"
    folder.mkdir()
    (folder / "chain.json").write_bytes(orjson.dumps(LEVEL))
    found = LevelCatalog(folder)
    found.load_all()
    assert found.get("chain") is not None, found.files
    return found


def level_of(catalog: LevelCatalog) -> CompiledLevel:
    level = catalog.get("chain")
    assert level is not None
    return level


def test_memoised_matches_are_the_index_matches(catalog: LevelCatalog) -> None:
    level = level_of(catalog)
    event = normalise("near", NEAR_MIA)
    first = level.matches(event)
    assert first == (level.match_tasks(event), level.match_listeners(event))
    assert first == ((0,), (0,))
    assert level.matches(normalise("near", dict(NEAR_MIA))) is first  # the same shape: kept
    other = normalise("near", {"target": "tomas_npc"})
    assert level.matches(other) == ((1,), ())


def test_chat_lines_are_matched_each_time(catalog: LevelCatalog) -> None:
    level = level_of(catalog)
    hit = normalise("chat", {"text": "where is the lantern?"})
    miss = normalise("chat", {"text": "hello there"})
    assert level.matches(hit) == ((2,), (1,))
    assert level.matches(miss) == ((), ())  # not a memo of the first line's answer


@pytest.mark.parametrize("player", ["Steve", "ab_9", "x" * 16])
def test_split_commands_read_as_the_regular_expression(player: str) -> None:
    commands = ["say {player} hi %player% and @player", "tp @players @p", "@player",
                "give {player}{player} bread", "a@player.b", "nothing here",
                "tell @player_x hi", "%player%"]
    assert substitute(commands, player) == [_PLACEHOLDER.sub(player, c) for c in commands]


def test_an_invalid_name_still_drops_only_commands_with_placeholders() -> None:
    commands = ["say {player} hi", "time set day", "tell @player_x hi", "@player"]
    assert substitute(commands, "not a name") == ["time set day", "tell @player_x hi"]


def test_shared_gate_objects_say_what_fresh_ones_say(catalog: LevelCatalog) -> None:
    level = level_of(catalog)
    state = PlayerState("Steve")
    Engine(catalog.get).load(state, "chain", 0.0)
    assert state.session is not None
    task = level.task_by_id["second"]
    ts = state.session.tasks["second"]
    blocked = gates.why_not_eligible(task, ts, state.session, 0.0, lambda c: True)
    again = gates.why_not_eligible(task, ts, state.session, 0.0, lambda c: True)
    assert blocked == gates.Blocked("after", task="first")
    assert again is blocked


def test_a_waiting_task_is_looked_at_again_only_after_a_completion(
        catalog: LevelCatalog, monkeypatch: pytest.MonkeyPatch) -> None:
    looks: list[str] = []
    real = gates.why_not_eligible

    def counted(task: Any, *args: Any) -> Any:
        looks.append(task.id)
        return real(task, *args)

    monkeypatch.setattr(gates, "why_not_eligible", counted)
    engine = Engine(catalog.get)
    state = PlayerState("Steve")
    engine.load(state, "chain", 0.0)
    assert state.session is not None
    assert looks == ["first", "second", "third"]  # the load looks at every pending task
    looks.clear()
    for now in (1.0, 2.0):  # first progresses, nothing completes: nobody is looked at
        out = engine.handle(state, "near", NEAR_MIA, now)
        assert out.journal["tasks_progressed"] == ["first"]
    assert looks == []
    out = engine.handle(state, "near", NEAR_MIA, 3.0)  # first completes: second opens
    assert out.journal["tasks_completed"] == ["first"]
    assert out.journal["tasks_issued"] == ["second"]
    assert state.session.tasks["second"].status is TaskStatus.ISSUED
    assert state.session.tasks["third"].status is TaskStatus.PENDING
    assert "second" in looks and "third" in looks
    looks.clear()
    engine.handle(state, "near", NEAR_MIA, 4.0)
    assert looks == []  # third still waits for second, which did not complete
    out = engine.handle(state, "near", {"target": "tomas_npc"}, 5.0)
    assert out.journal["tasks_issued"] == ["third"]
