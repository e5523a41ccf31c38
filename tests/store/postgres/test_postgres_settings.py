"""The postgres store's settings: ``store``/``dsn``/``pool_size`` in every form, the dsn
masked, a postgres store without a dsn refused, and the service built on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from quest_runtime.server.app import make_store
from quest_runtime.settings import Settings, SettingsError
from quest_runtime.store.postgres import PostgresStore

DSN = "host=db.internal dbname=quests user=quests password=hunter2"


def test_flags_environment_and_toml_choose_postgres(tmp_path: Path) -> None:
    from_cli = Settings.load(cli={"store": "postgres", "dsn": DSN, "pool_size": "4"}, env={})
    from_env = Settings.load(env={"QUEST_RUNTIME_STORE": "Postgres",
                                  "QUEST_RUNTIME_DSN": DSN, "QUEST_RUNTIME_POOL_SIZE": "4"})
    toml = tmp_path / "q.toml"
    toml.write_text(f'[quest_runtime]\nstore = "postgres"\ndsn = "{DSN}"\npool_size = 4\n')
    from_file = Settings.load(config_file=toml, env={})
    for settings in (from_cli, from_env, from_file):
        assert (settings.store, settings.dsn, settings.pool_size) == ("postgres", DSN, 4)
        store = make_store(settings)
        assert isinstance(store, PostgresStore) and store.pool_size == 4
        assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.describe())


def test_postgres_without_a_dsn_is_refused() -> None:
    with pytest.raises(SettingsError, match="needs a connection string") as info:
        Settings.load(cli={"store": "postgres"}, env={})
    assert info.value.setting == "dsn"


@pytest.mark.parametrize(("env", "message"), [
    ({"QUEST_RUNTIME_STORE": "postgress"}, "or 'postgres'"),
    ({"QUEST_RUNTIME_POOL_SIZE": "1"}, "QUEST_RUNTIME_POOL_SIZE='1'"),
    ({"QUEST_RUNTIME_DSN": "   "}, "PostgreSQL connection string"),
])
def test_bad_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(env={"QUEST_RUNTIME_DSN": DSN, **env})


def test_the_dsn_is_masked_in_errors() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.load(env={"QUEST_RUNTIME_DSN": 42}, )  # type: ignore[dict-item]
    assert "42" not in str(info.value)
