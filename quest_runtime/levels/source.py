"""Level sources: a level file's text, its parsed JSON, and where each value sits.

This module owns the "read, parse with orjson" part of the level path (STYLE §3, step 2),
for the service and the tools alike:

1. :func:`read_source` reads the bytes (the only place a level file is read) and
   :func:`decode_source` decodes them; a missing UTF-8 encoding (at its line, column and
   byte), an empty file or a JSON syntax error raises :class:`SourceError` carrying one
   :class:`Finding` with the exact line and column and a plain-English message and hint.
2. :class:`LevelSource` keeps the text, the parsed data and the version (a digest of the
   bytes). Its :meth:`~LevelSource.position` and :meth:`~LevelSource.key_position` turn a
   JSON pointer into a (line, column) for findings, and :meth:`~LevelSource.duplicate_keys`
   lists the keys written twice in one object. The index behind them is built by one
   small scanner, on first use.

Lines and columns are 1-based and count characters, not bytes; a line ends at ``\\n``
(so CRLF files work). A leading UTF-8 BOM is dropped before anything else, so columns
on line 1 are what an editor shows. Whether the top-level value is an object is the
loader's business, not this module's.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from quest_runtime.levels.findings import (
    Finding,
    Severity,
    escape_pointer_token,
    unescape_pointer_token,
)

_BOM = "\ufeff"
_WS = re.compile(r"[ \t\n\r]*")
# A complete JSON string literal, written as an unrolled loop so it never backtracks badly.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# A number or true/false/null: in valid JSON it runs until a delimiter.
_SCALAR = re.compile(r"[^\s,\]}]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_WORD = re.compile(r"[A-Za-z_][\w.\-]*")
_EMPTY_HINT = 'a level file holds one JSON object, for example {"tasks": []}'


class SourceError(Exception):
    """A level file could not be read as JSON; ``finding`` says where and why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.format())
        self.finding = finding


@dataclass(frozen=True)
class LevelSource:
    """One parsed level file: display path, text (BOM removed), data and positions."""

    path: str
    text: str
    data: Any
    #: A digest of the file's bytes: two sources with one version are byte-identical.
    version: str = ""
    _index: list[_PositionIndex] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def position(self, pointer: str) -> tuple[int, int]:
        """(line, column) where the value at ``pointer`` starts.

        A pointer that does not exist (a missing key, say) falls back to its nearest
        existing ancestor, ending at the document root.
        """
        index = self._positions()
        pointer = _existing(pointer, index.values)
        return index.line_col(index.values[pointer])

    def key_position(self, pointer: str) -> tuple[int, int]:
        """(line, column) of the object key naming the member at ``pointer``.

        Used for "unknown key" findings. Array items and the root have no key, and a
        missing member has none either: those fall back to :meth:`position`.
        """
        index = self._positions()
        offset = index.keys.get(pointer)
        return self.position(pointer) if offset is None else index.line_col(offset)

    def duplicate_keys(self) -> list[tuple[str, int, int]]:
        """``(pointer, line, column)`` of every key written a second time in its object.

        JSON parsers keep the last member silently; the position is the later key's.
        """
        index = self._positions()
        return [(p, *index.line_col(offset)) for p, offset in index.duplicates]

    def duplicate_members(self, parent: str) -> list[str]:
        """The keys written twice in the object at ``parent`` as the data holds it, in
        file order, once per extra writing (a key written three times is listed twice).
        Duplicates inside an earlier copy of ``parent`` itself (dropped by the parser) are
        not listed: every member of the kept copy starts after the copy does."""
        index = self._positions()
        start = index.values.get(parent)
        if start is None:
            return []
        prefix = parent + "/"
        return [unescape_pointer_token(p[len(prefix):]) for p, offset in index.duplicates
                if offset > start and p.startswith(prefix) and "/" not in p[len(prefix):]]

    def _positions(self) -> _PositionIndex:
        # A one-slot list keeps the dataclass frozen; two threads racing here would
        # only build the same index twice.
        if not self._index:
            self._index.append(_PositionIndex(self.text))
        return self._index[0]


def read_source(path: Path, display: str | None = None) -> LevelSource:
    """Read and parse the level file at ``path``; findings name it ``display`` (or ``path``)."""
    name = str(path) if display is None else display
    try:
        raw = path.read_bytes()
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
        raise SourceError(_finding(name, 1, 1, message, None, "unreadable")) from exc
    return decode_source(raw, name)


def decode_source(raw: bytes, path: str) -> LevelSource:
    """Decode and parse a level file's bytes (the file shown as ``path``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(_not_utf8(path, raw, exc)) from None
    return parse_source(text, path, _version(raw))


def _version(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def parse_source(text: str, path: str, version: str | None = None) -> LevelSource:
    """Parse ``text`` (the contents of the file shown as ``path``) into a :class:`LevelSource`.

    ``version`` defaults to the digest of ``text`` encoded as UTF-8 (the file's bytes).
    """
    if version is None:
        version = _version(text.encode("utf-8", "surrogatepass"))
    text = text.removeprefix(_BOM)
    if not text.strip(" \t\n\r"):
        message = "the level file is empty"
        raise SourceError(_finding(path, 1, 1, message, _EMPTY_HINT, "empty_file"))
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        # orjson's pos is a character offset into the str (checked with CJK and
        # astral-plane text), so it and our own line table agree.
        raise SourceError(_syntax_finding(path, text, exc.msg, exc.pos)) from None
    return LevelSource(path=path, text=text, data=data, version=version)


# --- the position index --------------------------------------------------------------


class _PositionIndex:
    """Character offsets of every value (by pointer) and every member key (by pointer)."""

    def __init__(self, text: str) -> None:
        self.line_starts = _line_starts(text)
        #: ``(pointer, offset of the later key)`` for each key written twice in an object.
        self.duplicates: list[tuple[str, int]] = []
        self.values, self.keys = _scan(text, self.duplicates)

    def line_col(self, offset: int) -> tuple[int, int]:
        return _line_col(self.line_starts, offset)


def _existing(pointer: str, values: dict[str, int]) -> str:
    while pointer not in values:
        # Escaped tokens never contain "/", so cutting at the last "/" drops one token.
        pointer = pointer.rpartition("/")[0]
    return pointer


def _scan(
    text: str, duplicates: list[tuple[str, int]] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Walk valid JSON ``text`` once, recording where each value and key starts.

    Iterative (no recursion limit) and regex-assisted. Duplicate keys follow orjson:
    the last member wins, so the earlier member's entries are dropped. Each container's
    direct children are kept in ``children``, so dropping a subtree costs its own size:
    every entry is recorded once and dropped at most once, and the whole scan stays
    linear however many duplicate keys the file has. Each duplicate (its pointer and the
    offset of the later key) is appended to ``duplicates`` when given.
    """
    values: dict[str, int] = {}
    keys: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    # One frame per open container: [its pointer, is_object, next array index].
    stack: list[tuple[str, bool, list[int]]] = []

    def member(pos: int, base: str) -> tuple[str, int]:
        """Read the key at ``pos`` of the object at ``base``; return its pointer and
        the offset of its value."""
        end = _end(_STRING, text, pos)
        raw = text[pos + 1 : end - 1]
        name = json.loads(text[pos:end]) if "\\" in raw else raw
        pointer = f"{base}/{escape_pointer_token(name)}"
        if pointer in values:  # a duplicate key: forget the earlier member's subtree
            if duplicates is not None:
                duplicates.append((pointer, pos))
            stale = [pointer]
            while stale:
                p = stale.pop()
                values.pop(p, None)
                keys.pop(p, None)
                stale.extend(children.pop(p, ()))
        keys[pointer] = pos
        colon = _end(_WS, text, end)
        return pointer, _end(_WS, text, colon + 1)

    pointer, pos = "", _end(_WS, text, 0)
    while True:
        values[pointer] = pos
        if stack:
            children.setdefault(stack[-1][0], []).append(pointer)
        char = text[pos]
        if char in "{[":
            inner = _end(_WS, text, pos + 1)
            if text[inner] not in "}]":  # a non-empty container: descend into it
                is_object = char == "{"
                stack.append((pointer, is_object, [0]))
                pointer, pos = member(inner, pointer) if is_object else (f"{pointer}/0", inner)
                continue
            pos = inner + 1
        elif char == '"':
            pos = _end(_STRING, text, pos)
        else:
            pos = _end(_SCALAR, text, pos)
        # After a value: close finished containers, or move to the next sibling.
        while stack:
            pos = _end(_WS, text, pos)
            base, is_object, counter = stack[-1]
            if text[pos] != ",":
                stack.pop()
                pos += 1
                continue
            pos = _end(_WS, text, pos + 1)
            if is_object:
                pointer, pos = member(pos, base)
            else:
                counter[0] += 1
                pointer = f"{base}/{counter[0]}"
            break
        else:
            return values, keys


def _end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    match = pattern.match(text, pos)
    assert match is not None, "the scanner only runs on text orjson accepted"
    return match.end()


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _line_col(line_starts: list[int], offset: int) -> tuple[int, int]:
    line = bisect.bisect_right(line_starts, offset)
    return line, offset - line_starts[line - 1] + 1


# --- findings for files that are not JSON --------------------------------------------


def _finding(
    file: str, line: int, column: int, message: str, hint: str | None, code: str = "invalid_json"
) -> Finding:
    return Finding(file, line, column, "", Severity.ERROR, message, hint, code)


def _not_utf8(file: str, raw: bytes, exc: UnicodeDecodeError) -> Finding:
    before = raw[: exc.start]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", "replace")) + 1
    hint = "save the file with UTF-8 encoding"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        hint = "the file looks like UTF-16; save it with UTF-8 encoding"
    message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)"
    return _finding(file, before.count(b"\n") + 1, column, message, hint, "not_utf8")


def _syntax_finding(file: str, text: str, reason: str, pos: int) -> Finding:
    """Turn orjson's complaint at character ``pos`` into a plain-English finding."""
    pos = min(max(pos, 0), len(text))
    lines = _line_starts(text)
    surrogate = _SURROGATE.search(text) if reason.startswith("str is not valid UTF-8") else None
    if surrogate is not None:
        # Only reachable when a caller decoded with "surrogateescape"; orjson says pos 0.
        line, column = _line_col(lines, surrogate.start())
        message = f"the text has an undecodable character (U+{ord(surrogate.group()):04X})"
        return _finding(file, line, column, message, "save the file as UTF-8", "not_utf8")
    message, hint = _explain(reason, text, pos, lines)
    line, column = _line_col(lines, pos)
    return _finding(file, line, column, f"invalid JSON: {message}", hint)


# orjson messages whose finding needs nothing from the text
_FIXED_EXPLANATIONS: dict[str, tuple[str, str | None]] = {
    "unexpected character, expected ':' after key": ("expected ':' after the member name", None),
    "invalid escaped sequence in string": ("invalid escape sequence in a string", (
        'the escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; '
        "write a backslash as \\\\"
    )),
    "unexpected content after document": ("unexpected text after the end of the JSON value", (
        "a level file holds exactly one JSON value"
    )),
    "number is infinity when parsed as double": ("number is too large", None),
    "depth limit exceeded": ("nesting is too deep (more than 1024 levels)", None),
}


def _explain(reason: str, text: str, pos: int, lines: list[int]) -> tuple[str, str | None]:
    """(message, hint) for one orjson error message; unknown messages pass through."""
    fixed = _FIXED_EXPLANATIONS.get(reason)
    if fixed is not None:
        return fixed
    here = text[pos : pos + 1]  # "" at the end of the text
    if reason.startswith("trailing comma"):
        after = _end(_WS, text, pos + 1)  # orjson points at the comma itself
        what = "array item" if text[after : after + 1] == "]" else "object member"
        return f"a ',' after the last {what}", "a trailing comma is not allowed in JSON; remove it"
    if reason == "unexpected end of data":
        return _explain_early_end(text, lines)
    if reason.startswith("unexpected character, expected ','"):
        closer = reason[-2]  # "... expected ',' or '}'"
        what = "an object member" if closer == "}" else "an array item"
        return f"expected ',' or '{closer}' after {what}", _after_item_hint(text, pos, lines)
    if reason == "unexpected character, expected a JSON value":
        message = "expected a value (string, number, object, array, true, false or null)"
        return message, _bad_value_hint(text, pos, "text values")
    if reason == "unexpected character, expected a string key":
        if here == ",":
            return "expected a member name", "there is one ',' too many"
        return "expected a member name in double quotes", _bad_value_hint(text, pos, "member names")
    if reason == "unexpected control character in string":
        return _explain_control(here)
    if reason.startswith("invalid literal, expected"):
        return f"misspelled literal, expected {reason.rsplit(' ', 1)[1]}", None
    if "surrogate" in reason and "UTF-8" not in reason:
        return "a \\u escape is half of a surrogate pair", "pair it, or write the character itself"
    return reason, None


def _explain_early_end(text: str, lines: list[int]) -> tuple[str, str | None]:
    """The text ends early: name the innermost string, object or array left open."""
    opener = _innermost_unclosed(text)
    if opener is None:
        return "the file ends too early", None
    char, at = opener
    if char == '"':
        return "the file ends inside a string", (
            f"the string starting at {_where(lines, at)} is never closed; add the closing '\"'"
        )
    kind, closer = ("an object", "}") if char == "{" else ("an array", "]")
    return f"the file ends inside {kind}", (
        f"the '{char}' at {_where(lines, at)} is never closed; add a '{closer}'"
    )


def _explain_control(here: str) -> tuple[str, str | None]:
    """A control character ``here`` inside a string."""
    if here in ("\r", "\n"):
        return "a string is not closed before the end of the line", (
            "add the closing '\"'; a line break inside a string is written \\n"
        )
    if here == "\t":
        return "a tab character inside a string", "write a tab as \\t"
    return f"a control character (U+{ord(here):04X}) inside a string", (
        f"write it as the escape \\u{ord(here):04X}"
    )


def _where(lines: list[int], offset: int) -> str:
    line, column = _line_col(lines, offset)
    return f"line {line}, column {column}"


def _after_item_hint(text: str, pos: int, lines: list[int]) -> str | None:
    """Why an item is followed by something other than ',' or a closing bracket."""
    here = text[pos : pos + 1]
    if here == "/":
        return "comments are not allowed in JSON"
    if here in ("]", "}"):
        opener = _innermost_unclosed(text[:pos])
        if opener is None:
            return None
        return f"this '{here}' does not match the '{opener[0]}' at {_where(lines, opener[1])}"
    end_of_item = len(text[:pos].rstrip(" \t\n\r"))
    item_line = _line_col(lines, end_of_item)[0]
    if item_line < _line_col(lines, pos)[0]:
        return f"is a ',' missing at the end of line {item_line}?"
    return "is a ',' missing before this?"


def _bad_value_hint(text: str, pos: int, what: str) -> str | None:
    """Hints for a value or key that does not start like JSON: quotes, comments, words."""
    here = text[pos : pos + 1]
    if here == "'":
        return 'JSON uses double quotes ("), not single quotes'
    if here == "/":
        return "comments are not allowed in JSON"
    word = _WORD.match(text, pos)
    if word is None:
        return None
    if word.group() in ("NaN", "Infinity"):
        return "NaN and Infinity are not JSON numbers"
    return f'{what} need double quotes: "{word.group()}"'


def _innermost_unclosed(text: str) -> tuple[str, int] | None:
    """The innermost bracket or string opened in ``text`` and never closed, if any."""
    stack: list[int] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == '"':
            match = _STRING.match(text, pos)
            if match is None:
                return '"', pos
            pos = match.end()
            continue
        if char in "[{":
            stack.append(pos)
        elif char in "]}" and stack:
            stack.pop()
        pos += 1
    return (text[stack[-1]], stack[-1]) if stack else None
