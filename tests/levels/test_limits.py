"""Bounds on level files (issue 9): depth and size limits are error findings with the
limit in the message, and any failure while loading one file is a finding for that file
only, never an exception out of the loader, the catalog or ``validate``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quest_runtime.levels.catalog import LevelCatalog
from quest_runtime.levels.compiler import LevelCompiler
from quest_runtime.levels.findings import Severity
from quest_runtime.levels.loader import LoadResult

Compile = Callable[..., LoadResult]

REPO = Path(__file__).resolve().parents[2]
# The documented bounds (docs/levels.md, quest_runtime/levels/py).
MAX_CONDITION_DEPTH = 32
MAX_EFFECT_DEPTH = 32
MAX_PHRASE_CHARS = 256
MAX_TASKS = 1000
MIN_REPEAT_SECONDS = 1.0


def nested_not(depth: int) -> str:
    """``depth`` conditions, each a ``not`` of the next (JSON text: orjson and json refuse
    to write something this deep)."""
    inner = '{"type": "flag_set", "flag": "x"}'
    return '{"type": "not", "condition": ' * (depth - 1) + inner + "}" * (depth - 1)


def deep_level(depth: int, level_id: str = "deep") -> str:
    head = '{"id": "' + level_id + '", "tasks": [{"id": "t", "type": "near", "target": "b",\n'
    return head + ' "requires": ' + nested_not(depth) + "}]}"


def errors(result: Any) -> list[Any]:
    return [f for f in result.findings if f.severity is Severity.ERROR]


@pytest.mark.parametrize("depth", [33, 950, 1000])
def test_conditions_nested_past_the_limit_are_one_error_finding(
        depth: int, compile_level: Compile) -> None:
    result = compile_level(deep_level(depth))
    assert not result.ok
    [finding] = errors(result)
    assert finding.code == "too_deep"
    assert f"max nesting depth is {MAX_CONDITION_DEPTH}" in finding.message
    # at the first condition past the limit, with its line and column
    assert finding.pointer == "/tasks/0/requires" + "/condition" * MAX_CONDITION_DEPTH
    text = deep_level(depth)
    offset = text.index('{"type": "not"', 0)
    for _ in range(MAX_CONDITION_DEPTH):
        offset = text.index('{"type": ', offset + 1)
    assert (finding.line, finding.column) == (2, offset - text.index("\n") )


def test_conditions_at_the_limit_load(compile_level: Compile) -> None:
    result = compile_level(deep_level(MAX_CONDITION_DEPTH))
    assert result.ok, result.findings


def nested_if(depth: int) -> dict[str, Any]:
    effect: dict[str, Any] = {"type": "set_flag", "flag": "x"}
    for _ in range(depth - 1):
        effect = {"type": "if", "condition": {"type": "flag_set", "flag": "y"},
                  "then": [effect]}
    return effect


def test_effects_nested_past_the_limit_are_an_error_finding(compile_level: Compile) -> None:
    level = {"tasks": [{"id": "t", "type": "near", "target": "b",
                        "on_complete": [nested_if(MAX_EFFECT_DEPTH + 1)]}]}
    result = compile_level(level)
    assert not result.ok
    [finding] = errors(result)
    assert finding.code == "too_deep"
    assert f"max nesting depth is {MAX_EFFECT_DEPTH}" in finding.message
    level["tasks"][0]["on_complete"] = [nested_if(MAX_EFFECT_DEPTH)]
    assert compile_level(level).ok


def test_deep_effects_in_a_dialogue_are_an_error_finding(compile_level: Compile) -> None:
    deep = nested_if(200)
    level = {"tasks": [], "dialogues": {"d": {"nodes": {
        "a": {"type": "line", "text": "hi", "effects": [deep], "next": "b"},
        "b": {"type": "end"}}}}}
    result = compile_level(level)
    assert [f.code for f in errors(result)] == ["too_deep"]


def test_too_many_tasks_is_an_error_finding(compile_level: Compile) -> None:
    tasks = [{"id": f"t{i}", "type": "near", "target": "b"}
             for i in range(MAX_TASKS + 1)]
    result = compile_level({"tasks": tasks})
    assert not result.ok
    [finding] = errors(result)
    assert finding.pointer == "/tasks" and finding.code == "too_many"
    assert f"the limit is {MAX_TASKS}" in finding.message


def test_a_chain_of_after_as_long_as_the_task_limit_loads(compile_level: Compile) -> None:
    # each task comes after the next one written, so a depth-first walk in file order
    # goes the whole chain deep
    tasks = [{"id": f"t{i}", "type": "near", "target": "b",
              **({"after": [f"t{i + 1}"]} if i + 1 < MAX_TASKS else {})}
             for i in range(MAX_TASKS)]
    result = compile_level({"tasks": tasks})
    assert result.ok, errors(result)[:3]


@pytest.mark.parametrize("where", ["task", "listener"])
def test_a_chat_phrase_longer_than_the_limit_is_an_error_finding(
        where: str, compile_level: Compile) -> None:
    phrase = "word " * (MAX_PHRASE_CHARS // 5) + "end"
    assert len(phrase) > MAX_PHRASE_CHARS
    if where == "task":
        level: dict[str, Any] = {"tasks": [{"id": "t", "type": "chat", "target": ["ok", phrase]}]}
        pointer = "/tasks/0/target/1"
    else:
        level = {"tasks": [], "rule_listeners": [{"id": "l", "type": "chat",
                                                  "targets": [phrase]}]}
        pointer = "/rule_listeners/0/targets/0"
    result = compile_level(level)
    [finding] = errors(result)
    assert (finding.code, finding.pointer) == ("too_long", pointer)
    assert f"the limit is {MAX_PHRASE_CHARS}" in finding.message


def test_a_long_target_that_is_not_a_chat_phrase_is_fine(compile_level: Compile) -> None:
    level = {"tasks": [{"id": "t", "type": "near", "target": "x" * 1000}]}
    assert compile_level(level).ok


def test_a_timer_repeating_faster_than_the_minimum_is_an_error_finding(
        compile_level: Compile) -> None:
    level: dict[str, Any] = {"tasks": [], "timers": {"tick": {
        "delay_seconds": 1, "repeat_seconds": 0.001,
        "effects": [{"type": "say", "text": "t"}]}}}
    result = compile_level(level)
    [finding] = errors(result)
    assert (finding.code, finding.pointer) == ("short_period", "/timers/tick/repeat_seconds")
    assert f"minimum period is {MIN_REPEAT_SECONDS:g} s" in finding.message
    level["timers"]["tick"]["repeat_seconds"] = MIN_REPEAT_SECONDS
    assert compile_level(level).ok


# -- any failure is a finding of its file ------------------------------------------------


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a bug in the compiler")


def test_an_internal_error_while_loading_is_a_finding_of_that_file(
        monkeypatch: pytest.MonkeyPatch, compile_level: Compile) -> None:
    monkeypatch.setattr(LevelCompiler, "compile", boom)
    result = compile_level({"tasks": []})
    assert not result.ok
    [finding] = result.findings
    assert finding.code == "internal_error" and "RuntimeError" in finding.message


def good_level(level_id: str) -> str:
    return json.dumps({"id": level_id, "tasks": [{"id": "t", "type": "near", "target": "b"}]})


def test_a_deep_file_does_not_stop_the_catalog_or_its_batch(tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    folder.mkdir()
    (folder / "a_good.json").write_text(good_level("a_good"))
    (folder / "deep.json").write_text(deep_level(1000))
    (folder / "z_good.json").write_text(good_level("z_good"))
    catalog = LevelCatalog(folder)
    report = catalog.load_all()
    assert sorted(catalog.levels) == ["a_good", "z_good"]
    assert [Path(f).name for f in report.failed] == ["deep.json"]
    # a watcher batch: the deep file first, the good ones after it are still reloaded
    (folder / "a_good.json").write_text(good_level("a_good2"))
    (folder / "z_good.json").write_text(good_level("z_good2"))
    report = catalog.reload_paths([folder / "deep.json", folder / "a_good.json",
                                   folder / "z_good.json"])
    assert sorted(catalog.levels) == ["a_good2", "z_good2"]


def test_validate_reports_a_deep_file_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text(deep_level(1000))
    (tmp_path / "good.json").write_text(good_level("good"))
    run = subprocess.run([sys.executable, "-m", "quest_runtime", "validate", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert "max nesting depth is 32" in run.stdout
    assert "1/2 files loaded" in run.stdout
