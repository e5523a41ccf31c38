"""Console commands: placeholder substitution (SPEC §4.9).

Commands come only from level files. ``{player}``, ``%player%`` and ``@player`` are
replaced by the player id when it is a valid Minecraft name; otherwise every command
holding a placeholder is dropped (and logged) and the rest of the result stands.
Selectors such as ``@p`` pass through. Player text is never interpolated.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

#: A Minecraft name, matched whole (``fullmatch``: with ``match`` and ``$``, "Steve\n"
#: passed, as ``$`` also matches before a final line break).
PLAYER_NAME = re.compile(r"[A-Za-z0-9_]{1,16}")
_PLACEHOLDER = re.compile(r"\{player\}|%player%|@player(?![A-Za-z0-9_])")


def substitute(commands: list[str], player_id: str) -> list[str]:
    """The commands with placeholders filled, or dropped when the name is not valid."""
    if not commands:
        return commands
    valid = PLAYER_NAME.fullmatch(player_id) is not None
    out: list[str] = []
    for command in commands:
        if "player" not in command or _PLACEHOLDER.search(command) is None:
            out.append(command)
        elif valid:
            out.append(_PLACEHOLDER.sub(player_id, command))
        else:
            log.warning(
                "command dropped: player id is not a valid Minecraft name",
                extra={"player_id": player_id, "command": command},
            )
    return out
