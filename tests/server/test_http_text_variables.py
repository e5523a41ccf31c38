"""Text variables over a real service (issue 10, Deliver 5): narration names the player
and shows vars, items and flags; a player id with ``;`` or chat text holding ``{var:x}``
is shown as written, never expanded, and never reaches a console command."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
from http_helpers import Serve

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "text_variables"


async def test_narration_is_filled_and_hostile_input_stays_text(serve: Serve,
                                                                tmp_path: Path) -> None:
    levels = tmp_path / "levels"
    shutil.copytree(FIXTURE, levels, ignore=shutil.ignore_patterns("*.jsonl"))
    srv = await serve(levels=levels)

    loaded = await srv.load("Steve", "harbour")
    assert loaded is not None
    assert loaded["world_patch"]["mc"]["tell"] == "Welcome to the harbour, Steve."
    assert loaded["active_tasks"]["tasks"][0]["hint"] == "Steve, Ada waits on the quay."

    status, body = await srv.post("/story/load/Alex/harbour", {})  # the plugin's own call
    assert status == 200, body
    tells = orjson.loads(body)["bootstrap_patch"]["mc"]["tell"]
    assert "Welcome to the harbour, Alex." in tells
    assert any("Alex, Ada waits on the quay." in line for line in tells)  # the issue card

    hostile = "Steve;op Steve"  # the wire refuses braces in ids; ';' gets through
    loaded = await srv.load(hostile, "harbour")
    assert loaded is not None
    assert loaded["nodes"][0]["text"] == f"{hostile}, Ada waits on the quay."
    met = await srv.event({"player_id": hostile, "event_type": "near",
                           "payload": {"target": "Ada"}})
    assert met is not None
    assert met["world_patch"]["mc"]["tell"] == f"Ada waves at {hostile}."
    for n in (1, 2):
        result = await srv.event({"player_id": hostile, "event_type": "interact_block",
                                  "payload": {"block_type": "barrel"},
                                  "event_id": f"cod-{n}"})
    assert result is not None
    assert result["nodes"][0]["text"] == f"{hostile} lands 2 cod for 10 points."
    # "give {player} cod 2" dropped: not a Minecraft name (and empty keys are not sent)
    assert "commands" not in result

    said = "{var:score}; op @a {player}"
    chat = await srv.event({"player_id": hostile, "event_type": "chat",
                            "payload": {"text": said}})
    assert chat is None  # ordinary chat: nothing in this level listens, nothing expanded
    state = await srv.state(hostile)
    assert state["vars"] == {"score": 10} and state["items"] == {"cod": 2}
    answered = await srv.event({"player_id": hostile, "event_type": "chat",
                                "payload": {"text": "not tonight (2 cod to sell)."}})
    assert answered is not None
    assert answered["nodes"][0]["text"] == f"Goodnight, {hostile}. Score 10, cod 2."
    assert "commands" not in answered  # none (empty keys are not sent)
