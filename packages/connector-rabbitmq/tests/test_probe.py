"""connector-rabbitmq's checks (entry point `connector.probes`), with no broker listening."""

from __future__ import annotations

import socket
from importlib.metadata import entry_points

import pytest

from connector_core.cli.probes import PROBE_GROUP, ProbeOptions, blocking_problem
from connector_core.testing import closed_port
from connector_rabbitmq.probe import checks, probe_broker

PASSWORD = "hunter2-not-for-logs"


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> str:
    """RABBITMQ_URL with a password, pointing where nothing listens; returns the URL."""
    url = f"amqp://alice:{PASSWORD}@127.0.0.1:{closed_port()}/vhost"
    monkeypatch.setenv("RABBITMQ_URL", url)
    return url


def test_the_checks_are_declared_under_the_probes_entry_points() -> None:
    [ep] = [ep for ep in entry_points(group=PROBE_GROUP) if ep.name == "rabbitmq"]
    assert ep.load() is checks


def test_probe_broker_reports_nothing_listening_within_its_timeout() -> None:
    probe = probe_broker(f"amqp://127.0.0.1:{closed_port()}/", timeout=1)
    assert not probe.ok
    assert "nothing accepts connections" in probe.detail
    assert "rabbitmq-server -detached" in probe.detail


def test_probe_broker_rejects_a_url_that_is_not_amqp() -> None:
    assert "must start with amqp://" in probe_broker("http://127.0.0.1/").detail


def test_probe_broker_reports_a_listener_that_is_not_a_broker() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.close()  # a listener that closes at once gives an empty first frame
        server.settimeout(1)
        probe = probe_broker(f"amqp://127.0.0.1:{port}/", timeout=1)
    assert not probe.ok
    assert "does not speak AMQP 0-9-1" in probe.detail or "no answer" in probe.detail


def test_a_missing_broker_is_a_required_check_with_the_password_masked(no_broker: str) -> None:
    [check] = checks(ProbeOptions(timeout=1))
    assert check.required
    assert not check.probe.ok
    assert PASSWORD not in check.what
    assert check.what.startswith("RabbitMQ broker at amqp://alice:****@127.0.0.1:")
    assert check.notes == ()


def test_a_missing_broker_blocks_the_backend_with_advice(no_broker: str) -> None:
    problem = blocking_problem("rabbitmq", timeout=1)
    assert problem is not None
    assert "rabbitmq-server -detached" in problem
    assert PASSWORD not in problem


def test_unset_rabbitmq_url_checks_the_local_default_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RABBITMQ_URL", raising=False)
    monkeypatch.delenv("CONNECTOR_RABBITMQ_URL", raising=False)
    [check] = checks(ProbeOptions(timeout=1))
    assert check.what == "RabbitMQ broker at amqp://guest:****@localhost:5672/"
    assert "RABBITMQ_URL is not set" in check.notes[0]
