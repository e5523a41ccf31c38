"""Console commands: placeholder substitution (SPEC §4.9).

Commands come only from level files. ``{player}``, ``%player%`` and ``@player`` are
replaced by the player id when it is a valid Minecraft name; otherwise every command
holding a placeholder is dropped (and logged) and the rest of the result stands.
Selectors such as ``@p`` pass through. Player text is never interpolated.

On the per-event path: a command is split at its placeholders once (``_pieces``, kept
in a bounded memo: commands come from level files, so they repeat), then joined with the
player id; no regular expression runs per event.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

#: A Minecraft name, matched whole (``fullmatch``: with ``match`` and ``$``, "Steve\n"
#: passed, as ``$`` also matches before a final line break).
PLAYER_NAME = re.compile(r"[A-Za-z0-9_]{1,16}")
_PLACEHOLDER = re.compile(r"\{player\}|%player%|@player(?![A-Za-z0-9_])")

#: command -> its text split at the placeholders (one piece: it holds none). Bounded: it
#: stops growing when full (a command not kept is split again next time).
_PIECES: dict[str, tuple[str, ...]] = {}
_PIECES_MAX = 4096


def _pieces(command: str) -> tuple[str, ...]:
    found = _PIECES.get(command)
    if found is None:
        found = (command,) if "player" not in command else tuple(_PLACEHOLDER.split(command))
        if len(_PIECES) < _PIECES_MAX:
            _PIECES[command] = found
    return found


def substitute(commands: list[str], player_id: str) -> list[str]:
    """The commands with placeholders filled, or dropped when the name is not valid."""
    if not commands:
        return commands
    valid: bool | None = None
    out: list[str] = []
    for command in commands:
        pieces = _pieces(command)
        if len(pieces) == 1:
            out.append(command)
            continue
        if valid is None:
            valid = PLAYER_NAME.fullmatch(player_id) is not None
        if valid:
            out.append(player_id.join(pieces))
        else:
            log.warning(
                "command dropped: player id is not a valid Minecraft name",
                extra={"player_id": player_id, "command": command},
            )
    return out
