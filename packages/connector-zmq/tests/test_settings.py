"""connector-zmq's own settings (`ZMQSettings`, `CONNECTOR_ZMQ_*`) and the common grace."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from connector_core.di import DI
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import SettingsContract, clear_settings_environment
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector
from connector_zmq.settings import DEFAULT_END_GRACE, ZMQSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_environment(monkeypatch, Settings, ZMQSettings)


def test_defaults_listen_on_loopback() -> None:
    settings = ZMQSettings(_env_file=None)
    assert settings.bind_host == "127.0.0.1"
    assert settings.join_timeout == 60.0
    assert settings.end_grace_for(Settings(_env_file=None)) == DEFAULT_END_GRACE == 2.0


def test_settings_read_the_zmq_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_ZMQ_BIND_HOST", "0.0.0.0")
    monkeypatch.setenv("CONNECTOR_ZMQ_JOIN_TIMEOUT", "5")
    settings = ZMQSettings()
    assert settings.bind_host == "0.0.0.0"
    assert settings.join_timeout == 5.0


def test_the_old_bind_host_variable_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_BIND_HOST", "127.0.0.2")
    assert ZMQSettings().bind_host == "127.0.0.2"


def test_the_common_end_grace_sets_the_zmq_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_END_GRACE", "0.25")
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), settings=Settings())
    assert connector._end_grace == 0.25


def test_the_connector_reads_di_zmq_settings() -> None:
    ours = ZMQSettings(bind_host="127.0.0.3", join_timeout=0.5)
    with DI.zmq_settings.override(providers.Object(ours)):
        connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    assert connector._bind_host == "127.0.0.3"
    assert connector._join_timeout == 0.5


def test_the_bind_host_given_to_the_common_settings_says_where_it_belongs() -> None:
    with pytest.raises(
        TypeError, match=r"connector_zmq\.settings\.ZMQSettings\(bind_host=\.\.\.\)"
    ):
        Settings(bind_host="0.0.0.0")  # bare; SettingsContract tries zmq_bind_host


def test_settings_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(TypeError, match="zmq_settings must be a ZMQSettings"):
        ZMQConnector(spec(ConnectorMode.PIPELINE), zmq_settings=Settings())  # type: ignore[arg-type]


class TestZMQSettingsContract(SettingsContract):
    settings_class = ZMQSettings
    backend = "zmq"
