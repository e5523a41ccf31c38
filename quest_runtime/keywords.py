"""Keyword matching of chat lines against phrases (SPEC §4.2, §4.6).

A phrase matches a chat line when it occurs in it case-insensitively with no letter or
digit directly before or after it; a phrase containing CJK characters matches as a plain
substring (those scripts have no spaces). ``PhraseIndex`` answers "which owners have a
phrase in this line" at a cost that depends on the line, not on the number of phrases:
alphanumeric phrases are keyed by their first word (the line's words are looked up), CJK
phrases by their first character.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_WORD = re.compile(r"[^\W_]+")


def has_cjk(text: str) -> bool:
    """True when ``text`` holds a character of a script written without spaces."""
    for ch in text:
        o = ord(ch)
        if (
            0x3040 <= o <= 0x30FF  # kana
            or 0x3400 <= o <= 0x4DBF
            or 0x4E00 <= o <= 0x9FFF  # CJK ideographs
            or 0xAC00 <= o <= 0xD7AF  # hangul
            or 0xF900 <= o <= 0xFAFF
            or 0x20000 <= o <= 0x2FA1F
        ):
            return True
    return False


def keyword_in(phrase: str, text: str) -> bool:
    """The reference rule, phrase and text already cleaned (lower-case)."""
    if not phrase:
        return False
    if has_cjk(phrase):
        return phrase in text
    return _keyword(phrase).search(text) is not None


#: ``[^\W_]`` is exactly ``str.isalnum`` on one character (checked over every code point
#: in tests/engine/test_keywords_linear.py).
_ALNUM = r"[^\W_]"


@functools.lru_cache(maxsize=1024)
def _keyword(phrase: str) -> re.Pattern[str]:
    return _compile(phrase)


def _compile(phrase: str) -> re.Pattern[str]:
    """One compiled search per phrase: the phrase itself first (so the regex engine looks
    for it with its fast literal search), then "no letter or digit after it", then,
    looking back over the phrase, "no letter or digit before it". One pass over the text
    in C: linear in the text, no slicing, no Python loop per occurrence."""
    return re.compile(rf"{re.escape(phrase)}(?!{_ALNUM})(?<!{_ALNUM}[\s\S]{{{len(phrase)}}})")


@dataclass(frozen=True, slots=True)
class PhraseIndex:
    """Phrases of many owners (task or listener indices), matched against one chat line."""

    by_first_word: dict[str, tuple[tuple[re.Pattern[str], int], ...]] = field(
        default_factory=dict)
    by_first_char: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    odd: tuple[tuple[re.Pattern[str], int], ...] = ()

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]]) -> PhraseIndex:
        """Index the phrases; their searches are compiled here, when the level loads."""
        words: dict[str, list[tuple[re.Pattern[str], int]]] = {}
        chars: dict[str, list[tuple[str, int]]] = {}
        odd: list[tuple[re.Pattern[str], int]] = []
        for phrase, owner in entries:
            if not phrase:
                continue
            if has_cjk(phrase):
                chars.setdefault(phrase[0], []).append((phrase, owner))
                continue
            m = _WORD.match(phrase)
            if m is None:
                odd.append((_compile(phrase), owner))
            else:
                words.setdefault(m.group(), []).append((_compile(phrase), owner))
        return cls(
            {k: tuple(v) for k, v in words.items()},
            {k: tuple(v) for k, v in chars.items()},
            tuple(odd),
        )

    def __bool__(self) -> bool:
        return bool(self.by_first_word or self.by_first_char or self.odd)

    def owners(self, text: str) -> set[int]:
        """Owners with at least one phrase occurring in ``text`` as a keyword.

        Each candidate phrase is searched once in the whole text (a phrase that starts
        with a letter or digit can only match where a word of the text starts, and that
        word is the phrase's first word), so the cost is linear in the text for each
        candidate, whatever the number of times its first word occurs."""
        found: set[int] = set()
        if self.by_first_word:
            for word in dict.fromkeys(m.group() for m in _WORD.finditer(text)):
                for pattern, owner in self.by_first_word.get(word, ()):
                    if owner not in found and pattern.search(text) is not None:
                        found.add(owner)
        if self.by_first_char:
            for ch in set(text):
                for phrase, owner in self.by_first_char.get(ch, ()):
                    if owner not in found and phrase in text:
                        found.add(owner)
        for pattern, owner in self.odd:
            if owner not in found and pattern.search(text) is not None:
                found.add(owner)
        return found
