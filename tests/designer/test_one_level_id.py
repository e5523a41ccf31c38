"""One level id, one file (issue 10, Deliver 2): ``validate``.

The same level id in two files anywhere under the folder is an error at every file but the
one that serves (shallowest path first, then lexicographic), naming that file; a
byte-identical copy is a warning (whichever serves, the level is the same).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quest_runtime.cli import main
from quest_runtime.levels.registry import serving_order


def _level(folder: Path, name: str, title: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"id": "lake", "title": title, "tasks": [
        {"id": "swim", "type": "near", "target": "lake", "count": 1}]}), encoding="utf-8")
    return path


def test_a_copy_in_a_subfolder_is_an_error_naming_both(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    levels = tmp_path / "levels"
    first = _level(levels, "lake.json", "Lake")
    # "a/" sorts before "lake.json", but the shallower file serves
    copy = _level(levels / "a" / "old", "lake.json", "Old lake")
    code = main(["validate", str(levels)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    [line] = [x for x in out if "duplicate" in x or "also used by" in x]
    assert line.startswith(f"{copy}:") and ": error: " in line
    assert f"also used by {first} (that file serves" in line
    assert out[-1] == "2/2 files loaded; 1 errors, 0 warnings"


def test_an_identical_copy_is_a_warning(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    levels = tmp_path / "levels"
    first = _level(levels, "lake.json", "Lake")
    copy = _level(levels / "legacy", "lake.json", "Lake")
    assert main(["validate", str(levels)]) == 0
    out = capsys.readouterr().out.splitlines()
    [line] = [x for x in out if "also used by" in x]
    assert line.startswith(f"{copy}:") and ": warning: " in line and str(first) in line


def test_serving_order_is_shallowest_then_lexicographic() -> None:
    paths = ["levels/z/lake.json", "levels/b.json", "levels/a/b/c.json", "levels/a.json"]
    assert sorted(paths, key=serving_order) == [
        "levels/a.json", "levels/b.json", "levels/z/lake.json", "levels/a/b/c.json"]
