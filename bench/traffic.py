"""Traffic shapes of ``bench/http_bench.py`` beyond the fixed ``near`` event.

- ``lakeside``: the demo level (``levels/lakeside.json``) played the way the DriftSystem
  plugin plays it (shared/PLUGIN.md): ``POST /story/load/{player}/lakeside`` with ``{}``,
  then the rule events of ``levels/lakeside.scenario.jsonl`` (near with the NPC's visible
  name, chat, block and entity clicks, a dialogue choice; no ``event_id``), each followed
  by ``GET /world/story/{player}/quest-log`` when its answer changed the quest log (the
  plugin's quest-log HUD), then the load again: one play-through per cycle and player.
  The lines of all players are interleaved (player after player at each step), so one
  player's requests are ``players`` requests apart and arrive in order.
- ``history``: players with a long history: ``levels`` small levels completed, one level
  whose ``listeners`` listeners (``once: "player"``, kept for ever) have all fired, and a
  journal at its retention limit; then the same ``near`` events as the single-event
  scenario, on the bench level. The same events for as many fresh players (``fresh``) in
  the same run give the cost of history: fresh req/s / history req/s (target ≤ 1.3).

Lines are ``METHOD<TAB>PATH<TAB>BODY`` (the wrk script formats each request once).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAKESIDE_LEVEL = ROOT / "levels" / "lakeside.json"
LAKESIDE_SCENARIO = ROOT / "levels" / "lakeside.scenario.jsonl"
HISTORY_LEVEL = "history"
RULE_EVENT = "/world/story/rule-event"


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def line(method: str, path: str, body: Any = None) -> str:
    return f"{method}\t{path}\t{'' if body is None else compact(body)}"


def lakeside_steps() -> list[tuple[str, dict[str, Any]]]:
    """The scenario's rule events after its load, as (event_type, payload)."""
    steps = []
    for text in LAKESIDE_SCENARIO.read_text(encoding="utf-8").splitlines():
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        step = json.loads(text)
        if "load" not in step:
            steps.append((step["event_type"], step.get("payload", {})))
    return steps


def lakeside_cycle(player: str, quest_log_after: set[int]) -> list[str]:
    """One play-through of ``player``: the load, the events, the quest-log reads."""
    out = [line("POST", f"/story/load/{player}/lakeside", {})]
    for n, (event_type, payload) in enumerate(lakeside_steps()):
        out.append(line("POST", RULE_EVENT, {"player_id": player, "event_type": event_type,
                                             "payload": payload}))
        if n in quest_log_after:
            out.append(line("GET", f"/world/story/{player}/quest-log"))
    return out


def interleave(cycles: list[list[str]]) -> list[str]:
    """Step after step, player after player (every cycle has the same length)."""
    return [cycle[k] for k in range(len(cycles[0])) for cycle in cycles]


def lakeside_lines(players: int, quest_log_after: set[int]) -> list[str]:
    return interleave([lakeside_cycle(f"lake{p}", quest_log_after) for p in range(players)])


def probe_quest_log(post: Callable[[str, str, bytes], tuple[int, bytes]],
                    player: str = "lakeprobe") -> set[int]:
    """Play the scenario once for ``player``; the steps whose answer carries
    ``active_tasks`` (the plugin's HUD changes, and the bench then reads the quest log)."""
    status, body = post("POST", f"/story/load/{player}/lakeside", b"{}")
    if status != 200:
        raise RuntimeError(f"lakeside load answered {status}: {body[:200]!r}")
    changed = set()
    for n, (event_type, payload) in enumerate(lakeside_steps()):
        request = {"player_id": player, "event_type": event_type, "payload": payload}
        status, body = post("POST", RULE_EVENT, compact(request).encode())
        if status != 200:
            raise RuntimeError(f"lakeside step {n} answered {status}: {body[:200]!r}")
        result = json.loads(body).get("result")
        if isinstance(result, dict) and result.get("active_tasks"):
            changed.add(n)
    return changed


# -- long history -----------------------------------------------------------------------

def history_levels(listeners: int, levels: int) -> dict[str, dict[str, Any]]:
    """The levels a long-history player went through: ``done_<k>`` (one task, completed
    at once) and ``history`` (``listeners`` once-per-player listeners on ``h_<i>``)."""
    out: dict[str, dict[str, Any]] = {
        f"done_{k}": {"id": f"done_{k}", "title": f"Done {k}",
                      "tasks": [{"id": "finish", "type": "near", "target": "done",
                                 "count": 1, "title": "Finish"}]}
        for k in range(levels)
    }
    out[HISTORY_LEVEL] = {
        "id": HISTORY_LEVEL, "title": "History",
        "tasks": [{"id": "never", "type": "near", "target": "nobody", "count": 1,
                   "title": "Never"}],
        "rule_listeners": [{"id": f"mark_{i}", "type": "near", "targets": [f"h_{i}"],
                            "once": "player",
                            "metadata": {"world_patch": {"mc": {"tell": "noted"}}}}
                           for i in range(listeners)],
    }
    return out


def near(player: str, target: str) -> dict[str, Any]:
    return {"player_id": player, "event_type": "near",
            "payload": {"target": target, "quest_event": f"near_{target}",
                        "location": {"world": "world", "x": 1.5, "y": 64.0, "z": -3.25}}}


def history_requests(player: str, listeners: int, levels: int, bench_level: str,
                     batch: int = 100) -> Iterable[tuple[str, str, Any]]:
    """What makes ``player``'s history, as (method, path, body): every small level loaded
    and completed, every history listener fired (in batches: the journal fills to its
    retention limit on the way), then the bench level loaded."""
    for k in range(levels):
        yield "POST", "/world/story/load", {"player_id": player, "level_id": f"done_{k}"}
        yield "POST", RULE_EVENT, near(player, "done")
    yield "POST", "/world/story/load", {"player_id": player, "level_id": HISTORY_LEVEL}
    events = [near(player, f"h_{i}") for i in range(listeners)]
    for start in range(0, len(events), batch):
        yield "POST", "/world/story/rule-events", {"events": events[start:start + batch]}
    yield "POST", "/world/story/load", {"player_id": player, "level_id": bench_level}
