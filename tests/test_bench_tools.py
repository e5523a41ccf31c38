"""The performance diagnostics under ``bench/`` still run and measure what they say
(docs/operating.md "Performance"): the layer budget prints every layer, the ceiling server
answers rule events without the engine while loads still run for real, the HTTP
bench's CPU reading sees a busy process and its history cost pairs the runs of one
repeat, the instruction count repeats for the same code, and its history settings count
from one world that no run writes, each setting with its ratio."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from http_bench import bench_level, cpu_seconds, history_cost  # noqa: E402


def test_the_budget_prints_every_layer() -> None:
    done = subprocess.run([sys.executable, str(BENCH / "event_budget.py"), "--repeat", "1",
                           "--events", "200"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^(validate|engine|encode|runtime|sqlite c=64|batch100)\s+([\d.]+)", done.stdout,
        re.MULTILINE)}
    assert set(rows) == {"validate", "engine", "encode", "runtime", "sqlite c=64", "batch100"}
    assert all(v > 0 for v in rows.values()), rows
    assert rows["engine"] > rows["validate"]  # each layer adds to the one before


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_the_instruction_count_is_the_same_for_the_same_code() -> None:
    """Counted twice on this checkout (itself as the baseline): the same count, where two
    timings of the same code on this host differ by 1.2-3x."""
    done = subprocess.run([sys.executable, str(BENCH / "instructions.py"), "--stages",
                           "validate", "--events", "100", "--baseline", str(ROOT)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    row = re.search(r"^validate\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)$", done.stdout, re.MULTILINE)
    assert row is not None, done.stdout
    ours, theirs = (int(row.group(k).replace(",", "")) for k in (1, 2))
    assert 5_000 < ours < 500_000, ours  # a request's validation, not a start-up
    assert abs(ours - theirs) <= ours // 1000, (ours, theirs)


def _digest(folder: Path) -> dict[str, str]:
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def test_the_history_count_starts_every_run_from_the_same_world(tmp_path: Path) -> None:
    """``instructions.py --history`` builds a world once; its N and 2N runs each copy it,
    so a run (here without valgrind) leaves it as it was, and the world's journals are in
    retention's steady state with the players' next trims spread over the period."""
    from history_bench import PLAYERS
    from instructions import build_history

    from quest_runtime.store.sqlite import TRIM_CHUNK_DIVISOR

    world = asyncio.run(build_history(tmp_path, ["smallest"], quick=True))["smallest"]
    conn = sqlite3.connect(world / "state.db")
    last = dict(conn.execute("SELECT player_id, MAX(seq) FROM journal GROUP BY 1"))
    conn.close()
    period = 200 // TRIM_CHUNK_DIVISOR + 1  # the smallest world's journal_limit is 200
    assert [last[f"p{p}"] for p in range(PLAYERS)] == [
        200 + period + p * period // PLAYERS for p in range(PLAYERS)]
    before = _digest(world)
    assert set(before) >= {"state.db", "levels/bench.json"}, before
    for events in (64, 128):
        done = subprocess.run([sys.executable, str(BENCH / "instructions.py"), "--child",
                               "history:smallest", "--world", str(world), "--events",
                               str(events), "--quick"], capture_output=True, text=True,
                              timeout=60, cwd=ROOT, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert _digest(world) == before


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_the_history_count_prints_a_ratio_per_setting() -> None:
    done = subprocess.run([sys.executable, str(BENCH / "instructions.py"), "--history",
                           "--quick", "--stages", "tasks", "--events", "64"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {m.group(1): (int(m.group(2).replace(",", "")), float(m.group(3)))
            for m in re.finditer(r"^(smallest|tasks 100)\s+([\d,]+)\s+([\d.]+)$",
                                 done.stdout, re.MULTILINE)}
    assert set(rows) == {"smallest", "tasks 100"}, done.stdout
    assert rows["smallest"][1] == 1.0
    for count, ratio in rows.values():
        assert 50_000 < count < 5_000_000, rows  # an event through the store, not a start-up
        assert ratio == pytest.approx(count / rows["smallest"][0], abs=0.001)
    assert re.search(r"^worst ratio [\d.]+ \((within|above) the target\)$", done.stdout,
                     re.MULTILINE), done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: object) -> dict[str, object]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        answer: dict[str, object] = json.loads(r.read())
        return answer


@pytest.fixture
def ceiling(tmp_path: Path) -> Iterator[str]:
    levels = tmp_path / "levels"
    levels.mkdir()
    (levels / "bench.json").write_text(json.dumps(bench_level()))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(BENCH / "ceiling_server.py"), "serve",
                             "--port", str(port), "--db", str(tmp_path / "state.db"),
                             "--levels", str(levels), "--no-watch"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, "the ceiling server exited"
                assert time.monotonic() < deadline, "the ceiling server never answered"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_ceiling_server_answers_without_the_engine(ceiling: str) -> None:
    loaded = _post(ceiling + "/world/story/load", {"player_id": "p0", "level_id": "bench"})
    assert loaded["status"] == "ok" and loaded["result"] is not None  # a real load
    event = {"player_id": "p0", "event_type": "near", "payload": {"target": "npc_0"}}
    # the real service answers this near event with a task's progress and a world patch
    assert _post(ceiling + "/world/story/rule-event", event) == {"status": "ok",
                                                                   "result": None}
    batch = _post(ceiling + "/world/story/rule-events", {"events": [event, event]})
    assert batch == {"status": "ok", "results": [None, None]}


def test_the_cpu_reading_sees_a_busy_process() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        deadline = time.monotonic() + 20
        used = cpu_seconds(busy)
        while used is not None and used < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
            used = cpu_seconds(busy)
    finally:
        busy.kill()
        busy.wait()
    assert used is not None and used >= 0.3, used
    assert cpu_seconds(busy) is None  # reaped: no /proc entry
    assert cpu_seconds(None) is None


def test_the_history_cost_pairs_the_runs_of_one_repeat() -> None:
    """A host that slows down between repeats moves both runs of a repeat: the cost is the
    median of the repeats' own ratios, not the ratio of two medians taken from runs
    measured minutes apart."""
    def scenario(name: str, rates: list[float]) -> dict[str, object]:
        runs = [{"req_s": r} for r in rates]
        return {"name": name, "target": {"runs": runs, "median": {"req_s": sorted(rates)[1]}},
                "baseline": None}

    # the repeats' ratios are 1.1, 1.0 and 1.2 while the host's speed halves then recovers:
    # the medians (2,600 and 2,167 req/s) come from different repeats and give 1.2
    fresh = [3000.0, 1500.0, 2600.0]
    history = [f / r for f, r in zip(fresh, [1.1, 1.0, 1.2], strict=True)]
    results = [scenario("fresh64 c=16", fresh), scenario("history64 c=16", history)]
    cost = history_cost(results, "target")
    assert cost is not None
    assert cost[0] / cost[1] == pytest.approx(1.2)
    assert cost[2] == pytest.approx(1.1)
    assert history_cost(results, "baseline") is None  # a role without the scenarios


def test_the_store_shapes_write_what_the_store_keeps(tmp_path: Path) -> None:
    """Every shape of ``bench/store_shapes.py`` ends with the same journal: the store's
    retention (at least the last 200 entries, at most a trim chunk more), and a folded log
    leaves only what came after its last fold."""
    from store_shapes import JOURNAL_LIMIT, Shape

    kept = {}
    shapes = {"store": Shape(tmp_path / "a.db", 2, None),
              "slots": Shape(tmp_path / "b.db", 2, None, "slots"),
              "clustered": Shape(tmp_path / "c.db", 2, None, "clustered"),
              "fold": Shape(tmp_path / "d.db", 2, 100)}
    for name, shape in shapes.items():
        for i in range(330):
            shape.write([("p0", i % 10, float(i)), ("p1", i % 10, float(i))])
        kept[name] = shape.conn.execute(
            "SELECT COUNT(*) FROM journal WHERE player_id = 'p0'").fetchone()[0]
        if name == "fold":
            assert shape.conn.execute("SELECT COUNT(*) FROM change_log").fetchone()[0] == 60
        shape.close()
    tails = {"chunks": "SELECT entries FROM journal_tail WHERE player_id = 'p0'",
             "row": "SELECT journal_tail FROM players WHERE player_id = 'p0'"}
    for journal, tail in tails.items():
        chunked = Shape(tmp_path / f"{journal}.db", 2, None, journal)  # type: ignore[arg-type]
        for i in range(330):
            chunked.write([("p0", i % 10, float(i)), ("p1", i % 10, float(i))])
        rows = [r[0] for r in chunked.conn.execute(
            "SELECT entries FROM journal_chunks WHERE player_id = 'p0' ORDER BY last_seq")]
        rows += [r[0] for r in chunked.conn.execute(tail)]
        seqs = [json.loads(line)[0] for row in rows
                for line in (row if isinstance(row, str) else row.decode()).splitlines()]
        chunked.close()
        assert seqs == list(range(seqs[0], 331))  # every entry once, in order, newest last
        kept[journal] = len(seqs)
    assert kept["slots"] == kept["clustered"] == kept["store"]
    for count in kept.values():  # the fold's journal is 30 entries per player behind
        assert JOURNAL_LIMIT <= count <= JOURNAL_LIMIT + JOURNAL_LIMIT // 16 + 1


def test_the_store_shapes_print_a_ratio_per_shape() -> None:
    done = subprocess.run([sys.executable, str(BENCH / "store_shapes.py"), "--repeat", "1",
                           "--events", "640", "--players", "8", "--folds", "100"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    shape = r"store|store, chunks of 8|store, tail in row|log|log\+fold 100"
    rows = dict(re.findall(rf"^({shape})\s+[\d.]+\s+([\d.]+)", done.stdout, re.MULTILINE))
    assert set(rows) == {"store", "log", "log+fold 100", "store, chunks of 8",
                         "store, tail in row"}
    assert rows["store"] == "1.00"
