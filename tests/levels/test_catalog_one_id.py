"""LevelCatalog, one level id, one file (issue 10, Deliver 2): the choices without HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from quest_runtime.levels.catalog import LevelCatalog


def _write(path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": "lake", "title": title, "tasks": [
        {"id": "swim", "type": "near", "target": "lake", "count": 1}]}), encoding="utf-8")
    return path


def test_watcher_keeps_the_serving_copy_full_reload_takes_serving_order(tmp_path: Path) -> None:
    levels = tmp_path / "levels"
    deep = _write(levels / "old" / "lake.json", "Old")
    cat = LevelCatalog(levels)
    cat.load_all()
    top = _write(levels / "lake.json", "Top")
    cat.reload_paths([top])  # a newcomer: refused, the deeper copy keeps serving
    level = cat.get("lake")
    assert level is not None and level.title == "Old"
    [entry] = [e for e in cat.describe() if e["file"].endswith("levels/lake.json")]
    assert entry["refused"] and entry["errors"] == 1
    cat.load_all()  # a full reload: the shallowest path serves
    level = cat.get("lake")
    assert level is not None and level.title == "Top"
    deep.unlink()
    cat.reload_paths([deep])
    level = cat.get("lake")
    assert level is not None and level.title == "Top"


def test_an_identical_copy_is_refused_with_a_warning(tmp_path: Path) -> None:
    levels = tmp_path / "levels"
    top = _write(levels / "lake.json", "Lake")
    _write(levels / "legacy" / "lake.json", "Lake")
    cat = LevelCatalog(levels)
    report = cat.load_all()
    assert not report.failed
    [copy] = [e for e in cat.describe() if "legacy" in e["file"]]
    assert copy["refused"] and copy["errors"] == 0
    assert [f["severity"] for f in copy["findings"]] == ["warning"]
    top.unlink()
    cat.reload_paths([top])
    level = cat.get("lake")
    assert level is not None and level.path.endswith("legacy/lake.json")
