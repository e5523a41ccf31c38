"""Settings: every knob of the service, read once at start-up and frozen (SPEC §8).

This module owns the :class:`Settings` dataclass, where its values come from, how text
becomes typed values, and the :class:`SettingsError` a bad value raises. Nothing here
runs at import time: ``quest-runtime serve`` calls :meth:`Settings.load` once and passes
the frozen result down (STYLE guideline 15, after ``starlette/config.py``).

Sources, each overriding the one before:

1. the defaults declared on :class:`Settings`;
2. a TOML file: the ``config_file`` argument (``--config``), else the path in the
   environment variable ``QUEST_RUNTIME_CONFIG``; no file is read when neither is set;
3. environment variables ``QUEST_RUNTIME_<FIELD>`` (``QUEST_RUNTIME_PORT=9000``);
4. explicit command-line values (``cli``); ``None`` means "flag not given".

The TOML file holds the settings either at its top level (a file of its own)::

    port = 9000
    levels = "levels"

or under a ``[quest_runtime]`` table, so one file can be shared with other tools. When
that table is present only it is read and the file's other top-level keys are left alone,
except that a setting name at the top level as well is an error (it would be ignored
silently otherwise). Without the table every top-level key must be a setting; an unknown
key is an error with a did-you-mean. Relative paths in the file (``levels``, ``db``) are
relative to the file's folder; relative paths from the environment or the command line
are relative to the working directory. A leading ``~`` is expanded everywhere.

Text values are coerced per field: integers, numbers, booleans (true/false, 1/0, yes/no,
on/off), paths, choices (case-insensitive) and optional strings, where an empty string
means "not set". Unknown ``QUEST_RUNTIME_*`` environment variables are ignored (other
tools share the prefix). Every error names the setting, where the value came from, the
value and what was expected::

    environment variable QUEST_RUNTIME_PORT='eighty': expected an integer from 1 to 65535

Token values are never echoed: errors, ``repr()`` and :meth:`Settings.describe` show
``'***'``.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from quest_runtime.suggest import did_you_mean

__all__ = ["ENV_PREFIX", "Settings", "SettingsError"]

ENV_PREFIX = "QUEST_RUNTIME_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
TOML_TABLE = "quest_runtime"
MASK = "***"
SECRET_FIELDS = frozenset({"token", "admin_token", "dsn"})

StoreKind = Literal["sqlite", "memory", "postgres"]
Synchronous = Literal["NORMAL", "FULL"]
LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["json", "text"]

_NO_VALUE: Any = object()


class SettingsError(ValueError):
    """A setting could not be read: which one, from where, its value and what was expected.

    ``setting`` is the field name (or the unknown key, or None for file-level problems),
    ``source`` says where the value came from (``environment variable QUEST_RUNTIME_PORT``,
    ``config file x.toml: port``, ``--port``), ``value`` is the offending value (masked
    for tokens) and ``problem`` the sentence saying what is expected.
    """

    def __init__(
        self, problem: str, *, setting: str | None, source: str, value: object = _NO_VALUE
    ) -> None:
        self.problem = problem
        self.setting = setting
        self.source = source
        self.value = None if value is _NO_VALUE else value
        self.has_value = value is not _NO_VALUE
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.has_value:
            return f"{self.source}={self.value!r}: {self.problem}"
        return f"{self.source}: {self.problem}"


class _Invalid(Exception):
    """Raised by a parser; the caller adds the setting, source and value."""


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or "" when none is close."""
    match = did_you_mean(word.replace("-", "_"), candidates)
    return f" (did you mean {match!r}?)" if match else ""


# -- parsers: object (text from env/CLI, or a TOML/CLI native value) -> typed value --------

Parser = Callable[[object], object]


def _integer(low: int, high: int | None = None) -> Parser:
    if high is None:
        expected = f"expected an integer of at least {low}"
    else:
        expected = f"expected an integer from {low} to {high}"

    def parse(raw: object) -> object:
        if isinstance(raw, bool):
            raise _Invalid(expected)
        if isinstance(raw, str):
            try:
                raw = int(raw.strip(), 10)
            except ValueError:
                raise _Invalid(expected) from None
        if not isinstance(raw, int) or raw < low or (high is not None and raw > high):
            raise _Invalid(expected)
        return raw

    return parse


def _number(low: float, expected: str) -> Parser:
    def parse(raw: object) -> object:
        if isinstance(raw, bool):
            raise _Invalid(expected)
        if isinstance(raw, str):
            try:
                raw = float(raw.strip())
            except ValueError:
                raise _Invalid(expected) from None
        if not isinstance(raw, int | float) or not math.isfinite(raw) or raw < low:
            raise _Invalid(expected)
        return float(raw)

    return parse


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _boolean(raw: object) -> object:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _Invalid("expected a boolean (true/false, 1/0, yes/no, on/off)")


def _choice(*options: str) -> Parser:
    by_key = {option.casefold(): option for option in options}
    expected = "expected one of " + ", ".join(repr(option) for option in options)

    def parse(raw: object) -> object:
        if isinstance(raw, str):
            key = raw.strip().casefold()
            if key in by_key:
                return by_key[key]
            raise _Invalid(expected + _did_you_mean(key, by_key))
        raise _Invalid(expected)

    return parse


def _store(raw: object) -> object:
    """``sqlite``/``memory`` (one instance) or ``postgres`` (a network), named apart in the
    message: the embedded choices first, as before the network store existed."""
    embedded = _choice("sqlite", "memory")
    if isinstance(raw, str) and raw.strip().casefold() == "postgres":
        return "postgres"
    try:
        return embedded(raw)
    except _Invalid as exc:
        raise _Invalid(f"{exc}, or 'postgres' (instances sharing one PostgreSQL "
                       "database)") from None


def _path(raw: object) -> object:
    if isinstance(raw, Path):
        return raw.expanduser()
    if isinstance(raw, str) and raw.strip():
        return Path(raw).expanduser()
    raise _Invalid("expected a non-empty path")


def _text(expected: str) -> Parser:
    def parse(raw: object) -> object:
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
        raise _Invalid(expected)

    return parse


def _optional_text(expected: str) -> Parser:
    def parse(raw: object) -> object:
        if raw is None or raw == "":
            return None
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
        raise _Invalid(expected)

    return parse


def _token(raw: object) -> object:
    # Padding is refused rather than stripped: a token that differs from what the plugin
    # sends would lock everyone out, and a blank one must not silently disable auth.
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and raw.strip() == raw and not any(c.isspace() for c in raw):
        return raw
    raise _Invalid("expected a token without whitespace (or an empty value for none)")


_PARSERS: dict[str, Parser] = {
    "host": _text("expected a host name or IP address"),
    "port": _integer(1, 65535),
    "levels": _path,
    "db": _path,
    "store": _store,
    "dsn": _optional_text("expected a PostgreSQL connection string "
                          "(host=... dbname=... or postgresql://...)"),
    "pool_size": _integer(2, 1000),
    "synchronous": _choice("NORMAL", "FULL"),
    "token": _token,
    "admin_token": _token,
    "default_level": _optional_text("expected a level id (or an empty value for none)"),
    "max_body_bytes": _integer(1),
    "max_batch_events": _integer(1),
    "rate_limit_per_second": _number(0, "expected a number >= 0 (events per second; 0 = off)"),
    "rate_limit_burst": _integer(1),
    "journal_limit": _integer(1),
    "watch": _boolean,
    "log_level": _choice("debug", "info", "warning", "error"),
    "log_format": _choice("json", "text"),
    "shutdown_timeout": _number(0, "expected a number of seconds >= 0"),
    "strict": _boolean,
}


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    """The service's configuration; build it with :meth:`load`, then never change it.

    Constructing it directly (tests do) validates the values the same way.
    """

    host: str = "127.0.0.1"
    """Interface to bind; the default keeps the service local (SPEC §8)."""
    port: int = 8765
    levels: Path = Path("levels")
    """Folder of level JSON files."""
    db: Path = Path("quest-runtime.db")
    """SQLite file (``store = "sqlite"``); created on first start."""
    store: StoreKind = "sqlite"
    """``sqlite`` (embedded, one instance), ``memory`` (tests) or ``postgres`` (a network
    of instances sharing one database: docs/operating.md "Running a network")."""
    dsn: str | None = None
    """PostgreSQL connection string (``store = "postgres"``); masked like tokens."""
    pool_size: int = 8
    """PostgreSQL connections per instance (``store = "postgres"``): 2 write, the rest read."""
    synchronous: Synchronous = "NORMAL"
    """SQLite ``synchronous``: NORMAL survives process crashes, FULL power loss (SPEC §5.2)."""
    token: str | None = None
    """Bearer token for every endpoint but ``/health``; None leaves them open."""
    admin_token: str | None = None
    """Separate bearer token for ``/admin/*`` endpoints."""
    default_level: str | None = None
    """Level loaded for a player with no level session before their event (SPEC §8)."""
    max_body_bytes: int = 65536
    max_batch_events: int = 1000
    rate_limit_per_second: float = 50.0
    """Per-player sustained rate of rule events; 0 disables rate limiting."""
    rate_limit_burst: int = 100
    journal_limit: int = 200
    """Journal entries kept per player (SPEC §5.3)."""
    watch: bool = True
    """Reload changed level files automatically (SPEC §6)."""
    log_level: LogLevel = "info"
    log_format: LogFormat = "json"
    shutdown_timeout: float = 10.0
    """Seconds to let in-flight events finish on shutdown."""
    strict: bool = False
    """Treat level warnings as errors when loading levels."""

    def __post_init__(self) -> None:
        for name, parse in _PARSERS.items():
            raw = getattr(self, name)
            value = _parse(name, raw, f"Settings.{name}", parse)
            if value != raw or type(value) is not type(raw):
                # Normalise (e.g. "full" -> "FULL", 80 -> 80.0) on a frozen instance.
                object.__setattr__(self, name, value)
        if self.store == "postgres" and self.dsn is None:
            raise SettingsError("store 'postgres' needs a connection string: set dsn "
                                "(--dsn, QUEST_RUNTIME_DSN or dsn in the config file)",
                                setting="dsn", source="Settings.dsn", value=None)

    @classmethod
    def load(
        cls,
        *,
        cli: Mapping[str, object] | None = None,
        env: Mapping[str, str] | None = None,
        config_file: Path | None = None,
    ) -> Settings:
        """Read every source once and return the frozen result (see the module docstring).

        ``env`` defaults to ``os.environ`` at call time. ``cli`` maps field names to
        values (text or already typed); ``None`` values are skipped, and an unknown
        name is an error. Raises :class:`SettingsError` on the first bad value.
        """
        environ: Mapping[str, str] = os.environ if env is None else env
        values: dict[str, Any] = {}
        path, origin = _config_path(config_file, environ)
        if path is not None:
            values.update(_read_config_file(path, origin))
        values.update(_read_env(environ))
        values.update(_read_cli(cli or {}))
        return cls(**values)

    def describe(self) -> dict[str, object]:
        """The settings as a JSON-ready dict for the start-up log, with tokens masked."""
        out: dict[str, object] = {}
        for name in _PARSERS:
            value = getattr(self, name)
            if name in SECRET_FIELDS and value is not None:
                value = MASK
            elif isinstance(value, Path):
                value = str(value)
            out[name] = value
        return out

    def __repr__(self) -> str:
        parts = []
        for name in _PARSERS:
            value = getattr(self, name)
            shown = MASK if name in SECRET_FIELDS and value is not None else value
            parts.append(f"{name}={shown!r}")
        return f"Settings({', '.join(parts)})"


def _parse(name: str, raw: object, source: str, parse: Parser) -> object:
    try:
        return parse(raw)
    except _Invalid as exc:
        shown = MASK if name in SECRET_FIELDS else raw
        raise SettingsError(str(exc), setting=name, source=source, value=shown) from None


def _unknown(key: str) -> str:
    hint = _did_you_mean(key, _PARSERS)
    if not hint:
        hint = " (known settings: " + ", ".join(_PARSERS) + ")"
    return f"unknown setting {key!r}{hint}"


def _config_path(explicit: Path | None, env: Mapping[str, str]) -> tuple[Path | None, str]:
    if explicit is not None:
        return explicit, f"config file {explicit}"
    from_env = env.get(CONFIG_ENV, "")
    if from_env.strip():
        return Path(from_env).expanduser(), f"config file {from_env} (from {CONFIG_ENV})"
    return None, ""


def _read_config_file(path: Path, origin: str) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise SettingsError(
            f"cannot read it: {exc.strerror or exc}", setting=None, source=origin
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"not valid TOML: {exc}", setting=None, source=origin) from None

    prefix = ""
    table: dict[str, Any] = document
    if TOML_TABLE in document:
        if not isinstance(document[TOML_TABLE], dict):
            raise SettingsError(
                f"{TOML_TABLE!r} must be a table ([{TOML_TABLE}])", setting=None, source=origin
            )
        both = sorted(set(document) & set(_PARSERS))
        if both:
            raise SettingsError(
                f"setting {both[0]!r} is at the top level but the file has a "
                f"[{TOML_TABLE}] table; move it into the table",
                setting=both[0],
                source=origin,
            )
        table, prefix = document[TOML_TABLE], f"{TOML_TABLE}."

    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in _PARSERS:
            raise SettingsError(_unknown(key), setting=key, source=origin)
        value = _parse(key, raw, f"{origin}: {prefix}{key}", _PARSERS[key])
        if isinstance(value, Path) and not value.is_absolute():
            value = path.parent / value
        values[key] = value
    return values


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, parse in _PARSERS.items():
        var = ENV_PREFIX + name.upper()
        if var in env:
            values[name] = _parse(name, env[var], f"environment variable {var}", parse)
    return values


def _read_cli(cli: Mapping[str, object]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in cli.items():
        flag = "--" + name.replace("_", "-")
        if name not in _PARSERS:
            raise SettingsError(_unknown(name), setting=name, source=flag)
        if raw is not None:
            values[name] = _parse(name, raw, flag, _PARSERS[name])
    return values


# Our own invariant: every field has exactly one parser (and so one coercion rule).
assert set(_PARSERS) == {f.name for f in fields(Settings)}, "settings parsers out of sync"
