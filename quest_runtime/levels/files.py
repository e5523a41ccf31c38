"""Which paths of a levels folder are level files, and which may be read (issue 9).

One policy for a cold start, a full reload, the watcher and ``validate``:

- a level file is a ``*.json`` under the folder, not hidden, found without descending
  into linked folders (a folder symlink is never followed: its files would be copies of
  files served elsewhere, or files outside the folder);
- a file symlink is followed when its target resolves inside the levels folder and is a
  regular file; a link pointing outside the folder, a dangling or looping link, and
  anything that is not a regular file (a FIFO, ``/dev/zero``, a socket) get an error
  finding for that path and are never opened, so no byte of a file outside the folder
  reaches a message or a hint.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from quest_runtime.levels.findings import Finding, Severity


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") for part in parts)


def level_files(folder: Path) -> list[Path]:
    """Every ``*.json`` under ``folder`` (nested folders included, linked folders not),
    sorted, no hidden ones. Links and special files are listed: :func:`refusal` says
    whether one may be read."""
    if not folder.is_dir():
        return []
    out: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(root)
        out.extend(base / n for n in names if n.endswith(".json") and not n.startswith("."))
    return sorted(out)


def inside(folder: Path, path: Path) -> bool:
    """Whether ``path`` is a level file by position: under ``folder``, not hidden, and
    reached without passing through a linked folder."""
    folder = folder.absolute()
    path = path.absolute()
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        return False
    if not parts or _hidden(parts):
        return False
    here = folder
    for part in parts[:-1]:
        here = here / part
        if here.is_symlink():
            return False
    return True


def refusal(folder: Path, path: Path, name: str) -> Finding | None:
    """An error finding when ``path`` must not be read, else None (see the module)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return None  # gone: the caller treats it as deleted
    if stat.S_ISLNK(mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return _finding(name, "the link points at nothing (a dangling or looping "
                            "symbolic link)", "fix or delete the link", "dangling_link")
        root = folder.resolve()
        if target != root and root not in target.parents:
            return _finding(name, "the link points outside the levels folder; it is not "
                            "read", "copy the file into the levels folder instead of "
                            "linking it", "link_outside")
        mode = target.stat().st_mode
    if not stat.S_ISREG(mode):
        return _finding(name, "not a regular file (a FIFO, a device or a socket); it is "
                        "not read", "level files are plain JSON files", "not_a_file")
    return None


def _finding(name: str, message: str, hint: str, code: str) -> Finding:
    return Finding(name, 1, 1, "", Severity.ERROR, message, hint, code)
