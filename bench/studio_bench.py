"""How long the studio page takes to show a big level (Chromium, headless).

    .venv/bin/python bench/studio_bench.py [--tasks 1000] [--runs 3]

Writes a level of N tasks (chains of ten with ``after`` links, every tenth task also
``requires`` an earlier one, a listener per ten tasks) into a temporary folder, starts
``quest-runtime studio`` on it, and times in Chromium: the map JSON (server side) and
the page from navigation until the map is drawn (layout included). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "studio"))

from studio_helpers import CHROMIUM, CHROMIUM_ARGS, start_studio  # noqa: E402


def big_level(n: int) -> dict[str, object]:
    tasks: list[dict[str, object]] = []
    for i in range(n):
        task: dict[str, object] = {"id": f"t{i}", "type": "chat", "target": f"word{i}",
                                   "title": f"Task {i}"}
        if i % 10:
            task["after"] = [f"t{i - 1}"]
        elif i:
            task["requires"] = {"type": "task_completed", "task": f"t{i - 10}"}
        tasks.append(task)
    listeners = [{"id": f"l{i}", "type": "chat", "targets": [f"hello{i}"],
                  "metadata": {"dialogue": {"title": "Narrator", "text": f"hello {i}"}}}
                 for i in range(0, n, 10)]
    return {"id": "big", "title": f"{n} tasks", "tasks": tasks, "rule_listeners": listeners}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "levels"
        folder.mkdir()
        (folder / "big.json").write_text(json.dumps(big_level(args.tasks)), encoding="utf-8")
        studio = start_studio(folder, Path(tmp))
        try:
            page_ms: list[float] = []
            map_ms: list[float] = []
            layout_ms: list[float] = []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for _ in range(args.runs):
                    context = browser.new_context(viewport={"width": 1600, "height": 1000})
                    page = context.new_page()
                    started = time.perf_counter()
                    page.goto(studio.url + "#map")
                    page.wait_for_function("window.studio && window.studio.mapReady",
                                           timeout=120_000)
                    page_ms.append((time.perf_counter() - started) * 1000)
                    map_ms.append(page.evaluate(
                        "(async () => { const t = performance.now(); await fetch("
                        "'/api/map?file=' + encodeURIComponent(window.studio.file)); "
                        "return performance.now() - t; })()"))
                    nodes = page.evaluate("window.studio.cy.nodes('[kind=\"task\"]').length")
                    layout_ms.append(page.evaluate("window.studio.layoutMs"))
                    context.close()
                browser.close()
        finally:
            studio.proc.terminate()
            studio.proc.wait(10)
    print(json.dumps({"tasks": args.tasks, "task_nodes_drawn": nodes,
                      "page_ms_median": round(statistics.median(page_ms)),
                      "page_ms": [round(x) for x in page_ms],
                      "layout_ms_median": round(statistics.median(layout_ms)),
                      "map_json_ms_median": round(statistics.median(map_ms))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())


