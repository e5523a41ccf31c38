"""Helpers of the studio tests: the real ``quest-runtime studio`` command on a copy of
the demo levels, and Debian's Chromium driven by Playwright (its own browser download is
not used). Screenshots go to ``tmp/studio-screenshots/`` (ignored by git)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Playwright is imported where a browser is started
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tmp" / "studio-screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
QUEST_RUNTIME = str(Path(sys.executable).with_name("quest-runtime"))


@dataclass
class Studio:
    url: str
    levels: Path
    proc: subprocess.Popen[str]


def copy_levels(target: Path) -> Path:
    shutil.copytree(ROOT / "levels", target)
    return target


def start_studio(levels: Path, cwd: Path) -> Studio:
    """``quest-runtime studio --levels DIR --port 0``; waits for the URL it prints."""
    log = cwd / "studio.log"
    with log.open("w") as out:
        proc = subprocess.Popen([QUEST_RUNTIME, "studio", "--levels", str(levels), "--port",
                                 "0"], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", log.read_text())
        if found:
            return Studio(found.group(1), levels, proc)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError(f"quest-runtime studio did not print its URL: {log.read_text()}")



def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / f"{name}.png"
    page.screenshot(path=str(target))
    return target
