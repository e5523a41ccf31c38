"""A task session moves only along ``MOVES``; each move stamps what it means."""

from __future__ import annotations

import pytest

from quest_runtime.engine.state import MOVES, TaskSession, TaskStatus

S = TaskStatus


@pytest.mark.parametrize(("start", "to"), [(a, b) for a in S for b in S])
def test_only_the_listed_moves_are_allowed(start: TaskStatus, to: TaskStatus) -> None:
    ts = TaskSession(status=start)
    if to in MOVES[start]:
        ts.move(to, 5.0)
        assert ts.status is to
    else:
        with pytest.raises(ValueError, match=f"from {start} to {to}"):
            ts.move(to, 5.0)
        assert ts.status is start


def test_a_move_stamps_what_it_means() -> None:
    ts = TaskSession(status=S.COMPLETED, progress=3, milestones={"m": 1}, completions=1)
    ts.move(S.ISSUED, 10.0)              # a re-issue starts progress again
    assert (ts.progress, ts.milestones, ts.issued_at, ts.completions) == (0, {}, 10.0, 1)
    ts.move(S.COMPLETED, 20.0)
    assert (ts.completions, ts.closed_at) == (2, 20.0)
    ts.move(S.ISSUED, 30.0)
    ts.move(S.FAILED, 40.0)
    assert (ts.completions, ts.closed_at) == (2, 40.0)
