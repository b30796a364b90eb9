"""The command line with RABBITMQ_URL unset: the local broker, as the library uses it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

# The command ships in connector-core's `cli` extra.
pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

from typer.testing import CliRunner

from connector_core.cli.app import app

pytestmark = pytest.mark.rabbitmq

runner = CliRunner()


@pytest.fixture
def url_unset(broker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """RABBITMQ_URL unset, when the broker under test is the local default one."""
    parts = urlsplit(broker)
    local = parts.hostname in ("localhost", "127.0.0.1") and (parts.port or 5672) == 5672
    if not (local and parts.username == "guest"):
        pytest.skip("the broker under test is not the local one with the default account")
    monkeypatch.delenv("RABBITMQ_URL", raising=False)
    monkeypatch.delenv("CONNECTOR_RABBITMQ_URL", raising=False)


@pytest.mark.crossprocess
@pytest.mark.usefixtures("url_unset")
def test_demo_runs_against_the_local_broker_when_rabbitmq_url_is_unset() -> None:
    result = runner.invoke(app, ["demo", "--backend", "rabbitmq", "-w", "2", "-n", "300"])
    assert result.exit_code == 0, result.output
    assert "delivered 300 of 300" in result.output
    assert "exactly-once verified" in result.output


@pytest.mark.usefixtures("url_unset")
def test_doctor_checks_the_local_default_when_rabbitmq_url_is_unset() -> None:
    result = runner.invoke(app, ["doctor", "--broker-timeout", "2"])
    assert result.exit_code == 0, result.output
    assert "RabbitMQ broker at amqp://guest:****@localhost:5672/: ok" in result.output
    assert "RABBITMQ_URL is not set: the rabbitmq backend uses this local broker" in result.output
