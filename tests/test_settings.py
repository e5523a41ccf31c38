"""Settings: sources and their precedence, coercion, error messages, freezing, masking."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from quest_runtime.settings import Settings, SettingsError

NO_ENV: dict[str, str] = {}


def write_toml(tmp_path: Path, text: str, name: str = "quest.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- defaults and precedence ------------------------------------------------------------


def test_defaults() -> None:
    settings = Settings.load(env=NO_ENV)
    assert settings == Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8765
    assert settings.levels == Path("levels")
    assert settings.db == Path("quest-runtime.db")
    assert settings.store == "sqlite"
    assert settings.synchronous == "NORMAL"
    assert settings.token is None
    assert settings.admin_token is None
    assert settings.default_level is None
    assert settings.max_body_bytes == 65536
    assert settings.max_batch_events == 1000
    assert settings.rate_limit_per_second == 50.0
    assert settings.rate_limit_burst == 100
    assert settings.journal_limit == 200
    assert settings.watch is True
    assert settings.log_level == "info"
    assert settings.log_format == "json"
    assert settings.shutdown_timeout == 10.0
    assert settings.strict is False


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "port = 1001\n")
    assert Settings.load(env=NO_ENV, config_file=path).port == 1001


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "port = 1001\nhost = '0.0.0.0'\n")
    settings = Settings.load(env={"QUEST_RUNTIME_PORT": "1002"}, config_file=path)
    assert settings.port == 1002
    assert settings.host == "0.0.0.0"  # not in env: the file still counts


def test_cli_overrides_env_and_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "port = 1001\n")
    settings = Settings.load(
        cli={"port": 1003}, env={"QUEST_RUNTIME_PORT": "1002"}, config_file=path
    )
    assert settings.port == 1003


def test_cli_none_means_not_given() -> None:
    settings = Settings.load(cli={"port": None, "token": None}, env={"QUEST_RUNTIME_PORT": "1002"})
    assert settings.port == 1002


def test_env_defaults_to_os_environ_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEST_RUNTIME_PORT", "4321")
    assert Settings.load().port == 4321
    monkeypatch.setenv("QUEST_RUNTIME_PORT", "4322")
    assert Settings.load().port == 4322


def test_config_path_from_env(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "journal_limit = 7\n")
    assert Settings.load(env={"QUEST_RUNTIME_CONFIG": str(path)}).journal_limit == 7


def test_explicit_config_file_beats_env_config(tmp_path: Path) -> None:
    env_file = write_toml(tmp_path, "journal_limit = 7\n", "env.toml")
    arg_file = write_toml(tmp_path, "journal_limit = 8\n", "arg.toml")
    env = {"QUEST_RUNTIME_CONFIG": str(env_file)}
    assert Settings.load(env=env, config_file=arg_file).journal_limit == 8


def test_unknown_env_vars_are_ignored() -> None:
    settings = Settings.load(env={"QUEST_RUNTIME_PROT": "1", "QUEST_RUNTIME_WHATEVER": "x"})
    assert settings == Settings()


def test_toml_table(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        "[other_tool]\nanything = 1\n\n[quest_runtime]\nport = 9000\nwatch = false\n",
    )
    settings = Settings.load(env=NO_ENV, config_file=path)
    assert (settings.port, settings.watch) == (9000, False)


def test_toml_native_types(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        "rate_limit_per_second = 0\nstrict = true\nshutdown_timeout = 2.5\n"
        "synchronous = 'FULL'\nstore = 'memory'\n",
    )
    settings = Settings.load(env=NO_ENV, config_file=path)
    assert settings.rate_limit_per_second == 0.0
    assert isinstance(settings.rate_limit_per_second, float)
    assert settings.strict is True
    assert settings.shutdown_timeout == 2.5
    assert settings.synchronous == "FULL"
    assert settings.store == "memory"


def test_toml_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "levels = 'my-levels'\ndb = '/var/lib/q.db'\n")
    settings = Settings.load(env=NO_ENV, config_file=path)
    assert settings.levels == tmp_path / "my-levels"
    assert settings.db == Path("/var/lib/q.db")


def test_env_relative_paths_stay_relative() -> None:
    settings = Settings.load(env={"QUEST_RUNTIME_LEVELS": "lv", "QUEST_RUNTIME_DB": "x.db"})
    assert settings.levels == Path("lv")
    assert settings.db == Path("x.db")


# -- coercion from text -------------------------------------------------------------------


COERCIONS = [
    ("port", "80", 80),
    ("port", " 65535 ", 65535),
    ("max_body_bytes", "1", 1),
    ("max_batch_events", "5", 5),
    ("rate_limit_burst", "3", 3),
    ("journal_limit", "12", 12),
    ("rate_limit_per_second", "2.5", 2.5),
    ("rate_limit_per_second", "0", 0.0),
    ("shutdown_timeout", "3", 3.0),
    ("watch", "true", True),
    ("watch", "FALSE", False),
    ("watch", "1", True),
    ("watch", "0", False),
    ("watch", "yes", True),
    ("watch", "no", False),
    ("strict", "On", True),
    ("strict", "off", False),
    ("levels", "some/dir", Path("some/dir")),
    ("db", "state.db", Path("state.db")),
    ("store", "memory", "memory"),
    ("store", "SQLite", "sqlite"),
    ("synchronous", "full", "FULL"),
    ("synchronous", "NORMAL", "NORMAL"),
    ("log_level", "DEBUG", "debug"),
    ("log_format", "text", "text"),
    ("host", "0.0.0.0", "0.0.0.0"),
    ("token", "s3cret", "s3cret"),
    ("token", "", None),
    ("admin_token", "adm1n", "adm1n"),
    ("admin_token", "", None),
    ("default_level", "lakeside", "lakeside"),
    ("default_level", "", None),
]


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    COERCIONS,
    ids=[f"{field}={text!r}" for field, text, _ in COERCIONS],
)
def test_env_coercion(field: str, text: str, expected: object) -> None:
    settings = Settings.load(env={f"QUEST_RUNTIME_{field.upper()}": text})
    value = getattr(settings, field)
    assert value == expected
    assert type(value) is type(expected)


def test_home_is_expanded() -> None:
    settings = Settings.load(env={"QUEST_RUNTIME_LEVELS": "~/levels"})
    assert settings.levels == Path("~/levels").expanduser()


def test_cli_accepts_text_and_typed_values() -> None:
    settings = Settings.load(
        cli={"port": "9001", "watch": False, "levels": Path("x"), "rate_limit_per_second": 3},
        env=NO_ENV,
    )
    assert settings.port == 9001
    assert settings.watch is False
    assert settings.levels == Path("x")
    assert settings.rate_limit_per_second == 3.0


# -- error messages -----------------------------------------------------------------------


ENV_ERRORS = [
    ("port", "eighty", "QUEST_RUNTIME_PORT='eighty': expected an integer from 1 to 65535"),
    ("port", "0", "QUEST_RUNTIME_PORT='0': expected an integer from 1 to 65535"),
    ("port", "65536", "QUEST_RUNTIME_PORT='65536': expected an integer from 1 to 65535"),
    ("port", "80.0", "QUEST_RUNTIME_PORT='80.0': expected an integer from 1 to 65535"),
    (
        "max_body_bytes",
        "0",
        "QUEST_RUNTIME_MAX_BODY_BYTES='0': expected an integer of at least 1",
    ),
    (
        "max_batch_events",
        "-1",
        "QUEST_RUNTIME_MAX_BATCH_EVENTS='-1': expected an integer of at least 1",
    ),
    (
        "rate_limit_burst",
        "lots",
        "QUEST_RUNTIME_RATE_LIMIT_BURST='lots': expected an integer of at least 1",
    ),
    (
        "journal_limit",
        "0",
        "QUEST_RUNTIME_JOURNAL_LIMIT='0': expected an integer of at least 1",
    ),
    (
        "rate_limit_per_second",
        "-1",
        "QUEST_RUNTIME_RATE_LIMIT_PER_SECOND='-1': expected a number >= 0",
    ),
    (
        "rate_limit_per_second",
        "nan",
        "QUEST_RUNTIME_RATE_LIMIT_PER_SECOND='nan': expected a number >= 0",
    ),
    (
        "shutdown_timeout",
        "soon",
        "QUEST_RUNTIME_SHUTDOWN_TIMEOUT='soon': expected a number of seconds >= 0",
    ),
    (
        "watch",
        "maybe",
        "QUEST_RUNTIME_WATCH='maybe': expected a boolean (true/false, 1/0, yes/no, on/off)",
    ),
    (
        "store",
        "sqllite",
        "QUEST_RUNTIME_STORE='sqllite': expected one of 'sqlite', 'memory' "
        "(did you mean 'sqlite'?)",
    ),
    (
        "synchronous",
        "EXTRA",
        "QUEST_RUNTIME_SYNCHRONOUS='EXTRA': expected one of 'NORMAL', 'FULL'",
    ),
    (
        "log_level",
        "verbose",
        "QUEST_RUNTIME_LOG_LEVEL='verbose': expected one of 'debug', 'info', 'warning', 'error'",
    ),
    ("log_format", "xml", "QUEST_RUNTIME_LOG_FORMAT='xml': expected one of 'json', 'text'"),
    ("levels", "", "QUEST_RUNTIME_LEVELS='': expected a non-empty path"),
    ("host", " ", "QUEST_RUNTIME_HOST=' ': expected a host name or IP address"),
    ("default_level", " ", "QUEST_RUNTIME_DEFAULT_LEVEL=' ': expected a level id"),
]


@pytest.mark.parametrize(
    ("field", "text", "message"),
    ENV_ERRORS,
    ids=[f"{field}={text!r}" for field, text, _ in ENV_ERRORS],
)
def test_env_error_messages(field: str, text: str, message: str) -> None:
    var = f"QUEST_RUNTIME_{field.upper()}"
    with pytest.raises(SettingsError) as info:
        Settings.load(env={var: text})
    error = info.value
    assert str(error).startswith(f"environment variable {message}")
    assert (error.setting, error.source, error.value) == (
        field,
        f"environment variable {var}",
        text,
    )
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("text", [" padded", "two words", "   "], ids=repr)
def test_token_errors_never_echo_the_token(text: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.load(env={"QUEST_RUNTIME_TOKEN": text})
    assert str(info.value) == (
        "environment variable QUEST_RUNTIME_TOKEN='***': expected a token without "
        "whitespace (or an empty value for none)"
    )
    assert info.value.value == "***"
    if text.strip():
        assert text.strip() not in str(info.value)


def test_cli_error_names_the_flag() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.load(cli={"max_body_bytes": "big"}, env=NO_ENV)
    assert str(info.value) == "--max-body-bytes='big': expected an integer of at least 1"
    assert info.value.source == "--max-body-bytes"


def test_cli_bool_is_not_an_integer() -> None:
    with pytest.raises(SettingsError, match=r"^--port=True: expected an integer"):
        Settings.load(cli={"port": True}, env=NO_ENV)


def test_cli_unknown_setting() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.load(cli={"prot": 1}, env=NO_ENV)
    assert str(info.value) == "--prot: unknown setting 'prot' (did you mean 'port'?)"


def test_file_error_names_file_key_and_value(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "port = 'eighty'\n")
    with pytest.raises(SettingsError) as info:
        Settings.load(env=NO_ENV, config_file=path)
    assert str(info.value) == (
        f"config file {path}: port='eighty': expected an integer from 1 to 65535"
    )
    assert info.value.setting == "port"


def test_file_error_in_table(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[quest_runtime]\nwatch = 3\n")
    with pytest.raises(SettingsError) as info:
        Settings.load(env=NO_ENV, config_file=path)
    assert str(info.value).startswith(f"config file {path}: quest_runtime.watch=3: expected a")


def test_file_error_via_env_config_says_so(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "strict = 'sure'\n")
    with pytest.raises(SettingsError) as info:
        Settings.load(env={"QUEST_RUNTIME_CONFIG": str(path)})
    assert str(info.value).startswith(
        f"config file {path} (from QUEST_RUNTIME_CONFIG): strict='sure': expected a boolean"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prot = 1\n", "unknown setting 'prot' (did you mean 'port'?)"),
        (
            "max-body-bytes = 1\n",
            "unknown setting 'max-body-bytes' (did you mean 'max_body_bytes'?)",
        ),
        ("[quest_runtime]\nlevel = 'x'\n", "unknown setting 'level' (did you mean 'levels'?)"),
        ("[server]\nport = 1\n", "unknown setting 'server' (known settings: host, port,"),
    ],
    ids=["typo", "dashes", "in-table", "no-close-match"],
)
def test_toml_unknown_key(tmp_path: Path, text: str, message: str) -> None:
    path = write_toml(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        Settings.load(env=NO_ENV, config_file=path)
    assert str(info.value).startswith(f"config file {path}: {message}")


def test_toml_setting_outside_the_table(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "port = 1\n[quest_runtime]\nhost = 'x'\n")
    with pytest.raises(SettingsError, match=r"setting 'port' is at the top level"):
        Settings.load(env=NO_ENV, config_file=path)


def test_toml_table_must_be_a_table(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "quest_runtime = 3\n")
    with pytest.raises(SettingsError, match=r"'quest_runtime' must be a table"):
        Settings.load(env=NO_ENV, config_file=path)


def test_invalid_toml(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "port = = 1\n")
    with pytest.raises(SettingsError, match=rf"^config file {path}: not valid TOML: "):
        Settings.load(env=NO_ENV, config_file=path)


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(SettingsError) as info:
        Settings.load(env=NO_ENV, config_file=path)
    assert str(info.value) == f"config file {path}: cannot read it: No such file or directory"


def test_missing_config_file_from_env(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(SettingsError, match=r"\(from QUEST_RUNTIME_CONFIG\): cannot read it"):
        Settings.load(env={"QUEST_RUNTIME_CONFIG": str(path)})


def test_direct_construction_is_validated() -> None:
    with pytest.raises(SettingsError) as info:
        Settings(port=0)
    assert str(info.value) == "Settings.port=0: expected an integer from 1 to 65535"


# -- frozen, repr, describe ---------------------------------------------------------------


def test_frozen() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]  # deliberate: the write must be refused
    with pytest.raises((AttributeError, TypeError)):
        settings.new_attribute = 1  # type: ignore[attr-defined]  # deliberate: refused


def test_describe_masks_tokens() -> None:
    settings = Settings.load(
        env={"QUEST_RUNTIME_TOKEN": "tok-123", "QUEST_RUNTIME_ADMIN_TOKEN": "adm-456"}
    )
    described = settings.describe()
    assert described["token"] == "***"
    assert described["admin_token"] == "***"
    assert described["levels"] == "levels"
    assert described["port"] == 8765
    assert set(described) == {f.name for f in dataclasses.fields(Settings)}
    for secret in ("tok-123", "adm-456"):
        assert secret not in repr(described)
        assert secret not in repr(settings)
    # The real values are still there for the server to use.
    assert (settings.token, settings.admin_token) == ("tok-123", "adm-456")


def test_describe_unset_tokens_are_none() -> None:
    described: dict[str, Any] = Settings().describe()
    assert described["token"] is None
    assert described["admin_token"] is None
