"""Findings: their one-line text form, JSON form, pointer helpers, sorting and counting."""

from __future__ import annotations

import dataclasses

import pytest

from quest_runtime.levels.findings import (
    Finding,
    Severity,
    count_errors,
    escape_pointer_token,
    join_pointer,
    sort_findings,
)


def finding(
    line: int = 1,
    column: int = 1,
    *,
    file: str = "levels/forest.json",
    pointer: str = "",
    severity: Severity = Severity.ERROR,
    message: str = "something is wrong",
    hint: str | None = None,
    code: str = "",
) -> Finding:
    return Finding(file, line, column, pointer, severity, message, hint, code)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            finding(
                12,
                7,
                pointer="/tasks/0/conditons",
                message="unknown key 'conditons'",
                hint="did you mean 'conditions'?",
                code="unknown_key",
            ),
            "levels/forest.json:12:7: error: unknown key 'conditons' [/tasks/0/conditons]"
            " (did you mean 'conditions'?)",
            id="error-with-hint",
        ),
        pytest.param(
            finding(
                3,
                15,
                pointer="/tasks/0",
                severity=Severity.WARNING,
                message="task 'wander' has no target and matches any 'near' event",
            ),
            "levels/forest.json:3:15: warning: task 'wander' has no target and matches any"
            " 'near' event [/tasks/0]",
            id="warning-without-hint",
        ),
        pytest.param(
            finding(message="the level file is empty"),
            "levels/forest.json:1:1: error: the level file is empty [/]",
            id="root-pointer-prints-slash",
        ),
        pytest.param(
            finding(2, 4, pointer="/timers/a~1b", message="bad timer"),
            "levels/forest.json:2:4: error: bad timer [/timers/a~1b]",
            id="escaped-pointer-printed-as-is",
        ),
    ],
)
def test_format(item: Finding, expected: str) -> None:
    assert item.format() == expected


def test_to_dict_is_json_ready() -> None:
    item = finding(4, 9, pointer="/tasks/1/type", message="bad type", hint="h", code="bad_type")
    assert item.to_dict() == {
        "file": "levels/forest.json",
        "line": 4,
        "column": 9,
        "pointer": "/tasks/1/type",
        "severity": "error",
        "message": "bad type",
        "hint": "h",
        "code": "bad_type",
    }
    assert type(item.to_dict()["severity"]) is str


def test_finding_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding().line = 2  # type: ignore[misc]  # deliberate: the write must be refused


def test_severity_is_a_plain_string() -> None:
    assert Severity("warning") is Severity.WARNING
    assert isinstance(Severity.ERROR, str)
    assert f"{Severity.ERROR}" == "error"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        pytest.param("tasks", "tasks", id="plain"),
        pytest.param("a/b", "a~1b", id="slash"),
        pytest.param("m~n", "m~0n", id="tilde"),
        pytest.param("~1", "~01", id="tilde-before-one-is-not-a-slash"),
        pytest.param("", "", id="empty-key"),
    ],
)
def test_escape_pointer_token(token: str, expected: str) -> None:
    assert escape_pointer_token(token) == expected


@pytest.mark.parametrize(
    ("base", "parts", "expected"),
    [
        pytest.param("", (), "", id="root"),
        pytest.param("", ("tasks", 0, "milestones", 1), "/tasks/0/milestones/1", id="mixed"),
        pytest.param("/dialogues", ("intro/1", "~x"), "/dialogues/intro~11/~0x", id="escaped"),
        pytest.param("", ("",), "/", id="empty-key"),
    ],
)
def test_join_pointer(base: str, parts: tuple[str | int, ...], expected: str) -> None:
    assert join_pointer(base, *parts) == expected


def test_sort_findings_orders_by_file_line_column_and_is_stable() -> None:
    first = finding(2, 5, file="a.json", message="first")
    second = finding(2, 5, file="a.json", message="second")
    later_line = finding(10, 1, file="a.json")
    other_file = finding(1, 1, file="b.json")
    same_line_earlier = finding(2, 1, file="a.json")
    items = [other_file, first, later_line, second, same_line_earlier]
    assert sort_findings(items) == [same_line_earlier, first, second, later_line, other_file]


def test_count_errors() -> None:
    items = [finding(), finding(severity=Severity.WARNING), finding()]
    assert count_errors(items) == 2
    assert count_errors([]) == 0
