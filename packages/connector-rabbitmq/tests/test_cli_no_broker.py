"""The command line when no broker answers: advice, the password masked, no traceback."""

from __future__ import annotations

import pytest

# The command ships in connector-core's `cli` extra.
pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

from typer.testing import CliRunner

from connector_core.cli.app import app
from connector_core.testing import closed_port

runner = CliRunner()

PASSWORD = "hunter2-not-for-logs"


def test_doctor_masks_the_broker_password_and_says_how_to_start_a_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = closed_port()
    monkeypatch.setenv("RABBITMQ_URL", f"amqp://alice:{PASSWORD}@127.0.0.1:{port}/vhost")
    result = runner.invoke(app, ["doctor", "--timeout", "1"])
    assert PASSWORD not in result.output
    assert f"RabbitMQ broker at amqp://alice:****@127.0.0.1:{port}/vhost: not available" in (
        result.output
    )
    assert "rabbitmq-server -detached" in result.output


def test_demo_without_a_broker_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_URL", f"amqp://guest:{PASSWORD}@127.0.0.1:{closed_port()}/")
    result = runner.invoke(app, ["demo", "--backend", "rabbitmq", "-n", "10"])
    assert result.exit_code == 1
    assert "rabbitmq-server -detached" in result.output
    assert PASSWORD not in result.output
    assert "Traceback" not in result.output
