"""Level-format migrations: ordered ``vN_to_vN+1(raw) -> raw`` steps (SPEC §3, STYLE 17).

A level file says its ``format`` (default 1). Before validation the loader runs every
step from the file's version up to ``CURRENT_FORMAT``. Format 1 is the first format, so
the list is empty today; the next change to the format adds one named step here (with a
before/after test) instead of teaching the compiler two shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CURRENT_FORMAT = 1

Step = Callable[[dict[str, Any]], dict[str, Any]]

#: ``STEPS[n]`` migrates a format-``n`` level to format ``n + 1``.
STEPS: dict[int, Step] = {}


class FormatError(Exception):
    """The file's format is newer than this engine, or not a positive integer."""


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring ``raw`` to ``CURRENT_FORMAT``. Raises FormatError for unknown versions."""
    version = raw.get("format", 1)
    if isinstance(version, float) and version.is_integer():
        version = int(version)  # 1.0 is 1: JSON does not tell them apart
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"'format' must be a positive integer, not {version!r}")
    if version > CURRENT_FORMAT:
        raise FormatError(
            f"level format {version} is newer than this quest-runtime understands "
            f"(up to {CURRENT_FORMAT}); upgrade quest-runtime"
        )
    while version < CURRENT_FORMAT:
        raw = STEPS[version](raw)
        version += 1
        raw["format"] = version
    return raw
