"""Bounds on what one level file may ask of the engine (issue 9, docs/levels.md).

Every bound is checked when the file is loaded and reported as an error finding at the
offending value, with the limit in the message; a file over a bound is not served, and
the other files are not affected. The bounds keep compiling, matching and running a
level within a small, known cost: no recursion deeper than the limits below, no chat
phrase that makes matching slow, no timer that commits many times a second.
"""

from __future__ import annotations

#: Conditions inside conditions (``not``, ``all_of``, ``any_of``, ``none_of``): the
#: outermost condition is depth 1.
MAX_CONDITION_DEPTH = 32
#: Effects inside effects (``if`` branches): an effect of an ``on_complete`` list is
#: depth 1. A condition inside an effect counts its own depth from 1.
MAX_EFFECT_DEPTH = 32
#: Characters of one chat phrase (a chat task's or listener's target).
MAX_PHRASE_CHARS = 256
#: Tasks of one level (every event looks at the issued ones; eligibility at all).
MAX_TASKS = 1000
#: The shortest ``repeat_seconds`` of a timer: each repetition is a commit and a pushed
#: result for every player who scheduled it.
MIN_REPEAT_SECONDS = 1.0
