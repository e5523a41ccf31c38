"""Logging: JSON and text lines on stderr, extra fields, idempotent configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import orjson
import pytest

from quest_runtime.logs import configure_logging

MANAGED = ("quest_runtime", "aiohttp", "aiohttp.access")


@pytest.fixture(autouse=True)
def restore_loggers() -> Iterator[None]:
    """configure_logging changes process-wide loggers; put them back after each test."""
    saved = {}
    for name in MANAGED:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_json_line_with_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    logging.getLogger("quest_runtime.levels").info(
        "level %s reloaded", "lakeside", extra={"level_id": "lakeside", "generation": 4}
    )
    [line] = lines(capsys)
    record = orjson.loads(line)
    assert record == {
        "ts": record["ts"],
        "level": "info",
        "logger": "quest_runtime.levels",
        "msg": "level lakeside reloaded",
        "level_id": "lakeside",
        "generation": 4,
    }
    assert record["ts"].endswith("Z")
    moment = datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
    offset = moment.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 0


def test_json_exception_is_one_string(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    try:
        raise RuntimeError("disk on fire")
    except RuntimeError:
        logging.getLogger("quest_runtime.store").exception("commit failed")
    [line] = lines(capsys)
    record = orjson.loads(line)
    assert record["level"] == "error"
    assert record["msg"] == "commit failed"
    assert record["exc"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: disk on fire" in record["exc"]


def test_json_multiline_message_stays_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    logging.getLogger("quest_runtime").warning("two\nlines")
    [line] = lines(capsys)
    assert orjson.loads(line)["msg"] == "two\nlines"


def test_json_unencodable_extras_and_clashing_keys(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    logging.getLogger("quest_runtime").info(
        "odd extras", extra={"things": {1, 2} - {2}, "level": 3, "ts": "mine"}
    )
    record = orjson.loads(lines(capsys)[0])
    assert record["things"] == "{1}"
    assert (record["level"], record["extra_level"]) == ("info", 3)
    assert record["extra_ts"] == "mine"


def test_text_format(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("debug", "text")
    logging.getLogger("quest_runtime.engine").debug("event handled", extra={"player": "Steve"})
    [line] = lines(capsys)
    stamp, level, rest = line.split(" ", 2)
    assert stamp.endswith("Z")
    assert level == "debug"
    assert rest == "quest_runtime.engine: event handled player='Steve'"


def test_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", "json")
    log = logging.getLogger("quest_runtime.x")
    log.info("hidden")
    log.warning("shown")
    assert [orjson.loads(line)["msg"] for line in lines(capsys)] == ["shown"]


def test_configure_twice_does_not_duplicate(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    configure_logging("info", "json")
    logging.getLogger("quest_runtime").info("once")
    assert len(lines(capsys)) == 1
    assert len(logging.getLogger("quest_runtime").handlers) == 1


def test_reconfigure_switches_format(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    configure_logging("info", "text")
    logging.getLogger("quest_runtime").info("plain")
    [line] = lines(capsys)
    assert line.endswith(" info quest_runtime: plain")


def test_foreign_handlers_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    other = logging.NullHandler()
    logging.getLogger("quest_runtime").addHandler(other)
    before = len(logging.getLogger("quest_runtime").handlers)  # others may be there too
    configure_logging("info", "json")
    configure_logging("info", "json")
    assert other in logging.getLogger("quest_runtime").handlers
    assert len(logging.getLogger("quest_runtime").handlers) == before + 1


@pytest.mark.parametrize(
    ("level", "shown"), [("debug", True), ("info", False), ("error", False)], ids=str
)
def test_aiohttp_access_only_at_debug(
    capsys: pytest.CaptureFixture[str], level: str, shown: bool
) -> None:
    configure_logging(level, "json")
    logging.getLogger("aiohttp.access").info("GET /health 200")
    logging.getLogger("aiohttp.server").error("Error handling request")
    msgs = [orjson.loads(line)["msg"] for line in lines(capsys)]
    assert ("GET /health 200" in msgs) is shown
    assert "Error handling request" in msgs  # aiohttp errors come out as JSON too


@pytest.mark.parametrize(
    ("level", "fmt", "message"),
    [
        ("verbose", "json", "log level 'verbose': expected one of debug, info, warning, error"),
        ("info", "xml", "log format 'xml': expected one of json, text"),
    ],
    ids=["level", "format"],
)
def test_bad_arguments(level: str, fmt: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        configure_logging(level, fmt)
