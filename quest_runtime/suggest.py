"""Did-you-mean suggestions for misspelt names in level files and requests.

Used wherever a name is looked up and not found: unknown keys (``conditons``), unknown
condition and effect types, unknown task, dialogue or timer ids (``fetch_wod``). The
distance is Damerau-Levenshtein (optimal string alignment: a swap of two neighbouring
letters, as in ``tagret``, costs 1), compared case-insensitively. A candidate is offered
only when it is close for the word's length: at most one edit for words up to five
letters, then one more per three letters, so ``zzz`` gets no suggestion.
"""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word``, or None when none is close enough.

    Ties go to the candidate listed first, so callers can pass their names in order of
    preference. A case-insensitive exact match counts as distance 0.
    """
    folded = word.casefold()
    if not folded:
        return None
    limit = _max_distance(len(folded))
    best: str | None = None
    for candidate in candidates:
        distance = _distance(folded, candidate.casefold(), limit)
        if distance <= limit:
            best, limit = candidate, distance - 1  # only a strictly closer one may follow
            if limit < 0:
                break
    return best


def near_miss(word: str, candidates: Iterable[str]) -> str | None:
    """Like :func:`did_you_mean`, and also a candidate that starts with ``word`` and ``_``
    (``cooldown`` for ``cooldown_seconds``): a unit or qualifier left out is a typo too."""
    names = list(candidates)
    match = did_you_mean(word, names)
    if match is not None:
        return match
    folded = word.casefold()
    if len(folded) < 3:
        return None
    return next((c for c in names if c.casefold().startswith(folded + "_")), None)


def closeness(a: str, b: str) -> float:
    """How alike two words are: 1.0 when equal (case-insensitively), down to 0.0 — the
    same distance as :func:`did_you_mean`, over the longer word's length. For naming the
    closest of several candidates however far they all are (explain's "closest")."""
    a, b = a.casefold(), b.casefold()
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return 1.0 - _distance(a, b, longest) / longest


def hint_for(word: str, candidates: Iterable[str]) -> str | None:
    """A finding hint such as "did you mean 'conditions'?", or None."""
    match = did_you_mean(word, candidates)
    return None if match is None else f"did you mean '{match}'?"


def _max_distance(length: int) -> int:
    # 1-5 letters: 1 edit, 6-8: 2, 9-11: 3, ... Short names are too easy to confuse.
    return max(1, length // 3)


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance between ``a`` and ``b``; ``limit + 1`` once it
    is certain to exceed ``limit`` (so far-off candidates cost little)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
