"""connector-rabbitmq's own settings (`RabbitMQSettings`) and the common grace; no broker."""

from __future__ import annotations

import pickle

import pytest
from dependency_injector import providers
from pydantic import ValidationError

from connector_core.di import DI
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import SettingsContract, clear_settings_environment, unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.parts import PartSettings
from connector_rabbitmq.settings import (
    DEFAULT_END_GRACE,
    DEFAULT_MAX_ITEM_SIZE,
    DEFAULT_PART_SIZE,
    DEFAULT_URL,
    RabbitMQSettings,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_environment(monkeypatch, Settings, RabbitMQSettings)


def test_defaults() -> None:
    settings = RabbitMQSettings(_env_file=None)
    assert settings.url is None
    assert DEFAULT_URL == "amqp://guest:guest@localhost:5672/"
    assert (settings.connect_timeout, settings.unreachable_timeout) == (10.0, 30.0)
    assert settings.max_message_size == 128 * 1024 * 1024


@pytest.mark.parametrize("variable", ["RABBITMQ_URL", "CONNECTOR_RABBITMQ_URL"])
def test_the_broker_url_comes_from_rabbitmq_url(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "amqp://u:hunter2pw@127.0.0.1:5672/")
    settings = RabbitMQSettings()
    assert settings.url is not None
    assert settings.url.get_secret_value() == "amqp://u:hunter2pw@127.0.0.1:5672/"
    assert "hunter2pw" not in repr(settings)


def test_the_other_settings_read_the_rabbitmq_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_RABBITMQ_CONNECT_TIMEOUT", "2.5")
    monkeypatch.setenv("CONNECTOR_RABBITMQ_UNREACHABLE_TIMEOUT", "4")
    monkeypatch.setenv("CONNECTOR_RABBITMQ_MAX_MESSAGE_SIZE", "1000")
    settings = RabbitMQSettings()
    assert (settings.connect_timeout, settings.unreachable_timeout) == (2.5, 4.0)
    assert settings.max_message_size == 1000


def test_the_connector_reads_di_rabbitmq_settings() -> None:
    ours = RabbitMQSettings(connect_timeout=1.5, unreachable_timeout=2.5, max_message_size=999)
    with DI.rabbitmq_settings.override(providers.Object(ours)):
        connector = RabbitMQConnector(unique_spec(ConnectorMode.PIPELINE))
    assert connector.connect_timeout == 1.5
    assert connector.unreachable_timeout == 2.5
    assert connector.max_message_size == 999


def test_the_grace_is_the_backends_default_unless_the_common_setting_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = unique_spec(ConnectorMode.PIPELINE)
    assert RabbitMQConnector(spec, settings=Settings()).end_grace == DEFAULT_END_GRACE == 1.0
    monkeypatch.setenv("CONNECTOR_END_GRACE", "0.3")
    assert RabbitMQConnector(spec, settings=Settings()).end_grace == 0.3


def test_the_end_grace_keyword_still_works_with_a_deprecation_warning() -> None:
    spec = unique_spec(ConnectorMode.PIPELINE)
    with pytest.warns(DeprecationWarning, match="CONNECTOR_END_GRACE") as caught:
        connector = RabbitMQConnector(spec, end_grace=0.4, settings=Settings(end_grace=9))
    assert connector.end_grace == 0.4
    assert caught[0].filename == __file__  # the warning points at the caller
    with pytest.warns(DeprecationWarning, match="end_grace"), pytest.raises(ValueError):
        RabbitMQConnector(spec, end_grace=-1)


def test_large_items_cross_in_parts_of_4_mib_up_to_256_mib_by_default() -> None:
    settings = RabbitMQSettings(_env_file=None)
    assert settings.part_size is None
    assert settings.effective_part_size == DEFAULT_PART_SIZE == 4 * 1024 * 1024
    assert settings.max_item_size == DEFAULT_MAX_ITEM_SIZE == 256 * 1024 * 1024
    assert settings.part_expires == 3600.0


def test_the_default_part_size_fits_a_smaller_message_size() -> None:
    assert RabbitMQSettings(max_message_size=1000).effective_part_size == 992


def test_a_part_size_that_leaves_no_room_below_the_message_size_is_refused() -> None:
    with pytest.raises(ValidationError, match="set CONNECTOR_RABBITMQ_PART_SIZE to at most 1992"):
        RabbitMQSettings(max_message_size=2000, part_size=2000)
    with pytest.raises(ValidationError, match="greater than or equal to 1024"):
        RabbitMQSettings(part_size=100)
    with pytest.raises(ValidationError, match="greater than 0"):
        RabbitMQSettings(max_item_size=0)


def test_the_part_settings_read_the_rabbitmq_prefix_and_travel_with_the_connector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_RABBITMQ_PART_SIZE", "65536")
    monkeypatch.setenv("CONNECTOR_RABBITMQ_MAX_ITEM_SIZE", "1000000")
    monkeypatch.setenv("CONNECTOR_RABBITMQ_PART_EXPIRES", "60")
    connector = RabbitMQConnector(
        unique_spec(ConnectorMode.PIPELINE), rabbitmq_settings=RabbitMQSettings()
    )
    assert connector.parts == PartSettings(65536, 1_000_000, 60.0)
    assert connector.parts.arguments == {"x-expires": 60_000}
    assert pickle.loads(pickle.dumps(connector)).parts == connector.parts


class TestRabbitMQSettingsContract(SettingsContract):
    settings_class = RabbitMQSettings
    backend = "rabbitmq"
