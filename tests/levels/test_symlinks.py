"""Symlinks and special files in a levels folder (issue 9, item 5): one policy for a cold
start / full reload (``load_all``), the watcher (``reload_paths``) and ``validate``.

A file link is followed when its target is a regular file inside the folder; a link out
of the folder, a dangling link, a FIFO and ``/dev/zero`` get an error finding for that
path and are never read; a linked folder is never descended.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from quest_runtime.cli import validate
from quest_runtime.levels.catalog import LevelCatalog

SECRET = "TOPSECRETWORD"


def _level(level_id: str) -> bytes:
    return orjson.dumps({"id": level_id, "title": level_id, "format": 1,
                         "tasks": [{"id": "t", "type": "near", "target": "x",
                                    "title": "T", "hint": "h"}]})


def _status(catalog: LevelCatalog, path: Path) -> tuple[bool, list[str], str]:
    (entry,) = [e for e in catalog.describe() if Path(e["file"]).name == path.name]
    text = orjson.dumps(entry["findings"]).decode()
    return entry["ok"], [f["code"] for f in entry["findings"]], text


Load = Callable[[LevelCatalog, Path], None]


def _cold(catalog: LevelCatalog, path: Path) -> None:
    catalog.load_all()


def _watch(catalog: LevelCatalog, path: Path) -> None:
    catalog.load_all()
    catalog.reload_paths([path])  # what the watcher does when it reports the path


BOTH = pytest.mark.parametrize("load", [_cold, _watch], ids=["full-reload", "watcher"])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    levels = tmp_path / "levels"
    levels.mkdir()
    (levels / "real.json").write_bytes(_level("real"))
    return levels


@BOTH
def test_a_link_to_a_file_inside_the_folder_is_followed(folder: Path, load: Load) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "target.json").write_bytes(_level("shared"))
    link = folder / "alias.json"
    link.symlink_to(folder / "sub" / "target.json")
    catalog = LevelCatalog(folder)
    load(catalog, link)
    ok, codes, _ = _status(catalog, link)
    assert ok and "link_outside" not in codes
    assert catalog.get("shared") is not None and catalog.get("real") is not None


@BOTH
def test_a_link_out_of_the_folder_is_a_finding_and_never_read(
        folder: Path, tmp_path: Path, load: Load) -> None:
    outside = tmp_path / "private.txt"
    outside.write_text(f"{SECRET} not json at all")
    link = folder / "leak.json"
    link.symlink_to(outside)
    catalog = LevelCatalog(folder)
    load(catalog, link)
    ok, codes, text = _status(catalog, link)
    assert not ok and codes == ["link_outside"]
    assert SECRET not in text  # the hint never quotes the outside file
    assert catalog.get("real") is not None  # the other files keep serving


@BOTH
def test_a_link_to_a_level_outside_is_not_served(folder: Path, tmp_path: Path,
                                                 load: Load) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes(_level("elsewhere"))
    link = folder / "elsewhere.json"
    link.symlink_to(outside)
    catalog = LevelCatalog(folder)
    load(catalog, link)
    assert catalog.get("elsewhere") is None
    assert _status(catalog, link)[1] == ["link_outside"]


@BOTH
def test_a_dangling_link_is_a_finding(folder: Path, load: Load) -> None:
    link = folder / "gone.json"
    link.symlink_to(folder / "nothing-here.json")
    catalog = LevelCatalog(folder)
    load(catalog, link)
    assert _status(catalog, link)[:2] == (False, ["dangling_link"])


@BOTH
def test_a_link_to_dev_zero_is_a_finding_and_never_read(folder: Path, load: Load) -> None:
    link = folder / "zero.json"
    link.symlink_to("/dev/zero")  # reading it would never end
    catalog = LevelCatalog(folder)
    load(catalog, link)
    assert _status(catalog, link)[:2] == (False, ["link_outside"])


@BOTH
def test_a_link_inside_to_a_special_file_is_a_finding(folder: Path, load: Load) -> None:
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    link = folder / "pipe.json"
    link.symlink_to(fifo)
    catalog = LevelCatalog(folder)
    load(catalog, link)  # opening a FIFO would block the reload forever
    assert _status(catalog, link)[:2] == (False, ["not_a_file"])


@BOTH
def test_a_fifo_named_json_is_a_finding_and_never_opened(folder: Path, load: Load) -> None:
    fifo = folder / "fifo.json"
    os.mkfifo(fifo)
    catalog = LevelCatalog(folder)
    load(catalog, fifo)
    assert _status(catalog, fifo)[:2] == (False, ["not_a_file"])


@BOTH
def test_a_linked_folder_is_not_descended(folder: Path, tmp_path: Path, load: Load) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "linked.json").write_bytes(_level("linked"))
    (folder / "more").symlink_to(other, target_is_directory=True)
    catalog = LevelCatalog(folder)
    load(catalog, folder / "more" / "linked.json")
    assert catalog.get("linked") is None
    assert all(Path(e["file"]).name != "linked.json" for e in catalog.describe())
    assert catalog.get("real") is not None


def test_validate_applies_the_same_policy(folder: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "private.txt"
    outside.write_text(f"{SECRET} not json")
    (folder / "leak.json").symlink_to(outside)
    (folder / "gone.json").symlink_to(folder / "missing.json")
    assert validate([folder], strict=False, fmt="json") == 1
    out = capsys.readouterr().out
    assert "link_outside" in out and "dangling_link" in out and SECRET not in out
