"""The outbox: pushed results not delivered yet (SPEC §4.12.1).

``PlayerState.outbox`` holds ``{"at": due, "result": R}`` entries, oldest first. Timer
firings (``Engine.fire_due``) and a plugin load's unread part (``Runtime.load_for_plugin``)
``keep`` results here; the runtime pushes them on the stream and drops what was
delivered; the engine merges what is left into the player's next rule-event result at
position (4) of §4.8 (``take``), once. Kept per player, not per session: a timer that
ends the level must still be heard.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import cast

from quest_runtime.engine.merger import ResultBuilder, Section, merge_results
from quest_runtime.engine.shapes import Result
from quest_runtime.engine.state import PlayerState

log = logging.getLogger(__name__)

#: Undelivered results kept per player; beyond it the two oldest are merged into one,
#: so nothing (commands above all) is lost while the list stays bounded.
MAX_OUTBOX = 100


def keep(state: PlayerState, results: Iterable[tuple[float, Result]]) -> None:
    """Add ``(at, result)`` pairs to the player's outbox (bounded: the oldest merged)."""
    outbox = state.outbox
    outbox.extend({"at": at, "result": result} for at, result in results)
    while len(outbox) > MAX_OUTBOX:
        first, second = outbox[0], outbox[1]
        merged = merge_results([first["result"], second["result"]])
        # two results in, so one out: never None
        outbox[0:2] = [{"at": first["at"], "result": cast(Result, merged)}]
        log.warning("outbox full: the two oldest undelivered results were merged",
                    extra={"player_id": state.player_id})


def take(state: PlayerState, out: ResultBuilder) -> None:
    """Merge every undelivered result into ``out`` at position (4), and forget them."""
    if not state.outbox:
        return
    for entry in state.outbox:
        result = entry["result"]
        out.absorb(result, Section.TIMERS)
        out.behaviors.extend(result.get("updated_behaviors") or ())
    out.note("pushed_results_delivered", len(state.outbox))
    state.outbox = []


def deliver_rest(state: PlayerState, result: Result | None) -> Result | None:
    """For a rule event whose result was built without the outbox (no level session):
    the outbox is appended to it, once."""
    if not state.outbox:
        return result
    merged = merge_results([result, *(e["result"] for e in state.outbox)])
    state.outbox = []
    return merged
