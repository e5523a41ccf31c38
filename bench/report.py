"""``make bench``: the engine bench and the HTTP bench, then one table against the targets.

Runs ``bench/engine_bench.py --json`` (the engine in process, one core) and
``bench/http_bench.py --json`` (the service against the bare aiohttp floor, measured in
the same run, alternating; single events, batches of 100, the lakeside demo played with
the plugin's paths and payloads, long-history players beside fresh ones), and prints one
table: each figure, its target (issue 12's acceptance) and whether it is met. Every
figure is a median of ``--repeat`` runs (default 5); every HTTP ratio compares the
service with the floor of the same run.

::

    .venv/bin/python bench/report.py            # ~5 minutes
    .venv/bin/python bench/report.py --quick    # ~3 minutes: fewer, shorter runs
    .venv/bin/python bench/report.py --json     # both reports and the table rows

Progress goes to stderr; the table to stdout. Exit status 0, or 1 with
``--fail-on-miss`` when a target is missed, 2 when a bench failed to run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

Row = dict[str, Any]


def run_json(cmd: list[str]) -> dict[str, Any] | None:
    """Run a bench with ``--json``; its report, or None (it said why on stderr)."""
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        print(f"!! {Path(cmd[1]).name} printed no report (exit {proc.returncode})",
              file=sys.stderr)
        return None
    return report


def row(what: str, value: str, target: str, ok: bool | None, note: str = "") -> Row:
    return {"figure": what, "value": value, "target": target,
            "pass": ok, "note": note}


def engine_rows(report: dict[str, Any] | None) -> list[Row]:
    if report is None:
        return [row("engine bench", "failed", "", False)]
    targets = report.get("targets", {})
    out = []
    for n, s in enumerate(report.get("settings", [])):
        rate, ratio = s["median_events_per_s"], s.get("ratio", 1.0)
        if n == 0:
            goal = targets.get("smallest_events_per_s", 40_000)
            out.append(row(f"engine {s['setting']} events/s", f"{rate:,.0f}",
                           f">= {goal:,}", rate >= goal, f"{s['us_per_event']:.1f} µs/event"))
        else:
            goal = targets.get("max_ratio", 1.3)
            out.append(row(f"engine {s['setting']} cost ratio", f"{ratio:.2f}",
                           f"<= {goal}", ratio <= goal, f"{rate:,.0f} events/s"))
    return out


#: (scenario name prefix, what is compared, target): the HTTP acceptance figures.
HTTP_TARGETS = (("single c=1", "ratio", 0.40), ("single c=64", "ratio", 0.50),
                ("batch100 ", "ratio", 0.06), ("batch100 ", "events", 25_000))


def _scenario(report: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    return next((s for s in report["scenarios"] if s["name"].startswith(prefix)), None)


def _rate(sc: dict[str, Any], role: str, key: str = "req_s") -> float | None:
    m = (sc.get(role) or {}).get("median")
    return None if m is None else float(m[key])


def _cpu_ratio(sc: dict[str, Any]) -> float | None:
    floor = ((sc.get("floor") or {}).get("median") or {}).get("cpu_us")
    target = ((sc.get("target") or {}).get("median") or {}).get("cpu_us")
    return floor / target if floor and target else None


def http_rows(report: dict[str, Any] | None) -> list[Row]:
    if report is None:
        return [row("HTTP bench", "failed", "", False)]
    if report["servers"]["target"]["failure"]:
        return [row("HTTP bench", "target failed", "", False,
                    str(report["servers"]["target"]["failure"]))]
    out = []
    for prefix, kind, goal in HTTP_TARGETS:
        sc = _scenario(report, prefix)
        if sc is None or sc["ratio"] is None:
            continue
        floor, target = _rate(sc, "floor"), _rate(sc, "target")
        note = f"floor {floor:,.0f} req/s, service {target:,.0f} req/s"
        cpu = _cpu_ratio(sc)
        if cpu is not None:  # floor CPU / service CPU per request: steadier on a busy host
            note += f", CPU ratio {cpu:.2f}"
        if kind == "ratio":
            out.append(row(f"{sc['name']}: service / floor", f"{sc['ratio']:.2f}",
                           f">= {goal}", sc["ratio"] >= goal, note))
        else:
            events = _rate(sc, "target", "events_s") or 0.0
            out.append(row(f"{sc['name']}: events/s", f"{events:,.0f}", f">= {goal:,}",
                           events >= goal, note))
    lake = _scenario(report, "lakeside")
    if lake is not None and lake["ratio"] is not None:
        out.append(row(f"{lake['name']}: service / floor", f"{lake['ratio']:.2f}", "", None,
                       f"plugin traffic: {_rate(lake, 'target'):,.0f} req/s"))
    fresh, hist = _scenario(report, "fresh"), _scenario(report, "history")
    if fresh is not None and hist is not None:
        f, h = _rate(fresh, "target"), _rate(hist, "target")
        if f and h:
            out.append(row(f"{hist['name']}: cost vs fresh", f"{f / h:.2f}", "<= 1.3",
                           f / h <= 1.3, f"fresh {f:,.0f} req/s, history {h:,.0f} req/s"))
    return out


def print_table(rows: list[Row], header: str) -> None:
    print(header)
    head = ["figure", "value", "target", "met", "note"]
    cells = [head] + [[r["figure"], r["value"], r["target"],
                       "-" if r["pass"] is None else "yes" if r["pass"] else "NO", r["note"]]
                      for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    for n, c in enumerate(cells):
        print("  ".join(x.ljust(w) if i != 1 else x.rjust(w)
                        for i, (x, w) in enumerate(zip(c, widths, strict=True))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The engine and HTTP benches, one table.")
    p.add_argument("--quick", action="store_true", help="fewer, shorter runs (~3 min)")
    p.add_argument("--repeat", type=int, default=None, help="HTTP repeats (default 5, quick 3)")
    p.add_argument("--seconds", type=int, default=None,
                   help="seconds per HTTP run (default 2, quick 1)")
    p.add_argument("--json", action="store_true", help="print the reports and rows as JSON")
    p.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 5)
    seconds = args.seconds or (1 if args.quick else 2)
    py = sys.executable
    # the engine bench's settings without the intermediate ones (--quick), each a median
    # of 5 repeats (3 with --quick): building its worlds is most of its time
    engine = run_json([py, str(HERE / "engine_bench.py"), "--json", "--quick"]
                      + ([] if args.quick else ["--repeat", "5"]))
    http = run_json([py, str(HERE / "http_bench.py"), "--json", "--seconds", str(seconds),
                     "--repeat", str(repeat), "--connections", "1,64",
                     "--batch-connections", "8"]
                    + (["--history-listeners", "300", "--history-levels", "10"]
                       if args.quick else []))
    rows = engine_rows(engine) + http_rows(http)
    if args.json:
        print(json.dumps({"engine": engine, "http": http, "rows": rows}, indent=2))
    else:
        print_table(rows, f"quest-runtime benchmarks: medians of {repeat} HTTP runs of "
                    f"{seconds} s (floor in the same run) and of the engine bench's repeats")
    if engine is None or http is None:
        return 2
    missed = any(r["pass"] is False for r in rows)
    return 1 if args.fail_on_miss and missed else 0


if __name__ == "__main__":
    sys.exit(main())
