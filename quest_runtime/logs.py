"""Logging: where the service's log lines go and what they look like (SPEC §8).

This module owns :func:`configure_logging`, called once by ``serve`` with the
``log_level`` and ``log_format`` settings. Modules log through
``logging.getLogger(__name__)`` as usual and pass structured fields with ``extra``::

    log.info("level reloaded", extra={"level_id": "lakeside", "generation": 4})

With ``log_format = "json"`` each record becomes one JSON line on stderr, e.g.
``{"ts":"2025-01-01T12:00:00.123Z","level":"info","logger":"quest_runtime.levels",
"msg":"level reloaded","level_id":"lakeside","generation":4}``; a traceback, when
present, is one string under ``exc``. An ``extra`` key that clashes with one of the
four core keys is written as ``extra_<key>``. With ``"text"`` the same record reads
``2025-01-01T12:00:00.123Z info quest_runtime.levels: level reloaded level_id='lakeside'
generation=4``.

The handler sits on the ``quest_runtime`` and ``aiohttp`` loggers, which stop
propagating to the root logger, so the service's stderr is one uniform stream however
the host process configured logging. aiohttp's per-request access lines
(``aiohttp.access``, logged at info) are shown only at ``debug``.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["LEVELS", "configure_logging"]

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
FORMATS = ("json", "text")
LOGGERS = ("quest_runtime", "aiohttp")
HANDLER_NAME = "quest_runtime"
CORE_KEYS = ("ts", "level", "logger", "msg")

# Attributes every LogRecord has; anything else in record.__dict__ came from `extra`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra={...}`` fields of a record, renamed where they clash with core keys."""
    return {
        (f"extra_{key}" if key in CORE_KEYS else key): value
        for key, value in record.__dict__.items()
        if key not in _STANDARD_ATTRS
    }


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, the extras, then exc/stack."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(extra_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that orjson cannot encode (a Path, a set) is logged as
        # text rather than losing the whole line.
        return orjson.dumps(line, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class TextFormatter(logging.Formatter):
    """``<ts> <level> <logger>: <msg> key=value ...``, traceback on the following lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_timestamp(record)} {record.levelname.lower()} {record.name}: "
        text += record.getMessage()
        for key, value in extra_fields(record).items():
            text += f" {key}={value!r}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


def configure_logging(level: str, fmt: str) -> None:
    """Send the service's logs to stderr at ``level`` in ``fmt`` ("json" or "text").

    Safe to call again: the previous handler is replaced, never duplicated.
    """
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: expected one of {', '.join(FORMATS)}")

    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())

    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == HANDLER_NAME]:
            logger.removeHandler(old)
            old.close()
        logger.addHandler(handler)
        logger.setLevel(LEVELS[level])
        logger.propagate = False

    # Access lines are one per request at info: useful when debugging, noise otherwise.
    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
