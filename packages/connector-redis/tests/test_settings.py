"""connector-redis's own settings (`RedisSettings`, `CONNECTOR_REDIS_*`) and the common grace.

These need no Redis server: settings are read from the environment only.
"""

from __future__ import annotations

import pytest

from connector_core.settings import Settings
from connector_core.testing import SettingsContract, clear_settings_environment
from connector_redis.sender import ENTRY_OVERHEAD, largest_item
from connector_redis.settings import DEFAULT_END_GRACE, DEFAULT_REDIS_URL, RedisSettings
from connector_redis.store import DEFAULT_LARGEST_VALUE


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_environment(monkeypatch, Settings, RedisSettings)


def test_defaults_use_the_local_server_and_the_common_grace() -> None:
    settings = RedisSettings(_env_file=None)
    assert settings.url.get_secret_value() == DEFAULT_REDIS_URL
    assert settings.end_grace_for(Settings(_env_file=None)) == DEFAULT_END_GRACE == 2.0


def test_settings_read_the_redis_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_REDIS_BLOCK", "0.25")
    assert RedisSettings().block == 0.25


def test_redis_url_names_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/2")
    assert RedisSettings().url.get_secret_value() == "redis://127.0.0.1:6390/2"


def test_the_common_end_grace_sets_the_redis_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_END_GRACE", "0.25")
    assert RedisSettings().end_grace_for(Settings()) == 0.25


def test_the_url_never_shows_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2-secret@127.0.0.1:6379/0")
    assert "hunter2" not in repr(RedisSettings())


def test_the_item_size_setting_lowers_the_largest_item_but_never_raises_it() -> None:
    server = DEFAULT_LARGEST_VALUE
    assert largest_item(server, None) == server - ENTRY_OVERHEAD
    assert largest_item(server, 1000) == 1000
    assert largest_item(2**20, 2**30) == 2**20 - ENTRY_OVERHEAD


def test_the_item_size_setting_reads_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_REDIS_MAX_ITEM_SIZE", "65536")
    assert RedisSettings().max_item_size == 65536


class TestRedisSettingsContract(SettingsContract):
    settings_class = RedisSettings
    backend = "redis"
