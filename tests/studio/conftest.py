"""Fixtures of the studio tests (helpers: ``studio_helpers.py``)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from studio_helpers import CHROMIUM, CHROMIUM_ARGS, Studio, copy_levels, start_studio

if TYPE_CHECKING:  # Playwright is imported in the browser fixture, when a test needs one
    from playwright.sync_api import Browser, Page


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    running = start_studio(copy_levels(tmp_path / "levels"), tmp_path)
    try:
        yield running
    finally:
        running.proc.terminate()
        try:
            running.proc.wait(10)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            running.proc.wait()


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    # per test: the sync API keeps an event loop running while it is open, which the
    # asyncio tests of this folder must not meet
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    try:
        yield pg
    finally:
        context.close()
