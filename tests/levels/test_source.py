"""Level sources: positions of values and keys, and findings for files that are not JSON.

Positions are asserted as (line, column), 1-based, counted in characters; the level
texts are laid out so each expected column can be checked by eye.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quest_runtime.levels.findings import Severity, join_pointer
from quest_runtime.levels.source import LevelSource, SourceError, parse_source, read_source

LAKESIDE = """\
{
  "id": "lakeside",
  "title": "湖畔 Lakeside",
  "tasks": [
    {
      "id": "greet_mia",
      "type": "near",
      "milestones": [
        {"id": "step1", "target": "mia_npc"},
        {"id": "step2", "target": {"name": "Mia", "type": "npc"}, "count": 2}
      ],
      "conditons": []
    }
  ]
}
"""


@pytest.fixture(scope="module")
def lakeside() -> LevelSource:
    return parse_source(LAKESIDE, "levels/lakeside.json")


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        pytest.param("", (1, 1), id="root"),
        pytest.param("/id", (2, 9), id="top-level-string"),
        pytest.param("/title", (3, 12), id="string-with-cjk"),
        pytest.param("/tasks", (4, 12), id="array"),
        pytest.param("/tasks/0", (5, 5), id="array-item"),
        pytest.param("/tasks/0/milestones", (8, 21), id="nested-array"),
        pytest.param("/tasks/0/milestones/0/target", (9, 35), id="milestone-0-target"),
        pytest.param("/tasks/0/milestones/1", (10, 9), id="milestone-1"),
        pytest.param("/tasks/0/milestones/1/target", (10, 35), id="milestone-1-target"),
        pytest.param("/tasks/0/milestones/1/target/name", (10, 44), id="deep-member"),
        pytest.param("/tasks/0/milestones/1/count", (10, 76), id="number"),
        pytest.param("/tasks/0/conditons", (12, 20), id="empty-array"),
    ],
)
def test_position_of_values(lakeside: LevelSource, pointer: str, expected: tuple[int, int]) -> None:
    assert lakeside.position(pointer) == expected


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        pytest.param("/tasks/0/milestones/1/hint", (10, 9), id="missing-key-uses-parent"),
        pytest.param("/tasks/0/milestones/7/target", (8, 21), id="missing-index-uses-array"),
        pytest.param("/tasks/0/milestones/-", (8, 21), id="append-token"),
        pytest.param("/tasks/0/id/more", (6, 13), id="below-a-scalar"),
        pytest.param("/nothing/here", (1, 1), id="falls-back-to-root"),
        pytest.param("tasks", (1, 1), id="not-a-pointer"),
    ],
)
def test_position_falls_back_to_nearest_ancestor(
    lakeside: LevelSource, pointer: str, expected: tuple[int, int]
) -> None:
    assert lakeside.position(pointer) == expected


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        pytest.param("/id", (2, 3), id="top-level-key"),
        pytest.param("/tasks/0/conditons", (12, 7), id="unknown-key"),
        pytest.param("/tasks/0/milestones/1/count", (10, 67), id="inline-object-key"),
        pytest.param("/tasks/0", (5, 5), id="array-item-has-no-key"),
        pytest.param("", (1, 1), id="root-has-no-key"),
        pytest.param("/tasks/0/milestones/1/hint", (10, 9), id="missing-key-uses-parent"),
    ],
)
def test_key_position(lakeside: LevelSource, pointer: str, expected: tuple[int, int]) -> None:
    assert lakeside.key_position(pointer) == expected


@pytest.mark.parametrize(
    ("text", "pointer", "expected"),
    [
        pytest.param('{"名字": "你好世界", "b": 1}', "/b", (1, 21), id="cjk-before-value"),
        pytest.param('{"名字": "你好世界", "b": 1}', "/名字", (1, 8), id="cjk-key"),
        pytest.param('{"e": "😀😀", "b": 1}', "/b", (1, 18), id="astral-plane-chars"),
        pytest.param('{\r\n  "a": 1,\r\n  "b": [true, null]\r\n}', "/b/1", (3, 15), id="crlf"),
        pytest.param('\ufeff{"a": 1}', "/a", (1, 7), id="bom-not-counted"),
        pytest.param("  \n\t[0, [1, [2]]]", "/1/1/0", (2, 11), id="leading-whitespace"),
        pytest.param('{"q\\"x": 1, "b": 2}', '/q"x', (1, 10), id="escaped-quote-in-key"),
        pytest.param('{"s": "a\\\\", "b": 2}', "/b", (1, 19), id="escaped-backslash-in-value"),
        pytest.param('{"\\u0041": {"x": 1}}', "/A/x", (1, 18), id="unicode-escape-in-key"),
        pytest.param('{"a/b": {"~": 1}}', "/a~1b/~0", (1, 15), id="pointer-escapes"),
        pytest.param('{"": 5}', "/", (1, 6), id="empty-key"),
        pytest.param('[-1.5e+3, false, "x"]', "/2", (1, 18), id="scalars"),
        pytest.param('{"a": {"x": 1}, "a": {"y": 2}}', "/a", (1, 22), id="duplicate-last-wins"),
        pytest.param('{"a": {"x": 1}, "a": {"y": 2}}', "/a/x", (1, 22), id="duplicate-drops-old"),
    ],
)
def test_position_edge_cases(text: str, pointer: str, expected: tuple[int, int]) -> None:
    assert parse_source(text, "t.json").position(pointer) == expected


def test_key_position_of_duplicate_key_is_the_last_one() -> None:
    source = parse_source('{"a": {"x": 1}, "a": {"y": 2}}', "t.json")
    assert source.key_position("/a") == (1, 17)
    assert source.data == {"a": {"y": 2}}


def test_many_duplicate_keys_index_in_linear_time() -> None:
    """8,000 duplicate keys among 26,000 values (issue 9): before, each duplicate scanned
    the whole index (8 s); now dropping the earlier member costs its own size."""
    tasks = ", ".join(f'{{"id": "t{i}", ' + ", ".join(['"title": {"a": [1]}'] * 9)
                      + ', "refs": [' + ", ".join(["1"] * 16) + "]}" for i in range(1000))
    text = '{"tasks": [' + tasks + '], "x": {"deep": [1]}, "x": 2}'
    started = time.perf_counter()
    source = parse_source(text, "t.json")
    last_title = text.rindex('{"a": [1]}, "refs"')
    assert source.position("/tasks/999/title/a/0") == (1, last_title + 8)
    assert source.position("/x/deep") == source.position("/x") == (1, len(text) - 1)
    assert time.perf_counter() - started < 1.0


def test_bom_is_dropped_from_text_and_data_is_parsed() -> None:
    source = parse_source('\ufeff{"a": 1}', "t.json")
    assert (source.text, source.data) == ('{"a": 1}', {"a": 1})


def test_top_level_non_object_is_not_this_modules_concern() -> None:
    assert parse_source("[1, 2]", "t.json").data == [1, 2]


def _pointers(value: Any, base: str = "") -> list[tuple[str, Any]]:
    found = [(base, value)]
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            found += _pointers(child, join_pointer(base, key))
    return found


_FIRST_CHAR = {dict: "{", list: "[", str: '"', bool: "tf", type(None): "n"}
_text = st.text(st.characters(codec="utf-8"))  # no lone surrogates
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(value=_json, indent=st.sampled_from([None, 2, "\t"]), ascii_only=st.booleans())
def test_every_value_is_indexed_where_it_starts(value: Any, indent: Any, ascii_only: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    source = parse_source(text, "t.json")
    lines = text.split("\n")
    for pointer, child in _pointers(source.data):
        line, column = source.position(pointer)
        first = lines[line - 1][column - 1]
        assert first in _FIRST_CHAR.get(type(child), "-0123456789"), (pointer, text)


# --- files that are not JSON --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "message", "hint"),
    [
        pytest.param(
            '{\n  "a": 1\n  "b": 2\n}',
            3,
            3,
            "invalid JSON: expected ',' or '}' after an object member",
            "is a ',' missing at the end of line 2?",
            id="missing-comma",
        ),
        pytest.param(
            '{"a": [1 2]}',
            1,
            10,
            "invalid JSON: expected ',' or ']' after an array item",
            "is a ',' missing before this?",
            id="missing-comma-in-array",
        ),
        pytest.param(
            '{\n  "a": 1,\n}',
            2,
            9,
            "invalid JSON: a ',' after the last object member",
            "a trailing comma is not allowed in JSON; remove it",
            id="trailing-comma",
        ),
        pytest.param(
            '{"a": [1, 2,\n ]}',
            1,
            12,
            "invalid JSON: a ',' after the last array item",
            "a trailing comma is not allowed in JSON; remove it",
            id="trailing-comma-in-array",
        ),
        pytest.param(
            '{\n  "a": "abc\n}',
            2,
            12,
            "invalid JSON: a string is not closed before the end of the line",
            "add the closing '\"'; a line break inside a string is written \\n",
            id="unclosed-string",
        ),
        pytest.param(
            '{"a": "abc',
            1,
            11,
            "invalid JSON: the file ends inside a string",
            "the string starting at line 1, column 7 is never closed; add the closing '\"'",
            id="unclosed-string-at-end",
        ),
        pytest.param(
            '{\n  "a": [1, 2]\n',
            3,
            1,
            "invalid JSON: the file ends inside an object",
            "the '{' at line 1, column 1 is never closed; add a '}'",
            id="unclosed-brace",
        ),
        pytest.param(
            '{\n  "a": hello\n}',
            2,
            8,
            "invalid JSON: expected a value (string, number, object, array, true, false or null)",
            'text values need double quotes: "hello"',
            id="bare-word",
        ),
        pytest.param(
            '{"名字": "你好世界", "b": x}',
            1,
            21,
            "invalid JSON: expected a value (string, number, object, array, true, false or null)",
            'text values need double quotes: "x"',
            id="cjk-before-error",
        ),
        pytest.param(
            '{\n  "e": "😀",\n  "b": 1\n  "c": 2}',
            4,
            3,
            "invalid JSON: expected ',' or '}' after an object member",
            "is a ',' missing at the end of line 3?",
            id="astral-plane-before-error",
        ),
        pytest.param(
            '{\r\n  "a": 1\r\n  "b": 2\r\n}',
            3,
            3,
            "invalid JSON: expected ',' or '}' after an object member",
            "is a ',' missing at the end of line 2?",
            id="crlf",
        ),
        pytest.param(
            '\ufeff{"a": tru}',
            1,
            7,
            "invalid JSON: misspelled literal, expected 'true'",
            None,
            id="bom-not-counted",
        ),
        pytest.param(
            "{'a': 1}",
            1,
            2,
            "invalid JSON: expected a member name in double quotes",
            'JSON uses double quotes ("), not single quotes',
            id="single-quotes",
        ),
        pytest.param(
            "{tasks: []}",
            1,
            2,
            "invalid JSON: expected a member name in double quotes",
            'member names need double quotes: "tasks"',
            id="unquoted-key",
        ),
        pytest.param(
            '{"a": 1 // note\n}',
            1,
            9,
            "invalid JSON: expected ',' or '}' after an object member",
            "comments are not allowed in JSON",
            id="comment",
        ),
        pytest.param(
            '{"a": [1, 2}',
            1,
            12,
            "invalid JSON: expected ',' or ']' after an array item",
            "this '}' does not match the '[' at line 1, column 7",
            id="mismatched-bracket",
        ),
        pytest.param(
            '{"a": 1,, "b": 2}',
            1,
            9,
            "invalid JSON: expected a member name",
            "there is one ',' too many",
            id="double-comma",
        ),
        pytest.param(
            '{"a" 1}',
            1,
            6,
            "invalid JSON: expected ':' after the member name",
            None,
            id="missing-colon",
        ),
        pytest.param(
            '{"a": NaN}',
            1,
            7,
            "invalid JSON: expected a value (string, number, object, array, true, false or null)",
            "NaN and Infinity are not JSON numbers",
            id="nan",
        ),
        pytest.param(
            '{"a": "C:\\game"}',
            1,
            10,
            "invalid JSON: invalid escape sequence in a string",
            'the escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; '
            "write a backslash as \\\\",
            id="bad-escape",
        ),
        pytest.param(
            '{"a": "x\ty"}',
            1,
            9,
            "invalid JSON: a tab character inside a string",
            "write a tab as \\t",
            id="raw-tab",
        ),
        pytest.param(
            "{}\n{}",
            2,
            1,
            "invalid JSON: unexpected text after the end of the JSON value",
            "a level file holds exactly one JSON value",
            id="two-documents",
        ),
    ],
)
def test_invalid_json(text: str, line: int, column: int, message: str, hint: str | None) -> None:
    with pytest.raises(SourceError) as caught:
        parse_source(text, "levels/bad.json")
    found = caught.value.finding
    assert (found.line, found.column, found.message, found.hint) == (line, column, message, hint)
    assert (found.file, found.pointer, found.severity, found.code) == (
        "levels/bad.json",
        "",
        Severity.ERROR,
        "invalid_json",
    )


def test_source_error_text_is_the_formatted_finding() -> None:
    with pytest.raises(SourceError) as caught:
        parse_source('{\n  "a": 1,\n}', "levels/bad.json")
    assert str(caught.value) == (
        "levels/bad.json:2:9: error: invalid JSON: a ',' after the last object member [/]"
        " (a trailing comma is not allowed in JSON; remove it)"
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param(" \r\n\t\n", id="whitespace-only"),
        pytest.param("\ufeff", id="bom-only"),
    ],
)
def test_empty_file(text: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_source(text, "levels/empty.json")
    assert caught.value.finding.format() == (
        "levels/empty.json:1:1: error: the level file is empty [/]"
        ' (a level file holds one JSON object, for example {"tasks": []})'
    )
    assert caught.value.finding.code == "empty_file"


# --- reading files ------------------------------------------------------------------


def test_read_source_accepts_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf{"title": "\xe6\xb9\x96", "x": 1}')
    source = read_source(path, "levels/bom.json")
    assert (source.path, source.data) == ("levels/bom.json", {"title": "湖", "x": 1})
    assert source.position("/x") == (1, 21)


def test_read_source_names_the_path_by_default(tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    path.write_text("{}", encoding="utf-8")
    assert read_source(path).path == str(path)


@pytest.mark.parametrize(
    ("raw", "line", "column", "message", "hint"),
    [
        pytest.param(
            b'{\n  "t": "caf\xe9"\n}',
            2,
            12,
            "the file is not UTF-8 text (byte 0xe9 cannot be decoded)",
            "save the file with UTF-8 encoding",
            id="latin-1",
        ),
        pytest.param(
            b'{"\xe5\x90\x8d": "\xff"}',
            1,
            8,
            "the file is not UTF-8 text (byte 0xff cannot be decoded)",
            "save the file with UTF-8 encoding",
            id="after-cjk",
        ),
        pytest.param(
            '{"a": 1}'.encode("utf-16"),
            1,
            1,
            "the file is not UTF-8 text (byte 0xff cannot be decoded)",
            "the file looks like UTF-16; save it with UTF-8 encoding",
            id="utf-16",
        ),
    ],
)
def test_read_source_not_utf8(
    tmp_path: Path, raw: bytes, line: int, column: int, message: str, hint: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(raw)
    with pytest.raises(SourceError) as caught:
        read_source(path, "levels/bad.json")
    found = caught.value.finding
    assert (found.line, found.column, found.message, found.hint) == (line, column, message, hint)
    assert found.code == "not_utf8"


def test_read_source_missing_file_is_a_finding(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read_source(tmp_path / "gone.json", "levels/gone.json")
    assert caught.value.finding.format() == (
        "levels/gone.json:1:1: error: cannot read the file: No such file or directory [/]"
    )
    assert caught.value.finding.code == "unreadable"
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_duplicate_members_are_the_kept_objects_own() -> None:
    """The keys written twice in one object as the data holds it (dialogue node ids come
    from here, not from a second parse): once per extra writing, in file order, escaped
    names unescaped; an earlier copy of the object, which the parser drops, adds none."""
    text = ('{"d": {"n": {"x": 1, "x": 2}}, "d": {"n": {"a/b": 1, "y": 1, "a/b": 2, '
            '"y": 2, "y": 3, "z": {"q": 1, "q": 2}}}}')
    source = parse_source(text, "t.json")
    assert source.duplicate_members("/d/n") == ["a/b", "y", "y"]
    assert source.duplicate_members("/d/n/z") == ["q"]
    assert source.duplicate_members("/missing") == []
    # every duplicate, dropped copies included, is still a duplicate key of the file
    assert [p for p, _, _ in source.duplicate_keys()] == [
        "/d/n/x", "/d", "/d/n/a~1b", "/d/n/y", "/d/n/y", "/d/n/z/q"]


def test_the_version_is_the_digest_of_the_bytes(tmp_path: Path) -> None:
    raw = '\ufeff{"a": "é"}'.encode()
    path = tmp_path / "v.json"
    path.write_bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()[:16]
    assert read_source(path).version == digest
    assert parse_source(raw.decode(), "v.json").version == digest
    assert read_source(path).text == '{"a": "é"}'
